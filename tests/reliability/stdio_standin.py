"""A stand-in for the SDK on the relay's in-memory streams, for in-process tests of the relay."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import anyio
import mcp.types as types
from mcp.shared.message import SessionMessage

from ld_insights_mcp.transports.stdio.relay import SdkInput, SdkOutput

T = TypeVar("T")


async def in_daemon_thread(function: Callable[[], T]) -> T:
    """``function()`` in a daemon thread. Unlike ``anyio.to_thread``, a thread that blocks
    for ever (under a broken relay) cannot stop the event loop from closing: the test fails
    on its own timeout instead of hanging."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast(T, result))

    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: the test already ended
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, daemon=True).start()
    return await future


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class StandInSdk:
    """Plays the SDK on the relay's streams, as its dispatcher does: each request runs in a
    task of its own, and at the end of its input the requests still running are cancelled
    and get no answer.

    Methods: ``echo`` (answered at once), ``big`` (an answer of ``size`` bytes), ``later``
    (answered after ``delay`` seconds), ``hang`` (never answered), ``chatty`` (a notification
    and a request of its own first), ``stop`` (the SDK returns while the client is still
    there). A string id that is a number is answered as the number, as the SDK does.
    ``reading``: the SDK takes no input until it is set.
    """

    def __init__(self, *, reading: threading.Event | None = None) -> None:
        self.reading = reading
        self.received: list[dict[str, Any]] = []
        self.errors: list[Exception] = []
        """What the SDK's parser refused, passed on as exceptions."""

    async def serve(self, read: SdkInput, write: SdkOutput) -> None:
        if self.reading is not None:
            await in_daemon_thread(self.reading.wait)
        async with anyio.create_task_group() as running:
            async for item in read:
                if isinstance(item, Exception):
                    self.errors.append(item)
                    continue
                message = item.message.model_dump(by_alias=True, exclude_unset=True)
                self.received.append(message)
                if await self.handle(message, write, running):
                    break
            running.cancel_scope.cancel()

    async def handle(
        self, message: dict[str, Any], write: SdkOutput, running: anyio.abc.TaskGroup
    ) -> bool:
        """Serves one message; True to stop."""
        if "id" not in message or "method" not in message:
            return False
        request_id, method = message["id"], message["method"]
        if isinstance(request_id, str) and request_id.isdigit():
            request_id = int(request_id)
        params = message.get("params") or {}
        if method == "stop":
            return True
        if method == "later":
            running.start_soon(self.later, write, request_id, params["delay"])
        if method in ("later", "hang"):
            return False
        if method == "chatty":
            progress = types.JSONRPCNotification(
                jsonrpc="2.0", method="notifications/progress", params={}
            )
            await write.send(SessionMessage(progress))
            roots = types.JSONRPCRequest(jsonrpc="2.0", id=0, method="roots/list")
            await write.send(SessionMessage(roots))
        result = {"pad": "x" * params["size"]} if method == "big" else {"echo": params}
        await self.answer(write, request_id, result)
        return False

    async def later(self, write: SdkOutput, request_id: Any, delay: float) -> None:
        await anyio.sleep(delay)
        await self.answer(write, request_id, {"late": True})

    @staticmethod
    async def answer(write: SdkOutput, request_id: Any, result: dict[str, Any]) -> None:
        response = types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result)
        await write.send(SessionMessage(response))
