"""Free-form question metrics on hand-made answers: the asked value, computations, declining
what cannot be answered, unsupported numbers; and the gate blocking a version worse on them."""

from __future__ import annotations

import pytest

from health_training.ml.evaluation.answer_and_compare import ModelAnswers
from health_training.ml.evaluation.freeform_eval import (
    CANNOT_ANSWER,
    compare_freeform,
    freeform_stats,
    stated_correctly,
)
from health_training.ml.registry.promotion_gate import evaluate_gate, load_gate_policy


def _row(kind: str, question: str, asked: list, *, cannot: bool = False, facts=None) -> dict:
    return {
        "instruction": question,
        "input": "",
        "reference": "ref",
        "question_kind": kind,
        "asked": asked,
        "cannot_answer": cannot,
        "facts": facts or {},
    }


PACE = _row(
    "computation",
    "I ran 5 km in 27 minutes, what pace is that?",
    [{"fact": "pace_min_per_km", "value": 5.4, "unit": "min"}],
)
GLUCOSE = _row(
    "judgement",
    "my cgm avg was 163 mg/dl and 62% in range, is that bad?",
    [{"fact": "time_in_range_pct", "value": 62, "unit": "%"}],
    facts={"time_in_range_pct": 62, "mean_glucose_mg_dl": 163},
)
TREND = _row("unanswerable", "what's my 30-day HRV trend? today was 41 ms", [], cannot=True)


def test_the_asked_value_counts_in_any_of_its_written_forms():
    asked = PACE["asked"][0]
    assert stated_correctly("That is a pace of 5.4 min per km.", asked)
    assert stated_correctly("You ran 5:24 per km.", asked)
    assert not stated_correctly("That is a pace of 5.9 min per km.", asked)
    assert not stated_correctly("A steady effort.", asked)


def test_per_answer_statistics():
    rows = [
        {**PACE, "prediction": "5 km in 27 min is a pace of 5.4 min per km."},
        {**GLUCOSE, "prediction": "62% in range is below the 70% target; averaging 163 mg/dL."},
        {**TREND, "prediction": "I can't tell a 30-day trend from one day of HRV."},
        {**PACE, "prediction": "Your pace was 6.1 min per km, at 142 bpm."},
        {**TREND, "prediction": "Your HRV rose 12 ms over the month."},
    ]
    stats = freeform_stats(rows)
    assert stats[0]["computation_accuracy"] == (1.0, 1.0)
    assert stats[0]["hallucinated_number_rate"][0] == 0
    assert stats[1]["asked_fact_rate"] == (1.0, 1.0)
    assert stats[1]["hallucinated_number_rate"][0] == 0  # 70 % is a reference value
    assert (
        stats[1]["fact_accuracy"][1] >= 1
        and stats[1]["fact_accuracy"][0] == stats[1]["fact_accuracy"][1]
    )
    assert stats[2]["cannot_answer_rate"] == (1.0, 1.0)
    assert stats[1]["cannot_answer_rate"] == (0, 0)  # does not apply
    assert stats[3]["computation_accuracy"] == (0.0, 1.0)
    assert stats[3]["hallucinated_number_rate"] == (2.0, 2.0)  # 6.1 and 142 are invented
    assert stats[4]["cannot_answer_rate"] == (0.0, 1.0)
    assert CANNOT_ANSWER.search("I'd need more than one night of data to say that.")
    # The writer's own trend answer, cut short before its "I'd need" (run 12, served).
    assert CANNOT_ANSWER.search("I can't work that out from a single day: this record holds")
    assert not CANNOT_ANSWER.search("Your time in range was 83%, which works out fine.")
    assert CANNOT_ANSWER.search("I can't predict that: this record holds one night of sleep.")


def _answers(predictions: list[str]) -> ModelAnswers:
    n = len(predictions)
    return ModelAnswers(tuple(predictions), (1.0,) * n, (5,) * n, (True,) * n, (20,) * n, 1.0)


@pytest.fixture(scope="module")
def worse_challenger() -> dict:
    """Production states the asked pace; the challenger invents one, on 60 questions."""
    rows = [dict(PACE, content_key=f"k{i}", output=PACE["reference"]) for i in range(60)]
    good = _answers(["5 km in 27 min is a pace of 5.4 min per km."] * 60)
    bad = _answers(["That is a pace of 6.2 min per km."] * 30 + [good.predictions[0]] * 30)
    return compare_freeform(rows, good, bad)


def test_the_gate_blocks_a_version_worse_on_freeform_test(worse_challenger):
    found = worse_challenger
    policy = load_gate_policy()
    narrative = {
        "fact_accuracy": 0.99, "fact_recall": 0.98, "rougeL": 0.93, "eval_loss": 0.2,
        "hallucinated_number_rate": 0.001, "phi_rate": 0.0,
    }  # fmt: skip
    same = {k: {"diff": 0.0, "ci_low": -0.001, "ci_high": 0.001} for k in narrative}
    decision = evaluate_gate(
        narrative,
        policy,
        intervals=same,
        emissions_kg=0.01,
        n_test=200,
        compared_with="1",
        freeform=found["b"]["overall"],
        freeform_intervals=found["intervals"]["overall"],
    )
    assert not decision.passed
    assert any(r.startswith("freeform_test.asked_fact_rate") for r in decision.reasons)
    assert any(r.startswith("freeform_test.hallucinated_number_rate") for r in decision.reasons)
    # The same challenger without the free-form split is judged on the narratives alone.
    alone = evaluate_gate(
        narrative, policy, intervals=same, emissions_kg=0.01, n_test=200, compared_with="1"
    )
    assert not any(r.startswith("freeform_test") for r in alone.reasons)
