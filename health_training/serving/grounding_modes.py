"""What the server does with an answer whose numbers the request does not support (the rule:
ml/evaluation/grounding.py; the user-facing account: docs/grounding.md). One of four modes, set with
`health-training serve --grounding MODE`:

  regenerate (default)  decode as asked; an ungrounded answer is decoded again, greedy, under the
                        number constraint; still ungrounded: 422 `ungrounded_answer`.
  constrain             always decode under the number constraint; still ungrounded: 422.
  refuse                an ungrounded answer is a 422 at once (the old `--refuse-ungrounded`).
  flag                  answer anyway; the response lists the unsupported numbers.

Each answer's outcome goes into `health_training.grounding` and the guard metric: as_generated,
regenerated, constrained, refused or flagged.

Two backends cannot do all of it. A stream cannot take back text it has sent, so a streamed
request in regenerate mode is decoded under the constraint from its first token. The upstream
backend (vLLM) cannot take our logits mask, so there regenerate is one retry at temperature 0
(skipped when the request already was greedy: it would repeat itself), and constrain is refused
at start.
"""

from __future__ import annotations

from dataclasses import replace

from health_training.serving.backends.generation import DecodingParams
from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.number_guard import GuardResult

MODES = ("regenerate", "constrain", "refuse", "flag")
OUTCOMES = ("as_generated", "regenerated", "constrained", "refused", "flagged")


def first_decoding(
    mode: str, decoding: DecodingParams, *, stream: bool, can_constrain: bool
) -> DecodingParams:
    """The decoding of the first (often only) try."""
    if can_constrain and (mode == "constrain" or (mode == "regenerate" and stream)):
        return replace(decoding, constrain_numbers=True)
    return decoding


def holds_stream(mode: str, *, can_constrain: bool) -> bool:
    """Whether a stream's text waits for the guard: refuse mode, and regenerate on a backend
    that must read the whole answer before it can retry."""
    return mode == "refuse" or (mode == "regenerate" and not can_constrain)


def retry_decoding(
    mode: str, decoding: DecodingParams, *, can_constrain: bool
) -> DecodingParams | None:
    """The second try of an ungrounded answer; None when there is none."""
    if mode != "regenerate" or decoding.constrain_numbers:
        return None
    greedy = replace(decoding, temperature=0.0, top_p=1.0, seed=None)
    if can_constrain:
        return replace(greedy, constrain_numbers=True)
    return None if decoding.temperature == 0.0 else greedy


def outcome(mode: str, grounded: bool, decoding: DecodingParams, *, retried: bool) -> str:
    if not grounded:
        return "flagged" if mode == "flag" else "refused"
    if retried:
        return "regenerated"
    return "constrained" if decoding.constrain_numbers else "as_generated"


def refusal(guard: GuardResult) -> OpenAIError:
    """The 422 for an answer refused for its numbers: what it states that the request does not
    support, and what its own numbers contradict."""
    problems = []
    if guard.unsupported:
        problems.append(
            "numbers the request does not support (" + ", ".join(guard.unsupported) + ")"
        )
    if guard.contradicted:
        problems.append(
            "comparisons its own numbers contradict (" + "; ".join(guard.contradicted) + ")"
        )
    return OpenAIError(
        422,
        "the answer holds "
        + " and ".join(problems)
        + "; this server refuses ungrounded answers (see docs/grounding.md for the numbers an "
        "answer may state and the comparisons it checks)",
        code="ungrounded_answer",
    )
