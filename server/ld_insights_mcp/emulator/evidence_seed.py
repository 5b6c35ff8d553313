"""Evidence behind the scores: deployments, pull requests, flag events and flags per slice.

A slice (project, environment, sorted applications; none = all) is what scores are keyed on;
its evidence is generated from its own scores, so every chart and list agrees with the score
beside it (``evidence_bands``). Overlapping slices are independent. Deterministic given the day
of ``now_ms``. Windows: the current score period, the last one, and the 30 days before that;
flags are a snapshot at ``now_ms``.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ld_insights_mcp.emulator.evidence_bands import LADDERS, pick_ratio, pick_share
from ld_insights_mcp.emulator.scores import PERIOD_DAYS, slice_scores
from ld_insights_mcp.emulator.seed import (
    DAY_MS,
    EXPERIMENTS,
    MEMBERS,
    TEAMS,
    SeedExperiment,
    SeedMember,
    SeedProject,
    object_id,
    rng_for,
    time_of_day_ms,
)
from ld_insights_mcp.launchdarkly.vocabulary import band_for

Body = dict[str, Any]
HOUR_MS = 3_600_000
WINDOWS = 3
REPOSITORY_OWNER = "example-org"
AUTHORS = ("priya-raman", "marco-lind", "ana-souza", "kenji-watanabe", "lee-okafor", "sam-novak")
STAGES = ("coding", "review", "wait")
NOUNS = (
    "new-header", "dark-mode", "fast-path", "retry-policy", "beta-banner", "cache-v2",
    "one-click", "smart-sort", "promo-rail", "async-jobs", "rate-guard", "new-onboarding",
    "bulk-export", "price-test", "lazy-images", "edge-routing", "soft-delete", "audit-trail",
    "gift-cards", "wishlist", "geo-pricing", "search-v3", "quick-view", "saved-carts",
    "faster-sync", "batch-writes", "schema-v2", "webhooks", "sso-login", "push-digest",
    "offline-mode", "ab-harness", "new-checkout", "pay-later", "tax-engine", "ship-estimates",
)  # fmt: skip
TITLES = (
    "Add {noun} behind a flag", "Fix flaky test in {app}", "Refactor {noun} handler",
    "Bump dependencies in {app}", "Remove dead code for {noun}", "Tune timeouts for {app}",
    "Instrument {noun} metrics", "Clean up {noun} flag", "Speed up {app} build",
)  # fmt: skip
EVENT_TYPES = (
    ("enabled_targeting", "Turned on targeting"),
    ("disabled_targeting", "Turned off targeting"),
    ("updated_rules", "Changed targeting rules"),
    ("updated_fallthrough", "Changed the default rule"),
    ("updated_rollout", "Changed the percentage rollout"),
    ("updated_targets", "Changed individual targets"),
)
GLOBAL_EVENT_TYPES = (
    ("updated_maintainer", "Changed the maintainer"),
    ("updated_tags", "Changed tags"),
)
PERCENTAGES = {
    "none": (0.0, 0.0),
    "small": (0.5, 19.5),
    "medium": (20.5, 79.5),
    "large": (80.5, 100.0),
}
"""The share of evaluations each impact size changes, in percent."""
FLAG_CREATED, FLAG_ARCHIVED = "created_flag", "archived_flag"
LIFECYCLE_EVENTS = {
    FLAG_CREATED: ("Created the flag", "createFlag"),
    FLAG_ARCHIVED: ("Archived the flag", "updateGlobalArchived"),
}
"""Flag events that record a flag's creation or archival (eventType -> description, action):
global, no impact, never linked to an experiment. The release-frequency chart does not count
them (they are not releases); the creation ratio is created / archived."""
LIFECYCLE_KEYS = tuple(f"{noun}{suffix}" for suffix in ("", "-v2", "-v3") for noun in NOUNS)
"""Keys of the flags those events name (an archived one is ``old-<key>``)."""


@dataclass(frozen=True, slots=True)
class SeedFlag:
    key: str
    maintainer: str  # a member id or a team key
    status: str  # new | active | launched | inactive
    temporary: bool
    age_days: int
    stale: bool


@dataclass
class Evidence:
    """One slice's evidence; wire bodies carry no expansions (handlers add them)."""

    project: SeedProject
    environment: str
    applications: tuple[str, ...]
    deployments: list[Body] = field(default_factory=list)  # newest first
    pull_requests: list[Body] = field(default_factory=list)  # newest first
    flag_events: list[Body] = field(default_factory=list)  # newest first
    flags: list[SeedFlag] = field(default_factory=list)
    deployment_prs: dict[str, list[str]] = field(default_factory=dict)
    pr_deployments: dict[str, list[str]] = field(default_factory=dict)
    pr_lead_times: dict[str, Body] = field(default_factory=dict)
    flag_refs: dict[str, list[Body]] = field(default_factory=dict)  # deployment or PR id
    event_experiments: dict[str, list[Body]] = field(default_factory=dict)
    index: dict[str, Body] = field(default_factory=dict)  # deployment or PR id -> body


def pr_time(pr: Body) -> int:
    """When a pull request was merged, or else created: what lists sort and filter on."""
    return int(pr["mergeTime"] if "mergeTime" in pr else pr["createTime"])


def stable_uuid(*parts: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("/".join(parts).encode()).digest()[:16], version=4))


def _sha(*parts: str) -> str:
    return hashlib.sha256("/".join(("sha", *parts)).encode()).hexdigest()[:7]


def slice_evidence(
    project: SeedProject,
    environment: str,
    applications: tuple[str, ...] | list[str],
    *,
    now_ms: int,
) -> Evidence:
    """The evidence of one slice (cached and shared: do not change it)."""
    return _evidence(project, environment, tuple(sorted(set(applications))), now_ms)


def _score(scores: Body, category: str, window: int) -> int | None:
    rep = scores[category]
    if rep["indicator"] == "notCalculated":
        return None
    return int(rep["score"] if window == 0 else rep["lastPeriod"]["score"])


def _calculated(scores: Body, category: str, window: int) -> int:
    """The score of a category every seeded slice calculates."""
    score = _score(scores, category, window)
    assert score is not None, category
    return score


@lru_cache(maxsize=256)
def _evidence(
    project: SeedProject, environment: str, apps: tuple[str, ...], now_ms: int
) -> Evidence:
    scores = slice_scores(project, environment, apps, now_ms=now_ms)
    rng = rng_for("evidence", str(now_ms), project.key, environment, ",".join(apps))
    builder = _Builder(
        Evidence(project, environment, apps), rng, apps or project.applications, now_ms
    )
    for window in range(WINDOWS):
        builder.window(window, scores)
    builder.snapshot(_calculated(scores, "flagHealth", 0))
    evidence = builder.evidence
    evidence.deployments.sort(key=lambda d: (-d["startedAt"], d["id"]))
    evidence.pull_requests.sort(key=lambda p: (-pr_time(p), p["id"]))
    evidence.flag_events.sort(key=lambda e: (-e["eventTime"], e["id"]))
    latest: dict[str, Body] = {}
    for deployment in evidence.deployments:
        if deployment["status"] == "finished":
            latest.setdefault(deployment["applicationKey"], deployment)
    for deployment in latest.values():
        deployment["active"] = True
    return evidence


class _Builder:
    def __init__(self, evidence: Evidence, rng: random.Random, apps: tuple[str, ...], now_ms: int):
        self.evidence, self.rng, self.apps, self.now_ms = evidence, rng, apps, now_ms
        self.slice_id = "/".join(
            (evidence.project.key, evidence.environment, ",".join(evidence.applications))
        )
        weights = [rng.uniform(0.6, 1.4) for _ in STAGES]
        weights[rng.randrange(len(STAGES))] += rng.uniform(0.8, 2.0)  # the stage that dominates
        self.stage_weights = [w / sum(weights) for w in weights]
        self.flag_keys = rng.sample(NOUNS, 28)
        self.pr_numbers = {app: 100 + rng.randrange(400) for app in self.apps}
        self.serial = 0
        self.lifecycle_keys: set[str] = set()

    def _id(self, kind: str) -> str:
        self.serial += 1
        return stable_uuid(kind, str(self.now_ms), self.slice_id, str(self.serial))

    def _moments(self, window: int, count: int, rng: random.Random | None = None) -> list[int]:
        """``count`` distinct working-hours instants inside the window, oldest first."""
        start = self.now_ms - (window + 1) * PERIOD_DAYS * DAY_MS
        minute = 60_000
        slots = (rng or self.rng).sample(range(PERIOD_DAYS * 11 * 60), count)  # 08:00-19:00
        return sorted(start + (s // 660) * DAY_MS + 8 * HOUR_MS + (s % 660) * minute for s in slots)

    def window(self, window: int, scores: Body) -> None:
        frequency = _calculated(scores, "deploymentFrequency", window)
        failure = _calculated(scores, "deploymentFailureRate", window)
        total, failed = self._deployment_counts(frequency, failure)
        failed_at = set(self.rng.sample(range(total), failed))
        lead_score = _calculated(scores, "leadTime", window)
        mean_ms = LADDERS["leadTime"].target(lead_score) * HOUR_MS
        prs_per = [self.rng.randint(1, 3) for _ in range(total)]
        deployed = sum(n for i, n in enumerate(prs_per) if i not in failed_at)
        factors = [self.rng.uniform(0.45, 1.55) for _ in range(deployed)]
        totals = iter(int(mean_ms * f * deployed / sum(factors)) for f in factors)
        previous_failed = False
        for index, started in enumerate(self._moments(window, total)):
            ok = index not in failed_at
            kind = "rollback" if previous_failed and self.rng.random() < 0.5 else "forward"
            if ok and kind == "forward" and self.rng.random() < 0.1:
                kind = "redeployment"
            duration = self.rng.randint(4, 35) * 60_000
            leads = [
                next(totals) if ok else int(mean_ms * self.rng.uniform(0.45, 1.55))
                for _ in range(prs_per[index])
            ]
            self._deployment(started, duration, "finished" if ok else "failed", kind, leads)
            previous_failed = not ok
        self._flag_events(window, scores)
        self._lifecycle_events(window, scores)
        if window == 0:
            self._unfinished_work()

    def _deployment_counts(self, frequency: int, failure: int) -> tuple[int, int]:
        ladder = LADDERS["deploymentFrequency"]
        band = band_for(frequency).indicator
        fits = [n for n in range(1, 91) if ladder.band(n / PERIOD_DAYS) == band]
        wanted = round(ladder.target(frequency) * PERIOD_DAYS)
        for n in sorted(fits, key=lambda n: abs(n - wanted)):
            failed = pick_share("deploymentFailureRate", failure, n, most=n - 1)
            if failed is not None:
                return n, failed
        raise AssertionError(f"no deployment count fits scores {frequency}/{failure}")

    def _deployment(
        self, started: int, duration: int, status: str, kind: str, leads: list[int]
    ) -> None:
        dep_id = self._id("deployment")
        app = self.rng.choice(self.apps)
        ended = started + duration
        deployed = status == "finished"
        made = [self._pull_request(app, ended, duration, t, deployed=deployed) for t in leads]
        pr_ids = [pr_id for pr_id, _ in made]
        prs = [self.evidence.index[p] for p in pr_ids]
        count = len(leads)
        lead_stages = {f"{s}DurationMs": sum(by[s] for _, by in made) // count for s in STAGES}
        lead_stages |= {"deployDurationMs": duration, "totalLeadTimeMs": sum(leads) // count}
        rep: Body = {
            "id": dep_id,
            "applicationKey": app,
            "applicationVersion": _sha(dep_id),
            "startedAt": started,
            "endedAt": ended,
            "durationMs": duration,
            "status": status,
            "kind": kind,
            "active": False,
            "metadata": {"buildNumber": str(1000 + self.serial)},
            "archived": False,
            "environmentKey": self.evidence.environment,
            "numberOfContributors": len({p["author"] for p in prs}),
            "numberOfPullRequests": count,
            "linesAdded": sum(p["linesAdded"] for p in prs),
            "linesDeleted": sum(p["linesDeleted"] for p in prs),
            "leadTime": max(leads),
            "leadTimeStages": lead_stages,
        }
        self._add_deployment(rep, pr_ids, _merge_refs(self.evidence.flag_refs[p] for p in pr_ids))
        for pr_id in pr_ids:
            self.evidence.pr_deployments[pr_id] = [dep_id]

    def _pull_request(
        self, app: str, ended: int, duration: int, total: int, *, deployed: bool
    ) -> tuple[str, dict[str, int]]:
        rest = max(total - duration, 3 * 60_000)
        jitter = [w * self.rng.uniform(0.7, 1.3) for w in self.stage_weights]
        parts = [int(rest * j / sum(jitter)) for j in jitter]
        parts[0] += rest - sum(parts)
        coding, review, wait = parts
        merged = ended - duration - wait
        created = merged - review
        pr_id = self._body_pr(app, created, "deployed" if deployed else "merged", merged)
        lead: Body = {"codingDurationMs": coding, "reviewDurationMs": review}
        if deployed:
            whole = coding + review + wait + duration
            for name, ms in (
                ("WaitDurationMs", wait),
                ("DeployDurationMs", duration),
                ("TotalLeadTimeMs", whole),
            ):
                lead |= {f"max{name}": ms, f"avg{name}": ms}
        self.evidence.pr_lead_times[pr_id] = lead
        return pr_id, {"coding": coding, "review": review, "wait": wait}

    def _body_pr(self, app: str, created: int, status: str, merged: int | None) -> str:
        pr_id = self._id("pull-request")
        self.pr_numbers[app] += 1
        number = self.pr_numbers[app]
        noun = self.rng.choice(self.flag_keys)
        added = int(self.rng.lognormvariate(4.0, 1.0)) + 1
        rep: Body = {
            "id": pr_id,
            "externalId": str(number),
            "title": self.rng.choice(TITLES).format(noun=noun, app=app),
            "status": status,
            "author": self.rng.choice(AUTHORS),
            "createTime": created,
            "baseCommitKey": _sha(pr_id, "base"),
            "headCommitKey": _sha(pr_id, "head"),
            "filesChanged": 1 + added // 40,
            "linesAdded": added,
            "linesDeleted": int(added * self.rng.uniform(0.0, 0.8)),
            "url": f"https://github.com/{REPOSITORY_OWNER}/{app}/pull/{number}",
        }
        if merged is not None:
            rep["mergeTime"] = merged
            rep["mergeCommitKey"] = _sha(pr_id, "merge")
        self.evidence.pull_requests.append(rep)
        self.evidence.index[pr_id] = rep
        refs = []
        for key in self.rng.sample(self.flag_keys, self.rng.choice((0, 0, 1, 1, 2))):
            removed = self.rng.random() < 0.3
            refs.append(
                {
                    "projectKey": self.evidence.project.key,
                    "flagKey": key,
                    "referencesAdded": 0 if removed else self.rng.randint(1, 4),
                    "referencesRemoved": self.rng.randint(1, 5) if removed else 0,
                }
            )
        self.evidence.flag_refs[pr_id] = refs
        return pr_id

    def _unfinished_work(self) -> None:
        """Open and closed pull requests, and (in some slices) a deployment stuck in progress
        whose version does not link to any pull request."""
        for _ in range(self.rng.randint(2, 4)):
            created = self.now_ms - self.rng.randint(2, 200) * HOUR_MS
            pr_id = self._body_pr(self.rng.choice(self.apps), created, "open", None)
            self.evidence.pr_lead_times[pr_id] = {
                "codingDurationMs": self.rng.randint(1, 40) * HOUR_MS
            }
        if self.rng.random() < 0.5:
            pr_id = self._body_pr(
                self.rng.choice(self.apps), self.now_ms - 300 * HOUR_MS, "closed", None
            )
            self.evidence.pr_lead_times[pr_id] = {"codingDurationMs": 5 * HOUR_MS}
        if self.rng.random() < 0.4:
            dep_id = self._id("deployment")
            stuck: Body = {
                "id": dep_id,
                "applicationKey": self.rng.choice(self.apps),
                "applicationVersion": f"build-{self.rng.randint(2000, 9000)}",
                "startedAt": self.now_ms - self.rng.randint(26, 70) * HOUR_MS,
                "status": "started",
                "kind": "forward",
                "active": False,
                "archived": False,
                "environmentKey": self.evidence.environment,
                **dict.fromkeys(("numberOfContributors", "numberOfPullRequests"), 0),
                **dict.fromkeys(("linesAdded", "linesDeleted", "leadTime"), 0),
            }
            self._add_deployment(stuck, [], [])

    def _add_deployment(self, rep: Body, pr_ids: list[str], refs: list[Body]) -> None:
        self.evidence.deployments.append(rep)
        self.evidence.index[rep["id"]] = rep
        self.evidence.deployment_prs[rep["id"]] = pr_ids
        self.evidence.flag_refs[rep["id"]] = refs

    def _flag_events(self, window: int, scores: Body) -> None:
        impact = _calculated(scores, "impactSize", window)
        coverage = _score(scores, "experimentationCoverage", window)
        count = self.rng.randint(18, 32)
        large = pick_share("impactSize", impact, count)
        with_experiments = (
            0 if coverage is None else pick_share("experimentationCoverage", coverage, count)
        )
        assert large is not None
        assert with_experiments is not None
        sizes = ["large"] * large + [
            self.rng.choice(("none", "small", "small", "medium")) for _ in range(count - large)
        ]
        self.rng.shuffle(sizes)
        linked = set(self.rng.sample(range(count), with_experiments))
        every = EXPERIMENTS.get(self.evidence.project.key, ())
        here = [e for e in every if e.environment == self.evidence.environment]
        experiments = here or list(every)
        for index, when in enumerate(self._moments(window, count)):
            self._flag_event(when, sizes[index], experiments if index in linked else [])

    def _flag_event(self, when: int, size: str, experiments: list[Any]) -> None:
        event_id = self._id("flag-event")
        is_global = size == "none" and self.rng.random() < 0.35
        event_type, description = self.rng.choice(GLOBAL_EVENT_TYPES if is_global else EVENT_TYPES)
        member = self.rng.choice(MEMBERS)
        percentage = round(self.rng.uniform(*PERCENTAGES[size]), 1)
        before_true = self.rng.randint(0, int(1000 * (1 - percentage / 100)))
        after_true = before_true + int(1000 * percentage / 100)
        scale = self.rng.randint(5, 400)
        impact = {
            "size": size,
            "percentage": percentage,
            "reason": "global" if is_global else "evaluations",
            "evaluationsSummary": {
                "variations": [
                    {"value": value, "before": before * scale, "after": after * scale}
                    for value, before, after in (
                        (True, before_true, after_true),
                        (False, 1000 - before_true, 1000 - after_true),
                    )
                ]
            },
        }
        flag = self.rng.choice(self.flag_keys)
        action = event_type.replace("_", "")
        self._add_event(event_id, flag, (event_type, description, action), when, member, impact)
        chosen = [self.rng.choice(experiments)] if experiments else []
        self.evidence.event_experiments[event_id] = [
            _experiment_rep(self.evidence.project.key, e, self.now_ms) for e in chosen
        ]

    def _add_event(
        self,
        event_id: str,
        flag: str,
        kind: tuple[str, str, str],
        when: int,
        member: SeedMember,
        impact: Body,
    ) -> None:
        """Add one ``FlagEventRep``; ``kind`` is (eventType, description, action)."""
        event_type, description, action = kind
        project = self.evidence.project
        self.evidence.flag_events.append(
            {
                "id": event_id,
                "projectId": object_id("project", project.key),
                "projectKey": project.key,
                "environmentId": object_id("environment", project.key, self.evidence.environment),
                "environmentKey": self.evidence.environment,
                "flagKey": flag,
                "eventType": event_type,
                "eventTime": when,
                "description": description,
                "auditLogEntryId": stable_uuid("audit", event_id),
                "member": {
                    "id": member.id,
                    "email": member.email,
                    "firstName": member.first_name,
                    "lastName": member.last_name,
                },
                "actions": [action],
                "impact": impact,
            }
        )

    def _lifecycle_events(self, window: int, scores: Body) -> None:
        """Flags created and archived in the window, as many as the creation-ratio score's
        band asks for (from a generator of their own: the other evidence stays as it was)."""
        score = _score(scores, "creationRatio", window)
        if score is None:
            return
        rng = rng_for("lifecycle", str(self.now_ms), self.slice_id, str(window))
        created, archived = pick_ratio("creationRatio", score, rng)
        kinds = [FLAG_CREATED] * created + [FLAG_ARCHIVED] * archived
        rng.shuffle(kinds)
        fresh = [k for k in LIFECYCLE_KEYS if k not in self.lifecycle_keys]
        keys = rng.sample(fresh, len(kinds))  # a key is created, or archived, once
        self.lifecycle_keys.update(keys)
        moments = self._moments(window, len(kinds), rng)
        for index, (kind, when) in enumerate(zip(kinds, moments, strict=True)):
            event_id = stable_uuid(
                "lifecycle", str(self.now_ms), self.slice_id, str(window), str(index)
            )
            description, action = LIFECYCLE_EVENTS[kind]
            member = rng.choice(MEMBERS)
            flag = keys[index] if kind == FLAG_CREATED else f"old-{keys[index]}"
            impact = {"size": "none", "percentage": 0.0, "reason": "global"}
            self._add_event(event_id, flag, (kind, description, action), when, member, impact)
            self.evidence.event_experiments[event_id] = []

    def snapshot(self, flag_health: int) -> None:
        total = self.rng.randint(20, 28)
        stale = pick_share("flagHealth", flag_health, total)
        assert stale is not None
        maintainers = [m.id for m in MEMBERS] + [t.key for t in TEAMS]
        for index, key in enumerate(self.flag_keys[:total]):
            is_stale = index < stale
            if is_stale:
                status, temporary = self.rng.choice(("launched", "inactive")), True
                age = self.rng.randint(45, 400)
            else:
                status = self.rng.choice(("new", "active", "active", "launched", "inactive"))
                temporary = status in ("new", "active")
                age = self.rng.randint(1, 6) if status == "new" else self.rng.randint(10, 300)
            self.evidence.flags.append(
                SeedFlag(key, self.rng.choice(maintainers), status, temporary, age, is_stale)
            )


def _merge_refs(groups: Any) -> list[Body]:
    merged: dict[str, Body] = {}
    for refs in groups:
        for ref in refs:
            into = merged.setdefault(
                ref["flagKey"], {**ref, "referencesAdded": 0, "referencesRemoved": 0}
            )
            into["referencesAdded"] += ref["referencesAdded"]
            into["referencesRemoved"] += ref["referencesRemoved"]
    return list(merged.values())


def _experiment_rep(project: str, experiment: SeedExperiment, now_ms: int) -> Body:
    """``FlagEventExperiment``: the experiment's iteration started when it was created."""
    midnight = now_ms - now_ms % DAY_MS
    started = midnight - experiment.age_days * DAY_MS
    started += time_of_day_ms("experiment", project, experiment.key)
    iteration: Body = {
        "id": object_id("iteration", project, experiment.key),
        "status": "running" if experiment.status == "running" else "stopped",
        "startedAt": started,
    }
    return {"key": experiment.key, "name": experiment.name, "iteration": iteration}


UNLINKED_REPOSITORY = "infra-terraform"


def seed_repository_projects(projects: tuple[SeedProject, ...]) -> dict[str, list[str]]:
    """One repository per application, linked to its project, and one linked to none."""
    mappings: dict[str, list[str]] = {}
    for project in projects:
        for app in project.applications:
            mappings.setdefault(f"{REPOSITORY_OWNER}/{app}", []).append(project.key)
    mappings[f"{REPOSITORY_OWNER}/{UNLINKED_REPOSITORY}"] = []
    return mappings
