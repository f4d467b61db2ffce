"""The code location loads, holds the data group, and imports no heavy ML library."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg


def test_definitions_load():
    from health_training.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= {
        "raw_narratives",
        "curated_narratives",
        "training_dataset",
        "openai_chat_dataset",
    }
    for key in ("raw_narratives", "curated_narratives", "training_dataset", "openai_chat_dataset"):
        assert graph.get(dg.AssetKey(key)).group_name == "data"
    assert defs.resolve_job_def("monthly_data").partitions_def is not None
    checks = {k.name for k in graph.asset_check_keys}
    assert checks >= {
        "lines_accounted_for",
        "quarantine_share",
        "schema",
        "no_residual_phi",
        "min_examples_per_split",
        "split_leakage",
        "openai_format",
    }


def test_code_location_does_not_import_torch_or_mlflow():
    code = (
        "import sys, health_training.definitions; "
        "print(sorted(m for m in ('torch', 'transformers', 'mlflow', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
