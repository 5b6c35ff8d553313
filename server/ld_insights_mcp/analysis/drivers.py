"""The driver of a change: one rule for every category and composite.

The direction is the metric's own (a base category's raw metric, per ``higher_is_better``; a
composite's score). The driver is the part whose effect moved it most that way; the largest
move the other way is the counter-trend ("despite ..."), e.g. ``lead time 147.5 h → 141.5 h
(better): review stage 60 h → 52 h moved it most; despite deploy wait stage 43 h → 44 h``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from ld_insights_mcp.analysis.metrics import Part, Reading
from ld_insights_mcp.analysis.units import MAX_DIGITS, moved, show
from ld_insights_mcp.launchdarkly.vocabulary import CALCULATED_INDICATORS, CATEGORY_PARTS

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import MetricScore

IMPROVED, WORSENED, UNCHANGED = "improved", "worsened", "unchanged"
WORDS = {IMPROVED: "better", WORSENED: "worse", UNCHANGED: "unchanged"}
EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Driver:
    """``direction`` is None when there are not two values to compare."""

    direction: str | None
    part: Part | None = None
    counter: Part | None = None
    text: str | None = None
    leaf: str | None = None
    """For a composite: the base category under ``part`` that moved most (its own driver)."""
    cycle: str | None = None
    """For a composite: LaunchDarkly's ``aggregateOf`` cycle met on the way down, if any."""


def direction_of(change: float, *, higher_is_better: bool) -> str:
    if abs(change) <= EPSILON:
        return UNCHANGED
    return IMPROVED if (change > 0) == higher_is_better else WORSENED


def choose(
    direction: str, parts: Sequence[Part], *, higher_is_better: bool
) -> tuple[Part | None, Part | None]:
    """(the part that moved the metric most in ``direction``, the largest move against)."""
    if direction == UNCHANGED:
        return None, None
    want = 1.0 if (direction == IMPROVED) == higher_is_better else -1.0
    along = [p for p in parts if p.effect * want > EPSILON]
    against = [p for p in parts if p.effect * want < -EPSILON and p.text is not None]
    biggest = max(along, key=lambda p: abs(p.effect), default=None)
    counter = max(against, key=lambda p: abs(p.effect), default=None)
    return biggest, counter


def _sentence(head: str, direction: str, part: Part | None, counter: Part | None) -> str:
    text = f"{head} ({WORDS[direction]})"
    if direction == UNCHANGED:
        return text
    if part is None:
        return text + ": no single part moved it that way"
    text += f": {part.text or part.key + ' (by less than can be shown)'} moved it most"
    return text + (f"; despite {counter.text}" if counter else "")


def of_reading(reading: Reading) -> Driver:
    """The driver of a base category's raw metric between the two periods."""
    now, last = reading.value, reading.last_value
    if now is None and reading.why_none[0]:
        return Driver(None)  # the metric says why
    if now is not None and last is None and reading.why_none[1]:
        return Driver(None, text=f"no change to state: {reading.why_none[1]}")
    if now is None or last is None:
        return Driver(None, text=reading.note)
    direction = direction_of(now - last, higher_is_better=reading.higher_is_better)
    part, counter = choose(direction, reading.parts, higher_is_better=reading.higher_is_better)

    def render(value: float, extra: int) -> str:
        return show(value, reading.unit, extra)

    shown = moved(last, now, render)
    if shown is None:
        shown = f"{render(last, MAX_DIGITS)} → {render(now, MAX_DIGITS)}"
    head = f"{reading.label} {shown}"
    return Driver(direction, part, counter, _sentence(head, direction, part, counter))


def calculated(score: MetricScore | None) -> TypeGuard[MetricScore]:
    return score is not None and score.indicator in CALCULATED_INDICATORS


def _score_change(score: MetricScore | None) -> int | None:
    if calculated(score) and calculated(score.last_period):
        return score.score - score.last_period.score
    return None


def parts_of(category: str, score: MetricScore) -> tuple[str, ...]:
    return tuple(score.aggregate_of) or CATEGORY_PARTS.get(category, ())


def of_composite(
    category: str, scores: Mapping[str, MetricScore], path: tuple[str, ...] = ()
) -> Driver:
    """The driver of a composite's score: the part whose score moved it most that way (a
    composite is the mean of its parts), followed down to a base category; a part already on
    the ``path`` down (an ``aggregateOf`` cycle in LaunchDarkly's scores) is not followed."""
    path = (*path, category)
    score = scores.get(category)
    change = _score_change(score)
    if score is None or change is None:
        return Driver(None)
    names = parts_of(category, score)
    changes = {n: c for n in names if (c := _score_change(scores.get(n))) is not None}
    parts = [
        Part(n, f"{n} {scores[n].score - c} → {scores[n].score}", c / max(len(names), 1))
        for n, c in changes.items()
    ]
    direction = direction_of(change, higher_is_better=True)
    part, counter = choose(direction, parts, higher_is_better=True)
    leaf = cycle = None
    if part is not None and part.key in path:
        cycle = " → ".join((*path, part.key))
    elif part is not None and part.key in CATEGORY_PARTS:
        below = of_composite(part.key, scores, path)
        leaf, cycle = below.leaf, below.cycle
    elif part is not None:
        leaf = part.key
    if part is not None:
        inner = scores.get(leaf) if leaf is not None else None
        if inner is not None and leaf != part.key:
            was = inner.score - (_score_change(inner) or 0)
            within = f" (within it {leaf} {was} → {inner.score})"
            part = Part(part.key, (part.text or part.key) + within, part.effect)
    head = f"{category} {score.score - change} → {score.score}"
    return Driver(direction, part, counter, _sentence(head, direction, part, counter), leaf, cycle)
