"""Before any upload: the cookbook's checks, the estimate, refusals, and the billed cost."""

from __future__ import annotations

import math

import pytest

from health_training.data.openai_chat import (
    DEFAULT_SYSTEM_PROMPT,
    PRICE_TABLE_VERSION,
    analyze,
    to_jsonl,
)
from health_training.ml import openai as oft
from health_training.ml.registry.tracking import Registry
from health_training_tests.ml.openai.fake_openai import FakeOpenAI
from health_training_tests.ml.openai.support import (
    COUNT,
    DATASHEET,
    HAPPY,
    MODEL,
    TRAIN,
    VALIDATION,
    chats,
    client,
    request,
    run,
)


def test_preflight_prices_the_training_file_with_the_versioned_table() -> None:
    auto = oft.preflight(
        TRAIN,
        VALIDATION,
        model=MODEL,
        hyperparameters=oft.Hyperparameters(),
        count_tokens=COUNT,
        tokenizer_name="approximate",
    )
    cookbook = analyze(chats(12), COUNT, tokenizer_name="approximate", price_model=MODEL)
    assert auto.n_epochs == cookbook.n_epochs == 8  # 12 examples: the API's default is 100 // 12
    assert auto.estimated_cost_usd == cookbook.estimated_cost_usd
    assert auto.validation is not None and auto.validation.n_examples == 3
    assert auto.system_prompt == DEFAULT_SYSTEM_PROMPT
    two = oft.preflight(
        TRAIN,
        None,
        model=MODEL,
        hyperparameters=oft.Hyperparameters(n_epochs=2),
        count_tokens=COUNT,
        tokenizer_name="approximate",
    )
    assert two.estimated_training_tokens == 2 * cookbook.billing_tokens
    assert math.isclose(two.estimated_cost_usd, 2 * cookbook.billing_tokens * 3.0 / 1e6)


@pytest.mark.parametrize(
    ("train", "model", "error", "message"),
    [
        (
            to_jsonl([*chats(2), {"messages": [{"role": "user", "content": "hi"}]}]),
            MODEL,
            oft.FineTuneError,
            "train.jsonl: format errors {'example_missing_assistant_message': 1}",
        ),
        (TRAIN[:40] + b"\n" + TRAIN, MODEL, oft.FineTuneError, "train.jsonl:1: not JSON"),
        (TRAIN, "gpt-5-unpriced", ValueError, "not in PRICE_TABLE"),
    ],
)
def test_bad_exports_and_unpriced_models_are_refused_before_any_upload(
    train: bytes, model: str, error: type[Exception], message: str
) -> None:
    with FakeOpenAI(HAPPY) as api:
        with pytest.raises(error) as info:
            oft.fine_tune(
                client(api),
                train,
                None,
                DATASHEET,
                request(model=model),
                registry=Registry("sqlite:///:memory:"),  # refused before MLflow is touched
                count_tokens=COUNT,
                tokenizer_name="approximate",
            )
        assert message in str(info.value)
        assert api.requests == []


def test_no_datasheet_no_job() -> None:
    with FakeOpenAI(HAPPY) as api:
        with pytest.raises(oft.DatasheetError, match="redaction"):
            run(api, {"experiment": "none", "registered_model": "none"}, datasheet=None)
        assert api.requests == []


@pytest.mark.parametrize(
    ("trained", "estimated", "ratio"), [(4000, 0.006, 2.0), (0, 0.0, None), (1000, 0.003, 1.0)]
)
def test_actual_cost_against_the_estimate(
    trained: int, estimated: float, ratio: float | None
) -> None:
    cost = oft.actual_cost(trained, MODEL, estimated)
    assert (
        cost.actual_usd == trained * 3.0 / 1e6 and cost.price_table_version == PRICE_TABLE_VERSION
    )
    assert cost.difference_usd == round(cost.actual_usd - estimated, 6)
    assert cost.ratio == (None if ratio is None else pytest.approx(ratio))
