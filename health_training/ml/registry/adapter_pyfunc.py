"""The MLflow pyfunc that serves a LoRA adapter on top of its base model.

MLflow's transformers flavor saves a PEFT model wrongly (the base's attention weights come back
random), so we log this PythonModel instead: its artifacts are the adapter directory (with the
tokenizer) and, when `bundle_base` was chosen, a local copy of the base model; its model_config names
the base (`base_model`: a local path or a hub id, `base_revision`). `registry.log_adapter_model`
logs it; `mlflow.pyfunc.load_model("models:/health-query-olmo@production")` serves it.

model_config also holds `max_new_tokens` and `dtype` (float32: bf16 is slow on our CPUs); override
at load time, e.g. `mlflow.pyfunc.load_model(uri, model_config={"dtype": "bfloat16"})` on a GPU.
Unpickling the model imports `health_training.ml.registry.adapter_pyfunc`, so the serving environment needs this
package installed (the platform's own image has it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from health_training.constants import DEFAULT_MAX_NEW_TOKENS

INPUT_COLUMNS = ("instruction", "input", "prompt")


def _text(value: Any) -> str:
    """A cell as text: pandas fills missing optional columns with None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def rows_of(model_input: Any) -> list[dict[str, str]]:
    """Normalise a DataFrame, a dict or a list of dicts into rows with text values."""
    if isinstance(model_input, pd.DataFrame):
        records = model_input.to_dict(orient="records")
    elif isinstance(model_input, dict):
        records = [model_input]
    elif isinstance(model_input, list):
        records = list(model_input)
    else:
        raise TypeError(
            f"model input must be a DataFrame or a list of dicts, got {type(model_input).__name__}"
        )
    rows = []
    for i, record in enumerate(records):
        row = {key: _text(record.get(key)) for key in INPUT_COLUMNS}
        if not row["instruction"] and not row["prompt"]:
            raise ValueError(
                f"row {i}: needs an 'instruction' (and optional 'input') or a 'prompt'"
            )
        rows.append(row)
    return rows


class AdapterModel(mlflow.pyfunc.PythonModel):
    """Base model + PEFT adapter, greedy generation of one answer per input row."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        config = context.model_config or {}
        artifacts = context.artifacts
        adapter_dir = artifacts["adapter"]
        if "base" in artifacts:
            base_source, revision = artifacts["base"], None
        else:
            base_source, revision = config["base_model"], config.get("base_revision") or None
        device = config.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        base = AutoModelForCausalLM.from_pretrained(
            base_source, revision=revision, dtype=getattr(torch, config.get("dtype", "float32"))
        )
        self.model = PeftModel.from_pretrained(base, adapter_dir).to(device).eval()
        # The tokenizer was saved with the adapter (or beside it); the base's is the last resort.
        tokenizer_dir = artifacts.get("tokenizer", adapter_dir)
        if (Path(tokenizer_dir) / "tokenizer_config.json").exists():
            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        else:
            self.tokenizer = AutoTokenizer.from_pretrained(base_source, revision=revision)
        self.device = device
        self.default_max_new_tokens = int(config.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS))

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> list[str]:
        from health_training.ml.evaluation.answer_and_compare import eos_token_ids
        from health_training.ml.lm.decoding import decode_all
        from health_training.ml.lm.prompts import render_prompt

        max_new_tokens = int((params or {}).get("max_new_tokens") or self.default_max_new_tokens)
        tok = self.tokenizer
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        # The evaluation's decoder: same template, greedy, stops at EOS, batched.
        prompts = [
            tok(
                row["prompt"] or render_prompt(tok, row["instruction"], row["input"]),
                add_special_tokens=False,
            )["input_ids"]
            for row in rows_of(model_input)
        ]
        decoded = decode_all(
            self.model,
            prompts,
            None,
            max_new_tokens=max_new_tokens,
            eos_ids=eos_token_ids(self.model, tok),
            pad_id=pad_id,
        )
        return [tok.decode(d.answer_ids, skip_special_tokens=True).strip() for d in decoded]


def signature_and_example(max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> tuple[Any, Any]:
    """The logged signature (all columns optional; `max_new_tokens` as a param) and an example.

    MLflow fills in a param's default on every call, so it must be the configured value.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec("string", name, required=False) for name in INPUT_COLUMNS]),
        outputs=Schema([ColSpec("string")]),
        params=ParamSchema([ParamSpec("max_new_tokens", "long", max_new_tokens)]),
    )
    example = pd.DataFrame(
        [{"instruction": "Summarize the measurements.", "input": "Mean glucose 142 mg/dL"}]
    )
    # A short generation keeps MLflow's log-time validation of the example cheap.
    return signature, (example, {"max_new_tokens": 8})
