"""Keyed blob storage for the data lake and the model artifacts: a local folder or S3.

Keys look like `training/metabolic_diabetes/2025/01/...` or `models/adapters/<identity>/...`.
Every write is atomic (temp file + rename; one S3 PUT). `upload_dir` / `download_dir` move a
folder (an adapter, a checkpoint, a report) so that a step running in another pod, with an empty
local disk, finds what an earlier step produced; the local disk is only a cache.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import dagster as dg
from pydantic import Field

from health_training.files import write_atomic

BUCKET_ENV = "HEALTH_TRAINING_S3_BUCKET"  # S3Storage's bucket; here so no boto3 import is needed


class Storage(dg.ConfigurableResource, ABC):
    """Keyed blob storage; subclasses: `LocalStorage` here, `S3Storage` in storage_s3.py."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Atomic: readers see the old object or the new one, never a partial write."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def uri(self, key: str) -> str:
        """A location a person or another tool can open."""

    def read_optional(self, key: str) -> bytes | None:
        return self.read_bytes(key) if self.exists(key) else None

    def upload_dir(self, local: Path, prefix: str) -> list[str]:
        """Every file under `local` to `prefix/<relative path>`; returns the keys written."""
        prefix = prefix.rstrip("/")
        keys = []
        for path in sorted(p for p in Path(local).rglob("*") if p.is_file()):
            key = f"{prefix}/{path.relative_to(local).as_posix()}"
            self.write_bytes(key, path.read_bytes())
            keys.append(key)
        return keys

    def download_dir(self, prefix: str, local: Path) -> Path:
        """Every key under `prefix/` into `local` (files already there are kept: a cache)."""
        prefix = prefix.rstrip("/") + "/"
        keys = self.list_keys(prefix)
        if not keys:
            raise FileNotFoundError(f"{self.uri(prefix)} holds nothing to download")
        for key in keys:
            target = Path(local) / key[len(prefix) :]
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(target, self.read_bytes(key))
        return Path(local)


class LocalStorage(Storage):
    """A folder on this machine (the default, under HEALTH_TRAINING_HOME/lake)."""

    root: str = Field(description="Folder that holds the data lake.")

    def _path(self, key: str) -> Path:
        root = Path(self.root).resolve()
        path = (root / key).resolve()
        if root != path and root not in path.parents:
            raise ValueError(f"key {key!r} escapes the storage root {root}")
        return path

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.uri(key)} does not exist") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)

    def list_keys(self, prefix: str) -> list[str]:
        root = Path(self.root).resolve()
        base = self._path(prefix) if prefix else root
        if base.is_file():
            return [prefix]
        if not base.exists():
            return []
        return sorted(
            p.relative_to(root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return os.fspath(self._path(key))
