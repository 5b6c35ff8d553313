"""The five Engineering Insights charts (beta), answered as ``InsightsChart``.

Computed from the slice's evidence, so a chart over a score period earns the score's band;
``expand=metrics`` gives each raw metric with its tier ladder (``evidence_bands``). Buckets:
``bucketType=day``/``hour`` are UTC days/hours; ``rolling`` (the default) steps ``bucketMs``
(default a day) from ``from``; x is a bucket's start; more than ``MAX_BUCKETS`` is a 400. The
flag charts are snapshots at ``now_ms`` and take no window.

Where the contract is silent: without ``projectKey`` the deployment-frequency chart covers
every project, without ``environmentKey`` (lead time too) production; it counts finished and
failed deployments (``values.failed``: the failed ones). The release-frequency chart counts
flag changes, not creations or archivals (``LIFECYCLE_EVENTS``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ld_insights_mcp.emulator.errors import invalid
from ld_insights_mcp.emulator.evidence_bands import metric_rep, percent
from ld_insights_mcp.emulator.evidence_params import (
    Window,
    Windows,
    applications_of,
    boolean,
    choice,
    csv,
    environment_of,
    evidence_for,
    project_of,
)
from ld_insights_mcp.emulator.evidence_seed import LIFECYCLE_EVENTS, Evidence, slice_evidence
from ld_insights_mcp.emulator.request import Answer, ApiRequest
from ld_insights_mcp.emulator.seed import DAY_MS
from ld_insights_mcp.emulator.store import Body, Store

HOUR_MS = 3_600_000
MAX_BUCKETS = 1000
STAGES: tuple[tuple[str, str], ...] = (
    ("coding", "codingDurationMs"),
    ("review", "reviewDurationMs"),
    ("wait", "avgWaitDurationMs"),
    ("deploy", "avgDeployDurationMs"),
)
FLAG_STATUSES = ("new", "active", "launched", "inactive")
IMPACT_SIZES = ("none", "small", "medium", "large")
EMPTY_METRICS = ("omitted", "notCalculated", "unknown", "banded")
"""What ``metrics`` says of a ratio or mean over nothing (no deployment, deployed pull request,
flag change or flag; the contract is silent): ``omitted`` (the default) leaves it out;
``notCalculated``/``unknown``: value 0 with that indicator; ``banded``: 0 with its band."""


@dataclass(frozen=True, slots=True)
class Buckets:
    first: int
    size: int
    count: int

    def index(self, instant: int) -> int:
        return min(self.count - 1, (instant - self.first) // self.size)

    def starts(self) -> list[int]:
        return [self.first + i * self.size for i in range(self.count)]


def _buckets(request: ApiRequest, span: Window) -> Buckets:
    kind = choice(request, "bucketType", ("rolling", "hour", "day")) or "rolling"
    size = request.integer("bucketMs", default=DAY_MS, low=60_000, high=None)
    first = span.start
    if kind != "rolling":
        size = HOUR_MS if kind == "hour" else DAY_MS
        first -= first % size
    count = max(1, math.ceil((span.end - first) / size))
    if count > MAX_BUCKETS:
        raise invalid(
            "bucketMs",
            f"the window from {span.start} to {span.end} makes {count} buckets of {size} ms "
            f"(at most {MAX_BUCKETS}): use larger buckets or a shorter window",
        )
    return Buckets(first, size, count)


def _series(
    name: str, buckets: Buckets, items: list[tuple[int, Any]], value: Callable[[list[Any]], Body]
) -> Body:
    """A series: ``value(items in the bucket)`` gives each point's ``y`` and ``values``."""
    grouped: list[list[Any]] = [[] for _ in range(buckets.count)]
    for instant, item in items:
        grouped[buckets.index(instant)].append(item)
    data = [{"x": x, **value(group)} for x, group in zip(buckets.starts(), grouped, strict=True)]
    return {"metadata": {"name": name, "count": len(items)}, "data": data}


def _grouped(items: Iterable[tuple[int, Any]], key: Callable[[Any], str]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for instant, item in items:
        groups.setdefault(key(item), []).append((instant, item))
    return dict(sorted(groups.items()))


def _chart(name: str, y_unit: str, summary: Body, series: list[Body], metrics: Body | None) -> Body:
    axes = {"xAxis": {"unit": "timestamp"}, "yAxis": {"unit": y_unit}}
    metadata: Body = {"name": name, "summary": summary, **axes}
    if metrics is not None:
        metadata["metrics"] = metrics
    return {"metadata": metadata, "series": series}


def _mean(values: list[int]) -> int:
    return sum(values) // len(values) if values else 0


class ChartHandlers:
    """One method per chart; each returns ``(status, body)`` or raises ``ApiError``."""

    def __init__(self, store: Store, windows: Windows) -> None:
        self.store = store
        self.windows = windows
        self.empty_metrics = "omitted"  # one of EMPTY_METRICS

    def _metrics(self, expand: set[str], measured: dict[str, tuple[float, int]]) -> Body | None:
        """``InsightsChartMetrics`` from ``category -> (value, items it is computed over)``,
        when ``expand`` asks for them."""
        if "metrics" not in expand:
            return None
        if self.empty_metrics not in EMPTY_METRICS:
            raise ValueError(f"empty_metrics must be one of {', '.join(EMPTY_METRICS)}")
        found: Body = {}
        for category, (value, over) in measured.items():
            if over or self.empty_metrics == "banded":
                found[category] = metric_rep(category, value)
            elif self.empty_metrics != "omitted":
                found[category] = metric_rep(category, 0.0) | {"indicator": self.empty_metrics}
        return found

    def _deployment_slices(self, request: ApiRequest) -> list[Evidence]:
        project = project_of(self.store, request, required=False)
        if project is None:
            if request.arg("applicationKey") or request.arg("environmentKey"):
                raise invalid("projectKey", "is required with environmentKey or applicationKey")
            return [
                slice_evidence(p, p.environments[0], (), now_ms=self.store.now_ms)
                for p in self.store.projects
            ]
        environment = environment_of(project, request, required=False)
        apps = applications_of(project, request)
        return [slice_evidence(project, environment, apps, now_ms=self.store.now_ms)]

    def get_deployment_frequency_chart(self, request: ApiRequest) -> Answer:
        slices = self._deployment_slices(request)
        span = self.windows.of(request, date_time=True)
        buckets = _buckets(request, span)
        group_by = choice(request, "groupBy", ("application", "kind"))
        expand = request.expand(("metrics",))
        items = [
            (d["startedAt"], d)
            for evidence in slices
            for d in evidence.deployments
            if d["status"] in ("finished", "failed") and span.holds(d["startedAt"])
        ]

        def point(group: list[Body]) -> Body:
            failed = sum(1 for d in group if d["status"] == "failed")
            return {"y": len(group), "values": {"failed": failed}}

        field = "applicationKey" if group_by == "application" else "kind"
        groups = {"deployments": items} if group_by is None else _grouped(items, lambda d: d[field])
        series = [_series(name, buckets, group, point) for name, group in groups.items()]
        failed = sum(1 for _, d in items if d["status"] == "failed")
        days = max(span.end - span.start, 1) / DAY_MS
        measured = {
            "deploymentFrequency": (len(items) / days, 1),  # per day: never over nothing
            "deploymentFailureRate": (percent(failed, len(items)), len(items)),
        }
        metrics = self._metrics(expand, measured)
        summary = {"total": len(items), "failed": failed, "from": span.start, "to": span.end}
        return 200, _chart("deploymentFrequency", "count", summary, series, metrics)

    def get_lead_time_chart(self, request: ApiRequest) -> Answer:
        project_of(self.store, request)  # required here
        (evidence,) = self._deployment_slices(request)
        span = self.windows.of(request, date_time=False)
        buckets = _buckets(request, span)
        group_by = choice(request, "groupBy", ("application", "stage")) or "stage"
        expand = request.expand(("metrics", "percentiles"))
        items = [
            (d["endedAt"], (d["applicationKey"], evidence.pr_lead_times[pr_id]))
            for d in evidence.deployments
            if d["status"] == "finished" and span.holds(d["endedAt"])
            for pr_id in evidence.deployment_prs[d["id"]]
        ]
        totals = sorted(lead["avgTotalLeadTimeMs"] for _, (_, lead) in items)

        def point(field: str) -> Callable[[list[tuple[str, Body]]], Body]:
            def value(group: list[tuple[str, Body]]) -> Body:
                values = sorted(lead[field] for _, lead in group)
                extra: Body = {"count": len(values)}
                if "percentiles" in expand:
                    extra |= {"p50": _percentile(values, 50), "p90": _percentile(values, 90)}
                return {"y": _mean(values), "values": extra}

            return value

        if group_by == "stage":
            series = [_series(name, buckets, items, point(field)) for name, field in STAGES]
        else:
            groups = _grouped(items, lambda pair: pair[0])
            series = [
                _series(app, buckets, group, point("avgTotalLeadTimeMs"))
                for app, group in groups.items()
            ]
        summary: Body = {"count": len(totals), "averageMs": _mean(totals)}
        summary |= {
            f"{name}AverageMs": _mean([lead[f] for _, (_, lead) in items]) for name, f in STAGES
        }
        if "percentiles" in expand:
            summary |= {f"p{p}Ms": _percentile(totals, p) for p in (50, 75, 90, 95)}
        metrics = self._metrics(expand, {"leadTime": (_mean(totals) / HOUR_MS, len(totals))})
        return 200, _chart("leadTime", "milliseconds", summary, series, metrics)

    def get_release_frequency_chart(self, request: ApiRequest) -> Answer:
        evidence = evidence_for(self.store, request)
        experiments = boolean(request, "hasExperiments")
        scope = choice(request, "global", ("include", "exclude"))
        group_by = choice(request, "groupBy", ("impact",))
        span = self.windows.of(request, date_time=True)
        buckets = _buckets(request, span)
        expand = request.expand(("metrics",))
        items = [
            (e["eventTime"], e)
            for e in evidence.flag_events
            if span.holds(e["eventTime"])
            and e["eventType"] not in LIFECYCLE_EVENTS
            and (experiments is None or bool(evidence.event_experiments[e["id"]]) == experiments)
            and (scope != "exclude" or e["impact"]["reason"] != "global")
        ]

        def point(group: list[Body]) -> Body:
            return {"y": len(group)}

        by_size = {s: [(t, e) for t, e in items if e["impact"]["size"] == s] for s in IMPACT_SIZES}
        groups = {"releases": items} if group_by is None else by_size
        series = [_series(name, buckets, group, point) for name, group in groups.items()]
        large = sum(1 for _, e in items if e["impact"]["size"] == "large")
        linked = sum(1 for _, e in items if evidence.event_experiments[e["id"]])
        measured = {"impactSize": (percent(large, len(items)), len(items))}
        if evidence.project.has_experiments:
            measured["experimentationCoverage"] = (percent(linked, len(items)), len(items))
        metrics = self._metrics(expand, measured)
        summary = {"total": len(items), "large": large, "withExperiments": linked}
        return 200, _chart("releaseFrequency", "count", summary, series, metrics)

    def _snapshot(self, name: str, count: int) -> Body:
        """A flag chart's series: one point at ``now_ms``."""
        data = [{"x": self.store.now_ms, "y": count}]
        return {"metadata": {"name": name, "count": count}, "data": data}

    def get_flag_status_chart(self, request: ApiRequest) -> Answer:
        evidence = evidence_for(self.store, request)
        series = [
            self._snapshot(status, sum(1 for f in evidence.flags if f.status == status))
            for status in FLAG_STATUSES
        ]
        summary = {"total": len(evidence.flags), "snapshotAt": self.store.now_ms}
        return 200, _chart("flagStatus", "count", summary, series, None)

    def get_stale_flags_chart(self, request: ApiRequest) -> Answer:
        evidence = evidence_for(self.store, request)
        group_by = choice(request, "groupBy", ("maintainer",))
        expand = request.expand(("metrics",))
        wanted = set(csv(request, "maintainerId")) | set(csv(request, "maintainerTeamKey"))
        flags = [f for f in evidence.flags if not wanted or f.maintainer in wanted]
        stale = [f for f in flags if f.stale]
        if group_by is None:
            chart_series = [self._snapshot("stale", len(stale))]
        else:
            by_maintainer = Counter(self._maintainer_name(flag.maintainer) for flag in stale)
            chart_series = [self._snapshot(n, c) for n, c in sorted(by_maintainer.items())]
        stale_share = (percent(len(stale), len(flags)), len(flags))
        metrics = self._metrics(expand, {"flagHealth": stale_share})
        summary = {"total": len(stale), "flags": len(flags), "snapshotAt": self.store.now_ms}
        return 200, _chart("staleFlags", "count", summary, chart_series, metrics)

    def _maintainer_name(self, maintainer: str) -> str:
        member = self.store.members.get(maintainer)
        if member is not None:
            return f"{member['firstName']} {member['lastName']}"
        team = self.store.teams.get(maintainer)
        return str(team["name"]) if team is not None else maintainer


def _percentile(values: list[int], p: int) -> int:
    if not values:
        return 0
    return values[min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1)]
