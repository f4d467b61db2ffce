"""Who called: the bearer key checked against the configured keys (HMACs, compared in constant
time, never logged) and the scope an endpoint needs.

Scopes: `generate` (answers, /v1/models), `feedback` (/v1/feedback), `read_stats` (/health
details, /metrics, the emissions and dataset views) and `admin` (/admin). With no API keys the
server answers on loopback only (settings.check_bind) and its non-admin endpoints are open
there, to the `loopback-anonymous` caller of tenant `local`; admin endpoints stay closed without
an admin key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.keys import ApiKey, key_digest

ANONYMOUS = "loopback-anonymous"
LOCAL_TENANT = "local"
ANONYMOUS_SCOPES = frozenset({"generate", "feedback", "read_stats"})


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: str
    scopes: frozenset[str]
    tenant: str

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes


class KeyRing:
    """The configured keys; `check` returns who called or raises a 401/403 OpenAIError."""

    def __init__(self, keys: tuple[ApiKey, ...], secret: bytes) -> None:
        self._keys = tuple((bytes.fromhex(k.digest), k) for k in keys)
        self._secret = secret

    @property
    def open(self) -> bool:
        """No non-admin key configured: non-admin endpoints need none (loopback only)."""
        return not any(not k.admin for _, k in self._keys)

    @property
    def admin_enabled(self) -> bool:
        return any(k.admin for _, k in self._keys)

    @staticmethod
    def _bearer(authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        return (token.strip() or None) if scheme.lower() == "bearer" else None

    def _find(self, token: str) -> ApiKey | None:
        digest = key_digest(self._secret, token)
        found = None
        # Every key is compared, so the time taken says nothing about which one matched.
        for candidate, key in self._keys:
            if hmac.compare_digest(digest, candidate):
                found = key
        return found

    def check(self, authorization: str | None, scope: str) -> Caller:
        if scope == "admin" and not self.admin_enabled:
            raise OpenAIError(
                403,
                "the admin API is disabled: set HEALTH_TRAINING_ADMIN_KEY to enable it",
                "permission_error",
                code="admin_disabled",
            )
        token = self._bearer(authorization)
        if token is None:
            if scope != "admin" and self.open:
                return Caller(ANONYMOUS, ANONYMOUS_SCOPES, LOCAL_TENANT)
            raise OpenAIError(
                401,
                "missing API key: send 'Authorization: Bearer <key>'",
                "invalid_request_error",
                code="invalid_api_key",
            )
        key = self._find(token) if self._secret else None
        if key is None:
            if scope != "admin" and self.open:  # a stray header on the open loopback server
                return Caller(ANONYMOUS, ANONYMOUS_SCOPES, LOCAL_TENANT)
            raise OpenAIError(
                401, "invalid API key", "invalid_request_error", code="invalid_api_key"
            )
        if scope not in key.scopes:
            raise OpenAIError(
                403,
                f"this key lacks the '{scope}' scope",
                "permission_error",
                code="not_admin" if scope == "admin" else "missing_scope",
            )
        return Caller(key.key_id, key.scopes, key.tenant)
