"""Proving in a test that code made no network connection, instead of timing it.

"It returned within a second" was how some tests said "it tried no download"; on a loaded machine
that is flaky, and on a fast network it passes while a download happens. `refuse_network` makes
every name lookup and socket connection fail and records it, so the test asserts on the record.
"""

from __future__ import annotations

import socket

import pytest


def refuse_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make DNS lookups and socket connections raise OSError; the list they are recorded in."""
    attempts: list[str] = []

    def refuse(what: str):
        def refused(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what == 'connect' else args}")
            raise OSError(f"network refused by the test ({what})")

        return refused

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    return attempts
