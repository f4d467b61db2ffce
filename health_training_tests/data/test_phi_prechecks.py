"""Tests for the PHI engine's fast paths: each precheck may only say "nothing here" when the slow
path it guards finds nothing, the gate's C-speed counts equal its regex counts, and on generated
ETL narratives (PHI notes included) the engine with every fast path gives exactly what it gives
with the fast paths turned off."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health_training.data.phi import addresses, identifiers, ner_gate, prechecks, scrub_many
from health_training.data.phi.caches import PhiCaches
from health_training.data.phi.lexicon import is_english, words_of
from health_training.etl.generator import generate_corpus

# Pieces of template narratives and of the identifiers the prechecks guard, glued at random.
_PIECES = [
    "2025-01-03", " ", "  ", "\n", "\t", "70-180", "mg/dL", "Short walks", "covering 24 hours", "(",
    ")", "x", "ext.", "#", "12", "555", "123-4567", "+1", "+44", "00", "Hauptstrasse", "straat",
    "ring", "Ring", "o'ring", "_", "'", "Oak", "Street", "walk", "light", "N.", "Apt", "418",
    "Olson", "Landing", "Rd", "road", "the", "2", "7", "1234567", "12/34/56/7", ".", ",", "-", "/",
    "Kowalski", "Nassaustraat", "weg", "covering", "a", "B", "3rd", "St.", "Way", "10,000", "(555)",
    "2025/01/03", ":", "ways", "steps.", "Close", "Str.", "laan", "Dr", "e", "t", "Ext", "!", "?",
]  # fmt: skip
_TEXTS = st.builds(
    lambda parts, sep: sep.join(parts),
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12),
    st.sampled_from(["", " "]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_prechecks_only_skip_what_the_slow_paths_would_not_find(text: str) -> None:
    low, words = text.lower(), words_of(text)
    if not prechecks.may_hold_phone(text, text.encode()):
        hits: list[tuple[int, int, str, str]] = []
        identifiers._phones(text, hits)
        assert hits == []
    number_first, glued, *_ = addresses._patterns()
    if not prechecks.may_hold_glued_street(text, low, words, addresses._GLUED_ENDS):
        kept = [
            m for m in glued.finditer(text)
            if not is_english(m["type"]) and addresses._plausible(m, False)
        ]  # fmt: skip
        assert kept == []
    if not prechecks.may_hold_number_first_street(text, low, words):
        for lo, hi in addresses._windows(low, words & addresses._types()):
            assert not any(
                addresses._plausible(m, False) for m in number_first.finditer(text, lo, hi)
            )
    body = text.strip()
    if "\n" not in body:
        assert ner_gate._sentence_ends(body) == len(ner_gate._BOUNDARY.findall(body))


def _etl_texts() -> list[str]:
    corpus = generate_corpus([(2025, 2)], users=1, seed=5, phi_note_share=0.3)
    texts = []
    for data in corpus.files.values():
        for line in data.splitlines():
            try:
                record = orjson.loads(line)
                texts += [record["instruction"], record.get("input") or "", record["output"]]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
    return texts


def test_fast_paths_change_nothing_on_etl_narratives(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _etl_texts()
    assert any("User note" in t and "MRN" in t for t in texts)  # PHI notes are in the sample
    with PhiCaches().activated():  # cold: nothing an earlier test left behind is reused
        fast = [scrub_many(texts[i : i + 3]) for i in range(0, len(texts), 3)]
    for module, name in [
        (identifiers, "may_hold_phone"),
        (addresses, "may_hold_glued_street"),
        (addresses, "may_hold_number_first_street"),
    ]:
        monkeypatch.setattr(module, name, lambda *args: True)
    monkeypatch.setattr(
        ner_gate, "_sentence_ends", lambda body: len(ner_gate._BOUNDARY.findall(body))
    )
    with PhiCaches().activated():  # no verdict, memo or model answer carries over
        slow = [scrub_many(texts[i : i + 3]) for i in range(0, len(texts), 3)]
    assert fast == slow
    assert [r.gate for batch in fast for r in batch] == [r.gate for batch in slow for r in batch]
