"""The ETL contract as the upstream writes it: the OLMo spec's vocabulary and ETL Module 4's field
names are accepted, mapped onto ours and filtered as the spec says; unknown values still quarantine.

The seed documents are not in this repository; the two records below follow the field lists and
values the OLMo spec and ETL Module 4 give (`complexity_level: high_clinical`,
`clinical_relevance: high_clinical_relevance`, `source_s3_key`; `health_domain`, `record_count`,
`source_key`, `correlation_id`, `clinical_insights` as an object).
"""

from __future__ import annotations

import orjson
import pytest

from health_training.data.config import FilterPolicy, PhiPolicy, load_data_config
from health_training.data.curation import curate, filter_reason
from health_training.data.formats import parse_file
from health_training.data.ingest import ingest_month
from health_training.data.phi import Pseudonymizer
from health_training.data.records import schema_problems
from health_training.etl.generator import generate_corpus

OLMO_SPEC_RECORD = {
    "instruction": "Analyze the following blood glucose data and provide clinical insights.",
    "input": "Blood glucose readings over 24 hours: mean 156 mg/dL, range 98-243 mg/dL, "
    "time in range 58%, 2 readings above 250 mg/dL.",
    "output": "Glucose control is suboptimal: time in range is 58%, below the 70% target, with "
    "post-meal peaks up to 243 mg/dL. Review meal composition and medication timing.",
    "metadata": {
        "source_s3_key": "raw/health_connect/user_0123/BloodGlucoseRecord/2025/01/15.json",
        "record_type": "BloodGlucoseRecord",
        "training_category": "metabolic_diabetes",
        "complexity_level": "high_clinical",
        "clinical_relevance": "high_clinical_relevance",
        "records_processed": 288,
        "quality_score": 0.92,
        "processing_timestamp": "2025-01-16T02:00:00Z",
    },
}

MODULE4_RECORD = {
    "instruction": "Interpret this night of sleep data and assess sleep quantity and quality.",
    "input": "Record type: SleepSessionRecord. Night: 2025-01-14. Sleep session 23:10-06:40: "
    "450 min in bed, 402 min asleep (6 h 42 min). Sleep efficiency 89%.",
    "output": "The user slept 6 h 42 min of 450 min in bed, a sleep efficiency of 89%. "
    "Duration was below the recommended 7-9 h.",
    "metadata": {
        "source_key": "raw/wearables/user_0042/SleepSessionRecord/2025/01/2025-01-14.json",
        "record_type": "SleepSessionRecord",
        "health_domain": "sleep_wellness",
        "complexity_level": "moderate_clinical",
        "clinical_relevance": "moderate_clinical_relevance",
        "record_count": 14,
        "quality_score": 0.81,
        "clinical_insights": {"sleep_efficiency": 89, "duration_flag": "short_sleep"},
        "correlation_id": "9f1c2e7a-etl-m4-0001",
        "processing_timestamp": "2025-01-15T03:12:44Z",
        "user_id": "user_0042",
    },
}

# The OLMo spec's words for each of our internal values (what the YAML maps back).
SEED_COMPLEXITY = {
    "low": "basic_clinical",
    "moderate": "moderate_clinical",
    "high": "high_clinical",
}
SEED_RELEVANCE = {
    "standard": "standard_clinical_relevance",
    "elevated": "moderate_clinical_relevance",
    "high": "high_clinical_relevance",
}


def _jsonl(*records: dict) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _with(record: dict, **meta) -> dict:
    return {**record, "metadata": {**record["metadata"], **meta}}


def _curate(examples):
    policy = load_data_config()
    return curate(
        examples, policy.filters, policy.phi, pseudonymize=Pseudonymizer(b"contract-test-key-0123")
    )


def test_olmo_spec_record_is_accepted_mapped_and_kept():
    result = parse_file("training/metabolic_diabetes/2025/01/x.jsonl", _jsonl(OLMO_SPEC_RECORD))
    assert result.quarantined == ()
    meta = result.accepted[0].metadata
    assert meta["complexity_level"] == "high" and meta["clinical_relevance"] == "high"
    assert meta["source_key"].startswith("raw/health_connect/user_0123/")
    assert "source_s3_key" not in meta
    # What the upstream wrote is kept for provenance.
    assert meta["source_vocabulary"] == {
        "complexity_level": "high_clinical",
        "clinical_relevance": "high_clinical_relevance",
    }
    curated = _curate(result.accepted)
    assert len(curated.kept) == 1 and curated.dropped == {}
    assert schema_problems(curated.kept) == {}  # the blocking schema check accepts it
    # The user id inside the S3 key is pseudonymized like any other.
    assert "user_0123" not in curated.kept[0].metadata["source_key"]


def test_module4_record_maps_its_field_names():
    ingested = ingest_month(
        "2025-01", {"training/sleep_wellness/2025/01/j.jsonl": _jsonl(MODULE4_RECORD)}
    )
    assert ingested.quarantined == ()
    meta = ingested.accepted[0].metadata
    assert meta["training_category"] == "sleep_wellness"  # folded to sleep_recovery in rows
    assert meta["records_processed"] == 14
    assert meta["correlation_id"] == "9f1c2e7a-etl-m4-0001"
    assert meta["clinical_insights"] == {"sleep_efficiency": 89, "duration_flag": "short_sleep"}
    curated = _curate(ingested.accepted)
    assert len(curated.kept) == 1 and schema_problems(curated.kept) == {}
    kept = curated.kept[0].metadata
    assert Pseudonymizer.is_pseudonym(kept["user_id"])
    assert "user_0042" not in kept["source_key"]
    assert kept["clinical_insights"]["duration_flag"] == "short_sleep"


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ({"complexity_level": "basic_clinical"}, "complexity_excluded"),
        ({"clinical_relevance": "standard_clinical_relevance"}, "relevance_excluded"),
        ({"quality_score": 0.69}, "quality_below_min"),
        ({"complexity_level": "moderate_clinical"}, None),
    ],
)
def test_spec_filters_apply_to_the_seed_vocabulary(meta, reason):
    result = parse_file("x.jsonl", _jsonl(_with(OLMO_SPEC_RECORD, **meta)))
    assert len(result.accepted) == 1
    assert filter_reason(dict(result.accepted[0].metadata), load_data_config().filters) == reason


@pytest.mark.parametrize(
    ("field", "value"),
    [("complexity_level", "extreme_clinical"), ("clinical_relevance", "urgent")],
)
def test_unknown_values_still_quarantine_and_name_the_accepted_ones(field, value):
    result = parse_file("x.jsonl", _jsonl(_with(OLMO_SPEC_RECORD, **{field: value})))
    assert result.accepted == ()
    (q,) = result.quarantined
    assert q.reason == "bad_metadata" and value in q.detail
    assert "high_clinical" in q.detail or "high_clinical_relevance" in q.detail


def test_a_renamed_field_that_contradicts_ours_is_quarantined():
    record = _with(OLMO_SPEC_RECORD, source_key="raw/other/user_9/x.json")
    (q,) = parse_file("x.jsonl", _jsonl(record)).quarantined
    assert "source_s3_key" in q.detail and "disagree" in q.detail


def test_filters_in_either_vocabulary_mean_the_same():
    vocabulary = load_data_config().vocabulary
    seed = vocabulary.canonical_list("complexity_level", ["moderate_clinical", "high_clinical"])
    assert seed == FilterPolicy().complexity_levels
    with pytest.raises(ValueError, match="accepted: low, moderate, high"):
        vocabulary.canonical_list("complexity_level", ["hard"])


def _to_seed_vocabulary(line: bytes) -> bytes:
    doc = orjson.loads(line)
    meta = doc["metadata"]
    meta["complexity_level"] = SEED_COMPLEXITY[meta["complexity_level"]]
    meta["clinical_relevance"] = SEED_RELEVANCE[meta["clinical_relevance"]]
    meta["source_s3_key"] = meta.pop("source_key")
    return orjson.dumps(doc)


@pytest.fixture(scope="module")
def etl_month() -> dict[str, bytes]:
    corpus = generate_corpus([(2025, 1)], 4, seed=11, phi_note_share=0.0, malformed_share=0.0)
    return corpus.files


def test_seed_vocabulary_curates_exactly_like_ours(etl_month):
    ours = ingest_month("2025-01", etl_month)
    seed = ingest_month(
        "2025-01",
        {k: b"\n".join(map(_to_seed_vocabulary, v.splitlines())) for k, v in etl_month.items()},
    )
    assert len(seed.accepted) == len(ours.accepted) > 300 and seed.quarantined == ()
    a, b = _curate(ours.accepted), _curate(seed.accepted)
    assert a.dropped == b.dropped and len(a.kept) == len(b.kept)
    assert "complexity_excluded" in a.dropped
    spellings = {ex.metadata["source_vocabulary"]["clinical_relevance"] for ex in seed.accepted}
    assert spellings == set(SEED_RELEVANCE.values())


@pytest.mark.slow
def test_100000_records_in_the_seed_vocabulary_are_accepted(etl_month):
    lines = [_to_seed_vocabulary(line) for v in etl_month.values() for line in v.splitlines()]
    big = []
    for i in range(100_000):
        doc = orjson.loads(lines[i % len(lines)])
        doc["metadata"]["source_s3_key"] += f"#{i}"
        big.append(orjson.dumps(doc))
    result = parse_file("training/x/2025/01/big.jsonl", b"\n".join(big))
    assert result.lines_read == 100_000
    assert len(result.accepted) == 100_000, result.quarantine_reasons
    levels = {ex.metadata["complexity_level"] for ex in result.accepted}
    assert levels <= {"low", "moderate", "high"}


def test_phi_policy_default_is_unchanged():
    assert load_data_config().phi == PhiPolicy()
