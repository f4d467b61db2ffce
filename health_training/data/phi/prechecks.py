"""Necessary conditions, at C speed, for the slow paths of the identifier and address layers.

Most texts curation scrubs are ETL template narratives: ISO dates, ranges such as "70-180",
sentences like "Short walks after meals" or "24 values covering 24 hours". They fire the layers'
older, cheap hints (a date looks like a phone hint, "walk" is a street type, "covering 24" holds
the glued street type "ring" before a number), and then the slow paths ran a Python loop or a
large regex only to reject what they found. Each function here returns False only when its slow
path cannot find anything in the text, argued next to it; when it returns True the slow path
runs unchanged. Non-ASCII text always returns True (Unicode case and digit rules are not worth
re-deriving), and so does anything the argument does not cover.

The verdicts about single words are memoized in sets of the active `PhiCaches` (a pure function
of the word), so on template text, whose vocabulary is a few hundred words, the per-text cost is
a set difference.
"""

from __future__ import annotations

import re
from functools import cache

from health_training.data.phi import caches
from health_training.data.phi.lexicon import english_names, safe_words, street_types

# ---------------------------------------------------------------- phones (identifiers._phones)

# `_phones` keeps only `_PHONE_RUN` matches with 7+ digits that do not start with a date
# (`_NOT_PHONE.match`). In the run shape digits are "0", the run starters "(" and "+" are "p",
# the other characters a run is made of ([).\s/-]) stay, and every other byte is "a". A run lies
# inside one stretch of run bytes, so deleting the run characters leaves 7+ zeros in a row
# wherever a run with 7+ digits may be. An ISO date preceded, within its stretch, by nothing but
# [).\s/-] can only be held by a run that starts at its first digit (the run's look-behind
# forbids a start after a digit or "-"), which `_NOT_PHONE` rejects whole, so its digits are
# masked first. An extension ("x 12", "ext. 12", "#12") adds digits outside the stretch: when
# one may be there ("0x0", "0ext0", "0#0" once spaces and dots are dropped), the answer is True.
_SPACES = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f "
_RUN_INNER = (").-/" + _SPACES).encode()
_RUN_TABLE = bytes(
    ord("0") if chr(b).isdigit() else ord("p") if chr(b) in "(+"
    else b if b in _RUN_INNER else ord("a")
    for b in range(128)
) + b"a" * 128  # fmt: skip
_EXT_TABLE = bytes(ord("0") if chr(b).isdigit() else b if chr(b) in "xet#" else ord("a")
                   for b in range(128)) + b"a" * 128  # fmt: skip
_EXT_DROP = ("." + _SPACES).encode()
_RUN_DROP = _RUN_INNER + b"p"
_DATE, _MASK = b"0000-00-00", b"DDDDDDDDDD"
_DATE_LEADS = (b"a", b"a ", b"a\n", b"a  ")  # "a", then only [).\s/-] up to the date


def may_hold_phone(text: str, data: bytes) -> bool:
    """False only when `identifiers._phones` finds nothing in `text` (`data`: its UTF-8)."""
    if not text.isascii():
        return True
    compact = data.translate(_EXT_TABLE, _EXT_DROP)
    if b"0x0" in compact or b"0ext0" in compact or b"0#0" in compact:
        return True
    shape = b"a" + data.translate(_RUN_TABLE)
    if b"0000000" not in shape.translate(None, _RUN_DROP):
        return False
    for before in _DATE_LEADS:  # the usual ways a date follows a word: "on 2025-01-03"
        shape = shape.replace(before + _DATE, before + _MASK)
    return b"0000000" in shape.translate(None, _RUN_DROP)


# ------------------------------------------------- glued street types (addresses, "Hauptstraße 5")

# A glued match needs its type word T ("Hauptstraße") to end with a glued type and to be followed
# by white space and a digit, and is dropped when T is English (`is_english`). In ASCII text the
# lower-case word of `words_of` that ends where T ends is T itself, lower-cased, unless the
# character before that word is a digit, "_" or "'" (T's characters [\w'’-] reach further left
# than a word's [a-z-]). So if every such word is in `safe_words` or `english_names` (English in
# any letter case) and never follows a digit, "_" or "'", no glued match survives. The words
# that end in no glued type are remembered (`caches.not_glued`).


def may_hold_glued_street(
    text: str, low: str, words: frozenset[str], ends: tuple[str, ...]
) -> bool:
    """False only when the glued-street shape keeps no match in `text`; `ends`: the glued
    types' letters ("str" for "str.")."""
    if not text.isascii():
        return True
    memo = caches.active()
    not_glued = memo.not_glued
    new = words.difference(not_glued)
    glued = [w for w in new if w.endswith(ends)]
    if len(not_glued) + len(new) > memo.max_words:
        not_glued.clear()
    not_glued.update(w for w in new if not w.endswith(ends))
    for word in glued:
        if word not in safe_words() and word not in english_names():
            return True
        i = low.find(word)
        while i >= 0:
            if i > 0 and low[i - 1] in "0123456789_'":
                return True
            i = low.find(word, i + 1)
    return False


# --------------------------------------------- number-first streets (addresses, "418 Olson Rd")

# A number-first match is NUM [NUM] [compass] W{0,4} TYPE, the pieces separated by white space,
# and `_plausible` keeps it only when every W is capitalized or unknown to English. TYPE starts
# after white space and ends at a word boundary (the windows end on one), so in ASCII text it is
# a whole lower-case word of `words_of` or the part before a hyphen ("Street-side"). Walking back
# from each such TYPE over white-space tokens, a kept match needs a NUM-ending token within six
# steps with only capitalized or unknown `_WORD` tokens in between; where no TYPE has one, the
# shape keeps nothing. Which words are (or are not) a type is remembered (`caches.street_types`).
_WORD_TOKEN = re.compile(r"[^\W\d_][\w'’.-]*")
_NUM_END = re.compile(r"(?:^|[^\w/.,:-])\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?$")


@cache
def _types() -> frozenset[str]:
    return frozenset(w.lower() for w in street_types())


def may_hold_number_first_street(text: str, low: str, words: frozenset[str]) -> bool:
    """False only when the number-first street shape keeps no match in `text`."""
    if not text.isascii():
        return True
    memo = caches.active()
    is_type, not_type = memo.street_types, memo.not_street_types
    new = words.difference(not_type, is_type)
    if new:
        if len(not_type) + len(new) > memo.max_words:
            not_type.clear()
        for w in new:
            (is_type if w in _types() or w.split("-")[0] in _types() else not_type).add(w)
    for word in words.intersection(is_type):
        head = word.split("-")[0] if word not in _types() else word
        i = low.find(head)
        while i >= 0:
            if i > 0 and low[i - 1].isspace() and _number_before(text, i):
                return True
            i = low.find(head, i + 1)
    return False


def _number_before(text: str, i: int) -> bool:
    """A NUM-ending token within six white-space tokens before `i`, with only capitalized or
    unknown words between; True as well when the tokens run out before the text does."""
    lo = max(0, i - 300)
    tokens = text[lo:i].split()
    if lo > 0:
        tokens = tokens[1:]  # the first one may be cut
    safe = safe_words()
    for k, token in enumerate(reversed(tokens[-6:])):
        if _NUM_END.search(token):
            return True
        if k == 5 or not _WORD_TOKEN.fullmatch(token):
            return False
        if not token[0].isupper() and token.lower().strip(".") in safe:
            return False
    return lo > 0
