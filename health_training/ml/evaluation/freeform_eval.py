"""Metrics of answers to free-form questions: the `freeform_test` split (etl/questions).

The narrative metrics (text_metrics.py) compare an answer with a reference narrative. A question is
answered well when it states the *asked* value correctly and nothing it cannot support, so each
answer gets, besides the shared fact accuracy, loss and EOS:

  asked_fact_rate       asked values the answer states correctly / asked values; the writer
                        records what each question asks (`metadata.asked`: fact, value, unit)
                        and a value counts when a number of the answer equals it at the
                        answer's precision, in the same or a convertible unit (faithfulness.py)
  computation_accuracy  computation questions (pace, energy balance, sleep from clock times,
                        change, share) whose every asked result is stated correctly / such
                        questions
  cannot_answer_rate    questions the data cannot answer (`metadata.cannot_answer`) whose answer
                        says so (CANNOT_ANSWER) and states no number it cannot support
  hallucinated_number_rate  numbers of the answer that the question, its input, the values
                        derived from them and the clinical reference table do not support
                        (ml/evaluation/grounding.py: the serving guard's rule) / numbers of the answer
  contradiction_rate    answers stating a comparison their own numbers contradict ("6,800
                        steps, at or above the 10,000 steps target"; ml/evaluation/stated_comparisons.py, the
                        serving guard's second rule) / answers

Statistics are (numerator, denominator) pairs per answer, (0, 0) where a metric does not apply,
so `bootstrap.ratio` pools them and the paired intervals resample whole answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

FREEFORM_METRIC_KEYS: tuple[str, ...] = (
    "asked_fact_rate",
    "fact_accuracy",
    "computation_accuracy",
    "cannot_answer_rate",
    "hallucinated_number_rate",
    "contradiction_rate",
    "eos_rate",
    "eval_loss",
    "rougeL",
)
# How an answer says the data cannot answer the question; the ETL writer's answers to such
# questions all match it, and so do the usual ways a person says it.
CANNOT_ANSWER = re.compile(
    r"\b(?:can(?:not|'t|\u2019t)\s+(?:tell|answer|work(?: that| this| it)? out|say|determine"
    r"|calculate|predict|forecast)"
    r"|not enough (?:data|information)|(?:would|I'd|I\u2019d) need"
    r"|doesn(?:'|\u2019)t (?:include|show|contain|say)|isn(?:'|\u2019)t (?:in|part of|included)"
    r"|no (?:data|record|readings?|measurements?) (?:for|of|on|about))",
    re.IGNORECASE,
)
COMPUTATION = "computation"


def stated_correctly(answer: str, asked: Mapping[str, Any]) -> bool:
    """Does a number of `answer` state the asked value (faithfulness.py's equality rule)?"""
    from health_training.ml.evaluation.faithfulness import Quantity, _supports, extract_quantities

    value, unit = asked.get("value"), asked.get("unit")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    truth = Quantity(float(value), unit or None)
    for q in extract_quantities(answer):
        if _supports(truth, q):
            return True
        # A pace of 5.4 min per km is also written 5:24, which reads as a clock time.
        if unit == "min" and q.unit == "time" and abs(q.value - round(60 * value)) < 0.5:
            return True
    return False


def freeform_stats(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, tuple[float, ...]]]:
    """Per-answer statistics of scored rows (`evaluation.scored_rows`: prediction, reference,
    instruction, input, facts, asked, question_kind, cannot_answer, loss, ended_by_eos)."""
    from health_training.ml.evaluation.grounding import check_grounding
    from health_training.ml.evaluation.stated_comparisons import contradicted_comparisons
    from health_training.ml.evaluation.statements import score_facts
    from health_training.ml.evaluation.text_metrics import _rouge_scorer

    scorer = _rouge_scorer()
    out = []
    for row in rows:
        pred = str(row["prediction"])
        request = f"{row.get('instruction') or ''}\n{row.get('input') or ''}"
        grounding = check_grounding(pred, request)
        asked = [a for a in row.get("asked") or [] if isinstance(a, Mapping)]
        right = sum(stated_correctly(pred, a) for a in asked)
        computation = row.get("question_kind") == COMPUTATION and bool(asked)
        declines = bool(row.get("cannot_answer"))
        facts = row.get("facts") if isinstance(row.get("facts"), Mapping) else {}
        fs = score_facts(pred, facts) if facts else None
        stats: dict[str, tuple[float, ...]] = {
            "asked_fact_rate": (float(right), float(len(asked))),
            "fact_accuracy": (float(fs.correct), float(fs.statements)) if fs else (0.0, 0.0),
            "computation_accuracy": (float(right == len(asked)), 1.0) if computation else (0, 0),
            "cannot_answer_rate": (
                (float(bool(CANNOT_ANSWER.search(pred)) and not grounding.hallucinated), 1.0)
                if declines
                else (0.0, 0.0)
            ),
            "hallucinated_number_rate": (
                float(grounding.hallucinated),
                float(grounding.numbers_in_answer),
            ),
            "contradiction_rate": (float(bool(contradicted_comparisons(pred))), 1.0),
            "rougeL": (scorer.score(str(row["reference"]), pred)["rougeL"].fmeasure, 1.0),
        }
        if row.get("loss_tokens"):
            stats["eval_loss"] = (float(row["loss_sum"]), float(row["loss_tokens"]))
        if row.get("ended_by_eos") is not None:
            stats["eos_rate"] = (float(bool(row["ended_by_eos"])), 1.0)
        out.append(stats)
    return out


def compare_freeform(rows: Sequence[Mapping[str, Any]], a: Any, b: Any) -> dict[str, Any]:
    """`evaluation.compare` with the free-form metrics, grouped by question kind."""
    from health_training.ml.evaluation.answer_and_compare import compare

    return compare(
        rows,
        a,
        b,
        stats_of=freeform_stats,
        metric_keys=FREEFORM_METRIC_KEYS,
        group_by="question_kind",
    )
