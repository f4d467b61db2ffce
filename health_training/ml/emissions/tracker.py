"""`track_emissions`: CodeCarbon's offline tracker around a block of code, with phases.

It wraps CodeCarbon 3.3.2's `OfflineEmissionsTracker` in process mode (the only tracker that
reports the country we set, see ../shared/NOTES.md) and parses the emissions.csv row it wrote
into an `EmissionsResult`. Phases (`handle.phase("training")`) each run a second tracker beside
the run's own, writing to emissions_phases.csv: CodeCarbon's `start_task`/`stop_task` were tried
and rejected, because `start_task` resets the run's start time and drops the energy between
tasks (measured here: a 4.0 s run reported 1.5 s, and RAM energy for 3.0 s).

    with track_emissions(Path("var/runs/r1"), project="health", country_iso_code="FRA") as run:
        with run.phase("training"):
            trainer.train()
    run.result.kg_co2eq
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from health_training.ml.emissions.grid import country_carbon_intensity
from health_training.ml.emissions.power import power_measurement
from health_training.ml.emissions.result import EmissionsResult

EMISSIONS_CSV = "emissions.csv"
PHASES_CSV = "emissions_phases.csv"


class EmissionsTrackingError(RuntimeError):
    """CodeCarbon failed silently (it suppresses its own exceptions); we refuse to guess numbers."""


@dataclass(frozen=True)
class _Settings:
    output_dir: Path
    project: str
    country_iso_code: str
    gpu_ids: list[int] | None
    measure_power_secs: int


class EmissionsHandle:
    """What `track_emissions` yields: open phases while it runs, read `result` after it exits."""

    def __init__(self, settings: _Settings, power_measurement: str) -> None:
        self.output_dir = settings.output_dir
        self.csv_path = settings.output_dir / EMISSIONS_CSV
        self.phases_csv_path = settings.output_dir / PHASES_CSV
        self.power_measurement = power_measurement
        self.phases: dict[str, EmissionsResult] = {}
        self.result: EmissionsResult | None = None
        self._settings = settings
        self._active_phase: str | None = None

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Track one phase with its own tracker; phases run one after another, never nested."""
        if self.result is not None:
            raise RuntimeError(f"phase {name!r}: the run has finished; open phases inside it")
        if self._active_phase is not None:
            raise RuntimeError(f"phase {name!r}: phase {self._active_phase!r} is still open")
        if not name or name in self.phases:
            raise ValueError(f"phase name {name!r} is empty or already used: {sorted(self.phases)}")
        tracker = _start(self._settings, PHASES_CSV, f"{self._settings.project}/{name}")
        self._active_phase = name
        done: list[EmissionsResult] = []
        try:
            with _stopping(tracker, self.phases_csv_path, self.power_measurement, done):
                yield
        finally:
            self._active_phase = None
            if done:
                self.phases[name] = done[0]


@contextmanager
def track_emissions(
    output_dir: Path,
    *,
    project: str,
    country_iso_code: str = "USA",
    gpu_ids: list[int] | None = None,
    measure_power_secs: int = 15,
) -> Iterator[EmissionsHandle]:
    """Track this process's energy and CO2 with CodeCarbon; `handle.result` is set on exit.

    The result is set even when the body raises (the energy was spent); a tracker failure raises
    `EmissionsTrackingError` unless the body already failed, whose error then wins.
    """
    code = country_iso_code.upper()
    country_carbon_intensity(code)  # CodeCarbon would silently use the world average instead
    if measure_power_secs <= 0:
        raise ValueError(f"measure_power_secs must be positive, got {measure_power_secs}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)  # CodeCarbon refuses a missing folder
    settings = _Settings(output_dir, project, code, gpu_ids, measure_power_secs)
    tracker = _start(settings, EMISSIONS_CSV, project)
    handle = EmissionsHandle(settings, power_measurement(tracker))
    done: list[EmissionsResult] = []
    try:
        with _stopping(tracker, handle.csv_path, handle.power_measurement, done):
            yield handle
    finally:
        if done:
            handle.result = dataclasses.replace(done[0], phases=dict(handle.phases))


def _start(settings: _Settings, output_file: str, project_name: str) -> Any:
    from codecarbon import OfflineEmissionsTracker, OutputMethod

    tracker = OfflineEmissionsTracker(
        project_name=project_name,
        country_iso_code=settings.country_iso_code,
        tracking_mode="process",
        output_dir=str(settings.output_dir),
        output_file=output_file,
        # = save_to_file=True, which 3.3.2 deprecates; explicit methods also stop a
        # .codecarbon.config or CODECARBON_* variable from turning on the API output.
        output_methods=[OutputMethod.CSV],
        gpu_ids=settings.gpu_ids,
        measure_power_secs=settings.measure_power_secs,
        log_level="error",
        # Pinned for the same reason: nothing may send data out or override the numbers.
        emissions_endpoint=None,
        electricitymaps_api_token=None,
        force_carbon_intensity_g_co2e_kwh=None,
        force_cpu_power=None,
        force_ram_power=None,
        pue=1.0,
        allow_multiple_runs=True,  # a phase's tracker runs beside the run's tracker
        on_csv_write="append",
    )
    tracker.start()
    # start() swallows its exceptions; an unset start time is the only sign it failed.
    if getattr(tracker, "_start_time", None) is None:
        raise EmissionsTrackingError(
            f"CodeCarbon did not start for {project_name!r} in {settings.output_dir}; "
            "rerun with codecarbon's log_level='warning' to see why"
        )
    return tracker


@contextmanager
def _stopping(
    tracker: Any, csv_path: Path, power: str, done: list[EmissionsResult]
) -> Iterator[None]:
    """Stop the tracker however the body ends, appending its parsed row to `done`."""
    body_failed = False
    try:
        yield
    except BaseException:
        body_failed = True
        raise
    finally:
        try:
            if tracker.stop() is None:
                raise EmissionsTrackingError(
                    f"{csv_path}: CodeCarbon's stop() returned None (it hides its errors); "
                    "no emissions were recorded for this run"
                )
            row = read_emissions_row(csv_path, str(tracker.run_id))
            done.append(
                EmissionsResult.from_csv_row(row, power_measurement=power, csv_path=csv_path)
            )
        except Exception:
            # The body's own error says more than a tracker that failed because of it.
            if not body_failed:
                raise


def read_emissions_row(csv_path: Path, run_id: str) -> dict[str, str]:
    """The emissions.csv row CodeCarbon wrote for `run_id` (the file is append-only)."""
    if not csv_path.exists():
        raise EmissionsTrackingError(f"{csv_path}: CodeCarbon wrote no file for run {run_id}")
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row.get("run_id") == run_id:
                return row
    raise EmissionsTrackingError(f"{csv_path}: no row has run_id {run_id}")
