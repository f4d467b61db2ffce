"""The seeded wearable generator: determinism, realism, corruption, PHI truth, calibration."""

from __future__ import annotations

import re
from collections import Counter

import orjson
import pytest

from health_training.data.domains import CATEGORIES, RECORD_TYPES
from health_training.data.records import ETL_METADATA_FIELDS, content_key
from health_training.etl.clinical_types import Reading, SleepStage
from health_training.etl.generator import (
    generate_batches,
    generate_corpus,
    generate_journal_files,
)
from health_training.etl.profiles import make_profile

NUMBER = re.compile(r"\d+(?:\.\d+)?")
KEY = re.compile(r"training/(\w+)/(\d{4})/(\d{2})/health_journal_\2_\3\.jsonl")


def is_valid(line: bytes) -> bool:
    """What an ingester accepts: a JSON object with the text fields (a question the user states
    the numbers of has an empty input) and a numeric quality."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return (
        isinstance(doc, dict)
        and all(doc.get(k) for k in ("instruction", "output"))
        and isinstance(doc.get("input"), str)
        and isinstance(doc.get("metadata", {}).get("quality_score"), float)
    )


def is_question(record: dict) -> bool:
    return record["metadata"].get("example_kind") == "question"


def valid_records(files: dict[str, bytes]) -> list[dict]:
    return [
        orjson.loads(line)
        for data in files.values()
        for line in data.splitlines()
        if is_valid(line)
    ]


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(
        [(2025, 1), (2025, 2)], 12, seed=42, phi_note_share=0.05, malformed_share=0.02
    )


@pytest.fixture(scope="module")
def records(corpus):
    return valid_records(corpus.files)


def test_same_seed_same_bytes_other_seed_other_bytes():
    first = generate_journal_files([(2025, 1)], 4, seed=1)
    assert first == generate_journal_files([(2025, 1)], 4, seed=1)
    assert first != generate_journal_files([(2025, 1)], 4, seed=2)


def test_a_month_is_the_same_whichever_months_are_asked_for():
    alone = generate_journal_files([(2025, 2)], 4, seed=5, malformed_share=0.05)
    both = generate_journal_files([(2025, 1), (2025, 2)], 4, seed=5, malformed_share=0.05)
    assert alone == {k: v for k, v in both.items() if "/2025/02/" in k}


def test_files_are_keyed_by_domain_and_month(corpus):
    domains = set()
    for key in corpus.files:
        match = KEY.fullmatch(key)
        assert match, key
        domains.add(match.group(1))
        assert match.group(2, 3) in {("2025", "01"), ("2025", "02")}
        assert corpus.files[key].endswith(b"\n")
    assert domains <= set(CATEGORIES)
    renamed = generate_journal_files(
        [(2025, 1)], 3, seed=42, category_map={"SleepSessionRecord": "sleep_wellness"}
    )
    assert any("/sleep_wellness/" in k for k in renamed)


def test_counts_and_malformed_lines_match_the_ground_truth(corpus):
    lines = [line for data in corpus.files.values() for line in data.splitlines()]
    valid = sum(map(is_valid, lines))
    assert len(lines) == corpus.examples + corpus.malformed
    assert valid == corpus.examples
    assert 0.01 < corpus.malformed / len(lines) < 0.03
    clean = generate_corpus([(2025, 1)], 5, seed=3, malformed_share=0.0)
    assert clean.malformed == 0
    assert all(is_valid(line) for data in clean.files.values() for line in data.splitlines())


def test_every_valid_line_honours_the_contract(records):
    narratives = [r for r in records if not is_question(r)]
    questions = [r for r in records if is_question(r)]
    assert 0.1 < len(questions) / len(records) < 0.35  # etl/questions: one per ~4 batches
    for rec in questions:
        assert list(rec["metadata"])[: len(ETL_METADATA_FIELDS)] == list(ETL_METADATA_FIELDS)
    for rec in narratives:
        meta = rec["metadata"]
        assert list(meta) == [*ETL_METADATA_FIELDS, "content_hash"]
        assert meta["record_type"] in RECORD_TYPES
        assert 300 <= len(rec["output"]) <= 900
        assert set(NUMBER.findall(rec["output"])) <= set(NUMBER.findall(rec["input"]))
    keys = [content_key(r["instruction"], r["input"], r["output"]) for r in records]
    assert len(set(keys)) == len(keys)  # the generator writes no duplicate examples


def test_phi_ground_truth(corpus, records):
    assert corpus.phi_values
    text = "\n".join(r["input"] for r in records)
    assert all(value in text for value in corpus.phi_values)  # each sits in a valid example
    outputs = "\n".join(r["output"] for r in records)
    assert not any(value in outputs for value in corpus.phi_values)
    kinds = {
        "ssn": r"\d{3}-\d{2}-\d{4}",
        "phone": r"\(\d{3}\) \d{3}-\d{4}",
        "email": r"\S+@\S+\.\w+",
        "url": r"https://\S+",
        "ip": r"\d+\.\d+\.\d+\.\d+",
        "dob": r"\d{2}/\d{2}/\d{4}",
    }
    for kind, pattern in kinds.items():
        assert any(re.fullmatch(pattern, v) for v in corpus.phi_values), kind
    assert any(re.fullmatch(r"(a )?\d{2,3}[- ]years?[- ]old", v) for v in corpus.phi_values)
    none = generate_corpus([(2025, 1)], 5, seed=3, phi_note_share=0.0)
    assert none.phi_values == ()


def test_plain_notes_and_phi_notes_have_controlled_shares():
    batches = list(generate_batches([(2025, 1)], 20, seed=9, phi_note_share=0.02))
    noted = sum(b.note is not None for b in batches) / len(batches)
    assert 0.03 < noted < 0.08  # 2 % PHI + 3 % plain notes


def test_profiles_and_record_types_vary():
    profiles = [make_profile(11, i) for i in range(200)]
    assert min(p.age for p in profiles) >= 18 and max(p.age for p in profiles) <= 95
    assert {p.diabetes for p in profiles} == {"", "t1", "t2"}
    assert any(p.athlete for p in profiles) and any(p.poor_sleeper for p in profiles)
    wears_cgm = [p for p in profiles if "BloodGlucoseRecord" in p.devices]
    assert 0 < len(wears_cgm) < len(profiles)
    batches = list(generate_batches([(2025, 3)], 6, seed=11))
    per_user = Counter((b.user_id, b.record_type) for b in batches)
    assert max(per_user.values()) <= 31
    for b in batches:
        kind = SleepStage if b.record_type == "SleepSessionRecord" else Reading
        assert b.readings and all(isinstance(r, kind) for r in b.readings)


def test_traces_are_realistic(records):
    by_type = Counter(r["metadata"]["record_type"] for r in records if not is_question(r))
    assert set(by_type) == set(RECORD_TYPES)
    insights = Counter(s.split(":")[0] for r in records for s in r["metadata"]["clinical_insights"])
    assert any("hypoglycemic" in s for s in insights)  # occasional hypos
    qualities = [r["metadata"]["quality_score"] for r in records]
    assert min(qualities) < 0.7 < max(qualities)  # sensor gaps and errors lower quality
    assert any("implausible excluded" in r["input"] for r in records)


def test_default_filters_pass_about_half():
    records = valid_records(generate_journal_files([(2025, 4)], 30, seed=2))
    passed = [
        r
        for r in records
        if r["metadata"]["quality_score"] >= 0.7
        and r["metadata"]["complexity_level"] in ("moderate", "high")
        and r["metadata"]["clinical_relevance"] != "standard"
    ]
    assert 0.40 <= len(passed) / len(records) <= 0.65
