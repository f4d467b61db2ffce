"""Model-plane assets: `lora_adapter` (fine-tuning), `eval_report` (base vs fine-tuned on the
frozen test split) and `emissions_report` (CodeCarbon around both, with alerts and a budget).

A training run's files live in `$HEALTH_TRAINING_HOME/training/<run identity>/`; `latest.json`
there points downstream assets at the run this materialization produced.
"""

import base64
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import dagster as dg
import orjson
from pydantic import Field

from health_training.assets.datasets import training_dataset
from health_training.data import layout
from health_training.resources import (
    CarbonResource,
    JudgeResource,
    MlflowResource,
    Storage,
    TrainingResource,
)

TRAIN_REASONS = ("monthly", "feedback_threshold", "data_volume", "drift", "manual")


class LoraAdapterConfig(dg.Config):
    profile: str | None = Field(
        default=None, description="Training profile (default: the resource's)."
    )
    base_model: str | None = Field(default=None, description="Override the profile's base model.")
    max_steps: int | None = Field(default=None, description="Cap the optimizer steps.")
    reason: str = Field(
        default="manual", description=f"Why this run happens: {', '.join(TRAIN_REASONS)}."
    )
    warm_start_from_production: bool = Field(
        default=False, description="Start from the production adapter's weights (explicit opt-in)."
    )


def _latest(training: TrainingResource) -> dict[str, Any]:
    path = training.runs_dir / "latest.json"
    if not path.exists():
        raise dg.Failure(f"{path} is missing: materialize lora_adapter first")
    return json.loads(path.read_text())


def local_dataset(storage: Storage, training: TrainingResource) -> tuple[Path, dict[str, Any]]:
    """The current dataset version's splits on local disk (copied from S3 when needed)."""
    version = orjson.loads(storage.read_bytes(layout.CURRENT_DATASET))["version"]
    manifest = orjson.loads(storage.read_bytes(layout.dataset_manifest(version)))
    folder = Path(training.home) / "cache" / "datasets" / version
    folder.mkdir(parents=True, exist_ok=True)
    for split in manifest["splits"]:
        target = folder / f"{split}.parquet"
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(storage.read_bytes(layout.dataset_split(version, split)))
            tmp.replace(target)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder, manifest


def loss_curve_png(log_history: list[dict[str, Any]]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key, label in (("loss", "train loss"), ("eval_loss", "eval loss")):
        points = [(h["step"], h[key]) for h in log_history if key in h]
        if points:
            ax.plot(
                *zip(*points, strict=True), marker="o" if key == "eval_loss" else None, label=label
            )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _throughput_history(training: TrainingResource) -> list[dict[str, Any]]:
    path = training.runs_dir / "throughput.jsonl"
    return (
        [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if path.exists()
        else []
    )


@dg.asset(
    group_name="training",
    kinds={"pytorch", "peft"},
    deps=[training_dataset],
    pool="gpu",
    op_tags={"health_training/gpu": "1"},
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10),  # a retry resumes from the checkpoint
)
def lora_adapter(
    context: dg.AssetExecutionContext,
    config: LoraAdapterConfig,
    storage: Storage,
    training: TrainingResource,
    mlflow: MlflowResource,
    carbon: CarbonResource,
) -> dg.MaterializeResult:
    """A LoRA (or QLoRA) adapter fine-tuned on the current training dataset, with CodeCarbon
    tracking the training phase. Progress (step, loss, tokens/s, ETA) goes to the run log."""
    from health_training.ml.emissions import country_carbon_intensity, estimate_run, track_emissions
    from health_training.ml.models import resolve_base_model
    from health_training.ml.train import load_train_config, train

    # A sensor or schedule sets the reason as a run tag; run config is for hand-started runs.
    reason = context.run.tags.get("health_training/reason", config.reason)
    if reason not in TRAIN_REASONS:
        raise dg.Failure(f"reason {reason!r} is not one of {TRAIN_REASONS}")
    dataset_dir, manifest = local_dataset(storage, training)
    cfg = load_train_config(
        config.profile or training.profile, base_model=config.base_model, max_steps=config.max_steps
    )
    if config.warm_start_from_production:
        registry = mlflow.registry()
        prod = registry.production_version()
        if prod is None:
            raise dg.Failure("warm_start_from_production: there is no production version yet")
        adapter, _ = registry.download_adapter(
            str(prod.version), training.runs_dir / "warm" / str(prod.version)
        )
        cfg = cfg.__class__(**{**cfg.__dict__, "warm_start_adapter": str(adapter)})
    spec = resolve_base_model(cfg.base_model, training.models_dir)
    history = [h for h in _throughput_history(training) if h["base"] == spec.source]

    def progress(event: dict[str, Any]) -> None:
        if event.get("event") == "plan":
            msg = (
                f"plan: {event['train_examples']} examples packed into {event['packed_rows']} rows "
                f"(fill {event['fill']:.0%}), {event['too_long']} longer than {cfg.max_length} tokens "
                f"left out, {event['tokens_planned']:,} tokens"
            )
            if history:
                last = history[-1]
                est = estimate_run(
                    event["tokens_planned"],
                    last["tokens_per_second"],
                    device_power_w=last.get("power_w", 10.0),
                    carbon_intensity_g_per_kwh=country_carbon_intensity(carbon.country_iso_code),
                )
                msg += (
                    f"; estimate from the last measured {last['tokens_per_second']:.0f} tokens/s: "
                    f"{est.duration_s / 60:.1f} min, {est.energy_kwh * 1000:.2f} Wh, {est.kg_co2eq * 1000:.2f} g CO2eq"
                )
            else:
                msg += "; no measured throughput for this base yet: the first run measures it"
            context.log.info(msg)
            return
        eta = f", ETA {event['eta_s'] / 60:.1f} min" if event.get("eta_s") is not None else ""
        loss = f"loss {event['loss']:.4f}, " if "loss" in event else ""
        loss += (
            f"validation response-token loss {event['eval_loss']:.4f}, "
            if "eval_loss" in event
            else ""
        )
        context.log.info(
            f"step {event['step']}/{event['max_steps']}: {loss}{event['tokens_per_s']:.0f} tokens/s{eta}"
        )

    staging = training.runs_dir / "emissions-staging"
    with track_emissions(
        staging,
        project="lora_adapter",
        country_iso_code=carbon.country_iso_code,
        gpu_ids=carbon.gpu_ids,
    ) as meter:
        result = train(
            cfg,
            dataset_dir,
            training.runs_dir,
            models_dir=training.models_dir,
            dataset_version=manifest["version"],
            progress=progress,
        )
    emissions = meter.result
    (result.run_dir / "emissions_training.json").write_text(
        json.dumps(emissions.to_dict(), default=str)
    )
    (result.run_dir / "emissions_training.csv").write_bytes(emissions.csv_path.read_bytes())
    png = loss_curve_png(list(result.log_history))
    (result.run_dir / "loss_curve.png").write_bytes(png)
    latest = {
        "run_dir": str(result.run_dir),
        "identity": result.identity,
        "dataset_version": manifest["version"],
        "months": manifest.get("months", []),
        "reason": reason,
        "profile": cfg.profile,
        "base_model": result.base_model,
        "base_name": spec.name,
        "base_revision": result.base_revision,
        "dagster_run_id": context.run.run_id,
        "max_length": cfg.max_length,
        "config": json.loads(
            json.dumps(cfg.__dict__, default=lambda o: getattr(o, "__dict__", str(o)))
        ),
    }
    (training.runs_dir / "latest.json").write_text(json.dumps(latest, indent=2))
    power = (emissions.cpu_power_w or 0) + (emissions.gpu_power_w or 0)
    with (training.runs_dir / "throughput.jsonl").open("a") as fh:
        fh.write(
            json.dumps(
                {
                    "base": result.base_model,
                    "precision": result.precision,
                    "tokens_per_second": result.tokens_per_second,
                    "power_w": power,
                }
            )
            + "\n"
        )
    return dg.MaterializeResult(
        metadata={
            "base_model": result.base_model,
            "base_revision": result.base_revision or "",
            "profile": cfg.profile,
            "reason": reason,
            "trainable_params": result.trainable_params,
            "total_params": result.total_params,
            "trainable_share": f"{result.trainable_params / result.total_params:.2%}",
            "train_examples": result.train_examples,
            "too_long_left_out": result.too_long,
            "tokens_trained": result.tokens_trained,
            "tokens_per_second": round(result.tokens_per_second, 1),
            "train_loss": result.train_loss,
            "eval_loss": result.eval_loss,
            "perplexity": result.perplexity,
            "steps": result.steps,
            "resumed_from": result.resumed_from or "",
            "duration_s": round(result.duration_s, 1),
            "kg_co2eq_training": emissions.kg_co2eq,
            "adapter": dg.MetadataValue.path(str(result.adapter_dir)),
            "loss_curve": dg.MetadataValue.md(
                f"![loss curve](data:image/png;base64,{base64.b64encode(png).decode()})"
            ),
        },
    )


class EvalReportConfig(dg.Config):
    max_examples: int = Field(
        default=200,
        description="Test examples scored: an equal share per health domain, by content key.",
    )
    batch_size: int = Field(default=16, description="Answers generated together.")


def _cached_base(storage: Storage):
    from health_training.ml.evaluation import ModelAnswers

    def read(key: str):
        raw = storage.read_optional(layout.base_answers(key))
        return ModelAnswers.from_dict(orjson.loads(raw)) if raw else None

    return read


@dg.asset(group_name="training", kinds={"pytorch"}, deps=[lora_adapter])
def eval_report(
    context: dg.AssetExecutionContext,
    config: EvalReportConfig,
    storage: Storage,
    training: TrainingResource,
    carbon: CarbonResource,
    judge: JudgeResource,
) -> dg.MaterializeResult:
    """Base model vs fine-tuned adapter on a stratified sample of the frozen test split:
    response-token loss, EM, token F1, BLEU, ROUGE, hallucinated numbers, fact accuracy and
    recall, EOS rate and a PHI probe, per health domain, each difference with a paired
    bootstrap 95 % interval; JSON, Markdown, HTML."""
    import pyarrow.parquet as pq

    from health_training.ml.emissions import track_emissions
    from health_training.ml.eval_run import run_evaluation
    from health_training.ml.judge import judge_report

    latest = _latest(training)
    run_dir = Path(latest["run_dir"])
    dataset_dir, _ = local_dataset(storage, training)
    with track_emissions(
        training.runs_dir / "emissions-staging",
        project="eval_report",
        country_iso_code=carbon.country_iso_code,
        gpu_ids=carbon.gpu_ids,
    ) as meter:
        outcome = run_evaluation(
            base_name=latest["base_name"],
            adapter_dir=run_dir / "adapter",
            test_rows=pq.read_table(dataset_dir / "test.parquet").to_pylist(),
            models_dir=training.models_dir,
            dataset_version=latest["dataset_version"],
            finetuned_label=f"{latest['base_name']} + LoRA {latest['identity']}",
            n_examples=config.max_examples,
            batch_size=config.batch_size,
            cached_base=_cached_base(storage),
            log=context.log.info,
        )
    if not outcome.base_from_cache:
        storage.write_bytes(
            layout.base_answers(outcome.base_cache_key), orjson.dumps(outcome.base.to_dict())
        )
    (run_dir / "emissions_evaluation.json").write_text(
        json.dumps(meter.result.to_dict(), default=str)
    )
    report = judge_report(outcome, judge.base_url, judge.api_key, judge.model)
    paths = report.write(run_dir / "eval")
    (run_dir / "eval" / "answers.json").write_bytes(
        orjson.dumps(
            {
                "content_keys": [r["content_key"] for r in outcome.rows],
                "settings": outcome.settings.key(),
                "settings_doc": dataclasses.asdict(outcome.settings),
                "base": outcome.base.to_dict(),
                "finetuned": outcome.finetuned.to_dict(),
            }
        )
    )
    context.log.info(f"evaluation report: {paths['html']}")
    return dg.MaterializeResult(metadata=_eval_metadata(report, outcome, paths))


def _eval_metadata(report, outcome, paths) -> dict[str, Any]:
    overall = {role: report.models[role]["overall"] for role in ("base", "finetuned")}
    intervals = (report.intervals or {}).get("overall", {})

    def ci(key: str) -> str:
        iv = intervals.get(key) or {}
        if iv.get("ci_low") is None:
            return "n/a"
        return f"{iv['diff']:+.3f} [{iv['ci_low']:+.3f}, {iv['ci_high']:+.3f}]"

    return {
        "test_examples": report.n_examples,
        "max_new_tokens": outcome.settings.max_new_tokens,
        "seconds_per_example_base": round(report.seconds_per_example["base"], 3),
        "seconds_per_example_finetuned": round(report.seconds_per_example["finetuned"], 3),
        "base_from_cache": outcome.base_from_cache,
        **{
            f"{key}_{role}": round(overall[role][key], 4)
            for key in (
                "eval_loss",
                "rougeL",
                "hallucinated_number_rate",
                "fact_accuracy",
                "fact_recall",
                "eos_rate",
                "phi_rate",
            )
            for role in ("base", "finetuned")
            if overall[role].get(key) is not None
        },
        "rougeL_diff_ci": ci("rougeL"),
        "fact_accuracy_diff_ci": ci("fact_accuracy"),
        "eval_loss_diff_ci": ci("eval_loss"),
        "finetuned_better": dg.MetadataValue.json(better_than_dict(report)),
        "judge": report.judge_skipped_reason or "scored",
        "report": dg.MetadataValue.md(report.to_markdown()),
        "html": dg.MetadataValue.path(str(paths["html"])),
    }


def better_than_dict(report) -> dict[str, bool]:
    from health_training.ml.report import better_than

    return better_than(report)
