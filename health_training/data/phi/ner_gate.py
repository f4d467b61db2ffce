"""The NER gate: which sentences of a text the statistical model must read.

Running spaCy on every ETL narrative would make curation many times slower, and template text
holds no names. A text is cut into segments (sentences and lines, long ones into pieces of at
most `MAX_SEGMENT` characters); a segment goes to the model when any word in it with an upper-case
letter is not known vocabulary (`lexicon.is_known`). There is no pass for sentence-initial words:
"Maude went home" goes to the model because "Maude" is unknown, while "Glucose averaged 142 mg/dL"
does not. Words that are given names or surnames anywhere (Grace, Will, Jackson) were removed from
the vocabulary, so they always reach the model; so does a segment with a lower-case word that is
a name and no English word ("kristin", "lilly"), and, in a text without a single capital letter,
a segment with any listed name ("john had given shamhan his address"). Our own placeholders
("[NAME]") are not words. Adjacent segments bound for the model are merged (up to `MAX_SEGMENT`)
so that it sees context. Every decision is counted (`GateStats`). The engine leaves out the
segments whose only unknown words the other layers already replaced (`engine._plan`).

Cost: for ASCII text the whole-text test runs first, at C speed (a byte split, set operations,
a memo of the words already cleared), and template narratives never reach the per-segment loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from health_training.data.phi import caches
from health_training.data.phi.findings import PLACEHOLDERS, GateStats
from health_training.data.phi.lexicon import (
    function_words,
    is_known,
    person_names,
    unambiguous_names,
)

MAX_SEGMENT = 1000  # characters; spaCy's cost is linear, this only bounds one call's memory

_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+|\s*\n\s*")
_CAPITALIZED_ASCII = re.compile(r"\b[a-z0-9]*[A-Z][\w'’-]*")
_WORD = re.compile(r"[^\W_][\w'’-]*")
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-zà-ÿ]{3,}(?![\w'’-])")
# Letters, apostrophes and hyphens make words; every other byte of ASCII text separates them.
_WORD_TABLE = bytes(
    b if b < 128 and (chr(b).isalpha() or chr(b) in "'-") else 32 for b in range(256)
)
# For counting sentence ends in ASCII text without a newline (see `_sentence_ends`).
_END_TABLE = bytes(46 if chr(b) in ".!?" else 32 if chr(b).isspace() else 97 for b in range(256))
_CLOSERS = b"\"')]"
_PLACEHOLDER_WORDS = frozenset(p.strip("[]") for p in PLACEHOLDERS.values()) | {"DATE"}


@dataclass(frozen=True, slots=True)
class GatePlan:
    """The spans of one text the model must read, and the counts behind the decision."""

    spans: tuple[tuple[int, int], ...]
    stats: GateStats


def plan(text: str) -> GatePlan:
    """Segments of `text` the model must read, and the counts."""
    fast = template_plan(text)
    if fast is not None:
        return fast
    spans: list[tuple[int, int]] = []
    segments = to_model = chars_to_model = 0
    lower_case = text == text.lower()
    for start, end in _segments(text):
        segments += 1
        if _needs_model(text, start, end, lower_case):
            to_model += 1
            chars_to_model += end - start
            if spans and start - spans[-1][0] <= MAX_SEGMENT and start - spans[-1][1] < 4:
                spans[-1] = (spans[-1][0], end)  # adjacent: one call, shared context
            else:
                spans.append((start, end))
    stats = GateStats(1, int(to_model > 0), segments, to_model, len(text), chars_to_model)
    return GatePlan(tuple(spans), stats)


def template_plan(text: str) -> GatePlan | None:
    """The plan of ASCII template text, decided for the whole text at once (no segment needs the
    model), else None. It reads the words and the sentence ends only, never a digit's value:
    digits separate words and count as letters between sentence ends (`digit_shapes.py`)."""
    if not text.isascii() or _text_needs_model(text):
        return None
    # Template text: no segment can need the model; count its segments without cutting.
    body = text.strip()
    ends = _sentence_ends(body) if "\n" not in body else len(_BOUNDARY.findall(body))
    segments = ends + 1 if body else 0  # ≈ sentences
    return GatePlan((), GateStats(1, 0, segments, 0, len(text), 0))


def _text_needs_model(text: str) -> bool:
    """Whole-text version of `_needs_model` for ASCII text: one C-speed split, and a set
    difference against the words already cleared, so only words never seen before are judged."""
    data = text.encode()
    words = set(data.translate(_WORD_TABLE).split())
    if not _unambiguous_bytes().isdisjoint(words):
        return True  # a lower-case name ("lilly"); capitalized words are judged below
    if data == data.lower() and not _all_names_bytes().isdisjoint(words):
        return True  # no capitals anywhere: "john had given ..." may name anyone
    # The words `_word_needs_model` already cleared are remembered (`caches.gate_cleared`): its
    # verdict is a pure function of the word, and the tests that depend on the whole text (a
    # listed name in lower case) ran above. Template text repeats a few hundred words, so after
    # warm-up the difference is empty and no Python loop runs.
    memo = caches.active()
    cleared = memo.gate_cleared
    new = words.difference(cleared)
    for word in new:
        if _word_needs_model(word.decode()):
            return True
    if len(cleared) + len(new) > memo.max_words:
        cleared.clear()
    cleared.update(new)
    return False


@cache
def _unambiguous_bytes() -> frozenset[bytes]:
    return frozenset(n.encode() for n in unambiguous_names() if n.isascii())


@cache
def _all_names() -> frozenset[str]:
    """Every listed name of three letters or more that is no function word: in a text without
    capitals ("john had given shamhan his address") these too send a sentence to the model."""
    return frozenset(n for n in person_names() if len(n) > 2) - function_words()


@cache
def _all_names_bytes() -> frozenset[bytes]:
    return frozenset(n.encode() for n in _all_names() if n.isascii())


def _sentence_ends(body: str) -> int:
    r"""`len(_BOUNDARY.findall(body))` for ASCII `body` without a newline, at C speed. Only the
    first branch can match, once per run of [.!?"')\]] that holds one of .!? and is followed by
    white space: once the closers are dropped, that is one ". " per such run."""
    return body.encode().translate(_END_TABLE, _CLOSERS).count(b". ")


def _word_needs_model(word: str) -> bool:
    if word[:1].isupper() or not word.islower():
        word = word.strip("'-")
        return bool(word) and not is_known(word) and word not in _PLACEHOLDER_WORDS
    return False


def _segments(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _BOUNDARY.finditer(text):
        _add(out, text, pos, m.start() + (1 if m[0][:1] in ".!?" else 0))
        pos = m.end()
    _add(out, text, pos, len(text))
    return out


def _add(out: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while end - start > MAX_SEGMENT:
        # A long run with no sentence end: cut at the last space in the window, else hard.
        cut = text.rfind(" ", start + MAX_SEGMENT // 2, start + MAX_SEGMENT)
        cut = cut if cut > start else start + MAX_SEGMENT
        out.append((start, cut))
        start = cut
    if end > start and not text[start:end].isspace():
        out.append((start, end))


def _needs_model(text: str, start: int, end: int, lower_case: bool) -> bool:
    segment = text[start:end]
    names = _all_names() if lower_case else unambiguous_names()
    if not names.isdisjoint(_LOWER_WORD.findall(segment)):
        return True  # "the gender of lilly", "kristin crnić": a name in lower case
    if segment.isascii():
        words = (m for m in _CAPITALIZED_ASCII.finditer(segment))
    else:
        words = (m for m in _WORD.finditer(segment) if not m[0].islower())
    for m in words:
        word = m[0].rstrip("'’-")
        if not any(c.isalpha() for c in word) or is_known(word):
            continue
        if word in _PLACEHOLDER_WORDS and segment[m.start() - 1 : m.start()] == "[":
            continue
        return True
    return False
