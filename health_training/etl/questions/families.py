"""The question kinds, how often each is drawn, and which template families are held out.

`HELD_OUT_FAMILIES` names whole families (about a quarter, at least one of every kind) that the
split sends to `freeform_test` only, so that the free-form evaluation measures answers to
phrasings the model never saw in training. Changing it changes the splits: do it between
experiments, not within one.

A held-out family is new phrasing, not a new way of asking: its register (`REGISTERS`: how a
user words a question, apart from what is asked) is trained in at least two other kinds. Until
2026-12-06 the context register (a sentence about the asker before the question: "My doctor
wants to see progress: ...") was held out in every kind and trained in none, and the model
answered every held-out unanswerable question in it as a look-up (0 of 33).
"""

from __future__ import annotations

QUESTION_KINDS: tuple[str, ...] = (
    "lookup",
    "judgement",
    "computation",
    "user_stated",
    "unanswerable",
    "day_summary",
)
# Per-batch kinds and their weights; day summaries are drawn per user-day instead.
KIND_WEIGHTS: dict[str, float] = {
    "lookup": 0.2,
    "judgement": 0.2,
    "computation": 0.2,
    "user_stated": 0.25,
    "unanswerable": 0.1,
}
HELD_OUT_FAMILIES: frozenset[str] = frozenset(
    {
        "lookup.context_chat",
        "judgement.coach_context",
        "judgement.value_first",
        "computation.pace_texting",
        "computation.change_clinical",
        "computation.sleep_clock_request",
        "computation.share_formal",
        "user_stated.device_readout",
        "user_stated.coach",
        "user_stated.day_clinical",
        "unanswerable.context_chat",
        "day_summary.coach",
    }
)

# Each family's register. Computation families end in theirs ("computation.pace_texting").
_NAMED_REGISTERS: dict[str, str] = {
    "lookup.casual_short": "casual",
    "lookup.clinical_formal": "formal",
    "lookup.typo_texting": "texting",
    "lookup.context_chat": "context",
    "lookup.context_note": "context",
    "lookup.data_reference": "formal",
    "lookup.imperative_short": "request",
    "judgement.casual_worried": "casual",
    "judgement.clinical_formal": "formal",
    "judgement.typo_texting": "texting",
    "judgement.normal_check": "casual",
    "judgement.coach_context": "context",
    "judgement.context_note": "context",
    "judgement.value_first": "texting",
    "user_stated.casual_question": "casual",
    "user_stated.texting": "texting",
    "user_stated.clinical_report": "formal",
    "user_stated.worried": "casual",
    "user_stated.device_readout": "casual",
    "user_stated.coach": "context",
    "user_stated.context_note": "context",
    "user_stated.day_recap": "casual",
    "user_stated.day_texting": "texting",
    "user_stated.day_clinical": "formal",
    "unanswerable.plain": "casual",
    "unanswerable.yes_no": "casual",
    "unanswerable.texting": "texting",
    "unanswerable.request": "request",
    "unanswerable.context_chat": "context",
    "day_summary.casual": "casual",
    "day_summary.clinical": "formal",
    "day_summary.texting": "texting",
    "day_summary.coach": "context",
    "day_summary.morning_brief": "casual",
}
_COMPUTATION_REGISTERS = {
    "casual": "casual",
    "texting": "texting",
    "formal": "formal",
    "clinical": "formal",
    "request": "request",
}


def register_of(family: str) -> str:
    """The register a family's phrasings are written in (casual, formal, texting, request,
    context)."""
    if family.startswith("computation."):
        return _COMPUTATION_REGISTERS[family.rsplit("_", 1)[1]]
    return _NAMED_REGISTERS[family]
