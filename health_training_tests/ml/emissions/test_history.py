"""The JSONL history of every run: atomic appends, totals, errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from health_training.ml.emissions import append_history, read_history, summarize_history


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
