"""What the training tests share: glucose narratives, the tiny model's folder and a dataset folder
written the way `training_dataset` writes one (parquet per split + manifest.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from health_training.data.config import SplitPolicy
from health_training.data.dataset import build_training_dataset
from health_training.data.records import Example, content_key


def glucose_examples(n: int, **metadata: Any) -> list[Example]:
    """`n` distinct glucose summaries (one domain), `metadata` added to each."""
    out = []
    for i in range(n):
        ins, inp = "Summarize my glucose day.", f"Mean {100 + i} mg/dL over {90 + i % 7} readings."
        outp = f"Your mean glucose was {100 + i} mg/dL, based on {90 + i % 7} readings."
        meta = {
            "content_key": content_key(ins, inp, outp),
            "training_category": "metabolic_diabetes",
            **metadata,
        }
        out.append(Example(ins, inp, outp, meta))
    return out


def tiny_models_dir(root: Path) -> Path:
    """A models folder holding `tiny-random`."""
    from health_training.ml.lm.tiny import build_tiny_model

    build_tiny_model(root / "tiny-random")
    return root


def write_dataset_dir(folder: Path, examples: list[Example]) -> Path:
    dataset = build_training_dataset({"2025-01": examples}, SplitPolicy())
    for name, data in dataset.files.items():
        (folder / f"{name}.parquet").write_bytes(data)
    (folder / "manifest.json").write_text(json.dumps(dataset.manifest))
    return folder
