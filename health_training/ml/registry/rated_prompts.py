"""Users' verdicts in the gate: the challenger and production answer held-out rated prompts.

The preference dataset splits rated prompts by hash like the SFT data; its `test` share never
trains. Those prompts carry what users said: answers they liked (rating >= 4, and corrections)
and answers they disliked (rating <= 2). Both models answer each such prompt and two paired
metrics compare them (`bootstrap.compare_groups`, production as a, the challenger as b):

  * `rated_agreement`, per prompt: ROUGE-L of the answer against the closest liked text minus
    ROUGE-L against the closest disliked one (a side with no text counts 0), in [-1, 1]. It rises
    when an answer moves towards what users approved and away from what they rejected. A proxy
    for a new rating, not a rating: nobody has read the new answer.
  * `hallucinated_number_rate`: numbers of the answers that the prompt does not support
    (`faithfulness.factual_consistency`, as the evaluation and the server's guard), pooled.

    prompts = held_out_rated_prompts(preference_examples)
    intervals = compare_rated(prompts, production_answers, challenger_answers)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

HELD_OUT_SPLIT = "test"  # the preference data's share that never trains
RATED_METRICS = ("rated_agreement", "hallucinated_number_rate")


@dataclass(frozen=True, slots=True)
class RatedPrompt:
    """A held-out prompt and the texts users approved (`liked`) and rejected (`disliked`)."""

    prompt_key: str
    instruction: str
    input: str
    liked: tuple[str, ...]
    disliked: tuple[str, ...]

    def as_row(self) -> dict[str, str]:
        """A row for `evaluation.answer` (which also scores a reference: the first text)."""
        reference = (self.liked or self.disliked or ("",))[0]
        return {
            "content_key": self.prompt_key,
            "instruction": self.instruction,
            "input": self.input,
            "output": reference,
        }


def held_out_rated_prompts(
    examples: Iterable[Any], *, limit: int | None = None
) -> list[RatedPrompt]:
    """The preference examples of the held-out split grouped by prompt, in prompt-key order
    (the first `limit`): KTO answers by their label, DPO pairs as liked vs disliked."""
    liked: defaultdict[str, dict[str, None]] = defaultdict(dict)
    disliked: defaultdict[str, dict[str, None]] = defaultdict(dict)
    texts: dict[str, tuple[str, str]] = {}
    for e in examples:
        if e.split != HELD_OUT_SPLIT:
            continue
        texts.setdefault(e.prompt_key, (e.instruction, e.input))
        if e.kind == "kto":
            (liked if e.desirable else disliked)[e.prompt_key][e.completion] = None
        else:
            liked[e.prompt_key][e.chosen] = None
            disliked[e.prompt_key][e.rejected] = None
    keys = sorted(texts)[:limit] if limit is not None else sorted(texts)
    return [
        RatedPrompt(k, *texts[k], tuple(liked.get(k, {})), tuple(disliked.get(k, {}))) for k in keys
    ]


def prompt_stats(
    prompts: Sequence[RatedPrompt], predictions: Sequence[str]
) -> dict[str, list[tuple[float, float]]]:
    """Per prompt, (numerator, denominator) of each metric in RATED_METRICS."""
    from health_training.ml.evaluation.faithfulness import factual_consistency
    from health_training.ml.evaluation.text_metrics import _rouge_scorer

    if len(prompts) != len(predictions):
        raise ValueError(f"{len(prompts)} prompts but {len(predictions)} answers")
    scorer = _rouge_scorer()

    def closest(answer: str, texts: Sequence[str]) -> float:
        return max((scorer.score(t, answer)["rougeL"].fmeasure for t in texts), default=0.0)

    stats: dict[str, list[tuple[float, float]]] = {m: [] for m in RATED_METRICS}
    for prompt, answer in zip(prompts, predictions, strict=True):
        agreement = closest(answer, prompt.liked) - closest(answer, prompt.disliked)
        numbers = factual_consistency(answer, f"{prompt.instruction}\n{prompt.input}")
        stats["rated_agreement"].append((agreement, 1.0))
        stats["hallucinated_number_rate"].append(
            (float(numbers.hallucinated), float(numbers.numbers_in_answer))
        )
    return stats


def compare_rated(
    prompts: Sequence[RatedPrompt],
    production: Sequence[str],
    challenger: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """metric -> {a, b, diff, ci_low, ci_high, n}: production (a) vs the challenger (b) on the
    same prompts, one shared bootstrap draw for both metrics."""
    from health_training.ml.evaluation.bootstrap import compare_groups

    found = compare_groups(prompt_stats(prompts, production), prompt_stats(prompts, challenger), {})
    return {metric: interval.to_dict() for metric, interval in found.items()}
