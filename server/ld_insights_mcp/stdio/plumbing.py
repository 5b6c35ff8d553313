"""Descriptors for a stdio session: the client's pipes kept private, fresh pipes for the SDK.

The client's stdin and stdout move to private descriptors that only the relay reads and
writes; the SDK gets two new pipes whose other ends belong to the relay. fd 0 then reads
the null device and fd 1 writes to stderr, for the whole session and after it, so nothing
else in the process (a stray print, a child process, a C library) can reach the client.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass

from .sdk_side import SdkPipes


@dataclass(frozen=True)
class Plumbing:
    """Descriptors the relay owns."""

    client_in: int
    """The client's stdin."""
    client_out: int
    """The client's stdout."""
    sdk_in: int
    """Write end of the SDK's input pipe."""
    sdk_out: int
    """Read end of the SDK's output pipe."""
    sdk_out_tail: int
    """A write end of that same pipe, for the relay's end-of-output marker."""


def plumb() -> tuple[Plumbing, SdkPipes]:
    """Move the client's stdin and stdout to private descriptors, make the SDK's two pipes,
    and point fd 0 at the null device and fd 1 at stderr."""
    client_in, client_out = _private(0), _private(1)
    sdk_stdin, sdk_in = _private_pipe()
    sdk_out, sdk_stdout = _private_pipe()
    sdk_out_tail = _private(sdk_stdout)
    unplumb()
    return Plumbing(client_in, client_out, sdk_in, sdk_out, sdk_out_tail), SdkPipes(
        sdk_stdin, sdk_stdout
    )


def unplumb() -> None:
    """fd 0 reads nothing, fd 1 writes to stderr (or to nothing, when stderr is closed)."""
    _point(0, os.O_RDONLY)
    try:
        os.dup2(2, 1)
    except OSError:  # the process was started with stderr closed
        _point(1, os.O_WRONLY)


def _point(fd: int, mode: int) -> None:
    """Make ``fd`` the null device, opened with ``mode``."""
    null = os.open(os.devnull, mode)
    if null != fd:  # else ``fd`` was closed, and opening the null device made it ``fd`` already
        os.dup2(null, fd)
        os.close(null)


def _private_pipe() -> tuple[int, int]:
    """A pipe whose two ends are private descriptors (never 0, 1 or 2)."""
    ends = os.pipe()
    try:
        return _private(ends[0]), _private(ends[1])
    finally:
        for fd in ends:
            os.close(fd)


def _private(fd: int) -> int:
    """A close-on-exec duplicate of ``fd`` above the standard range."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
