"""Names found by where they stand, not by a cue word: the positions the NER model and the
capitalized-run rule (`names.py`) miss. Like `names.detect`, these run on the gated segments only.

- Speaker labels: a listed given name or surname that starts a line and is followed by a colon
  ("Ilona: What a day.", "Dr Kovács: ..."); only listed names, so "Omnipod: reading high" and
  "Zone 2:" stay.
- Lists: items separated by commas and a final "and"/"&"/"or" (or "und", "et", "y", "e", "og",
  "och", "en", "és") where every item is a name word and at least two are listed names:
  "our founders: Szabó, Keller and Ortega".
- First, initial, last: "a Dmitri K Volkov concert", "Felix J. Rouwhorst", "Gijs L van Bunschoten".
- A lone listed name that is no English word, inside a sentence (after a lower-case word):
  "asked whether Leszek could drive"; an eponym ("a Hodgkin lymphoma") is no person.
`widen` then takes the initials and name words right next to a name found by any layer
("[NAME] B Kovács", "H. [NAME]").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from health_training.data.phi.findings import PLACEHOLDERS
from health_training.data.phi.lexicon import (
    NOT_A_PERSON_WORDS,
    allowed_places,
    english_names,
    function_words,
    is_known,
    is_name_word,
    person_names,
    unambiguous_names,
)

Hit = tuple[int, int, str, str]

_NAME = PLACEHOLDERS["name"]
_CAP = r"[^\W\d_a-z][\w'’-]*[^\W\d_]"  # a capitalized word of two letters or more
_PARTICLE = r"(?:(?:van|von|de|da|di|del|della|der|den|du|le|la|ter|ten|bin|ibn|al|el)[ \t]+)"
_LABEL = re.compile(rf"(?m)^[ \t]*(?P<v>{_CAP}(?:[ \t]+{_CAP})?)[ \t]*:[ \t]+(?P<next>\S)")
_ITEM = rf"{_CAP}(?:[ \t]+{_PARTICLE}*{_CAP}){{0,2}}"
_LIST = re.compile(
    rf"(?<![\w'’-])(?P<v>{_ITEM}(?:,[ \t]*{_ITEM})*,?[ \t]+(?:and|&|or|und|et|y|e|og|och|en|és|i|a)"
    rf"[ \t]+{_ITEM})(?![\w'’-])"
)
_ITEM_RE = re.compile(_ITEM)
_INITIAL_NAME = re.compile(
    rf"(?<![\w'’.-])(?P<f>{_CAP})[ \t]+(?P<i>[A-Z]\.?)[ \t]+(?P<l>{_PARTICLE}*{_CAP})(?![\w'’-])"
)
_LONE = re.compile(rf"(?<=[a-z,])[ \t]+(?P<v>{_CAP})(?![\w'’-])(?![ \t]+[^\W\d_a-z])")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_NOT_A_PERSON_AFTER = re.compile(
    r"(?:['’]s?)?[\s-]+(?i:" + "|".join(sorted(NOT_A_PERSON_WORDS, key=len, reverse=True)) + r")\b"
)


def detect(text: str, lo: int, hi: int) -> list[Hit]:
    """Names by position in the segment text[lo:hi]."""
    hits: list[Hit] = []
    for m in _LABEL.finditer(text, lo, hi):
        words = _WORD.findall(m["v"])
        if not all(_listed(w) for w in words):
            continue
        if any(w.lower() in english_names() for w in words) and not m["next"].isalpha():
            continue  # "April: 35 min", "Bill: $40": a month or a word, not a speaker
        hits.append((*m.span("v"), "name", _NAME))
    for m in _LIST.finditer(text, lo, hi):
        items = list(_ITEM_RE.finditer(text, *m.span("v")))
        words = [_WORD.findall(i[0]) for i in items]
        listed = sum(any(_listed(w) for w in ws) for ws in words)
        names_only = all(_name_like(w) for ws in words for w in ws if w.lower() not in _PARTICLES)
        if listed >= 2 and names_only:
            hits += [(*i.span(), "name", _NAME) for i in items]
    for m in _INITIAL_NAME.finditer(text, lo, hi):
        last = _WORD.findall(m["l"])[-1]
        if (
            _name_like(m["f"])
            and _name_like(last)
            and m["f"].lower() not in function_words()
            and not _NOT_A_PERSON_AFTER.match(text, m.end())
        ):
            hits.append((m.start(), m.end(), "name", _NAME))
    for m in _LONE.finditer(text, lo, hi):
        word = m["v"]
        low = word.lower()
        if (
            low in unambiguous_names()
            and is_name_word(word)
            and low not in allowed_places()  # "Chad", "Jordan", "Georgia": Safe Harbor keeps them
            and not _NOT_A_PERSON_AFTER.match(text, m.end())
        ):
            hits.append((*m.span("v"), "name", _NAME))
    return hits


_PARTICLES = frozenset(["van", "von", "de", "da", "di", "del", "della", "der", "den", "du", "le",
                        "la", "ter", "ten", "bin", "ibn", "al", "el"])  # fmt: skip


def _listed(word: str) -> bool:
    """A given name or surname of the lexicon, capitalized, and no function word."""
    low = word.lower()
    return low in person_names() and low not in function_words() and not word.isupper()


def _name_like(word: str) -> bool:
    """A name word, or a listed name that vocabulary also knows ("Hill", "Price")."""
    listed = _listed(word) and (word.lower() in english_names() or not is_known(word))
    return is_name_word(word) or listed


# Initials next to a name ("H. ", " B "); "I" is the pronoun, never taken without a dot.
_INIT = r"(?:[A-HJ-Z]\.?|I\.)"
_BEFORE = re.compile(rf"(?:(?<![\w'’.-]){_INIT}[ \t]+)+$")
_AFTER = re.compile(
    rf"(?:[ \t]+{_INIT}(?![\w'’-]))*[ \t]+(?P<w>{_CAP})(?![\w'’-])|(?:[ \t]+[A-Z]\.(?!\w))+"
)


def widen(text: str, spans: Iterable[tuple[int, int]]) -> list[Hit]:
    """Initials and name words right next to found names: "H. [NAME]", "[NAME] B Kovács"."""
    hits: list[Hit] = []
    for start, end in spans:
        before = _BEFORE.search(text, max(0, start - 12), start)
        new_start = before.start() if before else start
        after = _AFTER.match(text, end)
        new_end = end
        if (
            after
            and (after["w"] is None or _name_like(after["w"]))
            and not (after["w"] and _NOT_A_PERSON_AFTER.match(text, after.end()))
        ):
            new_end = after.end()
        if (new_start, new_end) != (start, end):
            hits.append((new_start, new_end, "name", _NAME))
    return hits
