"""Every insight group ranked: bands, biggest drops, each group's weakest category."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ld_insights_mcp.analysis.categories import LEAVES, weakest_leaf
from ld_insights_mcp.analysis.drivers import calculated
from ld_insights_mcp.launchdarkly.vocabulary import INDICATORS

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import CountByIndicator, InsightGroup

DROP_CATEGORIES = ("overall", *LEAVES)
"""Categories whose drops are listed (composites would count their parts twice)."""


@dataclass(frozen=True, slots=True)
class RankedGroup:
    key: str
    name: str
    project_key: str
    environment_key: str
    overall: int | None
    indicator: str
    change: int | None
    weakest: str | None
    weakest_score: int | None


@dataclass(frozen=True, slots=True)
class Drop:
    group_key: str
    category: str
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before


def rank_groups(groups: Sequence[InsightGroup]) -> list[RankedGroup]:
    """Highest overall first; groups without an overall score last (by key)."""
    ranked = []
    for group in groups:
        scores = group.scores.by_category() if group.scores else {}
        overall = scores.get("overall")
        weakest = weakest_leaf(scores)
        ranked.append(
            RankedGroup(
                key=group.key,
                name=group.name,
                project_key=group.project_key,
                environment_key=group.environment_key,
                overall=overall.score if calculated(overall) else None,
                indicator=overall.indicator if overall else "unknown",
                change=overall.change if overall else None,
                weakest=weakest,
                weakest_score=scores[weakest].score if weakest else None,
            )
        )
    ranked.sort(key=lambda g: (g.overall is None, -(g.overall or 0), g.key))
    return ranked


def band_counts(
    ranked: Sequence[RankedGroup], metadata: CountByIndicator | None = None
) -> dict[str, int]:
    """Groups per overall indicator: LaunchDarkly's count over all groups when given."""
    if metadata is not None:
        wire = metadata.model_dump(by_alias=True)
        return {name: int(wire.get(name, 0)) for name in INDICATORS}
    counted = Counter(g.indicator for g in ranked)
    return {name: counted.get(name, 0) for name in INDICATORS}


def biggest_drops(groups: Sequence[InsightGroup]) -> list[Drop]:
    """The five largest falls since the last period, across groups and categories."""
    drops = []
    for group in groups:
        scores = group.scores.by_category() if group.scores else {}
        for category in DROP_CATEGORIES:
            score = scores.get(category)
            last = score.last_period if score else None
            if calculated(score) and calculated(last) and score.score < last.score:
                drops.append(Drop(group.key, category, last.score, score.score))
    drops.sort(key=lambda d: (d.change, d.group_key, d.category))
    return drops[:5]


def most_regressed(ranked: Sequence[RankedGroup]) -> RankedGroup | None:
    """The group whose overall score fell most (None if none fell)."""
    fallen = [g for g in ranked if g.change is not None and g.change < 0]
    return min(fallen, key=lambda g: (g.change or 0, g.key)) if fallen else None


def worth_explaining(ranked: Sequence[RankedGroup]) -> RankedGroup | None:
    """The group to explain next: the one that regressed most, else the lowest-scored."""
    regressed = most_regressed(ranked)
    if regressed is not None and regressed.weakest:
        return regressed
    scored = [g for g in ranked if g.overall is not None and g.weakest]
    return scored[-1] if scored else None
