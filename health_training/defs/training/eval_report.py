"""`eval_report`: the adapter its upstream produced vs its base on a stratified sample of that
adapter's own dataset version's frozen test split (the evaluation itself: ml/evaluation/adapter_evaluation.py),
and what its materialization shows people."""

from typing import Any

import dagster as dg
from pydantic import Field

from health_training.constants import EVAL_BATCH_SIZE
from health_training.defs.handoff import upstream
from health_training.defs.phase_clock import announce_phase
from health_training.defs.training.adapter import lora_adapter
from health_training.ml.evaluation.adapter_evaluation import JudgeSettings, evaluate_run
from health_training.resources import CarbonResource, JudgeResource, Storage, TrainingResource

REPORTED = (
    "eval_loss", "rougeL", "hallucinated_number_rate", "fact_accuracy", "fact_recall",
    "eos_rate", "phi_rate",
)  # fmt: skip


class EvalReportConfig(dg.Config):
    max_examples: int = Field(
        default=200, description="Test examples scored: an equal share per health domain."
    )
    batch_size: int = Field(default=EVAL_BATCH_SIZE, description="Answers generated together.")


@dg.asset(group_name="training", kinds={"pytorch"}, deps=[lora_adapter])
def eval_report(
    context: dg.AssetExecutionContext,
    config: EvalReportConfig,
    storage: Storage,
    training: TrainingResource,
    carbon: CarbonResource,
    judge: JudgeResource,
) -> dg.MaterializeResult:
    """Base model vs fine-tuned adapter: response-token loss, EM, token F1, BLEU, ROUGE,
    hallucinated numbers, fact accuracy and recall, EOS rate and a PHI probe, per health domain,
    every difference with a paired bootstrap 95 % interval; JSON, Markdown, HTML in storage."""
    announce_phase(context)
    adapter = upstream(context, "lora_adapter")
    outcome, report, keys = evaluate_run(
        adapter,
        n_examples=config.max_examples,
        batch_size=config.batch_size,
        storage=storage,
        runs_dir=training.runs_dir,
        models_dir=training.models_dir,
        country_iso_code=carbon.country_iso_code,
        gpu_ids=carbon.gpu_ids,
        judge=JudgeSettings(judge.base_url, judge.api_key, judge.model),
        log=context.log.info,
    )
    return dg.MaterializeResult(metadata=eval_metadata(report, outcome, adapter, keys, storage))


def eval_metadata(
    report: Any, outcome: Any, adapter: dict[str, Any], keys: dict[str, str], storage: Storage
) -> dict[str, Any]:
    from health_training.ml.evaluation.report import better_than

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
