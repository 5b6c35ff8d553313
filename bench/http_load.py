"""A raw-HTTP load generator for streamable-HTTP MCP servers, run as its own process.

No MCP or HTTP client library: hand-built HTTP/1.1 requests on keep-alive asyncio connections,
so the generator costs little next to the server it measures. Each client opens one
connection; with ``--session`` it first initializes and carries the ``mcp-session-id`` it is
given, and ends it with DELETE once its calls are done. Prints one JSON object: calls, errors, elapsed seconds, per-call latencies, and
``error_kinds``: how many calls failed for each reason (the HTTP status and the JSON-RPC error,
a tool error's text, an exception; a refused ``initialize`` is reported as such, and the calls
of that client count as failed without being sent).

    python bench/http_load.py --url http://127.0.0.1:8000/mcp --clients 50 --calls 20 \
        --tool get_insight_scores --arguments '{"project_key": "p", "environment_key": "e"}'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

PROTOCOL = "2025-11-25"


class Connection:
    """One keep-alive HTTP/1.1 connection that posts JSON-RPC messages."""

    def __init__(self, host: str, port: int, path: str, extra: dict[str, str]) -> None:
        self.host, self.port, self.path = host, port, path
        self.headers = {
            "Host": f"{host}:{port}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": PROTOCOL,
            **extra,
        }
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, message: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(message, separators=(",", ":")).encode()
        head = f"POST {self.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in {**self.headers, "Content-Length": len(body)}.items()
        )
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.read()
        return status, headers, data

    async def delete(self) -> None:
        """End the session (as a client does when it is done); answers are not checked."""
        head = f"DELETE {self.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in {**self.headers, "Content-Length": 0}.items()
        )
        self.writer.write(head.encode() + b"\r\n")
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if line:
            await self.reader.readexactly(length)

    async def listen(self, answers: dict[Any, asyncio.Future[dict[str, Any]]]) -> None:
        """Open the session's GET stream and resolve ``answers`` by id as they arrive."""
        head = f"GET {self.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in {**self.headers, "Accept": "text/event-stream"}.items()
        )
        self.writer.write(head.encode() + b"\r\n")
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            pass
        while line := await self.reader.readline():
            start = line.find(b"data:")  # chunk sizes and event lines are skipped
            if start < 0 or not line[start + 5 :].strip():
                continue
            message = json.loads(line[start + 5 :])
            future = answers.pop(message.get("id"), None)
            if future is not None and not future.done():
                future.set_result(message)

    def close(self) -> None:
        self.writer.close()


def error_kind(status: int, answer: dict[str, Any] | None) -> str | None:
    """Why a call failed, in a few words, or None if it succeeded."""
    answer = answer or {}
    error = answer.get("error")
    if isinstance(error, dict):
        return f"http {status}, JSON-RPC {error.get('code')}: {str(error.get('message'))[:120]}"
    result = answer.get("result")
    if status != 200:
        return f"http {status}"
    if not isinstance(result, dict) or not result:
        return "http 200, no result"
    if result.get("isError"):
        content = result.get("content") or [{}]
        text = content[0].get("text", "") if isinstance(content[0], dict) else ""
        return f"tool error: {str(text)[:120]}"
    return None


def answer_of(headers: dict[str, str], data: bytes) -> dict[str, Any] | None:
    """The JSON-RPC answer in a JSON or an SSE body."""
    if headers.get("content-type", "").startswith("text/event-stream"):
        for line in data.splitlines():
            if line.startswith(b"data:") and line[5:].strip():
                message = json.loads(line[5:])
                if "result" in message or "error" in message:
                    return dict(message)
        return None
    return dict(json.loads(data)) if data.strip() else None


async def client(
    url: str,
    session: bool,
    tool: str,
    arguments: dict[str, Any],
    calls: int,
    extra: dict[str, str],
    stream_answers: bool = False,
    first_id: int = 1,
) -> tuple[list[float], dict[str, int]]:
    parts = urlsplit(url)
    conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path, extra)
    await conn.open()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stream: Connection | None = None
    listener: asyncio.Task[None] | None = None
    answers: dict[Any, asyncio.Future[dict[str, Any]]] = {}
    try:
        if session:
            init = {
                "jsonrpc": "2.0",
                "id": f"init-{first_id}",
                "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "http-load", "version": "1"},
                },
            }
            status, headers, data = await conn.post(init)
            if "mcp-session-id" in headers:
                conn.headers["mcp-session-id"] = headers["mcp-session-id"]
            elif (kind := error_kind(status, answer_of(headers, data))) is not None:
                errors[f"initialize refused: {kind}"] = calls
                return latencies, errors
            await conn.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            if stream_answers:  # answers come on the session's GET stream (202 to the POST)
                stream = Connection(conn.host, conn.port, conn.path, extra)
                stream.headers = dict(conn.headers)
                await stream.open()
                listener = asyncio.create_task(stream.listen(answers))
        for i in range(first_id, first_id + calls):  # ids unique across clients
            message = {
                "jsonrpc": "2.0",
                "id": i,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            }
            started = time.perf_counter()
            waiting = answers[i] = asyncio.get_running_loop().create_future()
            status, headers, data = await conn.post(message)
            if status == 202:
                answer: dict[str, Any] | None = await asyncio.wait_for(waiting, 10)
                status = 200
            else:
                answers.pop(i, None)
                answer = answer_of(headers, data)
            latencies.append(time.perf_counter() - started)
            if (kind := error_kind(status, answer)) is not None:
                errors[kind] = errors.get(kind, 0) + 1
        if "mcp-session-id" in conn.headers:
            with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
                await asyncio.wait_for(conn.delete(), 10)
    finally:
        conn.close()
        if listener is not None:
            listener.cancel()
        if stream is not None:
            stream.close()
    return latencies, errors


async def run(args: argparse.Namespace) -> dict[str, Any]:
    arguments = json.loads(args.arguments)
    extra = dict(h.split(":", 1) for h in args.header)
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(
            client(
                args.url,
                args.session,
                args.tool,
                arguments,
                args.calls,
                extra,
                args.stream_answers,
                1 + n * args.calls,
            )
            for n in range(args.clients)
        ),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - started
    latencies: list[float] = []
    kinds: dict[str, int] = {}
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            kind = f"client failed: {type(outcome).__name__}: {str(outcome)[:120]}"
            kinds[kind] = kinds.get(kind, 0) + args.calls
        else:
            latencies += outcome[0]
            for kind, count in outcome[1].items():
                kinds[kind] = kinds.get(kind, 0) + count
    return {
        "calls": len(latencies),
        "errors": sum(kinds.values()),
        "error_kinds": kinds,
        "elapsed_s": elapsed,
        "latencies": latencies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--calls", type=int, default=10, help="calls per client")
    parser.add_argument("--tool", required=True)
    parser.add_argument("--arguments", default="{}")
    parser.add_argument("--session", action="store_true", help="initialize first (stateful)")
    parser.add_argument(
        "--stream-answers",
        action="store_true",
        help="with --session: read answers from the session's GET stream (servers that 202)",
    )
    parser.add_argument("--header", action="append", default=[], help="Name:value")
    args = parser.parse_args()
    json.dump(asyncio.run(run(args)), sys.stdout)


if __name__ == "__main__":
    main()
