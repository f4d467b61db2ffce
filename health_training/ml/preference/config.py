"""The preference stage's settings: the `preference:` section of a training profile's YAML.

    preference:
      enabled: true          # run a DPO or KTO pass after SFT when rated answers are given
      method: kto            # kto: thumbs up / down (what 1-5 ratings are) | dpo: chosen vs rejected
      beta: 0.1              # higher: stay closer to the reference (the SFT adapter)
      ...

Loaded by `ml.training.config.load_train_config` into `TrainConfig.preference`. Pure: a mapping in, a frozen
dataclass out, every bad value refused with the file and the fix in the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

METHODS: tuple[str, ...] = ("kto", "dpo")


@dataclass(frozen=True)
class PreferenceSettings:
    enabled: bool = True
    method: str = "kto"
    beta: float = 0.1
    learning_rate: float = 5e-5
    epochs: float = 1
    max_steps: int = -1
    batch_size: int = 4  # KTO estimates its KL term from the other answers of a batch: >= 2
    grad_accum: int = 1
    warmup_ratio: float = 0.1
    lr_scheduler: str = "cosine"
    # The KTO paper keeps desirable_weight * n_desirable / (undesirable_weight * n_undesirable)
    # in [1, 4/3]; true scales the larger class down to a ratio of 1.
    balance_classes: bool = True
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0
    min_examples: int = 16  # fewer train-split examples: the stage is skipped, and says so
    max_examples: int | None = None  # a cap, the first in example-key order
    save_steps: int = 50
    save_total_limit: int = 2
    seed: int = 42


def parse_preference(raw: Mapping[str, Any] | None, where: str) -> PreferenceSettings | None:
    """The section as settings; None when the profile has no `preference:` section."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: 'preference' must be a mapping, got {type(raw).__name__}")
    known = {f.name for f in fields(PreferenceSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(
            f"{where}: unknown preference settings {unknown}; known: {', '.join(sorted(known))}"
        )
    settings = PreferenceSettings(**raw)
    if settings.method not in METHODS:
        raise ValueError(
            f"{where}: preference.method {settings.method!r} is not one of {', '.join(METHODS)}"
        )
    if settings.method == "kto" and settings.batch_size < 2:
        raise ValueError(
            f"{where}: preference.batch_size must be at least 2 for KTO (its KL estimate pairs "
            f"each prompt with another answer of the batch), got {settings.batch_size}"
        )
    if settings.beta <= 0 or settings.learning_rate <= 0:
        raise ValueError(f"{where}: preference.beta and preference.learning_rate must be > 0")
    if settings.min_examples < 1:
        raise ValueError(f"{where}: preference.min_examples must be at least 1")
    return settings
