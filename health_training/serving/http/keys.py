"""API keys as the server holds them: an HMAC of each key under the server secret, its scopes and
its tenant. Pure: raw keys and the secret come in (server.py reads them from the environment),
`ApiKey` records go out, and nothing here logs or keeps a raw key.

A key's `key_id` (`k_` + 16 hex digits of a second HMAC) names it in logs, MLflow tags, feedback
rows and trust levels. Without the secret it cannot be computed from a guessed key, so a short id
in a log gives nothing away; with the same secret it is stable across restarts.

A key file (HEALTH_TRAINING_API_KEYS_FILE, YAML) gives each key its scopes and tenant:

    keys:
      - key: "a-long-random-string-of-at-least-32-characters"
        tenant: clinic-a
        scopes: [generate, feedback]     # default: generate, feedback, read_stats
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import yaml

SCOPES = ("generate", "feedback", "read_stats", "admin")
DEFAULT_SCOPES = frozenset({"generate", "feedback", "read_stats"})  # plain keys: all but admin
DEFAULT_TENANT = "default"
MIN_KEY_CHARS = 32  # shorter keys can be guessed; refused at start
MIN_SECRET_CHARS = 32


class KeyConfigError(ValueError):
    """A key or key file the server must not start with; the message names the fix."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    digest: str  # hex HMAC-SHA256(secret, key): what a presented key is compared with
    key_id: str
    scopes: frozenset[str]
    tenant: str

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes


def key_digest(secret: bytes, key: str) -> bytes:
    return hmac.new(secret, key.encode(), hashlib.sha256).digest()


def key_id_of(secret: bytes, key: str) -> str:
    # A separate HMAC (domain-separated), so the logged id is no part of the compared digest.
    return "k_" + hmac.new(secret, b"key-id\x00" + key.encode(), hashlib.sha256).hexdigest()[:16]


def make_key(
    secret: bytes,
    key: str,
    *,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    tenant: str = DEFAULT_TENANT,
    where: str = "an API key",
) -> ApiKey:
    if len(secret) < MIN_SECRET_CHARS:
        raise KeyConfigError(
            f"the server secret has {len(secret)} bytes; at least {MIN_SECRET_CHARS} are needed "
            "(HEALTH_TRAINING_SERVER_SECRET)"
        )
    if len(key) < MIN_KEY_CHARS:
        raise KeyConfigError(
            f"{where} has {len(key)} characters; keys need at least {MIN_KEY_CHARS} (e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    scopes = frozenset(scopes)
    unknown = scopes - set(SCOPES)
    if unknown or not scopes:
        raise KeyConfigError(f"{where}: scopes must be some of {SCOPES}, got {sorted(scopes)}")
    if not tenant or len(tenant) > 100 or not tenant.replace("-", "").replace("_", "").isalnum():
        raise KeyConfigError(f"{where}: tenant must be 1-100 letters, digits, '-' or '_'")
    return ApiKey(key_digest(secret, key).hex(), key_id_of(secret, key), scopes, tenant)


def keys_from_config(
    secret: bytes,
    *,
    plain: Iterable[str] = (),
    admin: str | None = None,
    key_file_text: str | None = None,
    key_file_name: str = "the key file",
) -> tuple[ApiKey, ...]:
    """Every key the server accepts: plain comma-separated keys (all scopes but admin, the
    default tenant), the key file's entries, and the admin key (every scope)."""
    keys = [make_key(secret, k, where=f"HEALTH_TRAINING_API_KEYS entry {i + 1}")
            for i, k in enumerate(plain)]  # fmt: skip
    if key_file_text is not None:
        doc = yaml.safe_load(key_file_text) or {}
        entries = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise KeyConfigError(f"{key_file_name}: expected a top-level 'keys:' list")
        for i, entry in enumerate(entries):
            where = f"{key_file_name}: keys[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                raise KeyConfigError(f"{where}: each entry needs a 'key' string")
            unknown = set(entry) - {"key", "tenant", "scopes", "name"}
            if unknown:
                raise KeyConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
            keys.append(
                make_key(
                    secret,
                    entry["key"],
                    scopes=entry.get("scopes") or DEFAULT_SCOPES,
                    tenant=str(entry.get("tenant") or DEFAULT_TENANT),
                    where=where,
                )
            )
    if admin:
        keys.append(make_key(secret, admin, scopes=SCOPES, where="HEALTH_TRAINING_ADMIN_KEY"))
    if len({k.digest for k in keys}) != len(keys):
        raise KeyConfigError("one key is configured twice: give each key one set of scopes")
    return tuple(keys)
