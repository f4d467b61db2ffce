"""Preference data from rated answers: KTO labels, DPO pairs, rating 3 ignored, held-out prompts
never in train, PHI scrubbed, duplicates counted once, a version that only the content moves."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from health_training.data.feedback import StoredFeedback
from health_training.ml.lm.prompts import user_message
from health_training.ml.preference.examples import (
    build_preference_dataset,
    held_out_prompts,
    prompt_key,
)
from health_training.ml.preference.store import read_preference_dataset, write_preference_dataset

T0 = datetime(2025, 3, 1, tzinfo=UTC)
ASK = "How was my heart rate?"
FACTS = "Resting HR 58 bpm. Max HR 142 bpm."
GOOD = "Your resting heart rate was 58 bpm and peaked at 142 bpm."
BAD = "Your resting heart rate was 90 bpm."


def _row(i: int, rating: int, response: str = GOOD, **over) -> StoredFeedback:
    values = dict(
        id=i,
        created_at=T0,
        user_pseudonym=None,
        model_version="3",
        rating=rating,
        query=f"{ASK} (day {i})",
        response=response,
        corrected_response=None,
        context=FACTS,
    )
    values.update(over)
    return StoredFeedback(**values)


def _all_train(rows, **kw):
    # ratios that put every prompt in train: the split rule is tested on its own below
    return build_preference_dataset(rows, ratios=(("train", 1.0), ("test", 0.0)), **kw)


def test_ratings_become_kto_labels_and_a_3_teaches_nothing():
    data = _all_train([_row(1, 5), _row(2, 4), _row(3, 2, BAD), _row(4, 1, BAD), _row(5, 3)])
    kto = [e for e in data.examples if e.kind == "kto"]
    labels = {e.feedback_ids: e.desirable for e in kto}
    assert labels == {(1,): True, (2,): True, (3,): False, (4,): False}  # (5,): rated 3
    assert data.stats["ignored_neutral"] == 1 and data.stats["by_rating"]["3"] == 1
    assert data.stats["by_kind"] == {"kto_desirable": 2, "kto_undesirable": 2}
    assert data.stats["by_model_version"] == {"3": 5}


def test_same_answer_counts_once_with_its_mean_rating():
    same = dict(query=ASK)
    agree = _all_train([_row(1, 5, **same), _row(2, 4, **same)])
    (only,) = agree.examples
    assert only.desirable is True and only.ratings == (4.5,) and only.feedback_ids == (1, 2)
    # a 2 and a 4 for the same answer disagree: their mean, 3, is ignored
    disagree = _all_train([_row(1, 2, **same), _row(2, 4, **same)])
    assert disagree.examples == () and disagree.stats["ignored_neutral"] == 1


def test_pairs_from_corrections_and_from_high_and_low_answers_to_one_prompt():
    fixed = "Your resting heart rate was 58 bpm."
    rows = [
        _row(1, 1, BAD, query=ASK, corrected_response=fixed, model_version="3"),
        _row(2, 5, GOOD, query=ASK, model_version="4"),
        _row(3, 2, "Your heart rate peaked at 200 bpm.", query=ASK),
        _row(4, 4, "Your resting heart rate was 58 bpm.", query=ASK),
        _row(9, 1, BAD, query="Another prompt", corrected_response=BAD),  # no change: no pair
    ]
    data = _all_train(rows)
    pairs = {(e.source, e.chosen, e.rejected) for e in data.examples if e.kind == "dpo"}
    assert pairs == {
        ("correction", fixed, BAD),
        ("rating_pair", GOOD, BAD),  # the best-rated answer is chosen for every low one
        ("rating_pair", GOOD, "Your heart rate peaked at 200 bpm."),
    }
    pair = next(e for e in data.examples if e.source == "rating_pair" and e.rejected == BAD)
    assert pair.ratings == (5.0, 1.0) and pair.model_versions == ("3", "4")
    assert data.stats["by_kind"]["dpo_correction"] == 1


def test_a_prompt_of_the_frozen_test_split_never_trains():
    held = held_out_prompts(
        {"test": [{"instruction": ASK, "input": FACTS}], "validation": [{"instruction": "x"}]}
    )
    rows = [_row(1, 5, query=ASK), _row(2, 1, BAD, query=ASK, corrected_response=GOOD)]
    rows += [_row(3, 5, query="x", context=""), _row(4, 5)]
    # as a server stores it: the last user turn, the system turn as context
    served = user_message(ASK, FACTS)
    rows += [_row(5, 5, query=served, context="system: Answer briefly.")]
    data = _all_train(rows, held_out=held)
    splits = {(e.instruction, e.kind): e.split for e in data.examples}
    assert splits[(ASK, "kto")] == "test" and splits[(ASK, "dpo")] == "test"
    assert splits[("x", "kto")] == "validation" and splits[(served, "kto")] == "test"
    assert {e.instruction for e in data.train()} == {f"{ASK} (day 4)"}
    assert data.stats["pinned_to_held_out"] == 3


def test_the_prompt_key_is_the_user_turn_however_it_was_stored():
    # a server may store the instruction and the facts apart, or the whole user message
    assert prompt_key(ASK, FACTS) == prompt_key(user_message(ASK, FACTS))
    assert prompt_key(ASK, FACTS) == prompt_key(f"  {ASK}\n\n{FACTS.upper()} ")
    assert prompt_key(ASK, FACTS) != prompt_key(ASK, "Resting HR 59 bpm.")


def test_split_follows_the_sft_ratios_and_salt():
    rows = [_row(i, 5) for i in range(1, 201)]
    data = build_preference_dataset(rows)
    shares = {s: n / 200 for s, n in data.stats["by_split"].items()}
    assert 0.7 < shares["train"] < 0.9 and set(shares) == {"train", "validation", "test"}
    resalted = build_preference_dataset(rows, salt="v2")
    assert [e.split for e in resalted.examples] != [e.split for e in data.examples]


def test_phi_is_scrubbed_from_every_text():
    rows = [
        _row(
            1,
            1,
            "Call Dr. Alice Whitfield at (415) 555-0132 about 90 bpm.",
            query="Email me at jane.doe@example.com: how was my heart rate?",
            corrected_response="Your resting heart rate was 58 bpm; jane.doe@example.com.",
        )
    ]
    data = _all_train(rows)
    text = data.to_jsonl().decode()
    for secret in ("jane.doe@example.com", "555-0132", "Whitfield"):
        assert secret not in text
    assert data.stats["phi_replaced"] and len(data.examples) == 2  # kto + correction pair


def test_version_moves_with_content_only(tmp_path):
    rows = [_row(1, 5), _row(2, 1, BAD), _row(3, 2, BAD, query=ASK, corrected_response=GOOD)]
    data = _all_train(rows)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert _all_train(shuffled).version == data.version
    assert _all_train(rows[:2]).version != data.version
    folder = write_preference_dataset(data, tmp_path)
    back = read_preference_dataset(folder)
    assert back.version == data.version and back.examples == data.examples
    (folder / "examples.jsonl").write_bytes(data.to_jsonl().replace(b"58 bpm", b"59 bpm"))
    with pytest.raises(ValueError, match="rebuild the preference dataset"):
        read_preference_dataset(folder)
