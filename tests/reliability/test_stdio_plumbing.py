"""The descriptors of a stdio session, swapped in this process and put back afterwards."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from ld_insights_mcp.stdio.plumbing import plumb, unplumb


@contextmanager
def standard_fds() -> Iterator[tuple[int, int]]:
    """Pipes as fd 0 and fd 1 (the client's stdin and stdout); the real ones restored after.
    (Inside the test body: pytest points fd 1 at its capture file when a test starts.)

    Yields the client's ends: the write end of its stdin, the read end of its stdout."""
    saved = os.dup(0), os.dup(1)
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    os.dup2(stdin_r, 0)
    os.dup2(stdout_w, 1)
    os.close(stdin_r)
    os.close(stdout_w)
    try:
        yield stdin_w, stdout_r
    finally:
        os.dup2(saved[0], 0)
        os.dup2(saved[1], 1)
        for fd in (*saved, stdin_w, stdout_r):
            os.close(fd)


def _same_file(a: int, b: int) -> bool:
    first, second = os.fstat(a), os.fstat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def test_plumb_keeps_the_client_private_and_gives_fd_0_and_1_to_new_pipes() -> None:
    with standard_fds() as (client_stdin, client_stdout):
        _check_plumb(client_stdin, client_stdout)


def _check_plumb(client_stdin: int, client_stdout: int) -> None:
    fds = plumb()
    try:
        for fd in (fds.client_in, fds.client_out, fds.sdk_out_tail):
            assert fd > 2
            assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        # the client's pipes now reach the relay's private descriptors only
        os.write(client_stdin, b"from the client\n")
        assert os.read(fds.client_in, 100) == b"from the client\n"
        os.write(fds.client_out, b"to the client\n")
        assert os.read(client_stdout, 100) == b"to the client\n"
        # fd 0 and fd 1 are the SDK's pipes, whose other ends the relay holds
        os.write(fds.sdk_in, b"to the sdk\n")
        assert os.read(0, 100) == b"to the sdk\n"
        os.write(1, b"from the sdk\n")
        os.write(fds.sdk_out_tail, b"marker\n")
        assert os.read(fds.sdk_out, 100) == b"from the sdk\nmarker\n"
        assert not _same_file(0, fds.client_in)
        assert not _same_file(1, fds.client_out)
        # no other descriptor holds the SDK's pipe ends: closing fd 0's writer ends its input
        os.close(fds.sdk_in)
        assert os.read(0, 100) == b""
        os.dup2(2, 1)
        os.close(fds.sdk_out_tail)
        assert os.read(fds.sdk_out, 100) == b""
    finally:
        for fd in (fds.client_in, fds.client_out, fds.sdk_out):
            os.close(fd)
        for fd in (fds.sdk_in, fds.sdk_out_tail):
            with suppress(OSError):
                os.close(fd)


def test_unplumb_points_fd_0_at_nothing_and_fd_1_at_stderr() -> None:
    with standard_fds():
        _check_unplumb()


def _check_unplumb() -> None:
    fds = plumb()
    try:
        unplumb()
        assert os.read(0, 100) == b""
        assert _same_file(1, 2)
        assert os.get_inheritable(0)
        assert os.get_inheritable(1)
        # the SDK's stdout pipe is now held by the relay's tail alone
        os.close(fds.sdk_out_tail)
        assert os.read(fds.sdk_out, 100) == b""
    finally:
        for fd in (fds.client_in, fds.client_out, fds.sdk_in, fds.sdk_out):
            os.close(fd)
