"""Tests for `health_training.ml.evaluation.text_metrics`: SQuAD EM/F1 on hand-computed cases, BLEU against
sacrebleu, ROUGE on identical / disjoint / hand-computed pairs, the factual-consistency rule
(supported, hallucinated, rounding, units, commas, ranges, signs, times), the PHI probe and the
per-category roll-up."""

from __future__ import annotations

import math

import pytest

from health_training.ml.evaluation.text_metrics import (
    FactualScore,
    Quantity,
    bleu,
    exact_match,
    extract_quantities,
    factual_consistency,
    normalize_answer,
    phi_regurgitation,
    rouge,
    score_predictions,
    token_f1,
)

# ------------------------------------------------------------------ SQuAD


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Cat", "cat"),
        ("The  Quick, brown-fox!", "quick brownfox"),
        ("An apple a day", "apple day"),
        ("Glucose: 142 mg/dL.", "glucose 142 mgdl"),
        ("theater", "theater"),  # articles only as whole words
    ],
)
def test_normalize_answer_follows_squad(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


@pytest.mark.parametrize(
    ("pred", "ref", "em"),
    [
        ("The Cat", "cat", 1.0),
        ("a cat.", "the cat!", 1.0),
        ("cat sat", "cat", 0.0),
        ("", "", 1.0),
        ("Dog", "cat", 0.0),
    ],
)
def test_exact_match(pred: str, ref: str, em: float) -> None:
    assert exact_match(pred, ref) == em


@pytest.mark.parametrize(
    ("pred", "ref", "f1"),
    [
        # "cat sat on mat" vs "cat sat": P 2/4, R 2/2
        ("the cat sat on the mat", "a cat sat", 2 * 0.5 * 1 / 1.5),
        # "glucose 142 mgdl" vs "glucose was 142 mgdl": P 3/3, R 3/4
        ("glucose 142 mg/dL", "glucose was 142 mg/dL", 2 * 0.75 / 1.75),
        # repeated tokens count once per match: common {x: 1, y: 1}
        ("x x y", "x y y", 2 / 3),
        ("The Cat", "cat", 1.0),
        ("cat", "dog", 0.0),
        ("", "", 0.0),  # the v1.1 script gives 0 when nothing is shared
    ],
)
def test_token_f1(pred: str, ref: str, f1: float) -> None:
    assert token_f1(pred, ref) == pytest.approx(f1)


# ------------------------------------------------------------------ BLEU / ROUGE

PAIRS = [
    (
        "Glucose averaged 142 mg/dL with 71% time in range.",
        "Glucose averaged 142 mg/dL, 71% in range.",
    ),
    ("Resting heart rate was 70 bpm.", "Resting heart rate was 61 bpm, within range."),
    ("You slept 7 h 47 min.", "The user slept 7 h 47 min of 498 min in bed."),
]


def test_bleu_equals_sacrebleu_corpus_bleu() -> None:
    import sacrebleu

    preds, refs = [p for p, _ in PAIRS], [r for _, r in PAIRS]
    assert bleu(preds, refs) == pytest.approx(sacrebleu.corpus_bleu(preds, [refs]).score)
    assert 0 < bleu(preds, refs) < 100


def test_bleu_identical_is_100_and_edges() -> None:
    refs = [r for _, r in PAIRS]
    assert bleu(refs, refs) == pytest.approx(100.0)
    assert bleu([], []) == 0.0
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        bleu(["a", "b"], ["a"])


def test_rouge_identical_disjoint_and_hand_computed() -> None:
    refs = [r for _, r in PAIRS]
    assert rouge(refs, refs) == pytest.approx({"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0})
    disjoint = rouge(["alpha beta gamma"], ["delta epsilon zeta"])
    assert disjoint == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    # pred tokens: the cat sat on the mat (6); ref: the cat was sit(ting) (4); overlap the, cat
    # P 2/6, R 2/4 -> F 0.4
    assert rouge(["the cat sat on the mat"], ["the cat was sitting"])["rouge1"] == pytest.approx(
        0.4
    )
    # Porter stemming: runs/running -> run; quickly -> quickli, quick -> quick
    assert rouge(["runs quickly"], ["running quick"])["rouge1"] == pytest.approx(0.5)
    # means over pairs
    assert rouge(["a b", "x"], ["a b", "y"])["rouge1"] == pytest.approx(0.5)
    assert rouge([], []) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


# ------------------------------------------------------------------ quantities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("averaged 142 mg/dL", [Quantity(142, "mg/dL")]),
        ("71% of readings", [Quantity(71, "%")]),
        ("Total 2,854 steps, 1,234,567 kcal", [Quantity(2854, "steps"), Quantity(1234567, "kcal")]),
        ("range 70-180 mg/dL", [Quantity(70, "mg/dL"), Quantity(180, "mg/dL")]),
        ("from 33 to 67 ms", [Quantity(33, "ms"), Quantity(67, "ms")]),
        ("120/80 mmHg", [Quantity(120, "mmHg"), Quantity(80, "mmHg")]),
        ("trend -0.7 ms per hour", [Quantity(-0.7, "ms")]),
        ("HRV 42.5 milliseconds", [Quantity(42.5, "ms")]),
        (
            "61 beats per minute, 8 hours, 30 minutes",
            [Quantity(61, "bpm"), Quantity(8, "h"), Quantity(30, "min")],
        ),
        ("slept 7 h 47 min", [Quantity(467, "min")]),
        ("peak at 08:15, bed at 10:30 pm", [Quantity(495, "time"), Quantity(1350, "time")]),
        ("zone 2 0 min", [Quantity(2, None), Quantity(0, "min")]),
        ("On 2025-01-03 HbA1c and SpO2 were noted", []),
        ("", []),
    ],
)
def test_extract_quantities(text: str, expected: list[Quantity]) -> None:
    assert extract_quantities(text) == expected


def test_quantity_precision_is_recorded_but_not_compared() -> None:
    (q,) = extract_quantities("28.40%")
    assert q == Quantity(28.4, "%") and q.decimals == 2


# ------------------------------------------------------------------ factual consistency

INPUT = (
    "Record type: BloodGlucoseRecord. Date: 2025-01-03. Mean glucose 142.0 mg/dL, 71.3% of "
    "readings in range (70-180 mg/dL), SD 28 mg/dL. Sleep 467 min asleep (7 h 47 min). "
    "Total 10,000 steps. Maximum heart rate 100 bpm at 08:15. Trend -1.7 ms per hour."
)


@pytest.mark.parametrize(
    ("answer", "supported", "hallucinated"),
    [
        ("Glucose averaged 142 mg/dL.", 1, 0),  # 142 vs 142.0
        ("Glucose averaged 150 mg/dL.", 0, 1),
        ("71% of readings were in range.", 1, 0),  # 71.3% rounded to the answer's precision
        ("71.3% of readings were in range.", 1, 0),
        ("71.0% of readings were in range.", 0, 1),  # 71.0 claims a precision 71.3 denies
        ("The 70-180 mg/dL range", 2, 0),  # present in the input
        ("SD was 28 bpm.", 0, 1),  # incompatible unit
        ("SD was 28.", 1, 0),  # no unit on one side: compatible
        ("You slept 7.8 h.", 1, 0),  # 467 min = 7.78 h
        ("You slept 8 hours.", 1, 0),
        ("You slept 7 h 47 min.", 1, 0),
        ("You slept 9 h.", 0, 1),
        ("10,000 steps", 1, 0),
        ("10000 steps", 1, 0),
        ("It peaked at 100 bpm at 08:15.", 2, 0),
        ("It peaked at 100 bpm at 09:15.", 1, 1),
        ("HRV fell by about 1.7 ms per hour.", 1, 0),  # direction in words
        ("HRV changed by -2.7 ms per hour.", 0, 1),
        ("Nothing numeric here.", 0, 0),
        ("On 2025-01-03 nothing else.", 0, 0),  # dates are not counted
    ],
)
def test_factual_consistency(answer: str, supported: int, hallucinated: int) -> None:
    score = factual_consistency(answer, INPUT)
    assert (score.supported, score.hallucinated) == (supported, hallucinated)
    assert score.numbers_in_answer == supported + hallucinated
    n = supported + hallucinated
    assert score.hallucinated_rate == (hallucinated / n if n else 0.0)


def test_reference_values_count_only_when_in_the_input() -> None:
    score = factual_consistency(
        "Glucose averaged 142 mg/dL, inside the 70-180 mg/dL target.", "Mean glucose 142 mg/dL."
    )
    assert score == FactualScore(
        numbers_in_answer=3,
        supported=1,
        hallucinated=2,
        hallucinated_rate=2 / 3,
        hallucinated_values=(Quantity(70, "mg/dL"), Quantity(180, "mg/dL")),
    )


def test_negative_answer_needs_negative_source() -> None:
    assert factual_consistency("a trend of -1.7 ms", "trend 1.7 ms").hallucinated == 1
    assert factual_consistency("a trend of -1.7 ms", "trend -1.7 ms").hallucinated == 0


# ------------------------------------------------------------------ PHI probe


def test_phi_regurgitation_counts_kinds_and_ignores_placeholders() -> None:
    outputs = [
        "Call Dr. Alice Morgan at (555) 123-4567.",
        "Your glucose averaged 142 mg/dL.",
        "Hello [NAME], email [EMAIL] or call [PHONE].",
        "Reach me at bob@example.com",
    ]
    assert phi_regurgitation(outputs) == {
        "n": 4,
        "with_phi": 2,
        "rate": 0.5,
        "by_kind": {"email": 1, "name": 1, "phone": 1},
    }
    assert phi_regurgitation([]) == {"n": 0, "with_phi": 0, "rate": 0.0, "by_kind": {}}


# ------------------------------------------------------------------ roll-up

ROWS = [
    {
        "prediction": "Glucose averaged 142 mg/dL.",
        "reference": "Glucose averaged 142 mg/dL.",
        "input": "Mean glucose 142 mg/dL",
        "category": "metabolic_diabetes",
    },
    {
        "prediction": "Glucose averaged 150 mg/dL over 70-180 mg/dL.",
        "reference": "Glucose averaged 120 mg/dL.",
        "input": "Mean glucose 120 mg/dL",
        "category": "metabolic_diabetes",
    },
    {
        "prediction": "You slept 7 h 47 min. Call Dr. Alice Morgan.",
        "reference": "You slept 7 h 47 min.",
        "input": "467 min asleep",
        "category": "sleep_recovery",
    },
]


def test_score_predictions_overall_and_per_category() -> None:
    out = score_predictions(ROWS)
    assert set(out["per_category"]) == {"metabolic_diabetes", "sleep_recovery"}
    overall, diabetes, sleep = (
        out["overall"],
        out["per_category"]["metabolic_diabetes"],
        out["per_category"]["sleep_recovery"],
    )
    assert (overall["n"], diabetes["n"], sleep["n"]) == (3, 2, 1)
    assert overall["exact_match"] == pytest.approx(1 / 3)
    assert diabetes["exact_match"] == pytest.approx(0.5)
    assert sleep["exact_match"] == 0.0
    expected_f1 = [token_f1(r["prediction"], r["reference"]) for r in ROWS]
    assert overall["f1"] == pytest.approx(sum(expected_f1) / 3)
    assert diabetes["bleu"] == pytest.approx(
        bleu([r["prediction"] for r in ROWS[:2]], [r["reference"] for r in ROWS[:2]])
    )
    assert overall["rougeL"] == pytest.approx(
        rouge([r["prediction"] for r in ROWS], [r["reference"] for r in ROWS])["rougeL"]
    )
    # numbers: 1 (ok) + 3 (150, 70, 180 all unsupported) + 1 (467 min, ok); pooled rate 3/5
    assert overall["numbers_in_answers"] == 5
    assert overall["hallucinated_number_rate"] == pytest.approx(3 / 5)
    assert diabetes["hallucinated_number_rate"] == pytest.approx(3 / 4)
    assert sleep["hallucinated_number_rate"] == 0.0
    assert overall["phi_rate"] == pytest.approx(1 / 3)
    assert sleep["phi_rate"] == 1.0 and diabetes["phi_rate"] == 0.0
    assert all(math.isfinite(v) for v in overall.values())


def test_score_predictions_defaults_and_errors() -> None:
    out = score_predictions([{"prediction": "a", "reference": "a"}])
    assert list(out["per_category"]) == ["uncategorized"]
    assert out["overall"]["exact_match"] == 1.0
    with pytest.raises(KeyError, match="row 1: field 'reference' is missing"):
        score_predictions([{"prediction": "a", "reference": "a"}, {"prediction": "b"}])
    empty = score_predictions([])
    assert empty["overall"]["n"] == 0 and empty["per_category"] == {}
