"""Which train-split rows a capped training run learns from.

A short run (the `cpu_demo` profile trains on a few hundred examples) samples the train split;
three kinds of row are treated differently, because they teach different things:
  * corrections from users (`source_format` "feedback") are all kept: they are few, reviewed,
    and the reason a retrain was started; a sample that dropped most of them would mostly
    repeat the previous run;
  * question examples (`example_kind` "question", etl/questions) are sampled up to their own
    cap with an equal share per question kind, so every kind is taught;
  * narratives are sampled as before: up to their cap, an equal share per health domain.
Each sample is deterministic (content-key order), so a rerun trains on the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CORRECTION_FORMAT = "feedback"  # data/feedback.py marks corrections with this source_format
QUESTION_KIND = "question"


@dataclass(frozen=True, slots=True)
class TrainingSample:
    rows: tuple[Mapping[str, Any], ...]
    corrections: int
    questions: int
    narratives: int

    def describe(self) -> str:
        return (
            f"{len(self.rows)} training examples: {self.narratives} narratives, "
            f"{self.questions} questions, {self.corrections} corrections (all of them)"
        )


def kind_of(row: Mapping[str, Any]) -> str:
    if row.get("source_format") == CORRECTION_FORMAT:
        return "correction"
    return "question" if row.get("example_kind") == QUESTION_KIND else "narrative"


def training_sample(
    rows: Sequence[Mapping[str, Any]],
    *,
    max_narratives: int | None,
    max_questions: int | None,
    stratify: bool = True,
    question_kind_limits: Mapping[str, int] | None = None,
) -> TrainingSample:
    """Every correction, at most `max_questions` questions and `max_narratives` narratives
    (None: all of that kind); `question_kind_limits` caps a question kind below its equal share
    (day summaries are three times as long as other questions: fewer of them buy more of the
    others in the same number of steps)."""
    from health_training.ml.evaluation.answer_and_compare import stratified_sample

    groups: dict[str, list[Mapping[str, Any]]] = {"correction": [], "question": [], "narrative": []}
    for row in rows:
        groups[kind_of(row)].append(row)

    def capped(items: list[Mapping[str, Any]], limit: int | None, by: str) -> list:
        if limit is None or limit >= len(items):
            return items
        if stratify:
            return list(stratified_sample(items, limit, by=by))
        return sorted(items, key=lambda r: str(r["content_key"]))[:limit]

    limits = dict(question_kind_limits or {})
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for row in sorted(groups["question"], key=lambda r: str(r["content_key"])):
        by_kind.setdefault(str(row.get("question_kind")), []).append(row)
    eligible = [r for kind, rows in by_kind.items() for r in rows[: limits.get(kind, len(rows))]]
    questions = capped(eligible, max_questions, "question_kind")
    narratives = capped(groups["narrative"], max_narratives, "category")
    picked = (*groups["correction"], *questions, *narratives)
    return TrainingSample(picked, len(groups["correction"]), len(questions), len(narratives))
