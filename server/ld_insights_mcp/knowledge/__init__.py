"""What the scores mean: one data file (``score_categories.json``) loaded into models."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndicatorBand(_Frozen):
    key: str
    min: int
    max: int
    meaning: str


class SpecialIndicator(_Frozen):
    key: str
    meaning: str
    what_to_do: str


class ScoreCategoryInfo(_Frozen):
    key: str
    title: str
    tier: Literal["overall", "composite", "metric"]
    parent: str | None
    optional: bool = False
    measures: str
    computed_as: str
    aggregates: tuple[str, ...]
    moves_up: tuple[str, ...]
    moves_down: tuple[str, ...]
    how_to_improve: tuple[str, ...]


class Knowledge(_Frozen):
    source: str
    scale: str
    indicators: tuple[IndicatorBand, ...]
    special_indicators: tuple[SpecialIndicator, ...]
    categories: tuple[ScoreCategoryInfo, ...]

    def category(self, key: str) -> ScoreCategoryInfo:
        for info in self.categories:
            if info.key == key:
                return info
        valid = ", ".join(c.key for c in self.categories)
        raise KeyError(f"unknown score category {key!r}; valid: {valid}")

    def indicator_for(self, score: int) -> str:
        for band in self.indicators:
            if band.min <= score <= band.max:
                return band.key
        raise ValueError(f"score {score} is outside 0-100")


@cache
def load_knowledge() -> Knowledge:
    """The knowledge file, parsed once (works from a wheel)."""
    text = files(__package__).joinpath("score_categories.json").read_text(encoding="utf-8")
    return Knowledge.model_validate_json(text)


CATEGORY_KEYS: tuple[str, ...] = tuple(c.key for c in load_knowledge().categories)
