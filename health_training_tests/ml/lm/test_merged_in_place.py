"""`merged`: an adapter merged for one pass, the base's weights restored bit for bit after it
(the evaluation answers with the base again after the adapter's pass, in bf16 on AMX CPUs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from health_training.ml.lm.merge import merged
from health_training.ml.lm.models import DEFAULT_TARGET_MODULES, load_model_and_tokenizer
from health_training.ml.lm.tiny import build_tiny_model


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_merged_answers_with_the_adapter_and_restores_the_base_exactly(tmp_path: Path, dtype: str):
    import torch
    from peft import LoraConfig, get_peft_model

    from health_training.ml.lm.models import resolve_base_model

    build_tiny_model(tmp_path / "tiny-random")
    model, tokenizer = load_model_and_tokenizer(
        resolve_base_model("tiny-random", tmp_path), dtype=dtype
    )
    config = LoraConfig(r=8, lora_alpha=16, target_modules=list(DEFAULT_TARGET_MODULES))
    peft_model = get_peft_model(model, config).eval()
    with torch.no_grad():  # a fresh adapter is a no-op (B = 0): give it weight to merge
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    before = {n: p.detach().clone() for n, p in peft_model.named_parameters() if "lora_" not in n}
    ids = tokenizer("How did I sleep?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        with peft_model.disable_adapter():
            base_logits = peft_model(ids).logits
        unmerged_logits = peft_model(ids).logits
        with merged(peft_model):
            merged_logits = peft_model(ids).logits
        after_logits = peft_model(ids).logits

    tolerance = 1e-4 if dtype == "float32" else 0.1
    assert torch.allclose(merged_logits, unmerged_logits, atol=tolerance)  # the adapter answered
    assert not torch.allclose(merged_logits, base_logits, atol=tolerance)
    after = {n: p.detach() for n, p in peft_model.named_parameters() if "lora_" not in n}
    assert all(torch.equal(before[n], after[n]) for n in before)  # restored bit for bit
    assert torch.equal(after_logits, unmerged_logits)
