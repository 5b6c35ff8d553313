"""The contract's vocabulary, written once for the client, emulator, tools and resources: the
key pattern, the score indicator bands and the score category tree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""LaunchDarkly keys: letters, digits, '.', '_' and '-', starting with a letter or digit."""

KEY_MAX_LENGTH = 256
"""The longest key accepted."""


class Band(NamedTuple):
    """One indicator band: scores from ``low`` to ``high`` inclusive."""

    indicator: str
    low: int
    high: int


BANDS: tuple[Band, ...] = (
    Band("excellent", 90, 100),
    Band("good", 70, 89),
    Band("fair", 40, 69),
    Band("needsAttention", 0, 39),
)
"""The calculated indicators and their score ranges, best first."""

CALCULATED_INDICATORS: tuple[str, ...] = tuple(band.indicator for band in BANDS)
"""Indicators that carry a real 0-100 score."""

SPECIAL_INDICATORS: tuple[str, ...] = ("notCalculated", "unknown")
"""Indicators without a score: no data, or undetermined."""

INDICATORS: tuple[str, ...] = CALCULATED_INDICATORS + SPECIAL_INDICATORS
"""Every indicator value the contract defines, best first."""

BANDS_TEXT = ", ".join(f"{band.indicator} {band.low}-{band.high}" for band in BANDS)
"""The bands for descriptions: 'excellent 90-100, good 70-89, ...'."""


def band_for(score: int) -> Band:
    """The band a 0-100 score falls in."""
    for band in BANDS:
        if band.low <= score <= band.high:
            return band
    raise ValueError(f"score {score} is outside 0-100")


CATEGORY_PARTS: dict[str, tuple[str, ...]] = {
    "overall": ("velocity", "risk", "efficiency"),
    "velocity": ("deploymentFrequency", "leadTime"),
    "risk": ("deploymentFailureRate", "impactSize"),
    "efficiency": ("flagHealth", "experimentationCoverage"),
}
"""Each composite score category and the categories it aggregates (the API's ``aggregateOf``)."""

BASE_CATEGORIES: tuple[str, ...] = tuple(
    part for composite in CATEGORY_PARTS["overall"] for part in CATEGORY_PARTS[composite]
)
"""The base categories under the composites, in their order (``creationRatio`` stands alone)."""

SCORE_CATEGORIES = (
    "overall",
    *(name for part in CATEGORY_PARTS["overall"] for name in (part, *CATEGORY_PARTS[part])),
    "creationRatio",
)
"""Every category of ``InsightGroupScores``, wire names, in reading order (depth first)."""


def millis_to_datetime(value: int) -> datetime:
    """A Unix-milliseconds timestamp (the API's time unit) as an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)
