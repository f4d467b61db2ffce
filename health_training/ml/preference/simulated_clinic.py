"""A simulated clinic: a deterministic rater that scores an answer by checking its facts.

For tests, the demo and benchmarks, it stands in for the people who rate served answers, so the
whole loop (serve → answer → rate → sensor → retrain → gate) runs without them. It reads an answer
the way the evaluation does (`statements.score_facts` against the record's source facts,
`grounding.check_grounding` against the request: the serving guard's rule) and gives

    1  a stated fact is wrong ("resting heart rate 90 bpm" when it was 58), or a question the
       data cannot answer is answered anyway
    2  no fact is wrong, but a number the request does not support appears, or a value the
       question asked for is not stated
    3  nothing to judge: no fact stated, no unsupported number
    4  every stated fact right, but facts the reference states are missing
    5  every stated fact right, nothing unsupported, nothing missing; or, for a question the
       data cannot answer, the answer says what is missing

A rating is a function of its inputs only (no clock, no randomness): the same answer to the same
record always gets the same rating. With `corrects=True` the clinic also writes the reference
answer under ratings of 2 or less, as a clinician fixing a wrong answer would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from health_training.ml.evaluation.statements import score_facts
from health_training.ml.lm.prompts import user_message
from health_training.ml.preference.examples import UNDESIRABLE_MAX_RATING


@dataclass(frozen=True, slots=True)
class ClinicRating:
    rating: int
    reason: str
    statements: int  # fact statements in the answer
    wrong: int
    unsupported_numbers: int
    reference_facts: int
    recalled: int
    corrected_response: str | None = None


@dataclass(frozen=True, slots=True)
class SimulatedClinic:
    corrects: bool = False  # write the reference answer under low ratings

    def rate(
        self,
        answer: str,
        facts: Mapping[str, Any],
        *,
        instruction: str = "",
        input_: str = "",
        reference: str = "",
        asked: Sequence[Mapping[str, Any]] = (),
        cannot_answer: bool = False,
    ) -> ClinicRating:
        """The rating of `answer` to the request (instruction + input) whose source facts are
        `facts`; `reference` is the answer the data holds (for recall and corrections); a
        question example's `asked` values and `cannot_answer` flag (etl/questions) are what a
        clinician checks first."""
        from health_training.ml.evaluation.freeform_eval import CANNOT_ANSWER, stated_correctly
        from health_training.ml.evaluation.grounding import check_grounding

        score = score_facts(answer, facts, reference)
        source = user_message(instruction, input_)
        # The serving guard's rule: the request's numbers, values derived from them and the
        # clinical reference table.
        unsupported = check_grounding(answer, source).hallucinated if source.strip() else 0
        wrong = len(score.wrong)
        missed = sum(not stated_correctly(answer, a) for a in asked)
        if cannot_answer:
            declined = bool(CANNOT_ANSWER.search(answer)) and not unsupported
            rating, reason = (5, "said what is missing") if declined else (1, "answered anyway")
        elif wrong:
            rating, reason = 1, f"{wrong} of {score.statements} stated facts wrong"
        elif unsupported:
            rating, reason = 2, f"{unsupported} numbers the request does not support"
        elif missed:
            rating, reason = 2, f"{missed} of {len(asked)} asked values not stated"
        elif score.statements == 0:
            rating, reason = 3, "no fact stated"
        elif score.recalled < score.reference_facts:
            missing = score.reference_facts - score.recalled
            rating, reason = 4, f"facts right, {missing} of the reference's facts missing"
        else:
            rating, reason = 5, f"all {score.statements} stated facts right"
        correction = (
            reference
            if self.corrects and rating <= UNDESIRABLE_MAX_RATING and reference.strip()
            else None
        )
        return ClinicRating(
            rating=rating,
            reason=reason,
            statements=score.statements,
            wrong=wrong,
            unsupported_numbers=unsupported,
            reference_facts=score.reference_facts,
            recalled=score.recalled,
            corrected_response=correction,
        )

    def rate_row(self, row: Mapping[str, Any], answer: str) -> ClinicRating:
        """Rate `answer` to a dataset row (`instruction`, `input`, `output`, `metadata_json` or
        `facts`), the shape the training splits and `evaluation.scored_rows` use."""
        return self.rate(
            answer,
            facts_of(row),
            instruction=str(row["instruction"]),
            input_=str(row.get("input") or ""),
            reference=str(row.get("output") or row.get("reference") or ""),
            asked=_meta(row).get("asked") or (),
            cannot_answer=bool(_meta(row).get("cannot_answer")),
        )


def _meta(row: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = row.get("metadata_json")
    return json.loads(raw) if isinstance(raw, str) else row


def facts_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The source facts a dataset row carries (its ETL metadata), {} when it has none."""
    facts = row.get("facts")
    if facts is None and isinstance(row.get("metadata_json"), str):
        facts = json.loads(row["metadata_json"]).get("facts")
    return dict(facts or {})
