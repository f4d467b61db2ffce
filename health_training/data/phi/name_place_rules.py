"""Safe Harbor rules for people and places, run by rules.detect once a cue has been found (layer 1):
a given name and the surname after it, a name whose strictness depends on its cue, a city removed
with its state kept, a state named in context; and the word and place tests they share."""

from __future__ import annotations

import re

from health_training.data.phi.rules_patterns import (
    _ABBRS,
    _AFTER_FIRST,
    _AMBIG_CITIES,
    _AMBIG_FIRST,
    _CITY_BEFORE,
    _CITY_BY_LAST,
    _COMMA_BEFORE,
    _EPONYM_AFTER,
    _I_AM_BEFORE,
    _KNOWN_NAMES,
    _LINE_END,
    _NOT_NAMES,
    _NOT_PLACE_AFTER,
    _PLACE_BEFORE,
    _SIGN_BEFORE,
    _SMALL_ZIP3,
    _STATE_AFTER,
    _STATE_BY_LAST,
    _STATES,
    _SURNAMES,
    _TOK_RE,
    _ZIP_AFTER,
)

Hit = tuple[int, int, str, str]  # start, end, kind, replacement


def mark_given_name(text: str, first: str, i: int, hits: list[Hit]) -> None:
    """A lexicon given name before a surname; alone only after "I'm" or as a "- Alice" sign-off."""
    end = i + len(first)
    if _PLACE_BEFORE.search(text, max(0, i - 8), i):
        return  # "St. Paul", "Fort Wayne"
    ambiguous = first in _AMBIG_FIRST
    m = _AFTER_FIRST.match(text, end)
    if (
        m
        and m["v"] not in _NOT_NAMES
        and (not ambiguous or m["v"] in _SURNAMES)
        and not _EPONYM_AFTER.match(text, end)
        and not _EPONYM_AFTER.match(text, m.end())
    ):
        hits.append((i, m.end(), "name", "[NAME]"))
    elif not ambiguous and (
        _I_AM_BEFORE.search(text, max(0, i - 8), i)
        or (_SIGN_BEFORE.search(text, max(0, i - 3), i) and _LINE_END.match(text, end))
    ):
        hits.append((i, end, "name", "[NAME]"))


def mark_name(text: str, start: int, end: int, hits: list[Hit], *, strict: bool) -> None:
    """The cue's name words up to the first that is never a name; `strict` (weak cues such as
    "patient" or "Doctor") wants the first word in a lexicon."""
    stop = start
    for n, word in enumerate(_TOK_RE.finditer(text, start, end)):
        if word[0] in _NOT_NAMES or (n == 0 and strict and word[0] not in _KNOWN_NAMES):
            break
        stop = word.end()
    if stop > start and not _EPONYM_AFTER.match(text, stop):
        hits.append((start, stop, "name", "[NAME]"))


def mark_state_context(text: str, word: str, i: int, hits: list[Hit]) -> None:
    """Around a state: the ZIP after it, and the city of "in <city>, <state>" or
    ", <city>, <state> <zip>"."""
    start = i
    if word not in _ABBRS:  # a state name: which one ends here ("West Virginia", "Virginia")?
        ends = i + len(word)
        name = next((s for s in _STATE_BY_LAST[word] if text.startswith(s, ends - len(s))), None)
        if name is None:
            return
        start = ends - len(name)
    zip_m = _ZIP_AFTER.match(text, i + len(word))
    if zip_m:
        hits.append((*zip_m.span("v"), "zip", zip3(zip_m["v"])))
    # Cheap test first: "SD" (standard deviation) in glucose narratives is no state.
    city = _COMMA_BEFORE.search(text, max(0, start - 4), start) and _CITY_BEFORE.search(
        text, max(0, start - 60), start
    )
    if city and (zip_m or not city["comma"]) and is_place(city["v"]):
        hits.append((*city.span("v"), "location", "[CITY]"))


def mark_city(text: str, last: str, i: int, hits: list[Hit]) -> None:
    end = i + len(last)
    for name in _CITY_BY_LAST[last]:
        start = end - len(name)
        if start >= 0 and text.startswith(name, start) and starts_word(text, start):
            if (
                name not in _AMBIG_CITIES or _STATE_AFTER.match(text, end)
            ) and not _NOT_PLACE_AFTER.match(text, end):
                hits.append((start, end, "location", "[CITY]"))
            return


def starts_word(text: str, i: int) -> bool:
    return i == 0 or not text[i - 1].isalnum()


def is_place(name: str) -> bool:
    return name not in _STATES and not all(w in _NOT_NAMES for w in re.split(r"[ .-]+", name) if w)


def zip3(value: str) -> str:
    """A ZIP cut to its first three digits, "000" for the 17 areas under 20,000 people."""
    return ("000" if value[:3] in _SMALL_ZIP3 else value[:3]) + "XX"
