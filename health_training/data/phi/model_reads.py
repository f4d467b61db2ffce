"""Which pieces of a text the NER model reads once the other layers have found their hits: the
gate's plan (ner_gate.py) less the pieces whose only unknown words are already covered, with the
same neighbours, so the model's answer on what it reads does not change."""

from __future__ import annotations

import re

from health_training.data.phi import (
    ner_gate,
)
from health_training.data.phi.overlaps import Hit


def plan_after_hits(text: str, hits: list[Hit]) -> ner_gate.GatePlan:
    """The gate's plan, less the pieces whose only unknown words the other layers already
    replaced ("Dr. Ingrid Kowalski" after a title): the model reads a piece for words nothing
    else has covered, and reads it with the same neighbours as before, so its answer on what it
    reads does not change. The counts are those of the sentences that needed it."""
    full = ner_gate.plan(text)
    if not full.spans or not hits:
        return full
    need = ner_gate.plan(_covered(text, hits))
    spans = tuple(s for s in full.spans if any(a < s[1] and s[0] < b for a, b in need.spans))
    return ner_gate.GatePlan(spans, need.stats)


_ALNUM = re.compile(r"[^\W_]")
_CONTINUES = re.compile(
    r"[ \t]+(?:(?:van|von|de|du|da|der|den|del|della|di|la|le|ter|ten|en|y)[ \t]+)*([^\W\d_])"
)


def _covered(text: str, hits: list[Hit]) -> str:
    """`text` with the letters and digits of `hits` turned into "#" (no longer words), except
    hits that end inside a word. Same length, same punctuation and white space, so the gate
    cuts the same sentences."""
    parts = []
    pos = 0
    for start, end, kind, *_ in sorted(hits):
        if _glued(text, start - 1, -1) or _glued(text, end, 1):
            continue  # "Sig" of "Sig.ra Rosalia": the word goes on, so it is not covered
        if (
            kind in ("name", "location")
            and (more := _CONTINUES.match(text, end))
            and more[1].isupper()
        ):
            continue  # "Frank" of "Frank Day", "Collet" of "Collet du Gilbert": it may go on
        start = max(start, pos)
        if start < end:
            parts += (text[pos:start], _ALNUM.sub("#", text[start:end]))
            pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _glued(text: str, i: int, step: int) -> bool:
    """A letter or digit at `i`, or a dot, hyphen or apostrophe there with one right after."""
    c = text[i : i + 1] if i >= 0 else ""
    return c.isalnum() or (c in (".", "-", "'", "’") and text[i + step : i + step + 1].isalnum())
