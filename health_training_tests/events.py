"""Waiting in tests for something to happen, never for time to pass.

`wait_until` polls a condition; `read_line` and `read_to_eof` wait for what a child process writes
to a pipe. Each takes a deadline that exists only to fail a hung test with a message: it is never
what a test asserts, so a loaded machine makes a test slower, not red.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable
from typing import IO, TypeVar

T = TypeVar("T")

DEADLINE = 120.0  # seconds; generous on purpose (2 shared cores, model training alongside)


def wait_until(
    condition: Callable[[], T], what: str, timeout: float = DEADLINE, poll: float = 0.02
) -> T:
    """Poll `condition` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout:g}s for {what}")
        time.sleep(poll)


def _read_some(stream: IO[bytes], deadline: float, what: str, size: int) -> bytes:
    # select, then os.read on the fd: no Python-level buffer can hide bytes that already arrived.
    if not select.select([stream.fileno()], [], [], max(0.0, deadline - time.monotonic()))[0]:
        raise AssertionError(f"still waiting for {what}")
    return os.read(stream.fileno(), size)


def read_line(stream: IO[bytes] | None, what: str, timeout: float = DEADLINE) -> str:
    """The next line a child writes to an unbuffered pipe (`Popen(..., bufsize=0)`), stripped."""
    assert stream is not None, f"{what}: the pipe was not opened"
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        byte = _read_some(stream, deadline, what, 1)  # byte by byte: never read past the line
        if not byte:
            raise AssertionError(f"{what}: the pipe closed after {line!r}")
        line += byte
    return line.decode().strip()


def read_to_eof(stream: IO[bytes] | None, what: str, timeout: float = DEADLINE) -> bytes:
    """Everything left in a pipe, once every process holding its write end has closed it."""
    assert stream is not None, f"{what}: the pipe was not opened"
    deadline = time.monotonic() + timeout
    data = b""
    while chunk := _read_some(stream, deadline, what, 65536):
        data += chunk
    return data
