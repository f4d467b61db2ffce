"""`preference_dataset`: rated answers from the feedback store as KTO examples and DPO pairs.

Built against the training dataset version its upstream produced: that version's split policy
splits the prompts, and its validation and test prompts are pinned out of training, so a prompt of
the frozen test split never trains. `lora_adapter` reads the version this asset recorded
(`preference_for_training`) and puts it in the preference stage's run identity.
"""

from collections import Counter
from typing import Any

import dagster as dg
import orjson

from health_training.data import layout
from health_training.data.dataset_repository import DatasetRepository
from health_training.defs.data.config import md_table
from health_training.defs.data.datasets import training_dataset
from health_training.defs.handoff import upstream
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
    from health_training.data.splits import FREEFORM_TEST
    from health_training.ml.preference.examples import build_preference_dataset, held_out_prompts
    from health_training.ml.preference.store import split_policy_of

    version = str(upstream(context, "training_dataset")["version"])
    repo = DatasetRepository(storage)
    manifest = repo.manifest(version)
    # The free-form questions of held-out families grade the model like test does: their
    # prompts never train the preference stage either.
    held = held_out_prompts(
        {
            split: [
                row
                for name in names
                if name in manifest["splits"]
                for row in repo.split_rows(version, name, ["instruction", "input"])
            ]
            for split, names in (("validation", ("validation",)), ("test", ("test", FREEFORM_TEST)))
        }
    )
    ratios, salt = split_policy_of(manifest)
    from health_training.data.feedback_review import preference_rows
    from health_training.stores.feedback_review import ReviewQueue

    store = feedback.store()
    # Only keys an admin trusted (and operator imports) teach preferences; corrections only
    # once approved in the review queue.
    rows = preference_rows(store.since(0), ReviewQueue(store).trust_levels())
    data = build_preference_dataset(rows, ratios=ratios, salt=salt, held_out=held)
    doc = {**data.manifest(), "training_dataset_version": version}
    storage.write_bytes(layout.preference_examples(data.version), data.to_jsonl())
    storage.write_bytes(layout.preference_manifest(data.version), orjson.dumps(doc))
    train = data.train()
    context.log.info(
        f"preference_dataset {data.version}: {len(data.examples)} examples from "
        f"{data.stats['rows_read']} rated answers, {len(train)} in train"
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


def preference_for_training(context: Any, storage: Storage) -> tuple[Any, str]:
    """(the PreferenceDataset preference_dataset recorded, or None; a note for the metadata).
    Never materialized: None, and the preference stage is skipped with that said."""
    from health_training.ml.preference.examples import PreferenceDataset

    if context.instance.get_latest_materialization_event(dg.AssetKey("preference_dataset")) is None:
        return None, "preference_dataset was never materialized: no preference stage"
    version = str(upstream(context, "preference_dataset")["version"])
    raw = storage.read_bytes(layout.preference_examples(version))
    return PreferenceDataset.from_jsonl(version, raw), f"preference data {version}"


def preference_stage_metadata(result: Any, note: str) -> dict[str, Any]:
    """What the adapter's materialization says about its preference stage."""
    stage = result.preference or {}
    if not stage:
        return {"preference_stage": note}
    if "skipped" in stage:
        return {
            "preference_stage": f"skipped: {stage['skipped']}",
            "preference_data_version": stage["data_version"],
        }
    return {
        "preference_stage": (
            f"{stage['method']}: {stage['examples']} examples ({stage['desirable']} desirable, "
            f"{stage['undesirable']} undesirable, {stage['pairs']} pairs) on SFT run "
            f"{stage['sft_identity']}"
        ),
        "preference_data_version": stage["data_version"],
        "sft_run_identity": stage["sft_identity"],
    }
