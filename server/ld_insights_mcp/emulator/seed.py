"""Deterministic, realistic seed data for the emulator.

Everything is derived from the anchor time ``now_ms`` and fixed seeds, so two emulators built
with the same anchor hold identical data.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

DAY_MS = 86_400_000
PERIOD_DAYS = 30

BANDS = (("excellent", 90, 100), ("good", 70, 89), ("fair", 40, 69), ("needsAttention", 0, 39))
METRIC_CATEGORIES = (
    "deploymentFrequency",
    "leadTime",
    "deploymentFailureRate",
    "impactSize",
    "flagHealth",
    "experimentationCoverage",
)
COMPOSITES = {
    "velocity": ("deploymentFrequency", "leadTime"),
    "risk": ("deploymentFailureRate", "impactSize"),
    "efficiency": ("flagHealth", "experimentationCoverage"),
}


@dataclass(frozen=True, slots=True)
class SeedProject:
    """A project with its environments and applications."""

    key: str
    name: str
    environments: tuple[str, ...]
    applications: tuple[str, ...]
    has_experiments: bool = True


PROJECTS = (
    SeedProject(
        "checkout-web",
        "Checkout Web",
        ("production", "staging", "test"),
        ("web-storefront", "checkout-api", "payments-service", "search-service"),
    ),
    SeedProject(
        "mobile-app",
        "Mobile App",
        ("production", "staging"),
        ("ios-app", "android-app", "mobile-api"),
    ),
    SeedProject(
        "data-platform",
        "Data Platform",
        ("production", "staging"),
        ("ingest-pipeline", "warehouse-sync", "feature-store"),
        has_experiments=False,
    ),
)

ENVIRONMENT_NAMES = {"production": "Production", "staging": "Staging", "test": "Test"}
ENVIRONMENT_COLORS = {"production": "417505", "staging": "f5a623", "test": "4a90e2"}

# key, name, project, environment, applications, age in days
GROUPS = (
    (
        "checkout-squad",
        "Checkout squad",
        "checkout-web",
        "production",
        ("web-storefront", "checkout-api"),
        300,
    ),
    ("payments-api", "Payments API", "checkout-web", "production", ("payments-service",), 280),
    ("storefront-team", "Storefront team", "checkout-web", "production", ("web-storefront",), 210),
    (
        "search-relevance",
        "Search relevance",
        "checkout-web",
        "production",
        ("search-service",),
        150,
    ),
    ("checkout-staging", "Checkout (staging)", "checkout-web", "staging", (), 120),
    ("growth-experiments", "Growth experiments", "checkout-web", "production", (), 90),
    ("ios-team", "iOS team", "mobile-app", "production", ("ios-app",), 330),
    ("android-team", "Android team", "mobile-app", "production", ("android-app",), 320),
    ("mobile-platform", "Mobile platform", "mobile-app", "production", ("mobile-api",), 200),
    (
        "mobile-release-train",
        "Mobile release train",
        "mobile-app",
        "staging",
        ("ios-app", "android-app"),
        60,
    ),
    ("ingest-team", "Ingest team", "data-platform", "production", ("ingest-pipeline",), 250),
    ("warehouse-team", "Warehouse team", "data-platform", "production", ("warehouse-sync",), 240),
    ("ml-features", "ML features", "data-platform", "production", ("feature-store",), 100),
    ("data-platform-all", "Data platform (all apps)", "data-platform", "production", (), 45),
)

MEMBERS = (
    ("5f3a1c2b9d8e7f6a5b4c3d2e", "Priya", "Raman", "priya@example.com"),
    ("5f3a1c2b9d8e7f6a5b4c3d2f", "Marco", "Lind", "marco@example.com"),
    ("5f3a1c2b9d8e7f6a5b4c3d30", "Ana", "Souza", "ana@example.com"),
)

# project -> [(key, name, kind, is_numeric, unit aggregation, event key)]
METRICS: dict[str, tuple[tuple[str, str, str, bool, str | None, str | None], ...]] = {
    "checkout-web": (
        ("visit-product-page", "Visited product page", "pageview", False, None, None),
        ("add-to-cart", "Added to cart", "click", False, None, None),
        ("begin-checkout", "Began checkout", "custom", False, "sum", "begin-checkout"),
        ("purchase-completed", "Purchase completed", "custom", False, "sum", "purchase"),
        ("order-value", "Order value", "custom", True, "average", "order-value"),
        ("refund-requested", "Refund requested", "custom", False, "sum", "refund"),
        ("page-load-time", "Page load time", "custom", True, "average", "page-load"),
    ),
    "mobile-app": (
        ("app-open", "App opened", "custom", False, "sum", "app-open"),
        ("signup-started", "Sign-up started", "click", False, None, None),
        ("signup-completed", "Sign-up completed", "custom", False, "sum", "signup"),
        ("session-length", "Session length", "custom", True, "average", "session-length"),
    ),
    "data-platform": (
        ("job-failure", "Pipeline job failed", "custom", False, "sum", "job-failure"),
        ("job-latency", "Pipeline job latency", "custom", True, "average", "job-latency"),
    ),
}

# project -> [(key, name, kind, metric keys with step names, tags, member index, age days,
#              description)]
METRIC_GROUPS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "checkout-web": (
        (
            "checkout-funnel",
            "Checkout funnel",
            "funnel",
            (
                ("visit-product-page", "Product page"),
                ("add-to-cart", "Cart"),
                ("begin-checkout", "Checkout"),
                ("purchase-completed", "Purchase"),
            ),
            ("checkout", "revenue"),
            0,
            200,
            "From product page to completed purchase.",
        ),
        (
            "revenue-metrics",
            "Revenue metrics",
            "standard",
            (
                ("order-value", "Order value"),
                ("purchase-completed", "Purchases"),
                ("refund-requested", "Refunds"),
            ),
            ("revenue",),
            1,
            150,
            None,
        ),
        (
            "page-performance",
            "Page performance",
            "standard",
            (("page-load-time", "Load time"),),
            ("performance",),
            2,
            40,
            None,
        ),
    ),
    "mobile-app": (
        (
            "onboarding-funnel",
            "Onboarding funnel",
            "funnel",
            (
                ("app-open", "Open"),
                ("signup-started", "Start sign-up"),
                ("signup-completed", "Signed up"),
            ),
            ("onboarding",),
            1,
            180,
            "First launch to completed sign-up.",
        ),
        (
            "engagement",
            "Engagement",
            "standard",
            (("session-length", "Session length"), ("app-open", "Opens")),
            ("engagement",),
            2,
            90,
            None,
        ),
    ),
    "data-platform": (
        (
            "pipeline-health",
            "Pipeline health",
            "standard",
            (("job-failure", "Failures"), ("job-latency", "Latency")),
            ("reliability",),
            0,
            70,
            None,
        ),
    ),
}

# metric group key -> [(experiment key, name, environment, age days, archived age days)]
EXPERIMENTS: dict[str, tuple[tuple[str, str, str, int, int | None], ...]] = {
    "checkout-funnel": (
        ("one-page-checkout", "One-page checkout", "production", 60, None),
        ("express-pay-button", "Express pay button", "production", 25, None),
    ),
    "revenue-metrics": (
        ("free-shipping-threshold", "Free shipping threshold", "production", 120, 80),
    ),
    "onboarding-funnel": (("social-sign-in", "Social sign-in", "production", 45, None),),
}


def rng_for(*parts: str) -> random.Random:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - test data


def indicator_for(score: int) -> tuple[str, int, int]:
    for name, low, high in BANDS:
        if low <= score <= high:
            return name, low, high
    raise ValueError(score)


def _score(value: int, aggregate_of: tuple[str, ...] = ()) -> dict[str, Any]:
    name, low, high = indicator_for(value)
    rep: dict[str, Any] = {
        "score": value,
        "indicator": name,
        "indicatorRange": {"min": low, "max": high},
    }
    if aggregate_of:
        rep["aggregateOf"] = list(aggregate_of)
    return rep


def _not_calculated() -> dict[str, Any]:
    return {"score": 0, "indicator": "notCalculated", "indicatorRange": {"min": 0, "max": 0}}


def _with_last(current: int, last: int, aggregate_of: tuple[str, ...] = ()) -> dict[str, Any]:
    rep = _score(current, aggregate_of)
    rep["diffVsLastPeriod"] = current - last
    rep["lastPeriod"] = _score(last, aggregate_of)
    return rep


def scores_for(seed: str, *, has_experiments: bool) -> dict[str, Any]:
    """All categories, consistent: composites are the mean of their calculated parts."""
    rng = rng_for("scores", seed)
    current: dict[str, int | None] = {}
    last: dict[str, int | None] = {}
    for category in METRIC_CATEGORIES:
        if category == "experimentationCoverage" and not has_experiments:
            current[category] = last[category] = None
            continue
        value = rng.randint(18, 98)
        current[category] = value
        last[category] = max(0, min(100, value - rng.randint(-14, 14)))
    scores: dict[str, Any] = {}
    for category in METRIC_CATEGORIES:
        now_score, last_score = current[category], last[category]
        scores[category] = (
            _not_calculated()
            if now_score is None or last_score is None
            else _with_last(now_score, last_score)
        )
    composite_now: dict[str, int] = {}
    composite_last: dict[str, int] = {}
    for composite, parts in COMPOSITES.items():
        now_parts = [v for p in parts if (v := current[p]) is not None]
        last_parts = [v for p in parts if (v := last[p]) is not None]
        composite_now[composite] = round(sum(now_parts) / len(now_parts))
        composite_last[composite] = round(sum(last_parts) / len(last_parts))
        scores[composite] = _with_last(composite_now[composite], composite_last[composite], parts)
    overall_now = round(sum(composite_now.values()) / 3)
    overall_last = round(sum(composite_last.values()) / 3)
    scores["overall"] = _with_last(overall_now, overall_last, tuple(COMPOSITES))
    ratio = rng.randint(30, 95)
    scores["creationRatio"] = _with_last(ratio, max(0, min(100, ratio + rng.randint(-10, 10))))
    return scores


def periods(now_ms: int) -> tuple[dict[str, int], dict[str, int]]:
    end = now_ms
    start = end - PERIOD_DAYS * DAY_MS
    return (
        {"startTime": start, "endTime": end},
        {"startTime": start - PERIOD_DAYS * DAY_MS, "endTime": start},
    )
