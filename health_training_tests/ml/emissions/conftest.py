"""Real CodeCarbon runs, tracked once for the whole package (a few seconds of CPU each)."""

from __future__ import annotations

import pytest

from health_training.ml.emissions import EmissionsResult, track_emissions
from health_training_tests.ml.emissions.samples import busy


@pytest.fixture(scope="package")
def usa(tmp_path_factory: pytest.TempPathFactory) -> EmissionsResult:
    """Two phases against the US grid; training does three times evaluation's CPU work."""
    with track_emissions(tmp_path_factory.mktemp("usa"), project="test") as run:
        with run.phase("training"):
            busy(1.5)
        with run.phase("evaluation"):
            busy(0.5)
    assert run.result is not None
    return run.result


@pytest.fixture(scope="package")
def fra(tmp_path_factory: pytest.TempPathFactory) -> EmissionsResult:
    with track_emissions(
        tmp_path_factory.mktemp("fra"), project="test", country_iso_code="FRA"
    ) as run:
        busy(2.0)
    assert run.result is not None
    return run.result
