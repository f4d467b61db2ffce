"""Merge a LoRA adapter into its base: an fp32 copy of the base with the adapter folded in, saved
with its tokenizer, after proving that the merged model's logits equal the adapter model's
(`health-training merge`, and serving's merged-model path)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from health_training.files import folder_atomic
from health_training.ml.lm.models import BaseModelSpec

MERGE_PROMPT = "How stable was my glucose this week? Your glucose averaged 112 mg/dL."


class MergeMismatch(RuntimeError):
    """The merged model's logits differ from the adapter model's: the merge is not trustworthy."""


def merge_adapter(
    base_spec: BaseModelSpec,
    adapter_dir: Path,
    out_dir: Path,
    *,
    prompt: str = MERGE_PROMPT,
    atol: float = 1e-4,
    cache_dir: Path | None = None,
) -> Path:
    """Fold the LoRA adapter into an fp32 copy of its base; save safetensors + tokenizer.

    Raises MergeMismatch unless the merged model's logits on `prompt` equal the adapter model's
    within `atol`. Writes `MERGE.json` (base, adapter, measured difference) beside the weights.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    hub: dict[str, Any] = (
        {} if base_spec.local else {"revision": base_spec.revision, "cache_dir": cache_dir}
    )
    base = AutoModelForCausalLM.from_pretrained(base_spec.source, dtype=torch.float32, **hub)
    has_tokenizer = (adapter_dir / "tokenizer_config.json").is_file()
    tokenizer = (
        AutoTokenizer.from_pretrained(adapter_dir)
        if has_tokenizer
        else AutoTokenizer.from_pretrained(base_spec.source, **hub)
    )
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        expected = model(**inputs).logits
        merged = model.merge_and_unload().eval()
        got = merged(**inputs).logits
    diff = float((expected - got).abs().max())
    if not diff <= atol:  # also catches NaN
        raise MergeMismatch(
            f"merging {adapter_dir} into {base_spec.source}: logits moved by "
            f"{diff:.3g} (> {atol:g}); the merged model was not saved"
        )

    with folder_atomic(out_dir) as tmp:  # readers never see half a model
        merged.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        record = {
            "base": base_spec.source,
            "revision": base_spec.revision,
            "adapter": str(adapter_dir),
            "max_abs_logit_diff": diff,
            "atol": atol,
        }
        (tmp / "MERGE.json").write_text(json.dumps(record, indent=2) + "\n")
    return out_dir


@contextmanager
def merged(model: Any) -> Iterator[Any]:
    """A PeftModel with its active adapter merged (one matmul per layer instead of three), then
    unmerged with the base weights restored bit for bit: unmerging subtracts the adapter again,
    which in bf16 leaves rounding error in every merged layer, and the base answers the next
    split after it."""
    import torch

    targets = [m for m in model.modules() if hasattr(m, "merge") and hasattr(m, "base_layer")]
    saved = [m.base_layer.weight.detach().to("cpu", copy=True) for m in targets]
    model.merge_adapter()
    try:
        yield model
    finally:
        model.unmerge_adapter()
        with torch.no_grad():
            for module, weight in zip(targets, saved, strict=True):
                module.base_layer.weight.copy_(weight)
