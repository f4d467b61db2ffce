"""The chat export of one training dataset version, as `openai_chat_dataset` stored it: the train
and validation JSONL and the token limit the export was checked with (so the provider's
preflight agrees with the check that wrote the files)."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from health_training.data import layout
from health_training.data.blob_storage import BlobStorage


@dataclass(frozen=True)
class ChatExport:
    train: bytes
    validation: bytes | None  # None: not asked for, not exported, or empty
    token_limit: int
    notes: tuple[str, ...] = ()  # what was left out, in words


def read_export(storage: BlobStorage, version: str, *, use_validation: bool = True) -> ChatExport:
    train = storage.read_bytes(layout.openai_split(version, "train"))
    validation, notes = None, ()
    if use_validation:
        validation = storage.read_optional(layout.openai_split(version, "validation"))
        if validation is not None and not validation.strip():
            notes = (f"dataset {version} has an empty validation split: not uploaded",)
            validation = None
    report = orjson.loads(storage.read_bytes(layout.openai_report(version)))
    return ChatExport(train, validation, report["train"]["token_limit"], notes)
