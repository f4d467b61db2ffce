"""A training run's adapter evaluated end to end, as `eval_report` runs it: fetch the adapter and
the dataset version it was trained on, answer the test sample (and the free-form questions) with
base and adapter under CodeCarbon (base answers cached in storage per base, sample and
decoding), judge optionally, write the reports and the answers the promotion gate reuses, and
store them with the evaluation's emissions beside the run."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from health_training.constants import DEFAULT_JUDGE_MODEL, EMISSIONS_STAGING_DIR
from health_training.data import layout
from health_training.data.blob_storage import BlobStorage
from health_training.data.dataset_repository import DatasetRepository
from health_training.data.splits import FREEFORM_TEST
from health_training.ml.training.run_artifacts import RunArtifacts


def _cached_base(storage: BlobStorage) -> Callable[[str], Any]:
    from health_training.ml.evaluation.answer_and_compare import ModelAnswers

    def read(key: str) -> Any:
        raw = storage.read_optional(layout.base_answers(key))
        return ModelAnswers.from_dict(orjson.loads(raw)) if raw else None

    return read


@dataclass(frozen=True)
class JudgeSettings:
    """An OpenAI-compatible endpoint for the optional LLM judge ("" base_url: skipped)."""

    base_url: str = ""
    api_key: str = ""
    model: str = DEFAULT_JUDGE_MODEL


def evaluate_run(
    run: dict[str, Any],
    *,
    n_examples: int,
    batch_size: int,
    storage: BlobStorage,
    runs_dir: Path,
    models_dir: Path,
    country_iso_code: str,
    gpu_ids: Sequence[int] | None = None,
    judge: JudgeSettings = JudgeSettings(),
    log: Callable[[str], None],
) -> tuple[Any, Any, dict[str, str]]:
    """Evaluate the run its hand-off metadata names (`run`: identity, dataset version, base);
    returns (the evaluation outcome, the report, the storage keys of eval/, the emissions and
    the HTML report)."""
    from health_training.ml.emissions import track_emissions
    from health_training.ml.evaluation.eval_run import run_evaluation
    from health_training.ml.evaluation.judge import judge_report

    identity, version = str(run["run_identity"]), str(run["dataset_version"])
    artifacts = RunArtifacts(storage, runs_dir)
    run_dir = artifacts.fetch(identity)
    repo = DatasetRepository(storage)
    freeform = (
        repo.split_rows(version, FREEFORM_TEST) if repo.has_split(version, FREEFORM_TEST) else []
    )
    with track_emissions(
        runs_dir / EMISSIONS_STAGING_DIR,
        project="eval_report",
        country_iso_code=country_iso_code,
        gpu_ids=gpu_ids,
    ) as meter:
        outcome = run_evaluation(
            base_name=str(run["base_name"]),
            adapter_dir=run_dir / "adapter",
            test_rows=repo.split_rows(version, "test"),
            models_dir=models_dir,
            dataset_version=version,
            finetuned_label=f"{run['base_name']} + LoRA {identity}",
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
