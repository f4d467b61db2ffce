"""The size of a LoRA on a model built on the meta device: trainable and total parameters with no
weights and no memory, so production LoRA sizes (OLMo-7B) can be checked on any machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from health_training.ml.lm.models import DEFAULT_TARGET_MODULES, count_parameters, load_catalog


def meta_lora_param_counts(
    model: str | dict | Any,
    *,
    r: int = 16,
    target_modules: tuple[str, ...] | None = None,
    catalog_path: Path | None = None,
) -> tuple[int, int]:
    """(trainable, total) of LoRA-r on a model built on the meta device: no weights, no memory.

    `model` is a catalog name or hub id with an `architecture` in the catalog, a config dict
    (with `model_type`), or a transformers config. Proves production LoRA sizes on any machine.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM, PretrainedConfig

    if isinstance(model, str):
        catalog = load_catalog(catalog_path)
        spec = catalog.get(model) or next(
            (s for s in catalog.values() if s.source.lower() == model.lower()), None
        )
        if spec is None or not spec.architecture:
            raise ValueError(f"{model!r} has no 'architecture' in the model catalog")
        model = dict(spec.architecture)
        target_modules = target_modules or spec.target_modules
    if isinstance(model, dict):
        arch = dict(model)
        model = AutoConfig.for_model(arch.pop("model_type"), **arch)
    if not isinstance(model, PretrainedConfig):
        raise TypeError(f"expected a name, a config dict or a PretrainedConfig, got {model!r}")
    lora = LoraConfig(
        r=r,
        lora_alpha=2 * r,
        target_modules=list(target_modules or DEFAULT_TARGET_MODULES),
        task_type="CAUSAL_LM",
    )
    with torch.device("meta"):
        peft_model = get_peft_model(AutoModelForCausalLM.from_config(model), lora)
    return count_parameters(peft_model)
