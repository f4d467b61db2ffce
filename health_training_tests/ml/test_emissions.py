"""Emissions: real CodeCarbon runs (a few seconds of busy loop), then the pure arithmetic."""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from pathlib import Path

import pytest

from health_training.ml.emissions import (
    EMISSIONS_CSV,
    PHASES_CSV,
    EmissionsResult,
    append_history,
    country_carbon_intensity,
    emissions_report,
    equivalencies,
    estimate_run,
    read_history,
    recommendations,
    summarize_history,
    to_markdown,
    track_emissions,
    within_budget,
)

HAS_RAPL = Path("/sys/class/powercap/intel-rapl").exists()


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(1000))


@pytest.fixture(scope="module")
def usa(tmp_path_factory: pytest.TempPathFactory) -> EmissionsResult:
    """About 2.5 s of work in two phases, tracked against the US grid."""
    with track_emissions(tmp_path_factory.mktemp("usa"), project="test") as run:
        with run.phase("training"):
            busy(1.5)
        with run.phase("evaluation"):
            busy(1.0)
    assert run.result is not None
    return run.result


@pytest.fixture(scope="module")
def fra(tmp_path_factory: pytest.TempPathFactory) -> EmissionsResult:
    with track_emissions(
        tmp_path_factory.mktemp("fra"), project="test", country_iso_code="FRA"
    ) as run:
        busy(2.0)
    assert run.result is not None
    return run.result


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("name", "code"), [("usa", "USA"), ("fra", "FRA")])
def test_tracked_run_writes_codecarbon_row_for_its_country(request, name: str, code: str) -> None:
    result: EmissionsResult = request.getfixturevalue(name)
    assert result.csv_path is not None and result.csv_path.name == EMISSIONS_CSV
    (row,) = rows(result.csv_path)
    assert len(row) == 38
    assert row["country_iso_code"] == result.country_iso_code == code
    assert row["tracking_mode"] == "process"
    assert result.kg_co2eq > 0 and result.energy_kwh > 0 and result.duration_s > 1.5
    assert result.energy_kwh == pytest.approx(result.cpu_kwh + result.gpu_kwh + result.ram_kwh)
    # CodeCarbon applies its bundled national intensity, which we read the same way.
    assert result.carbon_intensity_g_per_kwh == pytest.approx(country_carbon_intensity(code))
    assert result.cpu_power_w == pytest.approx(result.cpu_kwh * 3.6e6 / result.duration_s)
    assert EmissionsResult.from_csv_row(
        row, power_measurement=result.power_measurement, csv_path=result.csv_path
    ) == dataclasses.replace(result, phases={})


def test_france_grid_is_cleaner_than_usa(usa: EmissionsResult, fra: EmissionsResult) -> None:
    assert fra.carbon_intensity_g_per_kwh < usa.carbon_intensity_g_per_kwh / 3


@pytest.mark.skipif(HAS_RAPL, reason="this machine has RAPL: CodeCarbon measures the CPU")
def test_power_is_reported_as_an_estimate_without_rapl(usa: EmissionsResult) -> None:
    assert usa.power_measurement.startswith("estimate: CodeCarbon CPU")
    assert "no readable RAPL" in usa.power_measurement
    assert "RAPL (CPU)" not in usa.power_measurement and "NVML" not in usa.power_measurement


def test_phases_add_up_to_about_the_run(usa: EmissionsResult) -> None:
    assert list(usa.phases) == ["training", "evaluation"]
    phase_kwh = sum(p.energy_kwh for p in usa.phases.values())
    # Each phase misses its tracker's start-up (about 0.1 s) and the run has a little outside them.
    assert 0.6 * usa.energy_kwh < phase_kwh < 1.1 * usa.energy_kwh
    assert sum(p.duration_s for p in usa.phases.values()) <= usa.duration_s + 0.2
    assert all(p.country_iso_code == "USA" and not p.phases for p in usa.phases.values())
    phase_rows = rows(usa.csv_path.parent / PHASES_CSV)
    assert [r["project_name"] for r in phase_rows] == ["test/training", "test/evaluation"]


def test_failed_body_still_records_its_emissions(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), track_emissions(tmp_path, project="t") as run:
        busy(0.2)
        1 / 0  # noqa: B018
    assert run.result is not None and run.result.energy_kwh > 0


def test_misused_tracking_fails_before_or_without_guessing(tmp_path: Path) -> None:
    unknown_country = track_emissions(tmp_path, project="t", country_iso_code="XYZ")
    with pytest.raises(ValueError, match="global_energy_mix"), unknown_country:
        pass
    with track_emissions(tmp_path, project="t") as run:
        with run.phase("a"), pytest.raises(RuntimeError, match="still open"), run.phase("b"):
            pass
        with pytest.raises(ValueError, match="already used"), run.phase("a"):
            pass
    assert list(run.result.phases) == ["a"]


def test_from_csv_row_names_the_missing_column() -> None:
    with pytest.raises(ValueError, match="'energy_consumed' is missing"):
        EmissionsResult.from_csv_row({"emissions": "1", "duration": "2"}, csv_path=Path("e.csv"))


def result(**changes) -> EmissionsResult:
    base = EmissionsResult(
        kg_co2eq=1.0,
        energy_kwh=2.7065,
        cpu_kwh=0.5,
        gpu_kwh=2.0,
        ram_kwh=0.2065,
        carbon_intensity_g_per_kwh=369.473,
        duration_s=3600.0,
        country_iso_code="USA",
        region=None,
        cpu_model="cpu",
        gpu_model="1 x gpu",
        cpu_power_w=500.0,
        gpu_power_w=2000.0,
        power_measurement="NVML (GPU)",
    )
    return dataclasses.replace(base, **changes)


def test_equivalencies_use_the_epa_constants() -> None:
    assert equivalencies(0.393)["car_miles"] == pytest.approx(1.0)
    assert equivalencies(21.77)["tree_years"] == pytest.approx(1.0)
    assert equivalencies(60.0)["tree_seedlings_10y"] == pytest.approx(1.0)
    assert equivalencies(0.00822)["smartphone_charges"] == pytest.approx(1.0)
    assert equivalencies(1000.0)["car_miles"] == pytest.approx(2544.53, abs=0.01)
    assert equivalencies(0.0) == dict.fromkeys(equivalencies(1.0), 0.0)
    with pytest.raises(ValueError):
        equivalencies(-1.0)


def codes(alerts) -> list[str]:
    return [a.code for a in alerts]


@pytest.mark.parametrize(
    ("changes", "eval_loss", "fired"),
    [
        ({"kg_co2eq": 10.0}, None, []),
        ({"kg_co2eq": 10.01}, None, ["high_emissions", "lower_carbon_region", "smaller_profile"]),
        (
            {"kg_co2eq": 11.0, "carbon_intensity_g_per_kwh": 56.0},
            None,
            ["high_emissions", "smaller_profile"],
        ),
        ({}, 2.0, []),
        ({}, 2.01, ["poor_convergence"]),
        ({"duration_s": 24 * 3600.0}, None, []),
        ({"duration_s": 24 * 3600.0 + 1}, None, ["long_run", "early_stopping"]),
    ],
)
def test_each_rule_fires_only_above_its_threshold(changes, eval_loss, fired) -> None:
    assert codes(recommendations(result(**changes), eval_loss=eval_loss)) == fired


def test_alert_messages_carry_the_numbers() -> None:
    alerts = {a.code: a for a in recommendations(result(kg_co2eq=12.0), eval_loss=2.5)}
    assert alerts["high_emissions"].severity == "warning"
    assert "369 g/kWh" in alerts["lower_carbon_region"].message
    assert "QLoRA" in alerts["smaller_profile"].message
    assert "2.500" in alerts["poor_convergence"].message


def test_budget() -> None:
    assert within_budget(result(kg_co2eq=3.0))
    assert not within_budget(result(kg_co2eq=3.0001))
    assert within_budget(result(kg_co2eq=4.0), budget_kg=5.0)


def test_history_appends_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "carbon" / "history.jsonl"
    assert append_history(path, {"run": "a", "kg_co2eq": 1.0, "energy_kwh": 2.0}) == [
        {"run": "a", "kg_co2eq": 1.0, "energy_kwh": 2.0}
    ]
    records = append_history(path, {"run": "b", "kg_co2eq": 3.0, "energy_kwh": 4.0})
    assert [r["run"] for r in records] == ["a", "b"] == [r["run"] for r in read_history(path)]
    assert summarize_history(records) == {
        "runs": 2,
        "total_kg_co2eq": 4.0,
        "total_energy_kwh": 6.0,
        "mean_kg_co2eq_per_run": 2.0,
        "max_kg_co2eq": 3.0,
    }
    before = path.read_bytes()

    def crash(*_args) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        append_history(path, {"run": "c", "kg_co2eq": 5.0, "energy_kwh": 6.0})
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["history.jsonl"]  # no temp file left


def test_history_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"kg_co2eq": 1, "energy_kwh": 1}\n{oops\n')
    with pytest.raises(ValueError, match=r"h\.jsonl:2: not JSON"):
        read_history(path)
    assert summarize_history([])["runs"] == 0
    with pytest.raises(ValueError, match="record 0 lacks"):
        summarize_history([{"kg": 1}])


def test_estimate_run_math() -> None:
    est = estimate_run(
        1_000_000, 100.0, device_power_w=300.0, carbon_intensity_g_per_kwh=369.473
    )  # 10,000 s at 310 W = 3.1 MJ
    assert est.duration_s == pytest.approx(10_000.0)
    assert est.energy_kwh == pytest.approx(3.1e6 / 3.6e6)
    assert est.kg_co2eq == pytest.approx(3.1e6 / 3.6e6 * 0.369473)
    worse = estimate_run(
        1_000_000, 100.0, device_power_w=300.0, carbon_intensity_g_per_kwh=369.473, pue=1.5
    )
    assert worse.kg_co2eq == pytest.approx(est.kg_co2eq * 1.5)
    with pytest.raises(ValueError):
        estimate_run(10, 0.0, device_power_w=1.0, carbon_intensity_g_per_kwh=1.0)


def test_country_intensity_comes_from_codecarbon_data() -> None:
    assert country_carbon_intensity("USA") == pytest.approx(369.473)
    assert country_carbon_intensity("fra") == pytest.approx(56.039)
    with pytest.raises(ValueError, match="3-letter ISO code"):
        country_carbon_intensity("France")


def test_report_is_json_and_markdown(usa: EmissionsResult) -> None:
    history = [usa.to_dict(), result().to_dict()]
    report = emissions_report(usa, eval_loss=2.4, history=history)
    assert json.loads(json.dumps(report)) == report
    assert report["within_budget"] and report["history"]["runs"] == 2
    assert [a["code"] for a in report["alerts"]] == ["poor_convergence"]
    md = to_markdown(report)
    assert "## Carbon footprint" in md and "| training |" in md and "USA, 369 g/kWh" in md
    assert usa.power_measurement in md and "`poor_convergence`" in md
