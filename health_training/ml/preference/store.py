"""A preference dataset built and read: in the lake by version (the `preference_dataset` asset,
`lora_adapter`, the promotion gate), or without Dagster from a feedback store and files.

    data = preference_dataset_from_store("sqlite:///var/feedback/feedback.db", dataset_dir)
    data = read_preference_dataset(Path("var/lake/datasets/preference/<version>"))

Either way the held-out prompts and the split ratios come from the SFT dataset version (its
validation, test and freeform_test prompts and its manifest's split policy), so a prompt of the
frozen test split never trains the preference stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from health_training.data import layout
from health_training.data.blob_storage import BlobStorage
from health_training.data.dataset_repository import DatasetRepository
from health_training.data.splits import FREEFORM_TEST
from health_training.ml.preference.examples import (
    PreferenceDataset,
    build_preference_dataset,
    data_version,
    held_out_prompts,
)

EXAMPLES_FILE = "examples.jsonl"
MANIFEST_FILE = "manifest.json"


def split_policy_of(manifest: dict[str, Any]) -> tuple[tuple[tuple[str, float], ...], str]:
    """(ratios, salt) a training dataset's manifest records."""
    policy = manifest.get("split_policy") or {}
    ratios = tuple((str(k), float(v)) for k, v in (policy.get("ratios") or {}).items())
    return ratios or (("train", 0.8), ("validation", 0.1), ("test", 0.1)), str(
        policy.get("salt", "v1")
    )


def held_out_of_folder(dataset_dir: Path) -> dict[str, str]:
    """Held-out prompt keys of a training dataset folder's validation and test splits (the
    free-form questions of held-out families count as test)."""
    import pyarrow.parquet as pq

    splits: dict[str, list] = {}
    for split, file in (("validation", "validation"), ("test", "test"), ("test", "freeform_test")):
        path = dataset_dir / f"{file}.parquet"
        if path.exists():
            rows = pq.read_table(path, columns=["instruction", "input"]).to_pylist()
            splits.setdefault(split, []).extend(rows)
    if not (dataset_dir / "test.parquet").exists():
        raise FileNotFoundError(
            f"{dataset_dir / 'test.parquet'} is missing: without the frozen test split, test "
            "prompts could train; point --dataset at a training_dataset version folder"
        )
    return held_out_prompts(splits)


def preference_dataset_from_store(url: str, dataset_dir: Path) -> PreferenceDataset:
    """Every rated answer of the store at `url` that may teach preferences (trusted keys and
    operator imports; approved corrections), built against the SFT dataset's splits."""
    from health_training.data.feedback_review import preference_rows
    from health_training.stores.feedback_store import FeedbackStore
    from health_training.stores.review_queue import ReviewQueue

    manifest_path = dataset_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    ratios, salt = split_policy_of(manifest)
    store = FeedbackStore(url)
    try:
        rows = preference_rows(store.since(0), ReviewQueue(store).trust_levels())
    finally:
        store.dispose()
    return build_preference_dataset(
        rows, ratios=ratios, salt=salt, held_out=held_out_of_folder(dataset_dir)
    )


def write_preference_dataset(data: PreferenceDataset, folder: Path) -> Path:
    """`folder/<version>/examples.jsonl` and `manifest.json`; the version folder."""
    out = folder / data.version
    out.mkdir(parents=True, exist_ok=True)
    (out / EXAMPLES_FILE).write_bytes(data.to_jsonl())
    (out / MANIFEST_FILE).write_text(json.dumps(data.manifest(), indent=2))
    return out


def read_preference_dataset(folder: Path) -> PreferenceDataset:
    """A preference dataset version folder (as the asset or `write_preference_dataset` wrote)."""
    examples, manifest = folder / EXAMPLES_FILE, folder / MANIFEST_FILE
    if not examples.exists() or not manifest.exists():
        raise FileNotFoundError(
            f"{folder}: expected {EXAMPLES_FILE} and {MANIFEST_FILE} (a preference_dataset version)"
        )
    version = str(json.loads(manifest.read_text())["version"])
    dataset = PreferenceDataset.from_jsonl(version, examples.read_bytes())
    if data_version(dataset.examples) != version:
        raise ValueError(
            f"{examples}: its examples hash to {data_version(dataset.examples)}, not to the "
            f"version {version} its manifest names: rebuild the preference dataset"
        )
    return dataset


def preference_dataset_for_version(
    repo: DatasetRepository, rated_rows: list[Any], training_version: str
) -> PreferenceDataset:
    """The rated rows (data/feedback_review.preference_rows) as a preference dataset built
    against a training dataset version of the lake: split by its policy, its validation, test
    and freeform_test prompts held out."""
    manifest = repo.manifest(training_version)
    # The free-form questions of held-out families grade the model like test does: their
    # prompts never train the preference stage either.
    held = held_out_prompts(
        {
            split: [
                row
                for name in names
                if name in manifest["splits"]
                for row in repo.split_rows(training_version, name, ["instruction", "input"])
            ]
            for split, names in (("validation", ("validation",)), ("test", ("test", FREEFORM_TEST)))
        }
    )
    ratios, salt = split_policy_of(manifest)
    return build_preference_dataset(rated_rows, ratios=ratios, salt=salt, held_out=held)


def store_preference_version(
    storage: BlobStorage, data: PreferenceDataset, training_version: str
) -> None:
    """The version's examples and manifest (naming its training dataset version) in the lake."""
    doc = {**data.manifest(), "training_dataset_version": training_version}
    storage.write_bytes(layout.preference_examples(data.version), data.to_jsonl())
    storage.write_bytes(layout.preference_manifest(data.version), orjson.dumps(doc))


def read_preference_version(storage: BlobStorage, version: str) -> PreferenceDataset:
    """A preference dataset version the lake holds."""
    raw = storage.read_bytes(layout.preference_examples(version))
    return PreferenceDataset.from_jsonl(version, raw)
