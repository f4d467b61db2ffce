"""Building and storing a training dataset version and its OpenAI chat export.

Called by the dataset assets: read every curated month (refusing months pseudonymized under
another key), split, store Parquet + manifest + drift profile by version, and export the splits
as OpenAI chat JSONL with the cookbook's checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from health_training.data import layout
from health_training.data.config import DataConfig
from health_training.data.dataset import TrainingDataset, build_training_dataset, select_months
from health_training.data.dataset_repository import DatasetRepository
from health_training.data.drift import profile_of
from health_training.data.openai_chat import analyze, to_chat_example, to_jsonl
from health_training.data.records import examples_from_jsonl


class DatasetRefused(ValueError):
    """The curated months cannot be combined into one dataset (the message says why and how)."""


def check_pseudonym_key(repo: DatasetRepository, months: Sequence[str], fingerprint: str) -> None:
    """Every month's user ids must come from the current key; mixing keys would split one
    person into two pseudonyms and break the dedup and split guarantees."""
    other = {
        m: fp
        for m in months
        if (fp := repo.curated_summary(m).get("pseudonym_key_fingerprint"))
        not in (None, fingerprint)
    }
    if other:
        listed = ", ".join(f"{m} (key {fp})" for m, fp in sorted(other.items()))
        raise DatasetRefused(
            f"curated months {listed} were pseudonymized with another key than the current one "
            f"({fingerprint}): re-materialize curated_narratives for them with this key, or "
            "restore the key they were made with (HEALTH_TRAINING_PSEUDONYM_KEY)"
        )


def build_and_store(
    repo: DatasetRepository,
    policy: DataConfig,
    *,
    last_n: int | None,
    fingerprint: str,
    run_id: str,
) -> tuple[TrainingDataset, dict[str, Any]]:
    months = select_months(repo.curated_months(), last_n)
    if not months:
        raise DatasetRefused(
            "no curated months yet: materialize raw_narratives and curated_narratives first, "
            "e.g. `dg launch --assets raw_narratives,curated_narratives --partition 2025-01`"
        )
    check_pseudonym_key(repo, months, fingerprint)
    feedback_raw = repo.storage.read_optional(layout.FEEDBACK_EXAMPLES)
    dataset = build_training_dataset(
        {m: repo.curated(m) for m in months},
        policy.splits,
        frozen_test_keys=repo.test_keys_of_versions(repo.versions()),
        train_only=examples_from_jsonl(feedback_raw) if feedback_raw else [],
    )
    storage = repo.storage
    manifest = {
        **dataset.manifest,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dagster_run_id": run_id,
        "pseudonym_key_fingerprint": fingerprint,
        "checks": {"min_examples": dict(policy.checks.min_examples)},
        "files": {n: storage.uri(layout.dataset_split(dataset.version, n)) for n in dataset.files},
        "feedback_examples_in_train": sum(
            1 for r in dataset.rows["train"] if r["source_format"] == "feedback"
        ),
    }
    for name, data in dataset.files.items():
        storage.write_bytes(layout.dataset_split(dataset.version, name), data)
    profile = profile_of(dataset.rows.get("train", ()))  # the drift baseline of new months
    storage.write_bytes(layout.dataset_profile(dataset.version), orjson.dumps(profile.to_dict()))
    storage.write_bytes(
        layout.dataset_manifest(dataset.version),
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
    )
    repo.record_version(dataset.version, manifest["created_at"], months)
    return dataset, manifest


def export_openai(
    repo: DatasetRepository,
    version: str,
    policy: DataConfig,
    tokenizer: str,
    count: Callable[[str], int],
) -> dict[str, dict[str, Any]]:
    """Each split as chat JSONL plus the cookbook's report; returns the reports by split."""
    reports = {}
    for split in repo.manifest(version)["splits"]:
        rows = repo.split_rows(version, split, ["instruction", "input", "output"])
        chats = [to_chat_example(r["instruction"], r["input"], r["output"]) for r in rows]
        repo.storage.write_bytes(layout.openai_split(version, split), to_jsonl(chats))
        reports[split] = analyze(
            chats,
            count,
            tokenizer_name=tokenizer,
            token_limit=policy.openai.token_limit,
            price_model=policy.openai.price_model,
        ).to_dict()
    repo.storage.write_bytes(
        layout.openai_report(version), orjson.dumps(reports, option=orjson.OPT_INDENT_2)
    )
    return reports
