"""What `eval_report` does, step by step: fetch the adapter and the dataset version it was
trained on, answer the test sample with base and adapter (base answers cached in storage per
base, test sample and decoding), judge optionally, store the reports, describe them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import orjson

from health_training.constants import EMISSIONS_STAGING_DIR
from health_training.data import layout
from health_training.data.dataset_repository import DatasetRepository
from health_training.data.splits import FREEFORM_TEST
from health_training.ml.run_artifacts import RunArtifacts
from health_training.resources import CarbonResource, JudgeResource, Storage, TrainingResource

REPORTED = (
    "eval_loss", "rougeL", "hallucinated_number_rate", "fact_accuracy", "fact_recall",
    "eos_rate", "phi_rate",
)  # fmt: skip


def _cached_base(storage: Storage) -> Callable[[str], Any]:
    from health_training.ml.evaluation import ModelAnswers

    def read(key: str) -> Any:
        raw = storage.read_optional(layout.base_answers(key))
        return ModelAnswers.from_dict(orjson.loads(raw)) if raw else None

    return read


def evaluate_run(
    adapter: dict[str, Any],
    *,
    n_examples: int,
    batch_size: int,
    storage: Storage,
    training: TrainingResource,
    carbon: CarbonResource,
    judge: JudgeResource,
    log: Callable[[str], None],
) -> tuple[Any, Any, dict[str, str]]:
    from health_training.ml.emissions import track_emissions
    from health_training.ml.eval_run import run_evaluation
    from health_training.ml.judge import judge_report

    identity, version = str(adapter["run_identity"]), str(adapter["dataset_version"])
    artifacts = RunArtifacts(storage, training.runs_dir)
    run_dir = artifacts.fetch(identity)
    repo = DatasetRepository(storage)
    freeform = (
        repo.split_rows(version, FREEFORM_TEST)
        if FREEFORM_TEST in repo.manifest(version)["splits"]
        else []
    )
    with track_emissions(
        training.runs_dir / EMISSIONS_STAGING_DIR,
        project="eval_report",
        country_iso_code=carbon.country_iso_code,
        gpu_ids=carbon.gpu_ids,
    ) as meter:
        outcome = run_evaluation(
            base_name=str(adapter["base_name"]),
            adapter_dir=run_dir / "adapter",
            test_rows=repo.split_rows(version, "test"),
            models_dir=training.models_dir,
            dataset_version=version,
            finetuned_label=f"{adapter['base_name']} + LoRA {identity}",
            n_examples=n_examples,
            batch_size=batch_size,
            cached_base=_cached_base(storage),
            log=log,
            freeform_rows=freeform,
            n_freeform=n_examples,
        )
    if not outcome.base_from_cache:
        storage.write_bytes(
            layout.base_answers(outcome.base_cache_key), orjson.dumps(outcome.base.to_dict())
        )
    if outcome.freeform is not None and not outcome.freeform.base_from_cache:
        storage.write_bytes(
            layout.base_answers(outcome.freeform.base_cache_key),
            orjson.dumps(outcome.freeform.base.to_dict()),
        )
    report = judge_report(outcome, judge.base_url, judge.api_key, judge.model)
    folder = run_dir / "eval"
    paths = report.write(folder)
    answers = {
        "content_keys": [r["content_key"] for r in outcome.rows],
        "settings": outcome.settings.key(),
        "settings_doc": dataclasses.asdict(outcome.settings),
        "base": outcome.base.to_dict(),
        "finetuned": outcome.finetuned.to_dict(),
    }
    if outcome.freeform is not None:
        answers[FREEFORM_TEST] = outcome.freeform.answers_doc()
    (folder / "answers.json").write_bytes(orjson.dumps(answers))
    (run_dir / "emissions_evaluation.json").write_text(
        json.dumps(meter.result.to_dict(), default=str)
    )
    keys = {
        "eval": artifacts.upload_folder(identity, folder, "eval"),
        "emissions": artifacts.write(
            identity,
            "emissions_evaluation.json",
            (run_dir / "emissions_evaluation.json").read_bytes(),
        ),
        "html": layout.model_run(identity, f"eval/{paths['html'].name}"),
    }
    log(f"evaluation report: {storage.uri(keys['html'])}")
    return outcome, report, keys


def eval_metadata(
    report: Any, outcome: Any, adapter: dict[str, Any], keys: dict[str, str], storage: Storage
) -> dict[str, Any]:
    from health_training.ml.report import better_than

    overall = {role: report.models[role]["overall"] for role in ("base", "finetuned")}
    intervals = (report.intervals or {}).get("overall", {})

    def ci(key: str) -> str:
        iv = intervals.get(key) or {}
        if iv.get("ci_low") is None:
            return "n/a"
        return f"{iv['diff']:+.3f} [{iv['ci_low']:+.3f}, {iv['ci_high']:+.3f}]"

    return {
        "run_identity": str(adapter["run_identity"]),
        "dataset_version": str(adapter["dataset_version"]),
        "eval_storage_key": keys["eval"],
        "test_examples": report.n_examples,
        "max_new_tokens": outcome.settings.max_new_tokens,
        "seconds_per_example_base": round(report.seconds_per_example["base"], 3),
        "seconds_per_example_finetuned": round(report.seconds_per_example["finetuned"], 3),
        "base_from_cache": outcome.base_from_cache,
        **{
            f"{key}_{role}": round(overall[role][key], 4)
            for key in REPORTED
            for role in ("base", "finetuned")
            if overall[role].get(key) is not None
        },
        "rougeL_diff_ci": ci("rougeL"),
        "fact_accuracy_diff_ci": ci("fact_accuracy"),
        "eval_loss_diff_ci": ci("eval_loss"),
        **_freeform_metadata(report.freeform),
        "finetuned_better": dg.MetadataValue.json(better_than(report)),
        "judge": report.judge_skipped_reason or "scored",
        "report": dg.MetadataValue.md(report.to_markdown()),
        "html": dg.MetadataValue.path(storage.uri(keys["html"])),
    }


FREEFORM_REPORTED = (
    "asked_fact_rate", "fact_accuracy", "computation_accuracy", "cannot_answer_rate",
    "hallucinated_number_rate", "eos_rate",
)  # fmt: skip


def _freeform_metadata(section: dict[str, Any] | None) -> dict[str, Any]:
    """The free-form split's headline figures, `freeform_<metric>_<role>` and the intervals."""
    if not section:
        return {"freeform_test_examples": 0}
    out: dict[str, Any] = {"freeform_test_examples": section["n_examples"]}
    intervals = (section.get("intervals") or {}).get("overall") or {}
    for key in FREEFORM_REPORTED:
        for role in ("base", "finetuned"):
            value = section["models"][role]["overall"].get(key)
            if value is not None:
                out[f"freeform_{key}_{role}"] = round(value, 4)
        iv = intervals.get(key) or {}
        if iv.get("ci_low") is not None:
            out[f"freeform_{key}_diff_ci"] = (
                f"{iv['diff']:+.3f} [{iv['ci_low']:+.3f}, {iv['ci_high']:+.3f}]"
            )
    return out
