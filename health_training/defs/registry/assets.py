"""`registered_model`: one MLflow run per training, the adapter registered as a pyfunc with the
alias `staging`, and the promotion gate against `production` on the same test set. The
`promote_model` job (or `health-training registry promote`) moves `production` after a person
approves; in `auto` mode a passing gate promotes at once."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from health_training.assets.emissions import emissions_report
from health_training.assets.model import _latest, eval_report, local_dataset, lora_adapter
from health_training.ml.evaluation import LOSS_DEFINITION
from health_training.ml.gate import GateDecision, evaluate_gate, load_gate_policy
from health_training.resources import MlflowResource, Storage, TrainingResource


def _test_rows(storage: Storage, training: TrainingResource) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    dataset_dir, _ = local_dataset(storage, training)
    return pq.read_table(dataset_dir / "test.parquet").to_pylist()


GATE_TAG = "gate.decision"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value
    return out


def challenger_metrics(eval_doc: dict[str, Any], role: str = "finetuned") -> dict[str, float]:
    """The gate's metric names (ml/metrics overall, response-token loss included) from an eval
    report's JSON."""
    model = eval_doc["models"][role]
    overall = {k: v for k, v in model["overall"].items() if isinstance(v, int | float)}
    # Reports written before the loss moved into `overall` carry it beside.
    return {**{k: model[k] for k in ("eval_loss", "perplexity") if k in model}, **overall}


def _production_answers(
    mlflow: MlflowResource,
    training: TrainingResource,
    latest: dict[str, Any],
    challenger: dict[str, Any],
    rows: list[dict[str, Any]],
    log,
):
    """(production version, its answers to the challenger's test rows) or (None, None).

    Production's own evaluation is reused when it answered the same rows with the same decoding
    (its `eval/answers.json` artifact); otherwise its adapter answers them now."""
    from health_training.ml.evaluation import DecodingSettings, ModelAnswers, answer

    registry = mlflow.registry()
    prod = registry.production_version()
    if prod is None:
        return None, None
    version = str(prod.version)
    folder = training.runs_dir / "production" / version
    recorded = registry.download_run_file(prod.run_id, "eval/answers.json", folder)
    if recorded is not None:
        doc = json.loads(recorded.read_text())
        if doc["content_keys"] == challenger["content_keys"] and (
            doc["settings"] == challenger["settings"]
        ):
            log(f"production v{version} answered the same test rows: its answers are reused")
            return version, ModelAnswers.from_dict(doc["finetuned"])
    try:
        adapter, _ = registry.download_adapter(version, folder)
    except FileNotFoundError:
        log(f"production v{version} holds no adapter (an external model): no paired comparison")
        return version, None
    from peft import PeftModel

    from health_training.ml.models import load_model_and_tokenizer, resolve_base_model

    base, tokenizer = load_model_and_tokenizer(
        resolve_base_model(latest["base_name"], training.models_dir)
    )
    model = PeftModel.from_pretrained(base, str(adapter))
    model.merge_adapter()
    settings = DecodingSettings(**challenger["settings_doc"])
    log(f"scoring production v{version} on the challenger's {len(rows)} test rows")
    return version, answer(model, tokenizer, rows, settings)


@dg.asset(
    group_name="registry", kinds={"mlflow"}, deps=[lora_adapter, eval_report, emissions_report]
)
def registered_model(
    context: dg.AssetExecutionContext,
    training: TrainingResource,
    mlflow: MlflowResource,
    storage: Storage,
) -> dg.MaterializeResult:
    """The fine-tuned adapter logged to MLflow (params, step metrics, reports, emissions, loss curve)
    and registered as a pyfunc that holds the adapter and names its base; alias `staging`."""
    from health_training.ml.models import resolve_base_model

    latest = _latest(training)
    run_dir = Path(latest["run_dir"])
    result = json.loads((run_dir / "train_result.json").read_text())
    eval_doc = json.loads((run_dir / "eval" / "eval_report.json").read_text())
    answers = json.loads((run_dir / "eval" / "answers.json").read_text())
    carbon = json.loads((run_dir / "emissions_report.json").read_text())
    spec = resolve_base_model(latest["base_name"], training.models_dir)
    registry = mlflow.registry()
    tags = {
        "dagster_run_id": context.run.run_id,
        "training_dagster_run_id": latest["dagster_run_id"],
        "partitions": ",".join(latest["months"]),
        "dataset_manifest_hash": latest["dataset_version"],
        "base_model": latest["base_model"],
        "base_revision": latest["base_revision"] or "",
        "run_identity": latest["identity"],
        "reason": latest["reason"],
        "profile": latest["profile"],
        "loss_definition": LOSS_DEFINITION,
    }
    params = {k: v for k, v in _flat("", latest["config"], {}).items() if v is not None}
    run_id = registry.start_training_run(
        params=params,
        tags=tags,
        run_name=f"{latest['profile']}-{latest['identity'][:8]}",
    )
    for entry in result["log_history"]:
        step_metrics = {
            k: v
            for k, v in entry.items()
            if k in ("loss", "eval_loss", "learning_rate", "grad_norm")
        }
        if step_metrics:
            registry.log_step_metrics(run_id, step_metrics, int(entry["step"]))
    metrics = challenger_metrics(eval_doc)
    final = {
        **metrics,
        **{f"base_{k}": v for k, v in challenger_metrics(eval_doc, "base").items()},
        "kg_co2eq": carbon["emissions"]["kg_co2eq"],
        "energy_kwh": carbon["emissions"]["energy_kwh"],
        "tokens_per_second": result["tokens_per_second"],
        "trainable_params": result["trainable_params"],
        "test_examples": eval_doc["n_examples"],
    }
    registry.log_step_metrics(
        run_id, {k: float(v) for k, v in final.items() if v is not None}, result["steps"]
    )
    artifacts = [
        run_dir / "eval",
        run_dir / "emissions_training.csv",
        run_dir / "emissions_report.json",
        run_dir / "emissions_report.md",
        run_dir / "loss_curve.png",
        run_dir / "train_result.json",
    ]
    registry.log_artifacts(run_id, [p for p in artifacts if p.exists()])
    model_uri = registry.log_adapter_model(
        run_id,
        run_dir / "adapter",
        base_model=latest["base_model"],
        base_revision=latest["base_revision"],
        base_dir=spec.source if spec.local else None,
        bundle_base=spec.local,
        tokenizer_dir=run_dir / "adapter",
        # Served answers get the evaluation's length cap (references' p99 + margin).
        max_new_tokens=answers["settings_doc"]["max_new_tokens"],
    )
    registry.finish_run(run_id)
    version = registry.register(model_uri, tags=tags)

    by_key = {r["content_key"]: r for r in _test_rows(storage, training)}
    rows = [by_key[k] for k in answers["content_keys"]]
    prod_version, prod_answers = _production_answers(
        mlflow, training, latest, answers, rows, context.log.info
    )
    intervals = None
    if prod_answers is not None:
        from health_training.ml.evaluation import ModelAnswers, compare

        found = compare(rows, prod_answers, ModelAnswers.from_dict(answers["finetuned"]))
        intervals = found["intervals"]["overall"]
    policy = load_gate_policy()
    decision = evaluate_gate(
        metrics,
        policy,
        intervals=intervals,
        emissions_kg=carbon["emissions"]["kg_co2eq"],
        n_test=eval_doc["n_examples"],
        compared_with=prod_version,
    )
    registry.set_version_tags(
        version,
        {
            GATE_TAG: decision.to_json(),
            "gate.summary": decision.summary(),
            "gate.compared_with": prod_version or "none",
        },
    )
    promoted = False
    if decision.auto_promote:
        registry.promote(
            version,
            approved_by="auto-gate",
            reason="gate passed (auto mode)",
            decision=decision,
            now=_now(),
        )
        promoted = True
    verdict = decision.summary()
    context.log.info(
        f"registered {mlflow.model_name} v{version} (staging); gate vs "
        f"{'v' + prod_version if prod_version else 'no production yet'}: {verdict}"
        + (
            ""
            if promoted
            else f"; approve with `health-training registry promote {version} --reason ...`"
        )
    )
    return dg.MaterializeResult(
        metadata={
            "model_name": mlflow.model_name,
            "version": version,
            "alias": "production" if promoted else "staging",
            "mlflow_run_id": run_id,
            "model_uri": f"models:/{mlflow.model_name}/{version}",
            "gate_passed": decision.passed,
            "gate_reasons": dg.MetadataValue.json(decision.reasons),
            "gate_figures": dg.MetadataValue.json(decision.per_metric),
            "compared_with_production": prod_version or "none",
            "gate_mode": policy.mode,
            "tracking_uri": mlflow.tracking_uri,
        },
    )


class PromoteConfig(dg.Config):
    version: str = Field(description="The registered version to promote.")
    reason: str = Field(description="Why (recorded on the version).")
    approved_by: str = Field(description="Who approves (recorded on the version).")
    force: bool = Field(
        default=False, description="Promote even though the gate failed (on the record)."
    )


@dg.op(
    description="Move the `production` alias to an approved version, recording who, when and why."
)
def promote_version(
    context: dg.OpExecutionContext, config: PromoteConfig, mlflow: MlflowResource
) -> None:
    promote_recorded(
        mlflow,
        config.version,
        approved_by=config.approved_by,
        reason=config.reason,
        force=config.force,
    )
    context.log.info(f"{mlflow.model_name} v{config.version} is now production")


def promote_recorded(
    mlflow: MlflowResource, version: str, *, approved_by: str, reason: str, force: bool = False
) -> None:
    """Promote with the gate decision recorded on the version at registration."""
    registry = mlflow.registry()
    mv = registry.version(version)
    raw = mv.tags.get(GATE_TAG)
    decision = None
    if raw:
        decision = GateDecision.from_json(raw)
    registry.promote(
        version,
        approved_by=approved_by,
        reason=reason,
        decision=decision,
        now=_now(),
        force=force,
    )


@dg.job(description="Human-gated promotion: staging → production for the version in the config.")
def promote_model() -> None:
    promote_version()
