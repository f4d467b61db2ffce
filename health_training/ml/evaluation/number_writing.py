"""Writing only allowed numbers, character by character: the state of the number being written
(`advance`), and `AllowedNumbers`, the complete numbers and their prefixes that a constrained
decoder may write (built from a request by grounding.allowed_numbers; used by serving's number
mask)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Inside a number when a digit follows ("6.4", "10,000", "5:24"), else punctuation ("163. The").
SEPARATORS = ".,:"
# (the number being written, with a trailing separator when one follows its digits; whether the
# digits being written are glued to a word or a ".", "SpO2", which faithfulness does not read)
NumberState = tuple[str, bool]
START: NumberState = ("", False)
_MINUS = "-\u2212"


@dataclass(frozen=True, slots=True, eq=False)
class AllowedNumbers:
    complete: frozenset[str]  # numbers that may be written
    prefixes: dict[str, int]  # every non-empty prefix of them: characters to the nearest one

    @classmethod
    def of(cls, strings: Iterable[str]) -> AllowedNumbers:
        complete = frozenset(strings)
        prefixes: dict[str, int] = {}
        for s in complete:
            for i in range(1, len(s) + 1):
                prefixes[s[:i]] = min(prefixes.get(s[:i], len(s)), len(s) - i)
        return cls(complete, prefixes)

    def can_end(self, state: NumberState) -> bool:
        """Whether the number being written may end here (a non-digit, or the end of text)."""
        number = state[0].rstrip(SEPARATORS)
        return number in ("", "-") or number in self.complete

    def to_end(self, state: NumberState) -> int:
        """How many characters at least before the number being written may end (0: now)."""
        return 0 if self.can_end(state) else self.prefixes.get(state[0], 1 << 30)


def advance(
    state: NumberState, text: str, allowed: AllowedNumbers | None = None
) -> NumberState | None:
    """The state after `text` is written; with `allowed`, None when `text` writes a number that
    is not allowed, or ends one that is not complete."""
    number, glued = state
    for c in text:
        if c.isdecimal():
            if glued:
                continue
            number += c
            if allowed is not None and number not in allowed.prefixes:
                return None
        elif c in SEPARATORS and number[-1:].isdecimal():
            number += c  # "163." may still become "163.5", or end a sentence
        else:
            if allowed is not None and not allowed.can_end((number, glued)):
                return None
            # A minus starts a negative number, but not right after a number ("70-180" is a
            # range) or a word; digits right after a letter or a "." are not read ("SpO2", ".5").
            signed = c in _MINUS and number in ("", "-") and not glued
            number, glued = "-" if signed else "", c.isalpha() or c in "_."
    # "6." must either continue to an allowed "6.4" or end as an allowed "6".
    if allowed is None or not number or number[-1].isdecimal() or number in allowed.prefixes:
        return number, glued
    return (number, glued) if allowed.can_end((number, glued)) else None
