"""One training run of a LoRA adapter, end to end: the run under CodeCarbon with its checkpoints
in storage, the preference stage when the profile asks, the loss curve, the throughput history
the next run's estimate reads, and the finished run published to storage.

`lora_adapter` calls `train_adapter`; the run's identity and storage prefix go into the asset's
metadata, which is how `eval_report` and `registered_model` find exactly this adapter
(defs/handoff.py). A pod that starts with an empty disk resumes from the stored checkpoint.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from health_training.constants import EMISSIONS_STAGING_DIR
from health_training.data import layout
from health_training.data.blob_storage import BlobStorage
from health_training.ml.training.progress import estimate_text, progress_logger
from health_training.ml.training.run_artifacts import RunArtifacts


def throughput_history(storage: BlobStorage, base: str) -> list[dict[str, Any]]:
    raw = storage.read_optional(layout.THROUGHPUT_HISTORY) or b""
    return [h for line in raw.splitlines() if (h := orjson.loads(line))["base"] == base]


def record_throughput(storage: BlobStorage, entry: dict[str, Any]) -> None:
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


class NoProductionVersion(ValueError):
    """A warm start was asked for, but no version is in production yet."""


def warm_started(cfg: Any, registry: Any, cache: Path) -> Any:
    """`cfg` starting from the production adapter's weights (an explicit opt-in)."""
    prod = registry.production_version()
    if prod is None:
        raise NoProductionVersion("warm_start_from_production: there is no production version yet")
    adapter, _ = registry.download_adapter(str(prod.version), cache / "warm" / str(prod.version))
    return replace(cfg, warm_start_adapter=str(adapter))


def train_adapter(
    cfg: Any,
    dataset_dir: Path,
    dataset_version: str,
    *,
    storage: BlobStorage,
    runs_dir: Path,
    models_dir: Path,
    country_iso_code: str,
    gpu_ids: Sequence[int] | None = None,
    preference: Any = None,
    log: Callable[[str], None],
) -> tuple[Any, Any]:
    """Train (or find the finished run) under CodeCarbon, then the preference stage when the
    profile asks and `preference` data is given; publish the run(s) to storage. Returns the
    TrainResult and the base model's spec."""
    from health_training.ml.emissions import country_carbon_intensity, track_emissions
    from health_training.ml.lm.models import resolve_base_model
    from health_training.ml.preference.stage import train_with_preference

    spec = resolve_base_model(cfg.base_model, models_dir)
    history = throughput_history(storage, spec.source)
    intensity = country_carbon_intensity(country_iso_code)
    artifacts = RunArtifacts(storage, runs_dir)
    progress = progress_logger(
        log, cfg.max_length, lambda tokens: estimate_text(tokens, history, intensity)
    )
    with track_emissions(
        runs_dir / EMISSIONS_STAGING_DIR,
        project="lora_adapter",
        country_iso_code=country_iso_code,
        gpu_ids=gpu_ids,
    ) as meter:
        result = train_with_preference(
            cfg,
            dataset_dir,
            runs_dir,
            preference_data=preference,
            models_dir=models_dir,
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
