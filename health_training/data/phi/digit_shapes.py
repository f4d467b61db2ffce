"""Texts that are clean whatever their digits say: one verdict per digit shape.

ETL narratives are template sentences with numbers filled in ("Resting heart rate was 58 bpm,
within the 40-85 bpm reference range."): 53,600 distinct texts of a 20,000-record journal have
9,000 shapes once every digit reads "0". Most of them hold nothing a layer could take, and each
layer says so with tests that look at the letters, the punctuation and where the digits are,
never at a digit's value (that is what validation, Luhn sums, ZIP tables and dates do, later).
`clean_stats` runs exactly those tests (`nothing_to_find`), remembers the verdict per shape in
the active `PhiCaches` (`clean_shapes`), and answers the gate's counts for every later text of
the same shape without running a layer; any other text goes through the layers as before, so
the findings are the same with or without this memo.

`nothing_to_find` is the conjunction of each layer's early exits, written next to each other so
they can be read against the layers: `rules.detect`, `identifiers.detect`, `cues.detect`,
`addresses.detect` (with `address_forms.detect`) and, with the model, `ner_gate.template_plan`.
Each test below returns "may find" wherever its layer would go past its prefilter; being
stricter than the layer is allowed (the text is then scanned in full), being looser is a bug
that `health_training_tests/data/test_phi_digit_shapes.py` looks for on the dev sets. Only ASCII
text is judged here: `\\d` and `str.isdigit` also match other scripts' digits.
"""

from __future__ import annotations

import hashlib

from health_training.data.phi import address_forms, addresses, caches, cues, identifiers, ner_gate
from health_training.data.phi.findings import GateStats
from health_training.data.phi.lexicon import words_of
from health_training.data.phi.prechecks import (
    may_hold_glued_street,
    may_hold_number_first_street,
    may_hold_phone,
)
from health_training.data.phi.rules_patterns import (
    _HEX_CHAIN,
    _PRE_DASH,
    _PRE_DOT,
    _PRE_PAREN,
    _PRE_PLUS,
    _TOKEN_TABLE,
    _TRIGGERS,
    _TS_COLON,
)

_NO_GATE = GateStats()
_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SHAPE_WORDS = (
    identifiers._CUE_WORDS
    | cues._POSTCODE_WORDS
    | addresses._CUE_WORDS
    | addresses._BOX_WORDS
    | address_forms._SEPARATE_WORDS
    | address_forms._FLAT_WORDS
    | address_forms._MILITARY_WORDS
    | address_forms._CORNER_WORDS
)  # a text with one of these words runs a cued or worded rule: scanned in full


def clean_stats(text: str, use_ner: bool) -> GateStats | None:
    """The gate's counts when `text` is clean by its shape alone, else None (scan it)."""
    if not text.isascii():
        return None
    data = text.encode()
    key = hashlib.blake2b(data.translate(_TO_ZERO), digest_size=16).digest()
    key += b"n" if use_ner else b""
    memo = caches.active()
    known = memo.clean_shapes.get(key)
    if known is not None:
        return known or None  # an empty tuple: this shape needs a scan
    stats = nothing_to_find(text, data, use_ner)
    if len(memo.clean_shapes) >= memo.max_clean_texts:
        memo.clean_shapes.clear()
    memo.clean_shapes[key] = stats or ()
    return stats


def nothing_to_find(text: str, data: bytes, use_ner: bool) -> GateStats | None:
    """The gate's counts if no layer can find anything in ASCII `text` (`data`: its bytes),
    decided without reading a digit's value; else None."""
    words = words_of(text)  # digits separate words: the same set for every digit
    if not words.isdisjoint(_SHAPE_WORDS) or "DL" in text:
        return None
    if not (_rules_silent(text, data) and _identifiers_silent(text, data)):
        return None
    if not (_cues_silent(text) and _addresses_silent(text, words)):
        return None
    if not use_ner:
        return _NO_GATE
    plan = ner_gate.template_plan(text)  # words and sentence ends only
    return plan.stats if plan is not None else None


def _rules_silent(text: str, data: bytes) -> bool:
    """`rules.detect` returns before any rule runs: no cue token (digits split tokens), no "@",
    no digit shape of its prefilter (`\\d` classes only), no timestamp colon or hex chain."""
    if not _TRIGGERS.isdisjoint(data.translate(_TOKEN_TABLE).split()) or "@" in text:
        return False
    if _PRE_DASH.search(text) or _PRE_DOT.search(text):
        return False
    if (")" in text and _PRE_PAREN.search(text)) or ("+" in text and _PRE_PLUS.search(text)):
        return False
    return ":" not in text or not (_TS_COLON.search(text) or _HEX_CHAIN.search(text))


def _identifiers_silent(text: str, data: bytes) -> bool:
    """`identifiers.detect` runs no finder: its tests read the text's shape (digits -> "0"),
    and its cue words were refused above."""
    shape = data.translate(identifiers._SHAPE_TABLE)
    if b"0" not in shape:
        return True
    if any(hint in shape for hint in identifiers._PHONE_HINTS) and may_hold_phone(text, data):
        return False
    if b"0000" in shape and (b"0000 0000" in shape or b"0000-0000" in shape
                             or b"00000000" in shape):  # fmt: skip
        return False
    return b"A0" not in shape and b"0A" not in shape


def _cues_silent(text: str) -> bool:
    """`cues.detect`: no postcode word (refused above) and no domain ending after a letter or
    digit."""
    if "." not in text:
        return True
    return not any(
        text[m.start() - 1 : m.start()].isalnum() for m in cues._DOMAIN_HINT.finditer(text)
    )


def _addresses_silent(text: str, words: frozenset[str]) -> bool:
    """`addresses.detect` opens no window: every test reads words, `\\d` classes and whether a
    character is a digit. The worded forms (cues, boxes, address_forms) were refused above."""
    low = text.lower()
    types = words & addresses._types()
    if types and may_hold_number_first_street(text, low, words) and addresses._windows(low, types):
        return False
    if addresses._windows(low, words & addresses._ROMANCE_WORDS, number_after=True):
        return False
    if may_hold_glued_street(text, low, words, addresses._GLUED_ENDS) and addresses._glued_hints(
        low
    ):
        return False
    if "\n" not in text:
        return True
    return words.isdisjoint(addresses._UNIT_WORDS) and not address_forms._POSTCODE_LINE.search(text)
