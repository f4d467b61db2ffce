"""Bad input never hurts the PHI engine: huge, binary, mixed-script and backtracking-bait text
finishes with a clean result, non-text is refused with a reason a caller can quarantine on, and
long texts are scrubbed chunk by chunk with offsets into the whole. No wall-clock assertions:
`pytest-timeout` only guards against a hang; `bench/phi_adversarial.py` measures the times."""

from __future__ import annotations

import pytest

from health_training.data.phi import PhiInputError, find_phi, scrub_many, scrub_phi, scrubber

ADVERSARIAL = {
    "digits": "1" * 100_000,
    "at_signs": "a@" * 100_000,
    "capitalized_run": "Aaaa Bbbb " * 20_000,
    "dashes": "-" * 100_000 + " 555-123-4567",
    "colons": "ab:" * 30_000,
    "dotted_digits": "1." * 50_000,
    "mixed_scripts": "Ωμέγα Привет 你好 مرحبا שלום नमस्ते " * 2_000 + "Call (555) 123-4567.",
    "control_bytes": "\x00\x01\x02\x7f\ufffd" * 10_000 + " SSN 123-45-6789",
    "lone_surrogates": "\ud800 abc \udfff Dr. Alice Morgan",
    "one_long_line": ("Glucose averaged 142 mg/dL on 2025-01-03; " * 20_000).strip(),
    "binary_as_latin1": bytes(range(256)).decode("latin-1") * 500,
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_finish_clean(name: str) -> None:
    text = ADVERSARIAL[name]
    result = scrub_phi(text)
    assert find_phi(result.text) == []
    for f in result.findings:
        assert 0 <= f.start < f.end <= len(text)
    assert "555-123-4567" not in result.text and "123-45-6789" not in result.text


def test_phi_on_either_side_of_a_chunk_cut_is_found_with_whole_text_offsets() -> None:
    filler = "Glucose averaged 142 mg/dL today.\n" * (scrubber.CHUNK // 34 + 10)
    text = "SSN 123-45-6789. " + filler + "Call (555) 123-4567.\n" + filler + "MRN 00123456"
    assert len(scrubber.chunks(text)) >= 3
    result = scrub_phi(text)
    found = [(f.kind, text[f.start : f.end]) for f in result.findings]
    assert found == [("ssn", "123-45-6789"), ("phone", "(555) 123-4567"), ("mrn", "00123456")]
    assert result.text.count("Glucose averaged 142 mg/dL today.") == 2 * filler.count("Glucose")


def test_chunks_cover_the_text_exactly() -> None:
    text = ("word " * 40_000) + ("x" * 200_000)
    pieces = scrubber.chunks(text)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= scrubber.CHUNK for _, p in pieces)
    assert [o for o, _ in pieces] == [
        sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))
    ]


@pytest.mark.parametrize("value", [b"SSN 123-45-6789", None, 42, ["text"]])
def test_non_text_is_refused_with_a_reason(value: object) -> None:
    with pytest.raises(PhiInputError, match="decode bytes first") as info:
        scrub_phi(value)  # type: ignore[arg-type]
    assert info.value.reason == "not_text"
    with pytest.raises(PhiInputError):
        scrub_many(["fine", value])  # type: ignore[list-item]


def test_text_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scrubber, "MAX_CHARS", 1_000)
    with pytest.raises(PhiInputError, match="over the 1,000 limit") as info:
        find_phi("x" * 1_001)
    assert info.value.reason == "too_large"
