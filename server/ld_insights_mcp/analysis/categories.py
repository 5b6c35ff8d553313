"""Score categories as a tree: which leaves explain a composite, and how to rank parts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ld_insights_mcp.analysis.drivers import calculated, of_composite
from ld_insights_mcp.launchdarkly.vocabulary import BASE_CATEGORIES, CATEGORY_PARTS

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import MetricScore

PARTS = CATEGORY_PARTS
COMPOSITES = tuple(PARTS)
LEAVES = BASE_CATEGORIES
STANDALONE = ("creationRatio",)
"""Base categories outside the composites (optional in the API's scores)."""
EXPLAINABLE = (*COMPOSITES, *LEAVES, *STANDALONE)
"""Every category the scores list: ``explain_score`` takes each."""
MOST = 2
"""Base categories a composite's explanation goes into."""


def weakness(score: MetricScore) -> tuple[int, int]:
    """Sort key, weakest first: lowest score, then the largest drop."""
    return score.score, score.change or 0


def leaves_of(category: str) -> list[str]:
    """The base categories under ``category`` (itself for a leaf)."""
    if category not in PARTS:
        return [category]
    return [leaf for part in PARTS[category] for leaf in leaves_of(part)]


def leaves_to_explain(category: str, scores: Mapping[str, MetricScore]) -> list[str]:
    """A leaf explains itself; a composite descends into the base category that drove its
    change (``drivers.of_composite``), then its weakest calculated ones, ``MOST`` in all. A
    leaf without a score is still returned: its evidence shows why."""
    if category not in PARTS:
        return [category]
    found = [(leaf, scores[leaf]) for leaf in leaves_of(category) if calculated(scores.get(leaf))]
    found.sort(key=lambda pair: weakness(pair[1]))
    driver = of_composite(category, scores).leaf
    chosen = [driver] if driver is not None else []
    return list(dict.fromkeys([*chosen, *(leaf for leaf, _ in found)]))[:MOST]


def weakest_leaf(scores: Mapping[str, MetricScore]) -> str | None:
    """The lowest calculated base category, or None if none is calculated."""
    found = [(leaf, scores[leaf]) for leaf in LEAVES if calculated(scores.get(leaf))]
    if not found:
        return None
    return min(found, key=lambda pair: weakness(pair[1]))[0]
