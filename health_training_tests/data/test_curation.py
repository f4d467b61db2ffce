"""Curation: each filter, the PHI scrub and pseudonyms, dedup, and that every drop is counted."""

from __future__ import annotations

import pytest

from health_training.data.config import FilterPolicy, PhiPolicy, load_data_config
from health_training.data.curation import curate, filter_reason
from health_training.data.phi import Pseudonymizer
from health_training.data.records import Example, content_key

PSEUDO = Pseudonymizer(b"k" * 32)
ON = PhiPolicy()


def _ex(text="Your mean glucose was 142 mg/dL.", **meta) -> Example:
    base = {
        "source_format": "etl",
        "record_type": "BloodGlucoseRecord",
        "quality_score": 0.9,
        "complexity_level": "moderate",
        "clinical_relevance": "elevated",
        "user_id": "user_0007",
        "source_key": "raw/wearables/user_0007/BloodGlucoseRecord/2025/01/2025-01-03.json",
        "processing_timestamp": "2025-01-04T02:13:07Z",
    }
    base.update(meta)
    return Example("Summarize my glucose day.", "Mean 142 mg/dL.", text, base)


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ({"quality_score": 0.69}, "quality_below_min"),
        ({"quality_score": None}, "quality_below_min"),
        ({"complexity_level": "low"}, "complexity_excluded"),
        ({"clinical_relevance": "standard"}, "relevance_excluded"),
        ({"quality_score": 0.7}, None),
        ({"complexity_level": "high", "clinical_relevance": "high"}, None),
    ],
)
def test_the_specs_filters(meta, reason):
    assert filter_reason(dict(_ex(**meta).metadata), FilterPolicy()) == reason


def test_external_formats_pass_filters_unless_asked():
    meta = {"source_format": "alpaca"}
    assert filter_reason(meta, FilterPolicy()) is None
    assert filter_reason(meta, FilterPolicy(apply_to_external=True)) == "quality_below_min"


def test_every_record_is_kept_or_counted():
    examples = [
        _ex(),
        _ex(),  # exact duplicate in the month
        _ex("Your mean glucose was 142 MG/dL."),  # differs only by case: a duplicate too
        _ex("other", quality_score=0.1),
        _ex("other 2", complexity_level="low"),
        _ex("seen elsewhere"),
    ]
    seen = {content_key("Summarize my glucose day.", "Mean 142 mg/dL.", "seen elsewhere")}
    result = curate(examples, FilterPolicy(), ON, seen_keys=seen, pseudonymize=PSEUDO)
    assert result.balanced
    assert len(result.kept) == 1
    assert result.dropped == {
        "duplicate_within_month": 2,
        "quality_below_min": 1,
        "complexity_excluded": 1,
        "duplicate_other_month": 1,
    }


def test_phi_is_scrubbed_and_ids_pseudonymized():
    ex = _ex("Call Dr. Alice Morgan at (555) 123-4567 or alice.morgan@example.com.")
    result = curate([ex], FilterPolicy(), ON, pseudonymize=PSEUDO)
    (kept,) = result.kept
    assert "Morgan" not in kept.output and "555" not in kept.output and "@" not in kept.output
    assert result.phi_scrubbed["phone"] == 1 and result.phi_scrubbed["email"] == 1
    assert result.residual_phi == {}
    assert kept.metadata["user_id"] == PSEUDO("user_0007")
    assert "user_0007" not in kept.metadata["source_key"]
    assert kept.metadata["processing_timestamp"] == "2025-01-04"  # finer than a day → the day
    assert kept.metadata["content_key"] == content_key(kept.instruction, kept.input, kept.output)


def test_without_the_scrub_the_residual_scan_reports_phi():
    ex = _ex("Call Dr. Alice Morgan at (555) 123-4567.")
    result = curate([ex], FilterPolicy(), PhiPolicy(scrub=False, pseudonymize_user_ids=False))
    assert result.residual_phi["phone"] == 1
    assert result.residual_phi["user_id"] == 1


def test_dedup_uses_scrubbed_text():
    a = _ex("Seen by Dr. Alice Morgan today.")
    b = _ex("Seen by Dr. Robert Chen today.")
    result = curate([a, b], FilterPolicy(), ON, pseudonymize=PSEUDO)
    assert len(result.kept) == 1 and result.dropped == {"duplicate_within_month": 1}


def test_pseudonymizing_needs_a_pseudonymizer():
    with pytest.raises(ValueError, match="no pseudonymizer"):
        curate([_ex()], FilterPolicy(), ON)


def test_bundled_config_matches_the_spec():
    cfg = load_data_config()
    assert cfg.filters.min_quality_score == 0.7
    assert cfg.filters.complexity_levels == ("moderate", "high")
    assert cfg.filters.exclude_relevance == ("standard",)
    assert dict(cfg.splits.ratios) == {"train": 0.8, "validation": 0.1, "test": 0.1}
    assert load_data_config(**{"filters.min_quality_score": 0.5}).filters.min_quality_score == 0.5
