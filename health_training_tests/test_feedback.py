"""Feedback: import-file validation and accounting, corrections as examples, and the store on
SQLite. `StoreContract` holds the store tests; test_feedback_postgres.py runs them on Postgres.

The 1,000,000-row query-plan test runs only with HEALTH_TRAINING_BIG_TESTS=1.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health_training.data.feedback import (
    FeedbackError,
    FeedbackRecord,
    StoredFeedback,
    category_for_query,
    feedback_examples,
    parse_feedback_file,
    parse_rating,
    prepare_for_storage,
)
from health_training.data.phi import Pseudonymizer
from health_training.data.records import content_key
from health_training.feedback_store import (
    FeedbackStore,
    add_feedback_cli,
    feedback,
    import_feedback_file,
    normalize_url,
)

PHI_QUERY = "My name is Alice Morgan, call me at (555) 123-4567. Why is my glucose high?"
RAW_USER = "patient-raw-id-4242"
GOOD = {"query": "How did I sleep?", "response": "Poorly.", "rating": 4, "model_version": "v1"}


def _jsonl(*records: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _csv(*rows: list[object]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _record(rating: int = 4, **fields: object) -> FeedbackRecord:
    base = {"query": "How did I sleep?", "response": "Fine.", "rating": rating}
    return FeedbackRecord(**{**base, "model_version": "v1", **fields})


@pytest.fixture
def pseudonymize() -> Pseudonymizer:
    return Pseudonymizer(b"feedback-test-key-0123456789")


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
    result = parse_feedback_file("fb.jsonl", _jsonl(GOOD, line))
    assert (result.lines_read, len(result.accepted)) == (2, 1)
    (q,) = result.quarantined
    assert (q.source, q.line, q.reason) == ("fb.jsonl", 2, reason)
    assert q.detail.startswith("fb.jsonl:2: ") and words in q.detail


def test_undecodable_lines_are_quarantined_not_fatal():
    data = _jsonl(GOOD) + b"{not json\n\xff\xfe\n\n" + _jsonl(GOOD)
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
    first, second, third = parse_feedback_file("fb.jsonl", _jsonl(*lines)).accepted
    assert first.created_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)  # offset → UTC
    assert first.user_id == "77"  # numeric ids read as text; unknown columns ignored
    assert second.created_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # naive is UTC
    assert second.corrected_response is None  # empty correction = none
    assert third.context == "Mean 142 mg/dL" and third.created_at.tzinfo is UTC
    assert parse_feedback_file("fb.jsonl", _jsonl(GOOD)).accepted[0].created_at is None


def test_csv_header_is_line_one_and_rows_keep_their_lines():
    data = _csv(
        ["query", "Response", "rating", "model_version", "corrected_response", "unknown"],
        ["q1", "r1", "4", "v1", "", "x"],
        ["multi\nline query", "r2", "2", "v1", "better answer", "x"],
        ["q3", "r3", "five", "v1", "", "x"],
        ["q4", "r4"],
    )
    data = b"\xef\xbb\xbf" + data + b"\n,,,,,\n" + _csv(["q5", "r5", "1", "v2", "fix", ""])
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
        "x.csv", _csv(["query", "response", "model_version"], ["q", "r", "v"])
    )
    assert [(q.line, q.reason) for q in result.quarantined] == [(2, "missing_field")]


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("feedback.jsonl", _jsonl(GOOD), "jsonl"),
        ("feedback.CSV", _csv(list(GOOD), list(GOOD.values())), "csv"),
        ("export", _jsonl(GOOD), "jsonl"),  # no extension: the content decides
        ("export", _csv(list(GOOD), list(GOOD.values())), "csv"),
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
    csv_data = _csv(header, *([q, r, n, c or "", v] for q, r, n, c, v in rows))
    jsonl_data = _jsonl(*(dict(zip(header, row, strict=True)) for row in rows))
    for name, data in (("f.csv", csv_data), ("f.jsonl", jsonl_data)):
        result = parse_feedback_file(name, data)
        assert not result.quarantined, result.quarantined
        got = [(r.query, r.response, r.rating, r.corrected_response) for r in result.accepted]
        want = [(q, r, n, c if c and c.strip() else None) for q, r, n, c, _ in rows]
        assert got == want


def test_prepare_for_storage_scrubs_and_refuses_a_fake_pseudonymizer(pseudonymize):
    record = _record(query=PHI_QUERY, user_id=RAW_USER, corrected_response="Call (555) 123-4567")
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
            **kw,
        }
    )


def test_only_low_ratings_with_a_correction_become_train_examples():
    rows = [
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


# --- the store (shared with the Postgres tests) ---------------------------------------------------


def _all_stored_text(store: FeedbackStore) -> str:
    with store.engine.connect() as conn:
        return repr(conn.execute(sa.select(feedback)).all())


class StoreContract:
    """Store semantics every backend must meet; subclasses provide the `store` fixture."""

    @pytest.fixture
    def pseudonymize(self) -> Pseudonymizer:
        return Pseudonymizer(b"feedback-test-key-0123456789")

    def test_empty_store(self, store: FeedbackStore):
        assert store.max_id() == 0 and store.since(0) == []
        assert store.recent_average(10) == (None, 0)
        assert store.count_negative_since(0) == 0 and store.corrections() == []

    def test_phi_is_scrubbed_and_raw_user_ids_never_stored(self, store, pseudonymize):
        id_ = store.add(
            _record(1, query=PHI_QUERY, user_id=RAW_USER, corrected_response="Ring 555-123-4567"),
            pseudonymize,
        )
        (row,) = store.since(0)
        assert row.id == id_
        assert row.query == "My name is [NAME], call me at [PHONE]. Why is my glucose high?"
        assert row.corrected_response == "Ring [PHONE]"
        assert row.user_pseudonym == pseudonymize(RAW_USER)
        stored = _all_stored_text(store)
        for secret in (RAW_USER, "Alice", "Morgan", "555", "4567"):
            assert secret not in stored

    def test_ids_grow_and_since_reads_only_what_is_new(self, store, pseudonymize):
        first = store.add(_record(5, query="first"), pseudonymize)
        assert store.add_many([_record(n, query=f"q{n}") for n in (1, 2, 3, 4)], pseudonymize) == 4
        assert store.max_id() > first
        rows = store.since(first)
        assert [r.query for r in rows] == ["q1", "q2", "q3", "q4"]
        assert [r.id for r in rows] == sorted(r.id for r in rows) and rows[0].id > first
        assert [r.query for r in store.since(first, limit=2)] == ["q1", "q2"]
        assert store.since(store.max_id()) == []
        assert store.add(_record(3, query="last"), pseudonymize) > rows[-1].id

    def test_created_at_is_utc_and_filled_when_absent(self, store, pseudonymize):
        given_at = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)
        before = datetime.now(UTC) - timedelta(seconds=1)
        store.add_many([_record(created_at=given_at), _record(query="later")], pseudonymize)
        stamped, filled = store.since(0)
        assert stamped.created_at == given_at
        assert filled.created_at.tzinfo is UTC and filled.created_at >= before

    def test_duplicates_are_stored_once(self, store, pseudonymize):
        record = _record(2, user_id=RAW_USER, created_at=datetime(2025, 1, 1, tzinfo=UTC))
        first = store.add(record, pseudonymize)
        assert store.add(record, pseudonymize) == first
        assert store.add_many([record, _record(query="new")], pseudonymize) == 1
        assert len(store.since(0)) == 2

    def test_add_many_is_one_transaction(self, store, pseudonymize):
        store.add(_record(query="kept"), pseudonymize)
        # rating 9 bypasses validation; the database's check refuses it and the batch with it
        with pytest.raises(sa.exc.IntegrityError):
            store.add_many([_record(query="a"), _record(9, query="b")], pseudonymize)
        assert [r.query for r in store.since(0)] == ["kept"]

    def test_recent_average_covers_the_newest_window(self, store, pseudonymize):
        store.add_many(
            [_record(n, query=f"q{i}") for i, n in enumerate([1, 1, 5, 4, 3])], pseudonymize
        )
        assert store.recent_average(3) == (4.0, 3)
        assert store.recent_average(100) == (2.8, 5)
        with pytest.raises(ValueError, match="window"):
            store.recent_average(0)

    def test_count_negative_since(self, store, pseudonymize):
        ratings = [1, 2, 3, 4, 5, 1]
        store.add_many([_record(n, query=f"q{i}") for i, n in enumerate(ratings)], pseudonymize)
        ids = [r.id for r in store.since(0)]
        assert store.count_negative_since(0) == 3
        assert store.count_negative_since(ids[1]) == 1
        assert store.count_negative_since(0, threshold=4) == 4
        assert store.count_negative_since(ids[-1]) == 0

    def test_corrections(self, store, pseudonymize):
        records = [
            _record(1, query="a", corrected_response="fix a"),
            _record(2, query="b"),
            _record(3, query="c", corrected_response="fix c"),
            _record(2, query="d", corrected_response="fix d"),
        ]
        store.add_many(records, pseudonymize)
        rows = store.corrections()
        assert [r.query for r in rows] == ["a", "d"]
        assert [r.query for r in store.corrections(after_id=rows[0].id)] == ["d"]
        assert [r.query for r in store.corrections(max_rating=3)] == ["a", "c", "d"]
        examples = feedback_examples(rows, pseudonymize=pseudonymize)
        assert [e.output for e in examples] == ["fix a", "fix d"]

    def test_import_file_accounts_for_every_line(self, store, pseudonymize, tmp_path: Path):
        folder = tmp_path / "exports"
        folder.mkdir()
        path = folder / "feedback.csv"
        header = ["query", "response", "rating", "model_version", "user_id", "created_at"]
        path.write_bytes(
            _csv(
                header,
                [PHI_QUERY, "r", "1", "v1", RAW_USER, "2025-03-01T08:00:00Z"],
                ["q2", "r", "five", "v1", RAW_USER, ""],
                ["q3", "r", "4", "v1", "", "not a date"],
                ["q4", "r", "5", "v1", "", ""],
            )
        )
        summary = import_feedback_file(store, pseudonymize, path)
        qfile = folder / "feedback.quarantine.jsonl"
        assert summary == {
            "file": str(path),
            "format": "csv",
            "lines": 4,
            "accepted": 2,
            "added": 2,
            "duplicates": 0,
            "quarantined": 2,
            "quarantine_reasons": {"bad_rating": 1, "bad_timestamp": 1},
            "quarantine_file": str(qfile),
            "phi_scrubbed": {"name": 1, "phone": 1},
        }
        lines = [orjson.loads(line) for line in qfile.read_bytes().splitlines()]
        assert [(q["line"], q["reason"]) for q in lines] == [
            (3, "bad_rating"),
            (4, "bad_timestamp"),
        ]
        assert sorted(p.name for p in folder.iterdir()) == [path.name, qfile.name]  # no temp
        assert RAW_USER not in _all_stored_text(store)
        # importing the same export again adds nothing
        assert import_feedback_file(store, pseudonymize, path)["duplicates"] == 2
        # a corrected file leaves no stale quarantine behind
        path.write_bytes(_csv(header, ["q9", "r", "3", "v1", "", ""]))
        assert import_feedback_file(store, pseudonymize, path)["quarantine_file"] is None
        assert not qfile.exists() and len(store.since(0)) == 3

    def test_add_feedback_cli(self, store, pseudonymize):
        kwargs = {"query": "Why?", "response": "Because.", "model_version": "v2"}
        first = add_feedback_cli(store, pseudonymize, rating="2", user_id=RAW_USER, **kwargs)
        # the same rating typed twice is two ratings
        second = add_feedback_cli(store, pseudonymize, rating=2, user_id=RAW_USER, **kwargs)
        assert second > first and store.count_negative_since(0) == 2
        with pytest.raises(FeedbackError, match="outside 1-5") as err:
            add_feedback_cli(store, pseudonymize, rating=7, user_id=RAW_USER, **kwargs)
        assert err.value.reason == "bad_rating"
        assert RAW_USER not in _all_stored_text(store)


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path):
        store = FeedbackStore(tmp_path / "db" / "feedback.db")
        yield store
        store.dispose()

    def test_raw_user_id_is_nowhere_in_the_database_files(self, store, pseudonymize, tmp_path):
        store.add(_record(query=PHI_QUERY, user_id=RAW_USER), pseudonymize)
        store.dispose()
        blobs = b"".join(p.read_bytes() for p in (tmp_path / "db").iterdir())
        assert RAW_USER.encode() not in blobs and b"Alice" not in blobs

    def test_readers_walk_the_primary_key(self, store, pseudonymize):
        store.add_many([_record(n % 5 + 1, query=f"q{n}") for n in range(50)], pseudonymize)
        _assert_sqlite_plans(store)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/fb", "postgresql+psycopg2://u:p@db:5432/fb"),
        ("postgres://u@db/fb", "postgresql+psycopg2://u@db/fb"),
        ("postgresql+psycopg://u@db/fb", "postgresql+psycopg://u@db/fb"),
        ("sqlite:///var/feedback.db", "sqlite:///var/feedback.db"),
    ],
)
def test_normalize_url(url: str, expected: str):
    assert normalize_url(url) == expected


def test_a_path_is_a_sqlite_file(tmp_path: Path):
    assert normalize_url(tmp_path / "f.db") == f"sqlite:///{tmp_path / 'f.db'}"
    assert normalize_url("var/f.db") == f"sqlite:///{Path('var/f.db').resolve()}"


# --- query plans -------------------------------------------------------------------------------


def _assert_sqlite_plans(store: FeedbackStore) -> None:
    newest = store.max_id()
    for name, params in [
        ("since", {"after_id": newest - 10, "limit": 100}),
        ("count_negative_since", {"after_id": newest - 10, "threshold": 3}),
        ("corrections", {"after_id": newest - 10, "max_rating": 2}),
    ]:
        plan = store.query_plan(name, **params)
        assert plan == "SEARCH feedback USING INTEGER PRIMARY KEY (rowid>?)", (name, plan)
    # The newest rows: a backward walk of the primary key (Last, then Prev), stopped by the LIMIT;
    # no sort and no secondary index.
    plan = store.query_plan("recent_average", window=100)
    assert "SCAN feedback" in plan and "INDEX" not in plan and "TEMP B-TREE" not in plan, plan
    sql = store.statement("recent_average", window=100).compile(
        store.engine, compile_kwargs={"literal_binds": True}
    )
    with store.engine.connect() as conn:
        opcodes = [row[1] for row in conn.exec_driver_sql(f"EXPLAIN {sql}")]
    assert "Last" in opcodes and "Prev" in opcodes and "SorterOpen" not in opcodes
    assert "SEARCH feedback" in store.query_plan("max_id")


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("HEALTH_TRAINING_BIG_TESTS") != "1",
    reason="1,000,000-row plan test: set HEALTH_TRAINING_BIG_TESTS=1",
)
def test_plans_on_a_million_rows(tmp_path: Path):
    store = FeedbackStore(tmp_path / "big.db")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    columns = "created_at, model_version, rating, query, response, corrected_response, dedup_key"
    rows = [
        (now, "v1", i % 5 + 1, f"q{i}", "r", "c" if i % 7 == 0 else None, f"{i:064x}")
        for i in range(1_000_000)
    ]
    with store.engine.begin() as conn:  # one executemany in one transaction
        conn.exec_driver_sql(f"INSERT INTO feedback ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    assert store.max_id() == 1_000_000
    _assert_sqlite_plans(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # statistics must not talk the planner out of the PK
    _assert_sqlite_plans(store)
    assert store.recent_average(1000) == (3.0, 1000)
    assert store.count_negative_since(999_990) == 4
    store.dispose()
