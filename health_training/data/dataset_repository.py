"""The data lake's stage files and dataset versions, read and written through the storage resource.

One place knows the layout (`data/layout.py`) and reads a training dataset *by version*: the
assets get the version from their upstream's materialization, never from a mutable pointer. The
local copy of a version's splits (for training and evaluation) is a cache that a fresh pod fills
from storage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from health_training.data import layout
from health_training.data.blob_storage import BlobStorage
from health_training.data.dataset import read_parquet_rows
from health_training.data.drift import Profile
from health_training.data.records import Example, examples_from_jsonl
from health_training.files import write_atomic


@dataclass(frozen=True)
class DatasetRepository:
    storage: BlobStorage

    # --- curated months -------------------------------------------------------------------

    def curated_months(self) -> list[str]:
        return sorted(
            {
                k.split("/")[2]
                for k in self.storage.list_keys(layout.CURATED_PREFIX)
                if k.endswith("/examples.jsonl")
            }
        )

    def curated(self, month: str) -> list[Example]:
        return examples_from_jsonl(self.storage.read_bytes(layout.curated_examples(month)))

    def curated_summary(self, month: str) -> dict[str, Any]:
        raw = self.storage.read_optional(layout.curated_summary(month))
        return orjson.loads(raw) if raw else {}

    def raw_accepted(self, month: str) -> list[Example]:
        return examples_from_jsonl(self.storage.read_bytes(layout.raw_accepted(month)))

    def keys_of_other_months(self, month: str) -> set[str]:
        """Content keys kept by every curated month except `month` (global dedup)."""
        seen: set[str] = set()
        for key in self.storage.list_keys(layout.CURATED_PREFIX):
            if key.endswith("/keys.txt") and key != layout.curated_keys(month):
                seen.update(self.storage.read_bytes(key).decode().split())
        return seen

    # --- dataset versions -----------------------------------------------------------------

    def manifest(self, version: str) -> dict[str, Any]:
        try:
            return orjson.loads(self.storage.read_bytes(layout.dataset_manifest(version)))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"training dataset {version} is not in {self.storage.uri(layout.DATASET_PREFIX)}:"
                " materialize training_dataset"
            ) from None

    def split_rows(
        self, version: str, split: str, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        return read_parquet_rows(
            self.storage.read_bytes(layout.dataset_split(version, split)), columns
        )

    def has_split(self, version: str, split: str) -> bool:
        """Whether the version was built with `split` (freeform_test is there only when the
        data held question examples of held-out families)."""
        return split in self.manifest(version)["splits"]

    def rows_by_key(self, version: str, split: str) -> dict[str, dict[str, Any]] | None:
        """The split's rows by content key; None when the version has no such split."""
        if not self.has_split(version, split):
            return None
        return {r["content_key"]: r for r in self.split_rows(version, split)}

    def profile(self, version: str | None) -> Profile | None:
        """A version's train-split profile (the drift baseline), or None."""
        raw = self.storage.read_optional(layout.dataset_profile(version)) if version else None
        return Profile.from_dict(orjson.loads(raw)) if raw else None

    def versions(self) -> list[str]:
        """Every version ever built, oldest first (an append-only history, not a pointer)."""
        raw = self.storage.read_optional(layout.DATASET_HISTORY) or b""
        return list(dict.fromkeys(orjson.loads(line)["version"] for line in raw.splitlines()))

    def test_keys_of_versions(self, versions: Sequence[str]) -> set[str]:
        keys: set[str] = set()
        for version in versions:
            if self.storage.exists(layout.dataset_split(version, "test")):
                keys |= {
                    r["content_key"] for r in self.split_rows(version, "test", ["content_key"])
                }
        return keys

    def split_leakage(self, version: str) -> tuple[dict[str, int], int, int]:
        """(content keys shared by each pair of the version's splits, how many earlier versions
        were checked, how many of their test keys are in this version's train split)."""
        splits = self.manifest(version)["splits"]
        keys = {
            name: {r["content_key"] for r in self.split_rows(version, name, ["content_key"])}
            for name in splits
        }
        names = sorted(keys)
        overlaps = {
            f"{a}&{b}": len(keys[a] & keys[b]) for i, a in enumerate(names) for b in names[i + 1 :]
        }
        previous = [v for v in self.versions() if v != version]
        leaked = len(self.test_keys_of_versions(previous) & keys.get("train", set()))
        return overlaps, len(previous), leaked

    def record_version(self, version: str, created_at: str, months: Sequence[str]) -> None:
        history = self.storage.read_optional(layout.DATASET_HISTORY) or b""
        if version.encode() not in history:
            entry = {"version": version, "created_at": created_at, "months": list(months)}
            self.storage.write_bytes(layout.DATASET_HISTORY, history + orjson.dumps(entry) + b"\n")

    def local_copy(self, version: str, cache: Path) -> Path:
        """The version's splits and manifest in `cache/<version>/` (copied from storage once)."""
        manifest = self.manifest(version)
        folder = cache / version
        folder.mkdir(parents=True, exist_ok=True)
        for split in manifest["splits"]:
            target = folder / f"{split}.parquet"
            if not target.exists():
                write_atomic(target, self.storage.read_bytes(layout.dataset_split(version, split)))
        write_atomic(folder / "manifest.json", json.dumps(manifest).encode())
        return folder
