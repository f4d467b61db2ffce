"""Every shared name and default comes from `health_training.constants`, and nowhere else spells
out the distinctive ones: a second definition is a string literal found by this test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from health_training.constants import (
    ALIASES,
    APPROVED_BY_TAG,
    BASE_MODEL_RUN_TAG,
    CORRECTION_COUNT_TAG,
    DATASET_VERSION_RUN_TAG,
    DEFAULT_EXPERIMENT,
    DEFAULT_JUDGE_MODEL,
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_MODEL_NAME,
    DEFAULT_OPENAI_MODEL,
    DEFAULT_OPENAI_SUFFIX,
    DEVICES_TAG,
    DRIFT_MONTH_TAG,
    EMISSIONS_STAGING_DIR,
    EVALUATE_JOB,
    GATE_TAG,
    GPU_TAG,
    HOST_TAG,
    PID_TAG,
    PREFERENCE_COUNT_TAG,
    PREVIOUS_PRODUCTION_TAG,
    PRODUCTION,
    REASON_RUN_TAG,
    REASON_TAG,
    REQUESTED_BY_TAG,
    STAGING,
    TRACE_TAG,
    TRAIN_JOB,
    TRAIN_REASONS,
    TRIGGER_TAG,
    training_tags,
)

PACKAGE = Path(__file__).resolve().parents[1] / "health_training"

# Values no other meaning shares: spelled anywhere else, they are a second definition (the
# experiment's name is also the command's, the aliases are common words, and the OpenAI model
# names its price in data/openai_chat.PRICE_TABLE).
DISTINCTIVE = {
    DEFAULT_MODEL_NAME,
    DEFAULT_OPENAI_SUFFIX,
    DEFAULT_JUDGE_MODEL,
    GATE_TAG,
    APPROVED_BY_TAG,
    PREVIOUS_PRODUCTION_TAG,
    DATASET_VERSION_RUN_TAG,
    EMISSIONS_STAGING_DIR,
    TRAIN_JOB,
    EVALUATE_JOB,
    GPU_TAG,
    REASON_TAG,
    TRIGGER_TAG,
    DRIFT_MONTH_TAG,
    REQUESTED_BY_TAG,
    PREFERENCE_COUNT_TAG,
    CORRECTION_COUNT_TAG,
    TRACE_TAG,
    DEVICES_TAG,
    PID_TAG,
    HOST_TAG,
}


def _literals(path: Path) -> set[str]:
    """The module's string constants, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    }


def test_the_names_have_their_values() -> None:
    assert ALIASES == (PRODUCTION, STAGING) == ("production", "staging")
    assert (DEFAULT_MODEL_NAME, DEFAULT_EXPERIMENT) == ("health-query-olmo", "health-training")
    assert DEFAULT_MAX_NEW_TOKENS == 128
    assert (DEFAULT_OPENAI_MODEL, DEFAULT_JUDGE_MODEL) == ("gpt-4o-mini-2024-07-18", "gpt-4o-mini")
    assert (BASE_MODEL_RUN_TAG, REASON_RUN_TAG) == ("base_model", "reason")
    assert "manual" in TRAIN_REASONS
    assert training_tags("manual") == {GPU_TAG: "1", REASON_TAG: "manual"}
    with pytest.raises(ValueError, match="not one of"):
        training_tags("because")


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name != "constants.py"),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_module_spells_a_shared_name_again(path: Path) -> None:
    found = _literals(path) & DISTINCTIVE
    assert not found, f"{path}: import {sorted(found)} from health_training.constants"
