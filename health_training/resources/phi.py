"""The pseudonym secret: an explicit key in production, a random per-installation key otherwise.

User ids become keyed HMAC-SHA256 pseudonyms. A key written in the source would make every
pseudonym reversible by anyone with the code (user ids like `user_0007` are easy to enumerate),
so without `HEALTH_TRAINING_PSEUDONYM_KEY` a development installation creates a random key on first
use under HEALTH_TRAINING_HOME (mode 0600, never logged) and keeps using it, so pseudonyms stay
stable there. Production refuses to run without an explicit key. Each curated month and dataset
records the key's *fingerprint* (an HMAC of a constant, which reveals nothing about the key), so
data pseudonymized under another key is detected instead of silently mixing pseudonym spaces.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

import dagster as dg
from pydantic import Field

from health_training.data.phi import Pseudonymizer

_FINGERPRINT_LABEL = b"health_training/pseudonym-key-fingerprint/v1"
KEY_ENV = "HEALTH_TRAINING_PSEUDONYM_KEY"


def key_fingerprint(key: bytes) -> str:
    """A public identifier of `key`: equal keys give equal fingerprints, and it reveals nothing."""
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def load_or_create_key(path: Path) -> bytes:
    """The installation's key at `path`, created (32 random bytes, hex, mode 0600) if absent.

    O_EXCL makes concurrent first uses agree: one process creates the file, the others read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(
            f"{path} is readable by others (mode {mode:o}): `chmod 600 {path}`; the pseudonym key "
            "must be private"
        )
    key = path.read_text().strip().encode()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable key: delete it to create a new one")
    return key


class PhiResource(dg.ConfigurableResource):
    """The keyed pseudonymizer for user ids (HMAC-SHA256)."""

    environment: str = Field(default="development", description="development or production")
    pseudonym_key: str = Field(
        default="", description="Secret HMAC key; from HEALTH_TRAINING_PSEUDONYM_KEY."
    )
    key_file: str = Field(
        default="",
        description="Where a development installation keeps its generated key (mode 0600).",
    )

    def key(self) -> bytes:
        if self.pseudonym_key == KEY_ENV:
            # An unresolved dg.EnvVar outside a run: its value is the variable's name, which
            # would key every pseudonym with a string anyone can read in the code.
            raise ValueError(
                f"the pseudonym key is the text '{KEY_ENV}', not its value: outside a Dagster "
                "run take the resource from health_training.resources.phi_from_env(), which "
                "resolves it"
            )
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        if self.environment == "production":
            raise ValueError(
                "HEALTH_TRAINING_PSEUDONYM_KEY is not set: production mode needs a secret key of "
                "at least 16 bytes to pseudonymize user ids (e.g. `openssl rand -hex 32`)."
            )
        if not self.key_file:
            raise ValueError("PhiResource has neither a pseudonym key nor a key file")
        return load_or_create_key(Path(self.key_file))

    def pseudonymizer(self) -> Pseudonymizer:
        return Pseudonymizer(self.key())

    def fingerprint(self) -> str:
        return key_fingerprint(self.key())
