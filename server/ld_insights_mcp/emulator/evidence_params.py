"""Query parameters of the evidence operations, parsed strictly: a bad value is a 400 naming
the parameter.

- Time: ``int64`` parameters take Unix milliseconds; ``date-time`` ones also an RFC 3339
  date-time. ``from`` defaults to 7 days before ``to``, ``to`` to now; ``from`` after ``to`` is
  a 400; a ``to`` after now is undocumented (``FUTURE_TO``).
- Cursor paging: ``limit`` 1-100 (default 20), ``after`` or ``before`` an item id of the same
  query (else a 400). ``_links.next`` is ``<path>?after=<id>`` without filters, as in the
  contract's example: send the filters again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ld_insights_mcp.emulator.errors import invalid, not_found
from ld_insights_mcp.emulator.evidence_seed import Evidence, slice_evidence
from ld_insights_mcp.emulator.request import ApiRequest
from ld_insights_mcp.emulator.seed import DAY_MS, SeedProject
from ld_insights_mcp.emulator.store import Body, Store, link

_MILLIS = re.compile(r"[0-9]{1,15}")

FUTURE_TO = ("accept", "refuse")
"""What a ``to`` after now gets: ``accept`` reads the window as sent (the default);
``refuse`` answers 400 naming ``to``."""


@dataclass(frozen=True, slots=True)
class Window:
    start: int
    end: int

    def holds(self, instant: int) -> bool:
        return self.start <= instant <= self.end


def csv(request: ApiRequest, name: str) -> list[str]:
    raw = request.arg(name) or ""
    return list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def choice(request: ApiRequest, name: str, allowed: tuple[str, ...]) -> str | None:
    """An optional parameter that must be one of ``allowed``."""
    raw = request.arg(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise invalid(name, f"must be one of {', '.join(allowed)}; got {raw[:40]!r}")
    return raw


def boolean(request: ApiRequest, name: str) -> bool | None:
    value = choice(request, name, ("true", "false"))
    return None if value is None else value == "true"


def _instant(request: ApiRequest, name: str, *, date_time: bool) -> int | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return None
    if _MILLIS.fullmatch(raw):
        return int(raw)
    if date_time:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return int(parsed.timestamp() * 1000)
        raise invalid(
            name,
            "must be Unix milliseconds or an RFC 3339 date-time with a time zone; "
            f"got {raw[:40]!r}",
        )
    raise invalid(name, f"must be Unix milliseconds (an integer); got {raw[:40]!r}")


class Windows:
    """How the evidence operations read ``from``/``to`` (see the module docstring): ``clock``
    gives now; ``future_to`` is one of ``FUTURE_TO``."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.future_to = "accept"

    def of(self, request: ApiRequest, *, date_time: bool) -> Window:
        if self.future_to not in FUTURE_TO:
            raise ValueError(f"future_to must be one of {', '.join(FUTURE_TO)}")
        now = self.clock()
        end = _instant(request, "to", date_time=date_time)
        if end is None:
            end = now
        elif end > now and self.future_to == "refuse":
            raise invalid("to", f"must not be in the future ({end} > now {now}): omit it for now")
        start = _instant(request, "from", date_time=date_time)
        start = end - 7 * DAY_MS if start is None else start
        if start > end:
            raise invalid("from", f"must not be after to ({start} > {end})")
        return Window(start, end)


def project_of(store: Store, request: ApiRequest, *, required: bool = True) -> SeedProject | None:
    key = request.arg("projectKey") or ""
    if not key:
        if required:
            raise invalid("projectKey", "is required")
        return None
    project = store.project(key)
    if project is None:
        raise not_found(f"Project {key!r} not found (projectKey)")
    return project


def environment_of(project: SeedProject, request: ApiRequest, *, required: bool = True) -> str:
    """The environment asked for; optional ones default to the project's first (production)."""
    key = request.arg("environmentKey") or ""
    if not key:
        if required:
            raise invalid("environmentKey", "is required")
        return project.environments[0]
    if key not in project.environments:
        raise not_found(
            f"Environment {key!r} not found in project {project.key!r} (environmentKey)"
        )
    return key


def applications_of(project: SeedProject, request: ApiRequest) -> list[str]:
    apps = csv(request, "applicationKey")
    unknown = [a for a in apps if a not in project.applications]
    if unknown:
        raise invalid(
            "applicationKey",
            f"unknown application(s) {', '.join(unknown)} in project {project.key!r}",
        )
    return apps


def evidence_for(
    store: Store, request: ApiRequest, *, environment_required: bool = True
) -> Evidence:
    """The evidence of the slice the request's project, environment and applications name."""
    project = project_of(store, request)
    assert project is not None
    environment = environment_of(project, request, required=environment_required)
    apps = applications_of(project, request)
    return slice_evidence(project, environment, apps, now_ms=store.now_ms)


def cursor_page(
    request: ApiRequest, path: str, items: list[Body], rep: Callable[[Body], Body]
) -> Body:
    """The page of ``items`` (already filtered and ordered) the request asks for, each shown
    by ``rep``, with ``totalCount`` and ``_links``."""
    limit = request.integer("limit", default=20, low=1, high=100)
    after, before = request.arg("after"), request.arg("before")
    if after and before:
        raise invalid("before", "send either after or before, not both")
    positions = {item["id"]: index for index, item in enumerate(items)}
    start = 0
    for name, cursor in (("after", after), ("before", before)):
        if not cursor:
            continue
        if cursor not in positions:
            raise invalid(
                name, "is not an item of this query: send the cursor with the same filters"
            )
        start = positions[cursor] + 1 if name == "after" else max(0, positions[cursor] - limit)
    stop = positions[before] if before else start + limit
    page = items[start:stop]
    links: Body = {"self": link(path)}
    if page and stop < len(items):
        links["next"] = link(f"{path}?after={page[-1]['id']}")
    if page and start > 0:
        links["prev"] = link(f"{path}?before={page[0]['id']}")
    return {"totalCount": len(items), "items": [rep(item) for item in page], "_links": links}
