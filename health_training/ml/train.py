"""LoRA / QLoRA fine-tuning from the command line, without Dagster: SFT on a training dataset
version, then the profile's preference stage when rated answers are given.

    python -m health_training.ml.train health_training/configs/training/cpu_demo.yaml \
        --dataset var/lake/datasets/training/<version> --output var/runs/demo \
        --models-dir var/models
    accelerate launch -m health_training.ml.train CONFIG ...   # several GPUs: same code path
    python -m health_training.ml.train cpu_demo --dataset ... --output ... \
        --feedback sqlite:///var/feedback/feedback.db     # + the preference stage on ratings

The loop itself is ml/training/sft.py, the preference stage ml/preference/stage.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from health_training.ml.preference.stage import train_with_preference
from health_training.ml.training.config import load_train_config


def _preference_data(args: argparse.Namespace) -> Any:
    from health_training.ml.preference.store import (
        preference_dataset_from_store,
        read_preference_dataset,
    )

    if args.preference:
        return read_preference_dataset(args.preference)
    if args.feedback:
        return preference_dataset_from_store(args.feedback, args.dataset)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m health_training.ml.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "config",
        help="a YAML file or a profile name (balanced, fast, quality, memory_efficient, cpu_demo)",
    )
    parser.add_argument(
        "--dataset", required=True, type=Path, help="a training_dataset version folder"
    )
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--base-model", help="override the config's base model")
    rated = parser.add_mutually_exclusive_group()
    rated.add_argument(
        "--feedback",
        metavar="URL",
        help="feedback store (e.g. sqlite:///var/feedback/feedback.db): its rated answers feed "
        "the profile's preference stage",
    )
    rated.add_argument(
        "--preference",
        type=Path,
        metavar="DIR",
        help="a preference_dataset version folder (examples.jsonl + manifest.json) instead",
    )
    args = parser.parse_args(argv)

    from tqdm import tqdm

    config = load_train_config(args.config, base_model=args.base_model)
    manifest = args.dataset / "manifest.json"
    version = (
        json.loads(manifest.read_text())["version"] if manifest.exists() else args.dataset.name
    )
    bar = tqdm(unit="step")

    def show(event: dict[str, Any]) -> None:
        if event.get("event") == "preference":
            bar.write(event["message"])
            return
        if event.get("event") == "plan":
            bar.write(
                f"training {event['train_examples']} examples ({event['too_long']} too long, left out), "
                f"{event['tokens_planned']} tokens planned; {event['sample']}"
            )
            return
        bar.total = event["max_steps"]
        bar.n = event["step"]
        bar.set_postfix(loss=event.get("loss"), tok_s=round(event["tokens_per_s"]))
        bar.refresh()

    result = train_with_preference(
        config,
        args.dataset,
        args.output,
        preference_data=_preference_data(args),
        models_dir=args.models_dir,
        dataset_version=version,
        progress=show,
    )
    bar.close()
    summary = {k: v for k, v in result.to_dict().items() if k != "log_history"}
    sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
