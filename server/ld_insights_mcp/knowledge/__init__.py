"""What the scores mean: ``score_categories.json`` loaded into models (the bands' ranges come
from ``launchdarkly.vocabulary.BANDS``)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ld_insights_mcp.launchdarkly.vocabulary import BANDS, CALCULATED_INDICATORS, Band, band_for


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndicatorBand(_Frozen):
    """A band's meaning from the file; its range comes from ``vocabulary.BANDS``."""

    key: str
    meaning: str

    @field_validator("key")
    @classmethod
    def _known(cls, key: str) -> str:
        if key not in CALCULATED_INDICATORS:
            raise ValueError(f"{key!r} is not one of {', '.join(CALCULATED_INDICATORS)}")
        return key

    @property
    def _band(self) -> Band:
        return next(b for b in BANDS if b.indicator == self.key)

    @property
    def min(self) -> int:
        return self._band.low

    @property
    def max(self) -> int:
        return self._band.high


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
    evidence_tools: tuple[str, ...] = ()
    """Tool calls that show this category's evidence (empty: no evidence operation)."""


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

    @model_validator(mode="after")
    def _every_band_explained(self) -> Knowledge:
        explained = [band.key for band in self.indicators]
        if explained != list(CALCULATED_INDICATORS):
            raise ValueError(f"indicators must explain {', '.join(CALCULATED_INDICATORS)} in order")
        return self

    def indicator_for(self, score: int) -> str:
        return band_for(score).indicator


@cache
def load_knowledge() -> Knowledge:
    """The knowledge file, parsed once (works from a wheel)."""
    text = files(__package__).joinpath("score_categories.json").read_text(encoding="utf-8")
    return Knowledge.model_validate_json(text)


CATEGORY_KEYS: tuple[str, ...] = tuple(c.key for c in load_knowledge().categories)
