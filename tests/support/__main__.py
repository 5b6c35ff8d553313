"""``python -m tests.support --port 8777`` (from the repository's root, or with it on
``PYTHONPATH``): serve the tests' emulator (demo data) on 127.0.0.1 for the benchmarks and
the replica scripts."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from ld_insights_mcp.emulator.constants import DEMO_TOKEN
from tests.support.emulator import Emulator
from tests.support.loopback import serve_on_loopback


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support",
        description="Serve the LaunchDarkly API emulator (demo data) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8777, help="port (0: any free port)")
    parser.add_argument("--token", default=DEMO_TOKEN, help="access token to require")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--now-ms", type=int, default=None, help="anchor time (epoch ms)")
    args = parser.parse_args(argv)
    emulator = Emulator(token=args.token, now_ms=args.now_ms)
    emulator.latency = args.latency
    with serve_on_loopback(emulator, args.port) as url:
        print(f"LaunchDarkly emulator listening on {url}", file=sys.stderr)
        if args.token == DEMO_TOKEN:
            print(f"access token: {args.token}", file=sys.stderr)
        else:
            print("access token: the one given with --token", file=sys.stderr)
        sys.stderr.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
