"""The user's confirmation of a change, asked only in the client's own interface to its user
(MCP elicitation): nothing a model can read or write confirms anything. On 2026-07-28 each
question is an ``input_required`` round whose sealed request state carries what the user was
shown; on the 2025 handshake, an ``elicitation/create`` request within the call. See
docs/confirmations.md.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context, RequestStateSecurity
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.session import ServerSession
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS, is_version_at_least
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ld_insights_mcp.auth.person import current_person
from ld_insights_mcp.config import Settings
from ld_insights_mcp.state import app_state
from ld_insights_mcp.text import quoted
from ld_insights_mcp.tools.upstream import Write, call_launchdarkly
from ld_insights_mcp.tools.writes import unchanged
from ld_insights_mcp.views.changes import Approval

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

S = TypeVar("S")
C = TypeVar("C")

INPUT_REQUIRED_VERSION = "2026-07-28"
"""First protocol revision whose elicitation rides the tool result (``input_required``)."""
QUESTION = "confirm"
"""The key of the question in ``input_requests`` and of its answer in ``input_responses``."""
MOST_QUESTIONS = 3
"""Questions in one call: a target that keeps changing while the user decides is left alone."""
STATE_VERSION = 1


class Confirm(BaseModel):
    """The form the user answers. Strict: the tick is JSON ``true``; "yes", 1 or "true" are
    not a tick."""

    model_config = ConfigDict(strict=True)

    confirm: bool = Field(
        title="Make this change",
        description="Tick to make this change now; leave unticked to make no change.",
    )


CONFIRM_SCHEMA = render_elicitation_schema(Confirm)

Verdict = Literal["accepted", "declined", "cancelled", "not_confirmed"]
_SAID = {
    "declined": "the user declined",
    "cancelled": "the user cancelled the confirmation",
    "not_confirmed": "the answer did not tick the confirmation box (only true counts)",
}


def verdict(answer: object) -> Verdict:
    """What the user's answer says; anything but an accepted form ticked ``true`` changes
    nothing."""
    if not isinstance(answer, ElicitResult):
        return "not_confirmed"
    if answer.action == "decline":
        return "declined"
    if answer.action == "cancel":
        return "cancelled"
    try:
        ticked = Confirm.model_validate(answer.content or {}).confirm
    except ValidationError:
        return "not_confirmed"
    return "accepted" if ticked else "declined"


def uses_input_required(protocol_version: str | None) -> bool:
    return protocol_version is not None and is_version_at_least(
        protocol_version, INPUT_REQUIRED_VERSION
    )


def can_ask(session: ServerSession, protocol_version: str | None) -> bool:
    """Whether a form elicitation can reach this client's user (asking a client that did not
    declare the capability is a protocol error, so this is checked first)."""
    capabilities = session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    return uses_input_required(protocol_version) or bool(session.can_send_request)


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """Sealing for the 2026-07-28 request state: the configured keys (every replica shares
    them), or None for the SDK's process-local key."""
    keys = settings.state_keys()
    return RequestStateSecurity(keys=keys) if keys else None


def needs_confirmation(tool: dict[str, Any]) -> bool:
    """A tool (as listed) that may change or remove what exists, by its annotations and MCP's
    defaults (not read-only, destructive)."""
    hints = tool.get("annotations") or {}
    return not hints.get("readOnlyHint", False) and bool(hints.get("destructiveHint", True))


async def hide_unconfirmable_tools(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Server middleware: ``tools/list`` without the tools that need confirmation when the
    client cannot ask its user; on 2026-07-28 the list is marked ``private`` for caches, since
    it depends on who asks."""
    result = await call_next(ctx)
    if ctx.method != "tools/list" or not isinstance(result, dict):
        return result
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        result = {**result, "cacheScope": "private"}
    if can_ask(ctx.session, ctx.protocol_version):
        return result
    return {**result, "tools": [t for t in result.get("tools", []) if not needs_confirmation(t)]}


@dataclass(frozen=True, slots=True)
class Proposal(Generic[S, C]):
    """A change that waits for the user's word: ``read`` it fresh, ``settled`` (the result when
    there is nothing to ask), the ``facts`` shown and compared after the answer, the ``question``,
    the ``change`` itself, and the advice on a 404 and the call that shows what happened."""

    tool: str
    target: str
    what: str
    """Names the change, e.g. "the delete of insight group 'x'"."""
    read: Callable[[], Awaitable[S]]
    settled: Callable[[S], CallToolResult | None]
    facts: Callable[[S], dict[str, Any]]
    question: Callable[[S], str]
    change: Callable[[LaunchDarklyClient, S], Awaitable[C]]
    not_found: str
    read_back: str


@dataclass(frozen=True, slots=True)
class Done(Generic[S, C]):
    """The change was made from ``found`` (read after the user's answer and equal to what they
    were shown, or, under the operator's opt-in, read just before)."""

    found: S
    changed: C
    by: Approval


@dataclass(frozen=True, slots=True)
class _Confirmed(Generic[S]):
    found: S
    by: Approval


@dataclass(frozen=True, slots=True)
class _Ask:
    message: str
    shown: dict[str, Any]
    asked: int


async def confirm_then_change(
    ctx: Context[Any, Any], proposal: Proposal[S, C]
) -> Done[S, C] | CallToolResult | InputRequiredResult:
    """Make the change only on the user's word (or the operator's opt-in where the client
    cannot ask); otherwise the result to return: nothing to do, the user said no, or
    (2026-07-28) the question."""
    go = await _confirmed(ctx, proposal)
    if not isinstance(go, _Confirmed):
        return go
    found = go.found
    changed = await call_launchdarkly(
        app_state(ctx),
        lambda client: proposal.change(client, found),
        not_found=proposal.not_found,
        write=Write(proposal.what, proposal.read_back),
    )
    return Done(found, changed, go.by)


async def _confirmed(
    ctx: Context[Any, Any], proposal: Proposal[S, Any]
) -> _Confirmed[S] | CallToolResult | InputRequiredResult:
    if not can_ask(ctx.session, ctx.protocol_version):
        if app_state(ctx).settings.unconfirmed_writes != "allow":
            raise ToolError(
                f"Not available to this client: {proposal.tool} makes a change only after the "
                "user confirms it in this client's own prompt (MCP elicitation), and this "
                "client cannot show one. Nothing was changed. The user can make this change "
                "in LaunchDarkly, or from a client that supports elicitation."
            )
        found = await proposal.read()
        return proposal.settled(found) or _Confirmed(found, "operator_opt_in")
    if uses_input_required(ctx.protocol_version):
        return await _in_rounds(ctx, proposal)
    return await _in_this_call(ctx, proposal)


async def _in_this_call(
    ctx: Context[Any, Any], proposal: Proposal[S, Any]
) -> _Confirmed[S] | CallToolResult:
    """The 2025 handshake: each question is a server-to-client request within this call."""
    shown: dict[str, Any] | None = None
    answer: ElicitResult | None = None
    asked = 0
    while True:
        step = await _step(ctx, proposal, shown, answer, asked)
        if not isinstance(step, _Ask):
            return step
        answer = await ctx.session.elicit_form(
            step.message, CONFIRM_SCHEMA, related_request_id=ctx.request_id
        )
        shown, asked = step.shown, step.asked


async def _in_rounds(
    ctx: Context[Any, Any], proposal: Proposal[S, Any]
) -> _Confirmed[S] | CallToolResult | InputRequiredResult:
    """2026-07-28: one question per round; the request state says what the user was shown."""
    previous = _decode(ctx.request_state)
    answer = (ctx.input_responses or {}).get(QUESTION) if previous is not None else None
    shown, asked = previous if previous is not None else (None, 0)
    step = await _step(ctx, proposal, shown, answer, asked)
    if not isinstance(step, _Ask):
        return step
    request = ElicitRequest(
        params=ElicitRequestFormParams(message=step.message, requested_schema=CONFIRM_SCHEMA)
    )
    state = {"v": STATE_VERSION, "shown": step.shown, "asked": step.asked}
    return InputRequiredResult(
        input_requests={QUESTION: request}, request_state=json.dumps(state, sort_keys=True)
    )


async def _step(
    ctx: Context[Any, Any],
    proposal: Proposal[S, Any],
    shown: dict[str, Any] | None,
    answer: object,
    asked: int,
) -> _Confirmed[S] | CallToolResult | _Ask:
    """One step: judge the answer to the question that showed ``shown`` (if any), read the
    target, then go ahead, stop, or ask (again)."""
    if answer is not None and shown is not None:
        said = verdict(answer)
        if said != "accepted":
            return unchanged(
                app_state(ctx),
                said,
                proposal.target,
                f"Not done: {_SAID[said]}. Nothing was changed ({proposal.what} was not sent). "
                "Do not retry unless the user asks again.",
                now=shown,
            )
    else:
        shown = None
    found = await proposal.read()
    done = proposal.settled(found)
    if done is not None:
        return done
    now = proposal.facts(found)
    if shown is not None and now == shown:
        return _Confirmed(found, "user")
    if asked >= MOST_QUESTIONS:
        raise ToolError(
            f"Not changed: {proposal.target} changed each time the user was asked "
            f"({asked} times). Nothing was changed by this call. Tell the user; do not retry "
            "unless they ask again."
        )
    message = proposal.question(found)
    person = current_person()
    if person is not None:
        message = f"{message}\nAsked for by {quoted(person)} (signed in)."
    if shown is not None:
        message = f"Changed since you were asked: {changes_between(shown, now)}.\n\n{message}"
    return _Ask(message, now, asked + 1)


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> str:
    """``name "A" → "B"; archived false → true`` for every fact that differs (strings, which
    may come from LaunchDarkly, ``quoted``)."""

    def shown(value: Any) -> str:
        if isinstance(value, str):
            return quoted(value)
        if isinstance(value, list):
            return f"[{', '.join(map(shown, value))}]"
        return json.dumps(value)

    return "; ".join(
        f"{name.replace('_', ' ')} {shown(before.get(name))} → {shown(after.get(name))}"
        for name in dict.fromkeys([*before, *after])
        if before.get(name) != after.get(name)
    )


def _decode(request_state: str | None) -> tuple[dict[str, Any], int] | None:
    """What the last question showed, and how many were asked (the state is the server's
    own: the SDK seals it and refuses any other)."""
    if not request_state:
        return None
    try:
        state = json.loads(request_state)
        if state["v"] == STATE_VERSION and isinstance(state["shown"], dict):
            return state["shown"], int(state["asked"])
    except (ValueError, KeyError, TypeError):
        pass
    return None
