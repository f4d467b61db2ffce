"""What a training run is and what it left: its identity (base, revision, data, config and
prompt format: a restarted run resumes only when they match), the precision the hardware
allows, the `TrainResult` record, and the check that a run already finished."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from health_training.ml.training.config import TrainConfig


def precision_for_hardware() -> str:
    """bf16 on Ampere or newer, fp16 on older CUDA; on a CPU bf16 where it has AMX tiles (its
    bf16 matmuls run 6.6x fp32 there, a LoRA step 1.35x: bench/cpu_precision.py), else fp32
    (bf16 was 6-8x slower than fp32 on a CPU without them)."""
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.get_device_capability()[0] >= 8 else "fp16"
    return "bf16" if torch.cpu._is_amx_tile_supported() else "fp32"


def precision_arguments(precision: str) -> dict[str, bool]:
    """`TrainingArguments` fields for `precision`: bf16 on a CPU needs `use_cpu` (autocast)."""
    import torch

    on_cpu = precision == "bf16" and not torch.cuda.is_available()
    return {"bf16": precision == "bf16", "fp16": precision == "fp16", "use_cpu": on_cpu}


def inference_dtype() -> str:
    """The weights' dtype for evaluating and comparing models: bfloat16 where the hardware
    trains in bf16 (a decode step 1.59x fp32 on an AMX CPU), else float32 (fp16 weights are
    not trusted to greedy-decode like the fp32 ones)."""
    return "bfloat16" if precision_for_hardware() == "bf16" else "float32"


def run_identity(
    *,
    base: str,
    revision: str | None,
    dataset_version: str,
    config: TrainConfig,
    prompt_format: str,
) -> str:
    """What decides whether a checkpoint may be resumed: same base, data, config and prompt."""
    settings = asdict(replace(config, profile=""))
    # The preference stage has its own identity (ml/preference/stage.py): tuning it never
    # invalidates a finished SFT run, which stays a no-op.
    settings.pop("preference", None)
    doc = {
        "base": base,
        "revision": revision,
        "dataset": dataset_version,
        "config": settings,
        "prompt_format": prompt_format,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path
    run_dir: Path
    identity: str
    base_model: str
    base_revision: str | None
    trainable_params: int
    total_params: int
    train_examples: int
    too_long: int
    tokens_trained: int
    tokens_per_second: float
    train_loss: float | None
    eval_loss: float | None
    perplexity: float | None
    steps: int
    resumed_from: str | None
    duration_s: float
    precision: str
    log_history: tuple[dict[str, Any], ...]
    preference: dict[str, Any] | None = None  # what the preference stage did (or why not)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["adapter_dir"], d["run_dir"] = str(self.adapter_dir), str(self.run_dir)
        return d

    @staticmethod
    def from_dict(data: dict[str, Any], run_dir: Path) -> TrainResult:
        """A stored result, its folders re-rooted at `run_dir` (it may come from another pod)."""
        known = {f.name for f in fields(TrainResult)}
        values = {k: v for k, v in data.items() if k in known}
        values |= {"run_dir": run_dir, "adapter_dir": run_dir / "adapter"}
        values["log_history"] = tuple(values.get("log_history", ()))
        return TrainResult(**values)


def finished_run(run_dir: Path, restore: Callable[[Path], Any] | None) -> TrainResult | None:
    """The run in `run_dir` when it finished before (its result and adapter are there, after
    `restore` fetched what storage holds), else None: the run goes on or starts."""
    if restore is not None:
        restore(run_dir)
    finished = run_dir / "train_result.json"
    if finished.exists() and (run_dir / "adapter" / "adapter_config.json").exists():
        return TrainResult.from_dict(json.loads(finished.read_text()), run_dir)
    return None


def latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return found[-1] if found else None
