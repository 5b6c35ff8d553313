"""Descriptors for a stdio session: the client's pipes kept private, fresh pipes for the SDK.

The SDK's public ``MCPServer.run_stdio_async()`` serves whatever fd 0 and fd 1 are. Here fd 0
and fd 1 become two new pipes whose other ends belong to the relay, so the relay alone reads
the client and writes to it. While the SDK serves, it points fd 0 at the null device and
fd 1 at stderr itself; after the session fd 1 goes to stderr for good, so nothing written
later (a stray print at exit) can reach the client's stdout.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Plumbing:
    """Descriptors the relay owns; fd 0 and fd 1 are the SDK's."""

    client_in: int
    """The client's stdin."""
    client_out: int
    """The client's stdout."""
    sdk_in: int
    """Write end of the pipe that is the SDK's stdin."""
    sdk_out: int
    """Read end of the pipe that is the SDK's stdout."""
    sdk_out_tail: int
    """A write end of that same pipe, for the relay's end-of-output marker."""


def plumb() -> Plumbing:
    """Move the client's stdin and stdout to private descriptors; give fd 0/1 to new pipes."""
    client_in, client_out = _private(0), _private(1)
    sdk_stdin, sdk_in = os.pipe()
    sdk_out, sdk_stdout = os.pipe()
    sdk_out_tail = _private(sdk_stdout)
    os.dup2(sdk_stdin, 0)
    os.dup2(sdk_stdout, 1)
    os.close(sdk_stdin)
    os.close(sdk_stdout)
    return Plumbing(client_in, client_out, sdk_in, sdk_out, sdk_out_tail)


def unplumb() -> None:
    """After the session: fd 0 reads nothing, fd 1 writes to stderr."""
    null = os.open(os.devnull, os.O_RDONLY)
    if null != 0:  # else fd 0 was closed, and opening the null device made it fd 0 already
        os.dup2(null, 0)
        os.close(null)
    os.dup2(2, 1)


def _private(fd: int) -> int:
    """A close-on-exec duplicate of ``fd`` above the standard range."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
