"""Score band -> raw metric range, written once: what the emulator's evidence is generated to
match and what its charts' ``metrics`` tier ladders say (no scoring formula is published).

Raw metrics: deploymentFrequency, deployments (finished or failed) per day; failure rate,
failed percent of those; leadTime, mean hours from first commit to the end of the deployment
of the pull requests deployed; impactSize, percent of flag events with a ``large`` impact;
experimentationCoverage, percent linked to an experiment; flagHealth, percent of flags stale
(a snapshot); creationRatio, flags created per flag archived (no chart states it: its ladder
only shapes the generated events).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ld_insights_mcp.launchdarkly.vocabulary import BANDS, Band, band_for

BAND_NAMES = tuple(band.indicator for band in BANDS)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ladder:
    """Thresholds for excellent, good and fair (needsAttention is the rest); ``floor`` and
    ``ceiling`` bound the values generated in the open-ended bands."""

    category: str
    unit: str
    modifier: str
    higher_is_better: bool
    thresholds: tuple[float, float, float]
    floor: float
    ceiling: float
    tiers: tuple[str, str, str, str]

    def band(self, value: float) -> str:
        """The indicator a raw value earns."""
        for name, threshold in zip(BAND_NAMES, self.thresholds, strict=False):
            if (value >= threshold) if self.higher_is_better else (value <= threshold):
                return name
        return BAND_NAMES[-1]

    def range_for(self, indicator: str) -> tuple[float, float]:
        """(low, high) raw values of one band, bounded by ``floor`` and ``ceiling``."""
        edges = (self.floor, *sorted(self.thresholds), self.ceiling)
        index = BAND_NAMES.index(indicator)
        position = 3 - index if self.higher_is_better else index
        return edges[position], edges[position + 1]

    def target(self, score: int) -> float:
        """A raw value inside the score's band, placed as the score is placed in its band
        (10 % margins keep it off the edges)."""
        band = band_for(score)
        low, high = self.range_for(band.indicator)
        fraction = 0.1 + 0.8 * _position(score, band)
        span = high - low
        return low + fraction * span if self.higher_is_better else high - fraction * span

    def tier_reps(self) -> list[dict[str, str]]:
        """``InsightsMetricTierDefinition`` list, best first."""
        return [
            {"indicator": n, "description": d} for n, d in zip(BAND_NAMES, self.tiers, strict=True)
        ]


def _position(score: int, band: Band) -> float:
    return (score - band.low) / max(1, band.high - band.low)


def _percent(
    category: str,
    modifier: str,
    thresholds: tuple[float, float, float],
    *,
    higher_is_better: bool = False,
) -> Ladder:
    """A ladder of percentages (0-100) whose tiers read "at most 10%" ... "more than 35%"
    ("at least" ... "less than" when higher is better)."""
    within, beyond = ("at least", "less than") if higher_is_better else ("at most", "more than")
    first, second, third = (f"{threshold:g}%" for threshold in thresholds)
    tiers = (f"{within} {first}", f"{within} {second}", f"{within} {third}", f"{beyond} {third}")
    return Ladder(category, "percent", modifier, higher_is_better, thresholds, 0.0, 100.0, tiers)


LADDERS: dict[str, Ladder] = {
    ladder.category: ladder
    for ladder in (
        Ladder("deploymentFrequency", "count", "per day", True, (1.0, 3 / 7, 1 / 7), 0.0, 3.0,
               ("at least 1 per day", "at least 3 per week", "at least 1 per week",
                "less than 1 per week")),
        _percent("deploymentFailureRate", "of deployments failed", (10.0, 30.0, 55.0)),
        Ladder("leadTime", "hours", "average from first commit to deployment", False,
               (24.0, 168.0, 720.0), 2.0, 1440.0,
               ("at most 1 day", "at most 1 week", "at most 30 days", "more than 30 days")),
        _percent("impactSize", "of flag changes with a large impact", (10.0, 20.0, 35.0)),
        _percent("experimentationCoverage", "of flag changes with an experiment",
                 (40.0, 20.0, 10.0), higher_is_better=True),
        _percent("flagHealth", "of flags stale", (10.0, 20.0, 35.0)),
        Ladder("creationRatio", "ratio", "flags created per flag archived", False, (1.0, 1.5, 3.0),
               0.25, 6.0, ("at most 1", "at most 1.5", "at most 3", "more than 3")),
    )
}  # fmt: skip


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _closest(
    category: str, score: int, candidates: Iterable[T], value: Callable[[T], float]
) -> list[T]:
    """The candidates whose value earns the score's band, closest first to where the score
    sits in its band (so a higher score never gets a worse value)."""
    ladder = LADDERS[category]
    indicator, wanted = band_for(score).indicator, ladder.target(score)
    fits = [c for c in candidates if ladder.band(value(c)) == indicator]
    return sorted(fits, key=lambda c: abs(value(c) - wanted))


def pick_share(category: str, score: int, whole: int, *, most: int | None = None) -> int | None:
    """A count (at most ``most``) of ``whole`` whose percentage earns the score's band; None
    when none does (``whole`` too small)."""
    top = whole if most is None else min(most, whole)
    fits = _closest(category, score, range(top + 1), lambda k: percent(k, whole))
    return fits[0] if fits else None


def pick_ratio(category: str, score: int, rng: random.Random) -> tuple[int, int]:
    """``(created, archived)`` counts (archived 2-8) whose ratio earns the score's band."""
    pairs = [(created, archived) for archived in range(2, 9) for created in range(1, 25)]
    fits = _closest(category, score, pairs, lambda pair: pair[0] / pair[1])
    return fits[rng.randrange(min(3, len(fits)))]  # a little variety between equal scores


def metric_rep(category: str, value: float) -> dict[str, object]:
    """``InsightsChartMetric`` for a raw value."""
    ladder = LADDERS[category]
    return {
        "indicator": ladder.band(value),
        "value": round(value, 2),
        "unit": ladder.unit,
        "modifier": ladder.modifier,
        "tiers": ladder.tier_reps(),
    }
