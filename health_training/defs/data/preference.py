"""`preference_dataset`: rated answers from the feedback store as KTO examples and DPO pairs.

Built against the training dataset version its upstream produced: that version's split policy
splits the prompts, and its validation and test prompts are pinned out of training, so a prompt of
the frozen test split never trains (ml/preference/store.py). `lora_adapter` reads the version this
asset recorded and puts it in the preference stage's run identity.
"""

from collections import Counter
from typing import Any

import dagster as dg

from health_training.data import layout
from health_training.data.dataset_repository import DatasetRepository
from health_training.defs.data.datasets import training_dataset
from health_training.defs.handoff import upstream
from health_training.defs.metadata import md_table
from health_training.resources import FeedbackResource, Storage

TABLE_EXAMPLES = 8  # example rows shown in the UI
CELL_CHARS = 90


@dg.asset(group_name="data", kinds={"sqlite", "json"}, deps=[training_dataset])
def preference_dataset(
    context: dg.AssetExecutionContext, feedback: FeedbackResource, storage: Storage
) -> dg.MaterializeResult:
    """KTO examples (rating >= 4 desirable, <= 2 undesirable, 3 ignored) and DPO pairs (an
    approved correction vs the rated answer; a prompt's best- vs low-rated answers) from trusted
    keys' ratings and operator imports, PHI-scrubbed,
    deduplicated, split by prompt hash with the SFT test, freeform_test and validation prompts
    held out."""
    from health_training.data.feedback_review import preference_rows
    from health_training.ml.preference.store import (
        preference_dataset_for_version,
        store_preference_version,
    )
    from health_training.stores.review_queue import ReviewQueue

    version = str(upstream(context, "training_dataset")["version"])
    store = feedback.store()
    # Only keys an admin trusted (and operator imports) teach preferences; corrections only
    # once approved in the review queue.
    rows = preference_rows(store.since(0), ReviewQueue(store).trust_levels())
    data = preference_dataset_for_version(DatasetRepository(storage), rows, version)
    store_preference_version(storage, data, version)
    context.log.info(
        f"preference_dataset {data.version}: {len(data.examples)} examples from "
        f"{data.stats['rows_read']} rated answers, {len(data.train())} in train"
    )
    return dg.MaterializeResult(
        metadata=preference_metadata(data, version, storage),
        data_version=dg.DataVersion(data.version),
    )


def _cell(text: str) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= CELL_CHARS else flat[: CELL_CHARS - 1] + "…"


def preference_metadata(data: Any, dataset_version: str, storage: Storage) -> dict[str, Any]:
    """Counts per kind, split, rating and model version, and a table of examples, for people."""
    from health_training.ml.preference.examples import kind_label

    by_kind_split = Counter((kind_label(e), e.split) for e in data.examples)
    kinds = sorted({k for k, _ in by_kind_split})
    splits = ("train", "validation", "test")
    shown: dict[str, list[Any]] = {}
    for e in data.examples:  # a few of each kind, not the first kind only
        picked = shown.setdefault(kind_label(e), [])
        if len(picked) < max(1, TABLE_EXAMPLES // 4):
            picked.append(e)
    examples = [
        (
            kind_label(e),
            e.split,
            ", ".join(f"{r:g}" for r in e.ratings),
            _cell(e.instruction),
            _cell(e.completion if e.kind == "kto" else e.chosen),
            _cell("" if e.kind == "kto" else e.rejected),
        )
        for group in shown.values()
        for e in group
    ][:TABLE_EXAMPLES]
    return {
        "version": data.version,
        "training_dataset_version": dataset_version,
        "examples": len(data.examples),
        "train_examples": len(data.train()),
        "rated_answers": data.stats["rows_read"],
        "ignored_rating_3": data.stats["ignored_neutral"],
        "pinned_to_held_out": data.stats["pinned_to_held_out"],
        "by_kind": dg.MetadataValue.json(data.stats["by_kind"]),
        "by_kind_and_split": md_table(
            ("kind", *splits), [(k, *(by_kind_split[(k, s)] for s in splits)) for k in kinds]
        ),
        "by_rating": dg.MetadataValue.json(data.stats["by_rating"]),
        "by_model_version": dg.MetadataValue.json(data.stats["by_model_version"]),
        "phi_replaced": dg.MetadataValue.json(data.stats["phi_replaced"]),
        "sample": md_table(
            ("kind", "split", "rating", "prompt", "answer / chosen", "rejected"), examples
        ),
        "location": dg.MetadataValue.path(storage.uri(layout.preference_examples(data.version))),
    }
