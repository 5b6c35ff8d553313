"""A real forward proxy for the tests: Debian's squid, started on a free loopback port.

Its access log records every request with its headers (``log_mime_hdrs``), so a test can
read exactly what the proxy saw: a CONNECT line (host and port) for a tunnel, or a whole
request, headers included, for a request it forwarded.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..processes import free_port, stop, wait_listening

SQUID = shutil.which("squid") or "/usr/sbin/squid"
START_TIMEOUT = 30.0
NCSA_AUTH = "/usr/lib/squid/basic_ncsa_auth"
"""squid's helper that checks user names and passwords against a file (Debian's path)."""


@dataclass(frozen=True)
class Proxy:
    url: str
    log: Path

    def seen(self) -> str:
        """Everything the proxy logged so far (squid writes a line when a request ends: for
        a CONNECT tunnel, when the client closes it)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def requests(self) -> str:
        """The logged requests (not the connection the start-up probe made and dropped)."""
        return "".join(
            line
            for line in self.seen().splitlines(keepends=True)
            if "transaction-end-before-headers" not in line
        )

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """The log once it holds ``text`` (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen():
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy never logged {text!r}; it logged: {self.seen()}")
            time.sleep(0.05)
        return self.seen()


def available() -> bool:
    return Path(SQUID).exists()


@contextmanager
def squid(*, refuse_connect: bool = False, password: str | None = None) -> Iterator[Proxy]:
    """squid on 127.0.0.1 until the block ends; ``refuse_connect`` denies every CONNECT
    (403), as a proxy whose rules forbid the destination does; ``password`` makes it ask for
    the user ``user`` with that password (407 without them)."""
    port = free_port()
    # squid drops root for its own user, which must reach the logs: a world-writable
    # directory of our own (pytest's tmp_path sits under a private one).
    folder = Path(tempfile.mkdtemp(prefix="ld-insights-squid-"))
    folder.chmod(0o777)
    rules = "http_access deny CONNECT\n" if refuse_connect else ""
    if password is not None:
        hashed = subprocess.run(
            ["openssl", "passwd", "-apr1", password], capture_output=True, text=True, check=True
        ).stdout.strip()
        (folder / "passwords").write_text(f"user:{hashed}\n")
        (folder / "passwords").chmod(0o644)
        rules += (
            f"auth_param basic program {NCSA_AUTH} {folder}/passwords\n"
            "acl authed proxy_auth REQUIRED\nhttp_access deny !authed\n"
        )
    (folder / "squid.conf").write_text(
        f"""http_port 127.0.0.1:{port}
acl local src 127.0.0.1/32
{rules}http_access allow local
http_access deny all
cache deny all
access_log stdio:{folder}/access.log squid
log_mime_hdrs on
cache_log {folder}/cache.log
pid_filename {folder}/squid.pid
coredump_dir {folder}
pinger_enable off
shutdown_lifetime 0 seconds
"""
    )
    process = subprocess.Popen(
        [SQUID, "-N", "-f", str(folder / "squid.conf")],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(
            process,
            port,
            timeout=START_TIMEOUT,
            exited=lambda: (
                "squid exited: " + (folder / "cache.log").read_text(errors="replace")[-2000:]
            ),
        )
        yield Proxy(f"http://127.0.0.1:{port}", folder / "access.log")
    finally:
        stop(process, timeout=15)
        shutil.rmtree(folder, ignore_errors=True)
