"""Score categories as a tree: which leaves explain a composite, and how to rank parts."""

from __future__ import annotations

from collections.abc import Mapping

from ..launchdarkly.models import MetricScore
from ..launchdarkly.vocabulary import BASE_CATEGORIES, CALCULATED_INDICATORS, CATEGORY_PARTS

PARTS = CATEGORY_PARTS
COMPOSITES = tuple(PARTS)
LEAVES = BASE_CATEGORIES
EXPLAINABLE = (*COMPOSITES, *LEAVES)
"""Categories ``explain_score`` takes (creationRatio has no evidence operation)."""


def calculated(score: MetricScore | None) -> bool:
    return score is not None and score.indicator in CALCULATED_INDICATORS


def weakness(score: MetricScore) -> tuple[int, int]:
    """Sort key, weakest first: lowest score, then the largest drop."""
    return score.score, score.diff_vs_last_period or 0


def leaves_of(category: str) -> list[str]:
    """The base categories under ``category`` (itself for a leaf)."""
    if category not in PARTS:
        return [category]
    return [leaf for part in PARTS[category] for leaf in leaves_of(part)]


def leaves_to_explain(
    category: str, scores: Mapping[str, MetricScore], *, most: int = 2
) -> list[str]:
    """A leaf explains itself; a composite descends into its weakest calculated leaves (at
    most ``most``), weakest first. A leaf without a score is still returned: its evidence
    shows why."""
    if category not in PARTS:
        return [category]
    found = [(leaf, scores[leaf]) for leaf in leaves_of(category) if calculated(scores.get(leaf))]
    found.sort(key=lambda pair: weakness(pair[1]))
    return [leaf for leaf, _ in found[:most]]


def weakest_leaf(scores: Mapping[str, MetricScore]) -> str | None:
    """The lowest calculated base category, or None if none is calculated."""
    found = [(leaf, scores[leaf]) for leaf in LEAVES if calculated(scores.get(leaf))]
    if not found:
        return None
    return min(found, key=lambda pair: weakness(pair[1]))[0]
