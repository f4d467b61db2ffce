"""Tests for the digit-shape memo (`phi/digit_shapes.py`): its verdict never reads a digit's value,
it calls a text clean only when the full scan finds nothing there, and the engine with the memo
gives exactly the findings, texts and gate counts it gives without it, also on texts that differ
from earlier ones only in their digits."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health_training.data.phi import (
    addresses,
    cues,
    digit_shapes,
    find_phi,
    identifiers,
    rules,
    scrub_many,
)
from health_training.data.phi.caches import PhiCaches
from health_training.data.phi.lexicon import words_of
from health_training_tests.data import test_phi, test_phi_layers, test_phi_positions
from health_training_tests.data.test_phi_prechecks import _PIECES, _etl_texts

# Every hand-made case of the PHI tests, in many languages: each layer's findings are in here.
CASES = sorted(
    {text for _, text, _ in test_phi.POSITIVES}
    | set(test_phi.NEGATIVES)
    | {text for _, text, _ in test_phi_layers.IDENTIFIERS}
    | {text for text, _ in test_phi_layers.ADDRESSES}
    | {text for text, *_ in test_phi_layers.BLOCKS}
    | set(test_phi_layers.KEEP)
    | {text for text, _ in test_phi_positions.CUED}
    | {text for text, *_ in test_phi_positions.ADDRESSES}
    | {text for text, _ in test_phi_positions.NAMES}
    | set(test_phi_positions.UNCHANGED)
    | {test_phi.NOTE, test_phi.NARRATIVE}
    | {"write to ann@host.xyz", "Visit 12 Oak Street on 2025-01-03T08:15", "ip 10.0.0.1"}
)
_MORE_PIECES = ["SSN 123-45-6789", "a@b.de", "ann@host.xyz", "fischer.de", "10.0.0.1", "ZIP", "zip code", "PLZ",
                "Box", "PSC", "APO AE", "corner of", "Maple str", "utca", "Apt.", "DL", "IBAN",
                "MRN", "born", "aged", "at", "T08:15", "12:34:56", "Dr.", "Alice", "Boston", "MA",
                "Mobile:", "call me on", "4111 1111 1111 1111", "1M8GDM9AXKP042788", "SW1A 1AA"]  # fmt: skip
_TEXTS = st.builds(
    lambda parts, sep: sep.join(parts),
    st.lists(st.sampled_from(_PIECES + _MORE_PIECES), min_size=1, max_size=14),
    st.sampled_from(["", " ", ", "]),
)


def _other_digits(text: str, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(str(rng.randrange(10)) if c in "0123456789" else c for c in text)


def _verdict(text: str, use_ner: bool = True) -> object:
    return digit_shapes.nothing_to_find(text, text.encode(), use_ner)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS, st.integers(0, 2**16))
def test_the_verdict_reads_no_digit_value_and_clean_means_nothing_found(text, seed) -> None:
    other = _other_digits(text, seed)
    assert _verdict(text) == _verdict(other)
    if _verdict(text) is not None:
        assert find_phi(text) == [] and find_phi(other) == []


@pytest.mark.parametrize("text", CASES)
def test_no_layer_finds_anything_where_the_shape_says_clean(text: str) -> None:
    if not text.isascii():
        assert digit_shapes.clean_stats(text, True) is None  # judged by the layers only
        return
    words, data = words_of(text), text.encode()
    # Each layer's silence test says "may find" wherever the layer finds something.
    if rules.detect(text):
        assert not digit_shapes._rules_silent(text, data)
    if identifiers.detect(text, words):
        assert not (digit_shapes._identifiers_silent(text, data)
                    and words.isdisjoint(digit_shapes._SHAPE_WORDS) and "DL" not in text)  # fmt: skip
    if cues.detect(text, words):
        assert not (digit_shapes._cues_silent(text) and words.isdisjoint(digit_shapes._SHAPE_WORDS))
    if addresses.detect(text, words):
        assert not (
            digit_shapes._addresses_silent(text, words)
            and words.isdisjoint(digit_shapes._SHAPE_WORDS)
        )
    if find_phi(text):
        assert _verdict(text) is None
    if find_phi(text, ner=False):
        assert _verdict(text, use_ner=False) is None


def _compare(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with PhiCaches().activated():  # cold, so the memo fills from these texts
        fast = [scrub_many(texts[i : i + 3]) for i in range(0, len(texts), 3)]
        found = [find_phi(t) for t in texts]
    with monkeypatch.context() as patched:
        patched.setattr(digit_shapes, "clean_stats", lambda text, use_ner: None)
        with PhiCaches().activated():
            slow = [scrub_many(texts[i : i + 3]) for i in range(0, len(texts), 3)]
            slow_found = [find_phi(t) for t in texts]
    assert fast == slow and found == slow_found
    assert [r.gate for batch in fast for r in batch] == [r.gate for batch in slow for r in batch]


def test_the_memo_changes_nothing_on_etl_narratives_and_their_digit_variants(monkeypatch) -> None:
    texts = _etl_texts()
    variants = [_other_digits(t, i) for i, t in enumerate(texts)]
    with PhiCaches().activated() as memo:
        scrub_many(texts[:50])
        assert memo.sizes()["clean_shapes"] > 0  # the memo is in use
    # Originals first: their verdicts are reused for the variants of the same shape.
    _compare(texts + variants, monkeypatch)


def test_the_memo_changes_nothing_on_the_hand_made_cases(monkeypatch) -> None:
    variants = [_other_digits(t, i) for i, t in enumerate(CASES) for _ in range(2)]
    _compare(CASES + variants, monkeypatch)


def test_one_shape_one_verdict_and_non_ascii_text_is_never_judged() -> None:
    with PhiCaches().activated() as memo:
        a = digit_shapes.clean_stats("Resting heart rate was 58 bpm at 18:35.", True)
        b = digit_shapes.clean_stats("Resting heart rate was 91 bpm at 07:02.", True)
        assert a is not None and a == b and memo.sizes()["clean_shapes"] == 1
        assert digit_shapes.clean_stats("Call 555-123-4567 now.", True) is None
        assert digit_shapes.clean_stats("Heart rate 58 bpm, 18 °C.", True) is None
        assert memo.sizes()["clean_shapes"] == 2  # the phone's shape: "scan it"
