"""Keyed HMAC-SHA256 pseudonyms for user ids: stable for a key, unlinkable without it."""

from __future__ import annotations

import hashlib
import hmac
import re


class Pseudonymizer:
    """Keyed HMAC-SHA256 pseudonyms for user ids."""

    __slots__ = ("_key",)
    _FORMAT = re.compile(r"u_[0-9a-f]{20}")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise TypeError(f"pseudonymizer key must be bytes, not {type(key).__name__}")
        if len(key) < 16:
            raise ValueError(
                f"pseudonymizer key is {len(key)} bytes; use at least 16 random bytes "
                "(e.g. secrets.token_bytes(32)) from the secret store"
            )
        self._key = bytes(key)

    def __call__(self, user_id: str) -> str:
        # An id that already is a pseudonym stays as it is, so re-running a pipeline is harmless.
        if self.is_pseudonym(user_id):
            return user_id
        digest = hmac.new(self._key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return "u_" + digest[:20]

    def __repr__(self) -> str:
        return "Pseudonymizer(key=<hidden>)"

    @staticmethod
    def is_pseudonym(value: str) -> bool:
        return Pseudonymizer._FORMAT.fullmatch(value) is not None
