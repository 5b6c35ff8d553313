"""Engineering Insights scores: deterministic per slice (project, environment, applications).

- Base categories score 0-100 in the current and last period, from a generator seeded with the
  anchor day and the slice (an insight group scores like ``GET .../insights/scores`` for it).
- ``indicator`` and ``indicatorRange`` follow LaunchDarkly's bands (``vocabulary.BANDS``).
- Composites are the mean (half up) of their calculated parts (``CATEGORY_PARTS``), listed in
  ``aggregateOf``; ``diffVsLastPeriod`` = score - lastPeriod.score.
- A category that cannot be calculated (experimentation coverage without experiments) is
  ``NOT_CALCULATED``, with no ``diffVsLastPeriod`` or ``lastPeriod``.
- The current period is 30 days, the last the 30 before; where it ends is undocumented
  (``PERIOD_ALIGNMENTS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ld_insights_mcp.emulator.seed import DAY_MS, SeedProject, rng_for
from ld_insights_mcp.launchdarkly.vocabulary import BASE_CATEGORIES, CATEGORY_PARTS, band_for

PERIOD_DAYS = 30
WIRE_ORDER = (
    "overall", "deploymentFrequency", "deploymentFailureRate", "leadTime", "impactSize",
    "experimentationCoverage", "flagHealth", "velocity", "risk", "efficiency", "creationRatio",
)  # fmt: skip
NOT_CALCULATED: dict[str, Any] = {
    "score": 0,
    "indicator": "notCalculated",
    "indicatorRange": {"min": 0, "max": 0},
}

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Period:
    start_ms: int
    end_ms: int

    def rep(self) -> Body:
        return {"startTime": self.start_ms, "endTime": self.end_ms}


PERIOD_ALIGNMENTS = ("anchor", "now", "midnight", "unaligned")
"""Where the current period ends: ``anchor`` at the data's anchor ``now_ms`` (the default);
``now`` at the clock's instant of the request; ``midnight`` at the last UTC midnight of the
clock; ``unaligned`` an hour and more before ``now_ms``, moving by 7,919 ms with every answer
(no rule predicts it)."""


def periods(
    now_ms: int, *, alignment: str = "anchor", clock_ms: int = 0, answer: int = 0
) -> tuple[Period, Period]:
    """(current, last): 30 days ending as ``alignment`` says and the 30 days before;
    ``clock_ms`` is the request's instant, ``answer`` counts the answers given so far."""
    ends = {
        "anchor": now_ms,
        "now": clock_ms,
        "midnight": clock_ms - clock_ms % DAY_MS,
        "unaligned": now_ms - 3_600_000 - 7_919 * answer,
    }
    end = ends[alignment]
    length = PERIOD_DAYS * DAY_MS
    return Period(end - length, end), Period(end - 2 * length, end - length)


def mean_half_up(values: Iterable[int]) -> int:
    items = list(values)
    return (2 * sum(items) + len(items)) // (2 * len(items))


def _clamp(value: int) -> int:
    return max(0, min(100, value))


def _plain(score: int, aggregate_of: tuple[str, ...]) -> Body:
    name, low, high = band_for(score)
    rep: Body = {"score": score, "indicator": name, "indicatorRange": {"min": low, "max": high}}
    if aggregate_of:
        rep["aggregateOf"] = list(aggregate_of)
    return rep


def _with_last(now: int, last: int, aggregate_of: tuple[str, ...] = ()) -> Body:
    rep = _plain(now, aggregate_of)
    rep["diffVsLastPeriod"] = now - last
    rep["lastPeriod"] = _plain(last, aggregate_of)
    return rep


def slice_scores(
    project: SeedProject, environment: str, applications: Iterable[str], *, now_ms: int
) -> Body:
    """``InsightGroupScores`` for one slice; ``applications`` empty means all of them.

    The result is cached and shared: serialize it, do not change it."""
    return _scores(project, environment, tuple(sorted(set(applications))), now_ms // DAY_MS)


@lru_cache(maxsize=4096)
def _scores(project: SeedProject, environment: str, apps: tuple[str, ...], day: int) -> Body:
    rng = rng_for("scores", str(day), project.key, environment, ",".join(apps))
    # every seeded slice has deployments and flags; only experiments can be missing
    skipped = () if project.has_experiments else ("experimentationCoverage",)
    maturity = rng.randint(25, 97)
    current: dict[str, int] = {}
    last: dict[str, int] = {}
    for category in BASE_CATEGORIES:
        now_value = _clamp(maturity + rng.randint(-20, 12))
        last_value = _clamp(now_value - rng.randint(-15, 15))
        if category not in skipped:
            current[category], last[category] = now_value, last_value
    scores: Body = {
        c: _with_last(current[c], last[c]) if c in current else dict(NOT_CALCULATED)
        for c in BASE_CATEGORIES
    }
    for name in (*CATEGORY_PARTS["overall"], "overall"):  # the composites, then overall
        used = tuple(p for p in CATEGORY_PARTS[name] if p in current)
        if not used:
            scores[name] = dict(NOT_CALCULATED)
            continue
        current[name] = mean_half_up(current[p] for p in used)
        last[name] = mean_half_up(last[p] for p in used)
        scores[name] = _with_last(current[name], last[name], used)
    ratio = rng.randint(25, 95)
    scores["creationRatio"] = _with_last(ratio, _clamp(ratio + rng.randint(-12, 12)))
    return {name: scores[name] for name in WIRE_ORDER}
