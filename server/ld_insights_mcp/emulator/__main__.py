"""``python -m ld_insights_mcp.emulator --port 8777``: serve the demo API on 127.0.0.1."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from .app import Emulator
from .constants import DEMO_TOKEN
from .loopback import serve_on_loopback


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the LaunchDarkly emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8777)
    parser.add_argument("--token", default=DEMO_TOKEN, help="access token to require")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    args = parser.parse_args()
    emulator = Emulator(token=args.token)
    emulator.latency = args.latency
    with serve_on_loopback(emulator, args.port) as url:
        print(f"emulator listening on {url} (token: {args.token})", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
