"""A stand-in for the SDK's stdio loop, for in-process tests of the stdio relay."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

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
    """Plays the SDK's stdio loop on two pipe ends (blocking, in a thread).

    Methods: ``echo`` (answered at once), ``big`` (an answer of ``size`` bytes), ``later``
    (answered after ``delay`` seconds, from another thread), ``hang`` (never answered),
    ``noisy`` (stray non-JSON output first), ``chatty`` (a notification and a request of its
    own first), ``stop`` (the SDK returns while the client is still there). A string id that
    is a number is answered as the number, as the SDK does.
    """

    def __init__(self, stdin: int, stdout: int, *, reading: threading.Event | None = None):
        self._stdin = stdin
        self._stdout = stdout
        self._lock = threading.Lock()
        self._ended = False
        self.reading = reading or threading.Event()
        if reading is None:
            self.reading.set()
        self.received: list[dict[str, Any]] = []
        self.raw: list[bytes] = []

    def serve(self) -> None:
        try:
            with os.fdopen(self._stdin, "rb") as lines:
                self.reading.wait()
                for line in lines:
                    self.raw.append(line)
                    message = json.loads(line)
                    self.received.append(message)
                    if self._handle(message):
                        break
        finally:
            with self._lock:
                self._ended = True  # like the SDK: requests still running get no answer

    def stopped(self) -> None:
        """What ``unplumb`` does for the SDK: fd 1 no longer reaches the pipe."""
        os.close(self._stdout)

    def _handle(self, message: dict[str, Any]) -> bool:
        if "id" not in message or "method" not in message:
            return False
        request_id, method = message["id"], message["method"]
        if isinstance(request_id, str) and request_id.isdigit():
            request_id = int(request_id)
        params = message.get("params") or {}
        if method == "stop":
            return True
        if method == "hang":
            return False
        if method == "later":
            timer = threading.Timer(params["delay"], self._answer, (request_id, {"late": True}))
            timer.daemon = True
            timer.start()
            return False
        if method == "noisy":
            self._write(b"stray output from a tool\n\n" + b"s" * 600 + b"\n")
        if method == "chatty":
            self._write(b'{"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n')
            self._write(b'{"jsonrpc":"2.0","id":0,"method":"roots/list"}\n')
        result = {"pad": "x" * params["size"]} if method == "big" else {"echo": params}
        self._answer(request_id, result)
        return False

    def _answer(self, request_id: Any, result: dict[str, Any]) -> None:
        answer = {"jsonrpc": "2.0", "id": request_id, "result": result}
        self._write(json.dumps(answer, separators=(",", ":")).encode() + b"\n")

    def _write(self, data: bytes) -> None:
        with self._lock:
            if not self._ended:
                write_all(self._stdout, data)
