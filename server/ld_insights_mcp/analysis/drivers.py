"""The main driver of a score: what changed between the last period and this one.

Each function takes what the period charts and lists say and returns one sentence, e.g.
``review stage 9 h → 31 h (the largest rise; lead time 30 h → 52 h)``. No scoring formula is
published: a driver is the input that moved most in the direction of the score's change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from ..launchdarkly.evidence_models import ChartMetric, Deployment
from ..views.common import plural, quoted
from .units import duration, number, share, with_unit

STAGE_NAMES = {"coding": "coding", "review": "review", "wait": "deploy wait", "deploy": "deploy"}


def _value_change(now: ChartMetric | None, last: ChartMetric | None, label: str) -> str | None:
    if now is None:
        return None
    if last is None:
        return f"{label} {with_unit(now.value, now.unit)}"
    return f"{label} {with_unit(last.value, last.unit)} → {with_unit(now.value, now.unit)}"


def lead_time(
    now: Mapping[str, float | None],
    last: Mapping[str, float | None],
    metric_now: ChartMetric | None = None,
    metric_last: ChartMetric | None = None,
) -> str | None:
    """The stage whose average rose most; if none rose, the stage that dominates now."""
    overall = _value_change(metric_now, metric_last, "lead time")
    stages = {k: v for k, v in now.items() if v is not None}
    if not stages:
        return overall
    rises = {
        name: value - (last.get(name) or 0.0)
        for name, value in stages.items()
        if last.get(name) is not None
    }
    riser = max(rises, key=lambda n: rises[n]) if rises else None
    if riser is not None and rises[riser] > 0:
        text = (
            f"{STAGE_NAMES.get(riser, quoted(riser))} stage {duration(last[riser])} → "
            f"{duration(stages[riser])} (largest rise)"
        )
    else:
        top = max(stages, key=lambda n: stages[n])
        whole = sum(stages.values())
        text = (
            f"{STAGE_NAMES.get(top, quoted(top))} stage dominates: {duration(stages[top])} of "
            f"{duration(whole)}"
        )
    return f"{text}; {overall}" if overall else text


def deployment_frequency(
    now: Mapping[str, int],
    last: Mapping[str, int],
    metric_now: ChartMetric | None = None,
    metric_last: ChartMetric | None = None,
) -> str | None:
    """Total deployments then → now, and the application that moved most."""
    if not now and not last:
        return None
    total_now, total_last = sum(now.values()), sum(last.values())
    apps = set(now) | set(last)
    moves = {app: now.get(app, 0) - last.get(app, 0) for app in apps}
    text = f"deployments {total_last} → {total_now}"
    falling = total_now <= total_last
    mover = (min if falling else max)(sorted(moves), key=lambda a: moves[a])
    if moves[mover] != 0:
        text += f"; {quoted(mover)} {last.get(mover, 0)} → {now.get(mover, 0)}"
    rate = _value_change(metric_now, metric_last, "per day")
    return f"{text} ({rate})" if rate else text


def failure_rate(
    failed_now: Sequence[Deployment],
    metric_now: ChartMetric | None = None,
    metric_last: ChartMetric | None = None,
    total_failed: int | None = None,
) -> str | None:
    """The failure rate then → now and the application with most failed deployments."""
    rate = _value_change(metric_now, metric_last, "failure rate")
    count = total_failed if total_failed is not None else len(failed_now)
    by_app = Counter(d.application_key for d in failed_now)
    parts = [rate] if rate else []
    if by_app:
        app, most = by_app.most_common(1)[0]
        parts.append(f"{plural(count, 'failed deployment')}, {most} in {quoted(app)}")
    elif count == 0:
        parts.append("no failed deployment this period")
    return "; ".join(parts) or None


def impact_size(
    now: Mapping[str, int],
    last: Mapping[str, int],
) -> str | None:
    """The share of large-impact flag changes then → now."""
    if not now:
        return None
    text = f"large-impact changes {share(now.get('large', 0), sum(now.values()))}"
    if last:
        text = (
            f"large-impact changes {share(last.get('large', 0), sum(last.values()))} → "
            f"{share(now.get('large', 0), sum(now.values()))}"
        )
    return text


def experimentation(metric_now: ChartMetric | None, metric_last: ChartMetric | None) -> str | None:
    return _value_change(metric_now, metric_last, "experiment coverage")


def flag_health(
    stale_by_maintainer: Mapping[str, int], metric_now: ChartMetric | None
) -> str | None:
    """How many flags are stale now (a snapshot) and whose most are."""
    total = sum(stale_by_maintainer.values())
    if not stale_by_maintainer and metric_now is None:
        return None
    text = plural(total, "stale flag")
    if metric_now is not None:
        text += f" ({number(metric_now.value)}% of flags)"
    if stale_by_maintainer:
        name = max(sorted(stale_by_maintainer), key=lambda n: stale_by_maintainer[n])
        text += f"; most maintained by {quoted(name)} ({stale_by_maintainer[name]})"
    return text + "; a snapshot, no history"
