"""The simulated clinic: ratings from fact accuracy, the same rating for the same answer always."""

from __future__ import annotations

import subprocess
import sys

import pytest

from health_training.ml.preference.simulated_clinic import SimulatedClinic, facts_of

FACTS = {"resting_hr_bpm": 58, "mean_hr_bpm": 74, "max_hr_bpm": 142}
ASK, INPUT = "How was my heart rate?", "Resting HR 58 bpm. Mean HR 74 bpm. Max HR 142 bpm."
REFERENCE = "Your resting heart rate was 58 bpm, it averaged 74 bpm and peaked at 142 bpm."
ANSWERS = {
    REFERENCE: 5,
    "Your resting heart rate was 58 bpm and peaked at 142 bpm.": 4,  # right, one fact missing
    "You had a calm day.": 3,  # nothing to judge
    "Your resting heart rate was 58 bpm over 17 hours of wear.": 2,  # 17 h: unsupported
    "Your resting heart rate was 90 bpm, it averaged 74 bpm.": 1,  # one wrong fact is enough
}


def _rate(clinic: SimulatedClinic, answer: str):
    return clinic.rate(answer, FACTS, instruction=ASK, input_=INPUT, reference=REFERENCE)


@pytest.mark.parametrize("answer,rating", list(ANSWERS.items()))
def test_rating_follows_the_facts(answer, rating):
    assert _rate(SimulatedClinic(), answer).rating == rating


def test_a_clinic_that_corrects_writes_the_reference_under_low_ratings_only():
    clinic = SimulatedClinic(corrects=True)
    corrected = {a: _rate(clinic, a).corrected_response for a in ANSWERS}
    assert {a for a, c in corrected.items() if c} == {a for a, r in ANSWERS.items() if r <= 2}
    assert set(filter(None, corrected.values())) == {REFERENCE}
    assert all(_rate(SimulatedClinic(), a).corrected_response is None for a in ANSWERS)


def test_rate_row_reads_the_dataset_row_shape():
    row = {
        "instruction": ASK,
        "input": INPUT,
        "output": REFERENCE,
        "metadata_json": '{"facts": {"resting_hr_bpm": 58, "mean_hr_bpm": 74, "max_hr_bpm": 142}}',
    }
    assert facts_of(row) == FACTS and facts_of({"instruction": "x"}) == {}
    assert SimulatedClinic().rate_row(row, REFERENCE).rating == 5


def test_ratings_are_deterministic_across_order_instances_and_processes():
    answers = list(ANSWERS)
    first = [_rate(SimulatedClinic(), a) for a in answers]
    again = [_rate(SimulatedClinic(), a) for a in reversed(answers)][::-1]
    assert first == again
    # a fresh interpreter (another hash seed) rates the same way
    code = (
        "import json, sys\n"
        "from health_training_tests.ml.preference.test_clinic import ANSWERS, SimulatedClinic, _rate\n"
        "print(json.dumps([_rate(SimulatedClinic(), a).rating for a in ANSWERS]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert out.stdout.strip() == str([r.rating for r in first])
