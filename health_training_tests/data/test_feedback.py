"""Feedback files and records (health_training/data/feedback.py): import-file validation and
accounting, rating forms, PHI scrubbing before storage, and corrections as training examples.
The store itself is tested in health_training_tests/stores/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health_training.data.correction_examples import category_for_query, feedback_examples
from health_training.data.feedback import (
    FeedbackError,
    StoredFeedback,
    parse_rating,
    prepare_for_storage,
)
from health_training.data.feedback_import import parse_feedback_file
from health_training.data.phi import Pseudonymizer
from health_training.data.records import content_key
from health_training_tests.feedback_samples import (
    GOOD,
    PHI_QUERY,
    PSEUDONYM_KEY,
    RAW_USER,
    csv_bytes,
    jsonl,
    sample_record,
)


@pytest.fixture
def pseudonymize() -> Pseudonymizer:
    return Pseudonymizer(PSEUDONYM_KEY)


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason", "words"),
    [
        ({**GOOD, "query": None}, "missing_field", "'query' is missing"),
        ({k: v for k, v in GOOD.items() if k != "response"}, "missing_field", "'response'"),
        ({k: v for k, v in GOOD.items() if k != "rating"}, "missing_field", "'rating'"),
        ({k: v for k, v in GOOD.items() if k != "model_version"}, "missing_field", "model_version"),
        ({**GOOD, "response": "   "}, "empty_field", "'response' is empty"),
        ({**GOOD, "query": 42}, "wrong_type", "'query' must be a string, got a number"),
        ({**GOOD, "corrected_response": ["x"]}, "wrong_type", "got an array"),
        ({**GOOD, "rating": "five"}, "bad_rating", "whole number 1-5, got 'five'"),
        ({**GOOD, "rating": 4.5}, "bad_rating", "got 4.5"),
        ({**GOOD, "rating": True}, "bad_rating", "got True"),
        ({**GOOD, "rating": 0}, "bad_rating", "rating 0 is outside 1-5"),
        ({**GOOD, "rating": "6"}, "bad_rating", "rating 6 is outside 1-5"),
        ({**GOOD, "created_at": "yesterday"}, "bad_timestamp", "not ISO-8601"),
        ({**GOOD, "created_at": 1735689600}, "wrong_type", "'created_at' must be a string"),
        ({**GOOD, "query": "a\x00b"}, "nul_character", "NUL"),
        ([GOOD], "not_an_object", "line is an array"),
    ],
)
def test_each_reason_names_the_line_and_the_problem(line: object, reason: str, words: str):
    result = parse_feedback_file("fb.jsonl", jsonl(GOOD, line))
    assert (result.lines_read, len(result.accepted)) == (2, 1)
    (q,) = result.quarantined
    assert (q.source, q.line, q.reason) == ("fb.jsonl", 2, reason)
    assert q.detail.startswith("fb.jsonl:2: ") and words in q.detail


def test_undecodable_lines_are_quarantined_not_fatal():
    data = jsonl(GOOD) + b"{not json\n\xff\xfe\n\n" + jsonl(GOOD)
    result = parse_feedback_file("fb.jsonl", data)
    assert [(q.line, q.reason) for q in result.quarantined] == [
        (2, "invalid_json"),
        (3, "not_utf8"),
    ]
    assert result.lines_read == 4 and result.balanced  # the blank line 4 is not a record


@pytest.mark.parametrize(
    ("value", "expected"), [(4, 4), ("4", 4), (" 2 ", 2), (5.0, 5), ("1.0", 1)]
)
def test_rating_forms_accepted(value: object, expected: int):
    assert parse_rating(value) == expected


@pytest.mark.parametrize("value", ["five", "", "nan", "inf", 4.5, "3.5", None, True, [4], -1, 10])
def test_rating_forms_refused(value: object):
    with pytest.raises(FeedbackError) as err:
        parse_rating(value)
    assert err.value.reason == "bad_rating"


def test_optional_fields_and_timestamps():
    lines = [
        {**GOOD, "created_at": "2025-03-01T12:00:00+02:00", "user_id": 77, "extra": {"x": 1}},
        {**GOOD, "created_at": "2025-03-01T12:00:00", "corrected_response": ""},
        {**GOOD, "created_at": "2025-03-01T10:00:00Z", "context": "Mean 142 mg/dL"},
    ]
    first, second, third = parse_feedback_file("fb.jsonl", jsonl(*lines)).accepted
    assert first.created_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)  # offset → UTC
    assert first.user_id == "77"  # numeric ids read as text; unknown columns ignored
    assert second.created_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # naive is UTC
    assert second.corrected_response is None  # empty correction = none
    assert third.context == "Mean 142 mg/dL" and third.created_at.tzinfo is UTC
    assert parse_feedback_file("fb.jsonl", jsonl(GOOD)).accepted[0].created_at is None


def test_csv_header_is_line_one_and_rows_keep_their_lines():
    data = csv_bytes(
        ["query", "Response", "rating", "model_version", "corrected_response", "unknown"],
        ["q1", "r1", "4", "v1", "", "x"],
        ["multi\nline query", "r2", "2", "v1", "better answer", "x"],
        ["q3", "r3", "five", "v1", "", "x"],
        ["q4", "r4"],
    )
    data = b"\xef\xbb\xbf" + data + b"\n,,,,,\n" + csv_bytes(["q5", "r5", "1", "v2", "fix", ""])
    result = parse_feedback_file("export.csv", data)
    assert result.format == "csv"
    assert [r.query for r in result.accepted] == ["q1", "multi\nline query", "q5"]
    assert result.accepted[1].corrected_response == "better answer"
    assert result.accepted[0].corrected_response is None
    assert [(q.line, q.reason) for q in result.quarantined] == [
        (5, "bad_rating"),
        (6, "bad_csv_row"),
    ]
    assert "row has 2 fields, the header (line 1) has 6" in result.quarantined[1].detail
    assert result.quarantined[0].raw == "q3,r3,five,v1,,x"
    assert result.lines_read == 5 and result.balanced  # blank and all-empty rows are not records


def test_csv_missing_column_is_reported_per_row():
    result = parse_feedback_file(
        "x.csv", csv_bytes(["query", "response", "model_version"], ["q", "r", "v"])
    )
    assert [(q.line, q.reason) for q in result.quarantined] == [(2, "missing_field")]


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("feedback.jsonl", jsonl(GOOD), "jsonl"),
        ("feedback.CSV", csv_bytes(list(GOOD), list(GOOD.values())), "csv"),
        ("export", jsonl(GOOD), "jsonl"),  # no extension: the content decides
        ("export", csv_bytes(list(GOOD), list(GOOD.values())), "csv"),
    ],
)
def test_format_detection(name: str, data: bytes, fmt: str):
    result = parse_feedback_file(name, data)
    assert (result.format, len(result.accepted), len(result.quarantined)) == (fmt, 1, 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["f.jsonl", "f.csv", "f"]),
    data=st.binary(max_size=2000)
    | st.lists(st.sampled_from([b"{", b"}", b",", b'"', b"\n", b"\r", b"4", b"query", b"\x00"]))
    .map(b"".join)
    .map(lambda body: b"query,response,rating,model_version\n" + body),
)
def test_arbitrary_bytes_never_crash_and_always_add_up(name: str, data: bytes):
    result = parse_feedback_file(name, data)
    assert result.lines_read == len(result.accepted) + len(result.quarantined)
    assert all(q.line >= 1 and q.reason and q.detail for q in result.quarantined)


_texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    str.strip
)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_texts, _texts, st.integers(1, 5), st.none() | _texts, _texts), max_size=10
    )
)
def test_valid_records_round_trip_through_csv_and_jsonl(rows):
    header = ["query", "response", "rating", "corrected_response", "model_version"]
    csv_data = csv_bytes(header, *([q, r, n, c or "", v] for q, r, n, c, v in rows))
    jsonl_data = jsonl(*(dict(zip(header, row, strict=True)) for row in rows))
    for name, data in (("f.csv", csv_data), ("f.jsonl", jsonl_data)):
        result = parse_feedback_file(name, data)
        assert not result.quarantined, result.quarantined
        got = [(r.query, r.response, r.rating, r.corrected_response) for r in result.accepted]
        want = [(q, r, n, c if c and c.strip() else None) for q, r, n, c, _ in rows]
        assert got == want


def test_prepare_for_storage_scrubs_and_refuses_a_fake_pseudonymizer(pseudonymize):
    record = sample_record(
        query=PHI_QUERY, user_id=RAW_USER, corrected_response="Call (555) 123-4567"
    )
    clean, counts = prepare_for_storage(record, pseudonymize)
    assert clean.query == "My name is [NAME], call me at [PHONE]. Why is my glucose high?"
    assert clean.corrected_response == "Call [PHONE]"
    assert clean.user_id == pseudonymize(RAW_USER) and counts == {"name": 1, "phone": 2}
    with pytest.raises(ValueError, match="pseudonym"):
        prepare_for_storage(record, lambda user_id: user_id)


# --- corrections as examples ----------------------------------------------------------------------


def _row(id_: int, rating: int, corrected: str | None, query: str = "q", **kw) -> StoredFeedback:
    return StoredFeedback(
        **{
            "id": id_,
            "created_at": datetime(2025, 3, 1, tzinfo=UTC),
            "user_pseudonym": "u_" + "0" * 20,
            "model_version": "v3",
            "rating": rating,
            "query": query,
            "response": "bad answer",
            "corrected_response": corrected,
            "context": "",
            "review_status": "approved" if corrected is not None else None,
            "reviewed_by": "admin-key:k_0000000000000000" if corrected is not None else None,
            **kw,
        }
    )


def test_only_low_ratings_with_an_approved_correction_become_train_examples():
    rows = [
        _row(7, 1, "unreviewed", "Why?", review_status="pending", reviewed_by=None),
        _row(8, 1, "refused", "Why?", review_status="rejected"),
        _row(1, 1, "Your glucose averaged 142 mg/dL.", "Why was my glucose high?"),
        _row(2, 2, None),
        _row(3, 3, "fine already"),
        _row(4, 2, "   "),
        _row(5, 2, "Your glucose averaged 142 mg/dL.", "Why was my glucose high?"),  # duplicate
        _row(6, 2, "Call me at (555) 123-4567", "Sleep?", context="Slept 6 h"),
    ]
    examples = feedback_examples(reversed(rows))
    assert [e.metadata["feedback_id"] for e in examples] == [1, 6]  # first id kept on duplicates
    first, second = examples
    assert (first.instruction, first.input, first.output) == (
        "Why was my glucose high?",
        "",
        "Your glucose averaged 142 mg/dL.",
    )
    assert first.metadata == {
        "source_format": "feedback",
        "training_category": "metabolic_diabetes",
        "feedback_id": 1,
        "model_version": "v3",
        "rating": 1,
        "created_at": "2025-03-01T00:00:00+00:00",
        "content_key": content_key(first.instruction, first.input, first.output),
        "split": "train",
        "user_id": "u_" + "0" * 20,
        "reviewed_by": "admin-key:k_0000000000000000",
    }
    assert second.output == "Call me at [PHONE]"  # scrubbed again on the way out
    assert second.input == "Slept 6 h" and second.metadata["training_category"] == "sleep_recovery"


@pytest.mark.parametrize(
    ("query", "category"),
    [
        ("Why is my glucose so high after dinner?", "metabolic_diabetes"),
        ("Is my resting heart rate of 58 bpm ok?", "cardiovascular_fitness"),
        ("What does my HRV say about stress?", "autonomic_health"),
        ("Explain my heart rate variability", "autonomic_health"),
        ("How well did I sleep last night?", "sleep_recovery"),
        ("Did I reach 10,000 steps?", "physical_activity"),
        ("How many calories did I burn?", "energy_metabolism"),
        ("How am I doing overall?", "general_health"),
        ("Does sleep change my glucose?", "general_health"),  # two domains: not clear
    ],
)
def test_category_from_query(query: str, category: str):
    assert category_for_query(query) == category
