"""The number guard: every number of an answer checked against the request with the grounding
rule (ml/evaluation/grounding.py: the evaluation's faithfulness rule, with the values derived from the
request's numbers and the clinical reference values allowed too), and every comparison the answer
states checked against its own numbers (ml/evaluation/stated_comparisons.py: "6,800 steps, at or above the 10,000
steps target" is contradicted). The response says whether it is grounded, which numbers are not
supported and which comparisons are contradicted; grounding_modes.py says what happens then."""

from __future__ import annotations

from dataclasses import dataclass

from health_training.ml.evaluation.faithfulness import Quantity
from health_training.ml.evaluation.grounding import check_grounding
from health_training.ml.evaluation.stated_comparisons import contradicted_comparisons


@dataclass(frozen=True, slots=True)
class GuardResult:
    grounded: bool
    numbers: int
    unsupported: tuple[str, ...]
    contradicted: tuple[str, ...] = ()  # comparisons its own numbers contradict

    def as_dict(self) -> dict[str, object]:
        return {
            "grounded": self.grounded,
            "numbers_checked": self.numbers,
            "unsupported_numbers": list(self.unsupported),
            "contradicted_comparisons": list(self.contradicted),
        }


def _written(q: Quantity) -> str:
    if q.unit == "time":
        hours, minutes = divmod(int(q.value), 60)
        return f"{hours:02d}:{minutes:02d}"
    value = f"{q.value:.{q.decimals}f}"
    return f"{value} {q.unit}" if q.unit else value


def check_numbers(answer: str, request_text: str) -> GuardResult:
    score = check_grounding(answer, request_text)
    unsupported = tuple(_written(q) for q in score.hallucinated_values)
    contradicted = contradicted_comparisons(answer)
    return GuardResult(
        not unsupported and not contradicted, score.numbers_in_answer, unsupported, contradicted
    )
