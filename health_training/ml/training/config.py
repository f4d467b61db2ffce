"""The training config: a profile's YAML (`configs/training/*.yaml`, or any path) as one typed,
frozen `TrainConfig`, with its LoRA settings and the optional preference stage's section."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from health_training.ml.preference.config import PreferenceSettings, parse_preference

PROFILES_DIR = Path(__file__).resolve().parents[2] / "configs" / "training"


@dataclass(frozen=True)
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class TrainConfig:
    base_model: str = "olmo-7b"
    quantization: str | None = None
    lora: LoraSettings = field(default_factory=LoraSettings)
    epochs: float = 3
    max_steps: int = -1
    batch_size: int = 4
    grad_accum: int = 8
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    weight_decay: float = 0.0
    max_length: int = 1024
    packing: bool = True
    max_train_examples: int | None = None  # narratives; corrections are never capped
    max_question_examples: int | None = None  # question examples (etl/questions), by kind
    question_kind_limits: dict[str, int] | None = None  # e.g. {day_summary: 16}: below its share
    stratify_sample: bool = True  # a capped sample takes an equal share of every health domain
    max_eval_examples: int | None = None
    eval_steps: int = 100
    save_steps: int = 100
    save_total_limit: int = 3
    early_stopping_patience: int = 3
    load_best_model_at_end: bool = True
    gradient_checkpointing: bool = True
    seed: int = 42
    warm_start_adapter: str | None = None  # explicit: start from another adapter's weights
    profile: str = "custom"
    preference: PreferenceSettings | None = None  # DPO/KTO after SFT (ml/preference/config.py)


def load_train_config(path_or_profile: str | Path, **overrides: Any) -> TrainConfig:
    """A profile name (`cpu_demo`) or a YAML path; keyword overrides win."""
    path = Path(path_or_profile)
    if not path.exists():
        path = PROFILES_DIR / f"{path_or_profile}.yaml"
    if not path.exists():
        names = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no training config {path_or_profile!r}; profiles: {names}")
    raw = yaml.safe_load(path.read_text()) or {}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown training settings {unknown}")
    preference = parse_preference(raw.pop("preference", None), str(path))
    lora = raw.pop("lora", {}) or {}
    if isinstance(lora, dict):
        lora = LoraSettings(
            **{
                **lora,
                "target_modules": tuple(lora.get("target_modules", LoraSettings.target_modules)),
            }
        )
    raw.setdefault("profile", path.stem)
    return TrainConfig(lora=lora, preference=preference, **raw)
