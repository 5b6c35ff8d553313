"""The seed: projects, insight groups, members, teams, metrics, metric groups, experiments.

Static tables only; ``store`` turns them into wire bodies anchored at ``now_ms``. Ages are in
days before ``now_ms``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class SeedProject:
    """A seeded project: its environments and applications (the first environment is
    ``production``). Projects without experiments get ``notCalculated`` experimentation
    coverage."""

    key: str
    name: str
    environments: tuple[str, ...]
    applications: tuple[str, ...]
    has_experiments: bool = True


PROJECTS = (
    SeedProject("checkout-web", "Checkout Web", ("production", "staging", "test"),
                ("web-storefront", "checkout-api", "payments-service", "search-service")),
    SeedProject("mobile-app", "Mobile App", ("production", "staging"),
                ("ios-app", "android-app", "mobile-api")),
    SeedProject("data-platform", "Data Platform", ("production", "staging"),
                ("ingest-pipeline", "warehouse-sync", "feature-store"), has_experiments=False),
)  # fmt: skip

ENVIRONMENT_NAMES = {"production": "Production", "staging": "Staging", "test": "Test"}
ENVIRONMENT_COLORS = {"production": "417505", "staging": "f5a623", "test": "4a90e2"}


@dataclass(frozen=True, slots=True)
class SeedInsightGroup:
    key: str
    name: str
    project: str
    environment: str
    applications: tuple[str, ...]
    age_days: int


_GROUPS_BY_PROJECT = {
    "checkout-web": (
        ("checkout-squad", "Checkout squad", "production", "web-storefront checkout-api", 300),
        ("payments-api", "Payments API", "production", "payments-service", 280),
        ("storefront-team", "Storefront team", "production", "web-storefront", 210),
        ("search-relevance", "Search relevance", "production", "search-service", 150),
        ("checkout-staging", "Checkout (staging)", "staging", "", 120),
        ("growth-experiments", "Growth experiments", "production", "", 90),
        ("qa-automation", "QA automation", "test", "checkout-api", 35),
    ),
    "mobile-app": (
        ("ios-team", "iOS team", "production", "ios-app", 330),
        ("android-team", "Android team", "production", "android-app", 320),
        ("mobile-platform", "Mobile platform", "production", "mobile-api", 200),
        ("mobile-release-train", "Mobile release train", "staging", "ios-app android-app", 60),
    ),
    "data-platform": (
        ("ingest-team", "Ingest team", "production", "ingest-pipeline", 250),
        ("warehouse-team", "Warehouse team", "production", "warehouse-sync", 240),
        ("ml-features", "ML features", "production", "feature-store", 100),
        ("data-platform-all", "Data platform (all apps)", "production", "", 45),
    ),
}
"""Per project: (key, name, environment, applications separated by spaces, age in days)."""

INSIGHT_GROUPS = tuple(
    SeedInsightGroup(key, name, project, environment, tuple(applications.split()), age_days)
    for project, rows in _GROUPS_BY_PROJECT.items()
    for key, name, environment, applications, age_days in rows
)


@dataclass(frozen=True, slots=True)
class SeedMember:
    id: str
    first_name: str
    last_name: str
    email: str
    role: str = "writer"


MEMBERS = (
    SeedMember("5f3a1c2b9d8e7f6a5b4c3d2e", "Priya", "Raman", "priya.raman@example.com", "admin"),
    SeedMember("5f3a1c2b9d8e7f6a5b4c3d2f", "Marco", "Lind", "marco.lind@example.com"),
    SeedMember("5f3a1c2b9d8e7f6a5b4c3d30", "Ana", "Souza", "ana.souza@example.com"),
    SeedMember("5f3a1c2b9d8e7f6a5b4c3d31", "Kenji", "Watanabe", "kenji.watanabe@example.com"),
)


@dataclass(frozen=True, slots=True)
class SeedTeam:
    key: str
    name: str
    custom_role_keys: tuple[str, ...]


TEAMS = (
    SeedTeam("checkout-team", "Checkout team", ("checkout-writer",)),
    SeedTeam("mobile-team", "Mobile team", ("mobile-writer",)),
    SeedTeam("data-team", "Data team", ("data-writer", "experiment-reader")),
)


@dataclass(frozen=True, slots=True)
class SeedMetric:
    key: str
    name: str
    kind: str  # pageview | click | custom
    is_numeric: bool = False
    unit_aggregation: str | None = None  # sum | average
    event_key: str | None = None


METRICS: dict[str, tuple[SeedMetric, ...]] = {
    "checkout-web": (
        SeedMetric("visit-product-page", "Visited product page", "pageview"),
        SeedMetric("add-to-cart", "Added to cart", "click"),
        SeedMetric("begin-checkout", "Began checkout", "custom", False, "sum", "begin-checkout"),
        SeedMetric("purchase-completed", "Purchase completed", "custom", False, "sum", "purchase"),
        SeedMetric("order-value", "Order value", "custom", True, "average", "order-value"),
        SeedMetric("refund-requested", "Refund requested", "custom", False, "sum", "refund"),
        SeedMetric("page-load-time", "Page load time", "custom", True, "average", "page-load"),
        SeedMetric("search-performed", "Search performed", "custom", False, "sum", "search"),
        SeedMetric("search-result-clicked", "Search result clicked", "click"),
    ),
    "mobile-app": (
        SeedMetric("app-open", "App opened", "custom", False, "sum", "app-open"),
        SeedMetric("signup-started", "Sign-up started", "click"),
        SeedMetric("signup-completed", "Sign-up completed", "custom", False, "sum", "signup"),
        SeedMetric("session-length", "Session length", "custom", True, "average", "session"),
        SeedMetric("push-opt-in", "Push notifications enabled", "custom", False, "sum", "push"),
    ),
    "data-platform": (
        SeedMetric("job-failure", "Pipeline job failed", "custom", False, "sum", "job-failure"),
        SeedMetric("job-latency", "Pipeline job latency", "custom", True, "average", "job-latency"),
        SeedMetric("rows-ingested", "Rows ingested", "custom", True, "sum", "rows-ingested"),
        SeedMetric("freshness-lag", "Freshness lag", "custom", True, "average", "freshness"),
    ),
}


@dataclass(frozen=True, slots=True)
class SeedMetricGroup:
    """A metric group's fields (``age_days`` and ``description`` are the seed's only)."""

    key: str
    name: str
    kind: str  # funnel | standard
    metrics: tuple[tuple[str, str], ...]  # (metric key, name in group), in step order
    tags: tuple[str, ...]
    maintainer: str  # a member id or a team key
    age_days: int = 0
    description: str | None = None


def _steps(text: str) -> tuple[tuple[str, str], ...]:
    """``"metric:Name in group, ..."`` as (metric key, name in group) pairs."""
    return tuple((key, name) for key, _, name in (s.partition(":") for s in text.split(", ")))


_METRIC_GROUPS_BY_PROJECT = {
    "checkout-web": (
        ("checkout-funnel", "Checkout funnel", "funnel", "checkout revenue", MEMBERS[0].id, 200,
         "visit-product-page:Product page, add-to-cart:Cart, begin-checkout:Checkout, "
         "purchase-completed:Purchase", "From product page to completed purchase."),
        ("revenue-metrics", "Revenue metrics", "standard", "revenue", "checkout-team", 150,
         "order-value:Order value, purchase-completed:Purchases, refund-requested:Refunds", None),
        ("search-funnel", "Search funnel", "funnel", "search", MEMBERS[1].id, 95,
         "search-performed:Search, search-result-clicked:Result clicked, add-to-cart:Cart",
         "Search to cart."),
        ("page-performance", "Page performance", "standard", "performance", MEMBERS[2].id, 40,
         "page-load-time:Load time", None),
        ("cart-health", "Cart health", "standard", "checkout", MEMBERS[3].id, 12,
         "add-to-cart:Adds, refund-requested:Refunds", None),
    ),
    "mobile-app": (
        ("onboarding-funnel", "Onboarding funnel", "funnel", "onboarding", MEMBERS[1].id, 180,
         "app-open:Open, signup-started:Start sign-up, signup-completed:Signed up",
         "First launch to completed sign-up."),
        ("engagement", "Engagement", "standard", "engagement", MEMBERS[2].id, 90,
         "session-length:Session length, app-open:Opens", None),
        ("push-permissions", "Push permissions", "standard", "notifications", "mobile-team", 30,
         "push-opt-in:Opt-ins, app-open:Opens", None),
    ),
    "data-platform": (
        ("pipeline-health", "Pipeline health", "standard", "reliability", "data-team", 70,
         "job-failure:Failures, job-latency:Latency", None),
        ("data-freshness", "Data freshness", "standard", "reliability sla", MEMBERS[0].id, 20,
         "freshness-lag:Lag, rows-ingested:Rows", None),
    ),
}  # fmt: skip
"""Per project: (key, name, kind, tags separated by spaces, maintainer, age in days, metrics
``"key:name in group, ..."`` in step order, description)."""

METRIC_GROUPS = {
    project: tuple(
        SeedMetricGroup(key, name, kind, _steps(steps), tuple(tags.split()), owner, age, text)
        for key, name, kind, tags, owner, age, steps, text in rows
    )
    for project, rows in _METRIC_GROUPS_BY_PROJECT.items()
}


@dataclass(frozen=True, slots=True)
class SeedExperiment:
    key: str
    name: str
    environment: str
    age_days: int
    status: str  # not_started | running | stopped
    metric_groups: tuple[str, ...]
    archived_age_days: int | None = None


_EXPERIMENTS_BY_PROJECT = {
    "checkout-web": (
        ("one-page-checkout", "One-page checkout", "production", 60, "running",
         "checkout-funnel revenue-metrics", None),
        ("express-pay-button", "Express pay button", "production", 25, "running",
         "checkout-funnel", None),
        ("free-shipping-threshold", "Free shipping threshold", "production", 120, "stopped",
         "revenue-metrics", 80),
        ("search-ranking-v2", "Search ranking v2", "staging", 10, "not_started",
         "search-funnel", None),
    ),
    "mobile-app": (
        ("social-sign-in", "Social sign-in", "production", 45, "running",
         "onboarding-funnel", None),
        ("dark-mode-onboarding", "Dark mode onboarding", "production", 100, "stopped",
         "onboarding-funnel engagement", None),
    ),
    "data-platform": (),
}  # fmt: skip
"""Per project: (key, name, environment, age in days, status, metric groups separated by
spaces, archived this many days ago)."""

EXPERIMENTS: dict[str, tuple[SeedExperiment, ...]] = {
    project: tuple(
        SeedExperiment(key, name, environment, age, status, tuple(groups.split()), archived)
        for key, name, environment, age, status, groups, archived in rows
    )
    for project, rows in _EXPERIMENTS_BY_PROJECT.items()
}


def rng_for(*parts: str) -> random.Random:
    """A random generator seeded from ``parts`` (stable across runs and machines)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - demo data


def object_id(*parts: str) -> str:
    """A stable 24-hex-digit id in the style of LaunchDarkly's ``_id`` fields."""
    return hashlib.sha256("/".join(("id", *parts)).encode()).hexdigest()[:24]


def time_of_day_ms(*parts: str) -> int:
    """A stable working-hours time of day, so seeded timestamps are not all at midnight."""
    return rng_for("time", *parts).randrange(8 * 60, 19 * 60) * 60_000
