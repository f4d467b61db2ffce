"""The number guard: every number of an answer checked against the request's content with the
evaluation's faithfulness rule (ml/faithfulness.py), so the server and the promotion gate judge
an answer the same way. The response says whether it is grounded and which numbers are not."""

from __future__ import annotations

from dataclasses import dataclass

from health_training.ml.faithfulness import Quantity, factual_consistency


@dataclass(frozen=True, slots=True)
class GuardResult:
    grounded: bool
    numbers: int
    unsupported: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "grounded": self.grounded,
            "numbers_checked": self.numbers,
            "unsupported_numbers": list(self.unsupported),
        }


def _written(q: Quantity) -> str:
    if q.unit == "time":
        hours, minutes = divmod(int(q.value), 60)
        return f"{hours:02d}:{minutes:02d}"
    value = f"{q.value:.{q.decimals}f}"
    return f"{value} {q.unit}" if q.unit else value


def check_numbers(answer: str, request_text: str) -> GuardResult:
    score = factual_consistency(answer, request_text)
    unsupported = tuple(_written(q) for q in score.hallucinated_values)
    return GuardResult(not unsupported, score.numbers_in_answer, unsupported)
