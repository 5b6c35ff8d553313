"""Flag events that record a flag's creation or archival (the creation ratio's inputs).

The contract documents no lifecycle ``eventType``: an event is a creation when its type or
actions say so (``created_flag``; ``createFlag``/``cloneFlag``), an archival likewise
(``archived_flag``, ``deleted_flag``; ``deleteFlag``). ``updateGlobalArchived`` also restores.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import FlagEvent


CREATED, ARCHIVED = "created", "archived"

_TYPES = {"created_flag": CREATED, "archived_flag": ARCHIVED, "deleted_flag": ARCHIVED}
_ACTIONS = {"createFlag": CREATED, "cloneFlag": CREATED, "deleteFlag": ARCHIVED}


def lifecycle(event: FlagEvent) -> str | None:
    """``created``, ``archived`` or None (any other change)."""
    kind = _TYPES.get(event.event_type)
    if kind is not None:
        return kind
    for action in event.actions:
        if action in _ACTIONS:
            return _ACTIONS[action]
    return None


def lifecycle_counts(events: Iterable[FlagEvent]) -> dict[str, int]:
    """Flags created and archived among ``events``."""
    counts = {CREATED: 0, ARCHIVED: 0}
    for event in events:
        kind = lifecycle(event)
        if kind is not None:
            counts[kind] += 1
    return counts
