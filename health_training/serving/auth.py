"""API keys: kept as SHA-256 hashes, compared in constant time, never logged.

Query and feedback endpoints take any API key (or the admin key); admin endpoints take only the
admin key. With no API keys configured the server answers on loopback only (settings.check_bind)
and query endpoints are open there; admin endpoints stay closed without an admin key. A key's
`key_id` (the first 12 hex digits of its hash) names the caller in logs and run tags.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from health_training.serving.errors import OpenAIError

ANONYMOUS = "loopback-anonymous"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: str
    admin: bool


class KeyRing:
    """Hashed keys; `check` returns who called or raises a 401/403 OpenAIError."""

    def __init__(self, api_key_hashes: tuple[str, ...], admin_key_hash: str | None) -> None:
        self._api = tuple(bytes.fromhex(h) for h in api_key_hashes)
        self._admin = bytes.fromhex(admin_key_hash) if admin_key_hash else None

    @property
    def open(self) -> bool:
        """No API keys configured: query endpoints need none (loopback only)."""
        return not self._api

    @staticmethod
    def _bearer(authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        return (token.strip() or None) if scheme.lower() == "bearer" else None

    def _matches(self, digest: bytes, candidates: tuple[bytes, ...]) -> bool:
        # Every candidate is compared, so the time taken says nothing about which one matched.
        found = False
        for candidate in candidates:
            found |= hmac.compare_digest(digest, candidate)
        return found

    def check(self, authorization: str | None, *, admin: bool) -> Caller:
        token = self._bearer(authorization)
        if admin and self._admin is None:
            raise OpenAIError(
                403,
                "the admin API is disabled: set HEALTH_TRAINING_ADMIN_KEY to enable it",
                "permission_error",
                code="admin_disabled",
            )
        if token is None:
            if not admin and self.open:
                return Caller(ANONYMOUS, admin=False)
            raise OpenAIError(
                401,
                "missing API key: send 'Authorization: Bearer <key>'",
                "invalid_request_error",
                code="invalid_api_key",
            )
        digest = hashlib.sha256(token.encode()).digest()
        key_id = digest.hex()[:12]
        is_admin = self._admin is not None and self._matches(digest, (self._admin,))
        if admin and not is_admin:
            if self._matches(digest, self._api):
                raise OpenAIError(
                    403, "this key may not use the admin API", "permission_error", code="not_admin"
                )
            raise OpenAIError(
                401, "invalid API key", "invalid_request_error", code="invalid_api_key"
            )
        if is_admin or self._matches(digest, self._api) or self.open:
            return Caller(key_id, admin=is_admin)
        raise OpenAIError(401, "invalid API key", "invalid_request_error", code="invalid_api_key")
