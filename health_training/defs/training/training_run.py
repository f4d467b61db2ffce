"""One training run for the `lora_adapter` asset: config, warm start, the run itself under
CodeCarbon with its checkpoints in storage, and what the asset records about it.

The run's storage prefix, identity and dataset version go into the asset's metadata: that is how
`eval_report` and `registered_model` find exactly this adapter (see defs/handoff.py).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import dagster as dg
import orjson

from health_training.constants import EMISSIONS_STAGING_DIR
from health_training.data import layout
from health_training.defs.training.progress import estimate_text, progress_logger
from health_training.ml.run_artifacts import RunArtifacts
from health_training.resources import CarbonResource, MlflowResource, Storage, TrainingResource


def throughput_history(storage: Storage, base: str) -> list[dict[str, Any]]:
    raw = storage.read_optional(layout.THROUGHPUT_HISTORY) or b""
    return [h for line in raw.splitlines() if (h := orjson.loads(line))["base"] == base]


def record_throughput(storage: Storage, entry: dict[str, Any]) -> None:
    raw = storage.read_optional(layout.THROUGHPUT_HISTORY) or b""
    storage.write_bytes(layout.THROUGHPUT_HISTORY, raw + orjson.dumps(entry) + b"\n")


def loss_curve_png(log_history: list[dict[str, Any]]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key, label in (("loss", "train loss"), ("eval_loss", "validation response-token loss")):
        points = [(h["step"], h[key]) for h in log_history if key in h]
        if points:
            ax.plot(
                *zip(*points, strict=True), marker="o" if key == "eval_loss" else None, label=label
            )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def warm_started(cfg: Any, mlflow: MlflowResource, training: TrainingResource) -> Any:
    """`cfg` starting from the production adapter's weights (an explicit opt-in)."""
    registry = mlflow.registry()
    prod = registry.production_version()
    if prod is None:
        raise dg.Failure("warm_start_from_production: there is no production version yet")
    adapter, _ = registry.download_adapter(
        str(prod.version), training.runs_dir / "warm" / str(prod.version)
    )
    return replace(cfg, warm_start_adapter=str(adapter))


def run_training(
    context: Any,
    cfg: Any,
    dataset_dir: Path,
    dataset_version: str,
    *,
    storage: Storage,
    training: TrainingResource,
    carbon: CarbonResource,
    preference: Any = None,
) -> tuple[Any, Any]:
    """Train (or find the finished run) under CodeCarbon, then the preference stage when the
    profile asks and `preference` data is given; publish the run(s) to storage."""
    from health_training.ml.emissions import country_carbon_intensity, track_emissions
    from health_training.ml.models import resolve_base_model
    from health_training.ml.train import train_with_preference

    spec = resolve_base_model(cfg.base_model, training.models_dir)
    history = throughput_history(storage, spec.source)
    intensity = country_carbon_intensity(carbon.country_iso_code)
    artifacts = RunArtifacts(storage, training.runs_dir)
    progress = progress_logger(
        context.log.info, cfg.max_length, lambda tokens: estimate_text(tokens, history, intensity)
    )
    with track_emissions(
        training.runs_dir / EMISSIONS_STAGING_DIR,
        project="lora_adapter",
        country_iso_code=carbon.country_iso_code,
        gpu_ids=carbon.gpu_ids,
    ) as meter:
        result = train_with_preference(
            cfg,
            dataset_dir,
            training.runs_dir,
            preference_data=preference,
            models_dir=training.models_dir,
            dataset_version=dataset_version,
            progress=progress,
            restore=artifacts.restore,
            on_checkpoint=artifacts.save_checkpoint,
        )
    emissions = meter.result
    if not (result.run_dir / "emissions_training.json").exists():  # a no-op keeps the first run's
        (result.run_dir / "emissions_training.json").write_text(
            json.dumps(emissions.to_dict(), default=str)
        )
        (result.run_dir / "loss_curve.png").write_bytes(loss_curve_png(list(result.log_history)))
        power = (emissions.cpu_power_w or 0) + (emissions.gpu_power_w or 0)
        record_throughput(
            storage,
            {
                "base": spec.source,
                "precision": result.precision,
                "power_w": power,
                "tokens_per_second": result.tokens_per_second,
            },
        )
    if result.preference and result.run_dir != Path(result.preference["sft_run_dir"]):
        # The SFT run under the preference run: stored too, so a new pod finds it finished.
        artifacts.publish(Path(result.preference["sft_run_dir"]))
    artifacts.publish(result.run_dir)
    return result, spec


def adapter_metadata(
    result: Any, spec: Any, cfg: Any, storage: Storage, **extra: Any
) -> dict[str, Any]:
    """What the materialization records: the hand-off (identity, storage keys, dataset version,
    base) and the figures people read."""
    png = (result.run_dir / "loss_curve.png").read_bytes()
    emissions = json.loads((result.run_dir / "emissions_training.json").read_text())
    return {
        "run_identity": result.identity,
        "run_storage_key": layout.model_run(result.identity),
        "adapter": dg.MetadataValue.path(storage.uri(layout.model_run(result.identity, "adapter"))),
        "base_model": result.base_model,
        "base_name": spec.name,
        "base_revision": result.base_revision or "",
        "profile": cfg.profile,
        "max_length": cfg.max_length,
        "config": dg.MetadataValue.json(json.loads(json.dumps(asdict(cfg), default=str))),
        "trainable_params": result.trainable_params,
        "total_params": result.total_params,
        "trainable_share": f"{result.trainable_params / result.total_params:.2%}",
        "train_examples": result.train_examples,
        "too_long_left_out": result.too_long,
        "tokens_trained": result.tokens_trained,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "train_loss": round(result.train_loss, 4) if result.train_loss is not None else "—",
        "validation_response_loss": round(result.eval_loss, 4)
        if result.eval_loss is not None
        else "—",
        "steps": result.steps,
        "resumed_from": result.resumed_from or "—",
        "duration_s": round(result.duration_s, 1),
        "kg_co2eq_training": round(float(emissions["kg_co2eq"]), 6),
        "loss_curve": dg.MetadataValue.md(
            f"![loss curve](data:image/png;base64,{base64.b64encode(png).decode()})"
        ),
        **extra,
    }
