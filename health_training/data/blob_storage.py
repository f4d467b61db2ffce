"""What the data and model packages need of keyed blob storage, as a Protocol.

`resources/storage.py` implements it (a local folder, S3); the pure packages type against this
interface, so they read and write the lake without importing Dagster or boto3, and a test can
hand them any object with these methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class BlobStorage(Protocol):
    """Keyed bytes: read, write (atomic), list, delete; folders moved in and out."""

    def read_bytes(self, key: str) -> bytes: ...

    def read_optional(self, key: str) -> bytes | None: ...

    def write_bytes(self, key: str, data: bytes) -> None: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def uri(self, key: str) -> str:
        """A location a person or another tool can open."""
        ...

    def upload_dir(self, local: Path, prefix: str) -> list[str]: ...

    def download_dir(self, prefix: str, local: Path) -> Path: ...
