"""Carbon accounting for a training run: CodeCarbon's offline tracker, equivalencies, alerts, history.

`track_emissions` wraps CodeCarbon 3.3.2's `OfflineEmissionsTracker` in process mode (the only
tracker that reports the country we set, see ../shared/NOTES.md) and parses the emissions.csv row
it wrote into an `EmissionsResult`. Phases (`handle.phase("training")`) each run a second tracker
beside the run's own, writing to emissions_phases.csv: CodeCarbon's `start_task`/`stop_task` were
tried and rejected, because `start_task` resets the run's start time and drops the energy between
tasks (measured here: a 4.0 s run reported 1.5 s, and RAM energy for 3.0 s).
Everything else is arithmetic on results: EPA equivalencies, the spec's alerts and advice, a carbon
budget, a JSONL history, a pre-run estimate, and a report as a dict or markdown.

    with track_emissions(Path("var/runs/r1"), project="health", country_iso_code="FRA") as run:
        with run.phase("training"):
            trainer.train()
        with run.phase("evaluation"):
            evaluate()
    print(to_markdown(emissions_report(run.result, eval_loss=1.4, history=[])))
"""

from __future__ import annotations

import csv
import dataclasses
import json
import platform
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from health_training.files import write_atomic

EMISSIONS_CSV = "emissions.csv"
PHASES_CSV = "emissions_phases.csv"
UNKNOWN_POWER = "unknown: emissions.csv does not record how CodeCarbon obtained power"

# EPA Greenhouse Gas Equivalencies Calculator, the conversions the OLMo model card uses.
KG_CO2_PER_CAR_MILE = 0.393  # average passenger car: 3.93e-4 metric t CO2 per mile
KG_CO2_PER_SMARTPHONE_CHARGE = 0.00822  # 8.22e-6 metric t CO2 per charge
KG_CO2_PER_TREE_SEEDLING_10Y = 60.0  # 0.060 metric t CO2 per urban tree seedling grown 10 years
# Arbor Day Foundation's "a mature tree absorbs about 48 lb of CO2 a year" (48 lb = 21.77 kg).
KG_CO2_PER_TREE_YEAR = 21.77

HIGH_EMISSIONS_KG = 10.0
POOR_CONVERGENCE_LOSS = 2.0
LONG_RUN_S = 24 * 3600.0
DEFAULT_BUDGET_KG = 3.0
# Advise moving only when the grid is dirtier than this (France, mostly nuclear, is about 56).
CLEAN_GRID_G_PER_KWH = 100.0


class EmissionsTrackingError(RuntimeError):
    """CodeCarbon failed silently (it suppresses its own exceptions); we refuse to guess numbers."""


@dataclass(frozen=True)
class EmissionsResult:
    """One CodeCarbon row: a whole run, or one phase of it (then `phases` is empty)."""

    kg_co2eq: float
    energy_kwh: float
    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    carbon_intensity_g_per_kwh: float | None  # emissions / energy; None when no energy was counted
    duration_s: float
    country_iso_code: str
    region: str | None
    cpu_model: str
    gpu_model: str
    cpu_power_w: float  # mean over the run: energy / duration
    gpu_power_w: float
    power_measurement: str
    phases: dict[str, EmissionsResult] = field(default_factory=dict)
    csv_path: Path | None = None

    @classmethod
    def from_csv_row(
        cls,
        row: Mapping[str, Any],
        *,
        power_measurement: str = UNKNOWN_POWER,
        csv_path: Path | None = None,
        phases: Mapping[str, EmissionsResult] | None = None,
    ) -> EmissionsResult:
        """Parse a row of CodeCarbon's emissions.csv (38 columns in 3.3.2; strings or numbers)."""
        where = f"{csv_path}: " if csv_path else ""

        def number(column: str) -> float:
            if column not in row:
                raise ValueError(f"{where}column {column!r} is missing; is this a CodeCarbon row?")
            try:
                return float(row[column])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}column {column!r} is {row[column]!r}, not a number"
                ) from None

        kg, kwh, seconds = number("emissions"), number("energy_consumed"), number("duration")
        # Mean power from energy: CodeCarbon's cpu_power column averages its few measurement
        # points (start, every measure_power_secs, stop) and read 0.8 W for a 1.6 W mean here.
        cpu_kwh, gpu_kwh = number("cpu_energy"), number("gpu_energy")
        watts = 3.6e6 / seconds if seconds > 0 else 0.0
        return cls(
            kg_co2eq=kg,
            energy_kwh=kwh,
            cpu_kwh=cpu_kwh,
            gpu_kwh=gpu_kwh,
            ram_kwh=number("ram_energy"),
            carbon_intensity_g_per_kwh=kg * 1000.0 / kwh if kwh > 0 else None,
            duration_s=seconds,
            country_iso_code=str(row.get("country_iso_code") or ""),
            region=str(row["region"]) if row.get("region") else None,
            cpu_model=str(row.get("cpu_model") or ""),
            gpu_model=str(row.get("gpu_model") or ""),
            cpu_power_w=cpu_kwh * watts,
            gpu_power_w=gpu_kwh * watts,
            power_measurement=power_measurement,
            phases=dict(phases or {}),
            csv_path=csv_path,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmissionsResult:
        """Inverse of `to_dict` (phases included)."""
        d = dict(data)
        d["phases"] = {k: cls.from_dict(v) for k, v in (d.get("phases") or {}).items()}
        d["csv_path"] = Path(d["csv_path"]) if d.get("csv_path") else None
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings, phases nested."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["csv_path"] = str(self.csv_path) if self.csv_path else None
        out["phases"] = {name: phase.to_dict() for name, phase in self.phases.items()}
        return out


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
    handle = EmissionsHandle(settings, _power_measurement(tracker))
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


def _power_measurement(tracker: Any) -> str:
    """How CodeCarbon gets each power figure, read from the hardware objects it set up."""
    order = {"CPU": 0, "AppleSiliconChip": 0, "Raspberry": 0, "GPU": 1, "RAM": 2}
    parts = []
    for hw in getattr(tracker, "_hardware", None) or []:
        kind = type(hw).__name__
        try:
            text = _hardware_method(kind, hw)
        except AttributeError:  # private attributes: a later CodeCarbon may rename them
            text = f"{kind}: method unknown to this CodeCarbon wrapper"
        parts.append((order.get(kind, 3), text))
    return "; ".join(text for _, text in sorted(parts)) or UNKNOWN_POWER


def _hardware_method(kind: str, hw: Any) -> str:
    if kind == "CPU":
        return _cpu_method(hw)
    if kind == "GPU":
        vendors = {type(d).__name__ for d in hw.devices.devices}
        return "AMD SMI (GPU)" if vendors == {"AMDGPUDevice"} else "NVML (GPU)"
    if kind == "AppleSiliconChip":
        return f"powermetrics ({hw.chip_part})"
    if kind == "Raspberry":
        return f"Raspberry Pi PMIC ({hw.chip_part})"
    if kind == "RAM":
        if hw._force_ram_power is not None:
            return f"RAM: user constant {hw._force_ram_power} W"
        return "RAM: estimate (CodeCarbon's DIMM model: 5 W per assumed DIMM, at least 10 W)"
    return f"{kind}: method unknown to this CodeCarbon wrapper"


def _cpu_method(cpu: Any) -> str:
    counters = {
        "intel_rapl": "RAPL (CPU)",
        "windows_emi": "RAPL via Windows Energy Meter Interface (CPU)",
        "intel_power_gadget": "Intel Power Gadget (CPU)",
    }
    if cpu._mode in counters:
        return counters[cpu._mode]
    why = {
        "Linux": "no readable RAPL on this machine",
        "Darwin": "no Power Gadget or powermetrics access on this machine",
        "Windows": "no Energy Meter Interface on this machine",
    }.get(platform.system(), "no power counter CodeCarbon can read on this machine")
    if cpu._is_generic_tdp:
        source = f" for {cpu._model!r}: CodeCarbon's generic constant"
    else:
        source = _tdp_source(cpu._model)
    tdp = f"{cpu._tdp:g} W TDP assumed{source}"
    if cpu._mode == "cpu_load":
        return f"estimate: CodeCarbon CPU load × TDP model ({tdp}) — {why}"
    return f"estimate: CodeCarbon CPU constant/TDP model (50 % of {tdp}) — {why}"


@lru_cache(maxsize=8)
def _tdp_source(cpu_model: str | None) -> str:
    """Whether CodeCarbon found the CPU in its TDP table or fell back to 4 W per thread."""
    if not cpu_model:
        return " (CPU model unreadable: CodeCarbon's default)"
    # The same fuzzy match CodeCarbon ran; TDP() itself would re-read cpuinfo (about 2 s).
    try:
        from codecarbon.core.cpu import TDP
        from codecarbon.input import DataSource

        matcher = TDP.__new__(TDP)
        match = matcher._get_matching_cpu(cpu_model, DataSource().get_cpu_power_data())
    except (ImportError, AttributeError, KeyError, TypeError):  # CodeCarbon moved its internals
        return f" for {cpu_model!r}"
    if match:
        return f" for {cpu_model!r}, from CodeCarbon's CPU table"
    return f" for {cpu_model!r}: not in CodeCarbon's CPU table, so 4 W per thread"


@lru_cache(maxsize=1)
def _energy_mix() -> dict[str, Any]:
    from codecarbon.input import DataSource

    return DataSource().get_global_energy_mix_data()


def country_carbon_intensity(country_iso_code: str) -> float:
    """Grid intensity (g CO2eq/kWh) CodeCarbon uses for a country: its bundled
    data/private_infra/global_energy_mix.json, read offline. USA: 369.5, FRA: 56.0."""
    mix = _energy_mix()
    entry = mix.get(country_iso_code.upper())
    if entry is None or entry.get("carbon_intensity") is None:
        raise ValueError(
            f"country {country_iso_code!r} is not in CodeCarbon's global_energy_mix.json "
            f"({len(mix)} countries); use a 3-letter ISO code such as 'USA' or 'FRA'"
        )
    return float(entry["carbon_intensity"])


def equivalencies(kg_co2eq: float) -> dict[str, float]:
    """The same CO2 as everyday things (EPA constants above)."""
    if kg_co2eq < 0:
        raise ValueError(f"emissions cannot be negative: {kg_co2eq} kg")
    return {
        "car_miles": kg_co2eq / KG_CO2_PER_CAR_MILE,
        "tree_seedlings_10y": kg_co2eq / KG_CO2_PER_TREE_SEEDLING_10Y,
        "tree_years": kg_co2eq / KG_CO2_PER_TREE_YEAR,
        "smartphone_charges": kg_co2eq / KG_CO2_PER_SMARTPHONE_CHARGE,
    }


@dataclass(frozen=True)
class Alert:
    code: str
    severity: str  # "warning": a threshold was crossed; "info": advice that follows from one
    message: str


def recommendations(result: EmissionsResult, *, eval_loss: float | None) -> list[Alert]:
    """The spec's alerts (strictly above each threshold) and the advice each one triggers."""
    alerts: list[Alert] = []

    def add(code: str, severity: str, message: str) -> None:
        alerts.append(Alert(code, severity, message))

    intensity = result.carbon_intensity_g_per_kwh
    if result.kg_co2eq > HIGH_EMISSIONS_KG:
        message = f"high emissions: {result.kg_co2eq:.2f} kg CO2eq > {HIGH_EMISSIONS_KG:g} kg"
        add("high_emissions", "warning", message)
        if intensity is not None and intensity > CLEAN_GRID_G_PER_KWH:
            add(
                "lower_carbon_region",
                "info",
                f"use a lower-carbon region (intensity {intensity:.0f} g/kWh here; "
                f"France is 56 in CodeCarbon's data)",
            )
        add("smaller_profile", "info", "use QLoRA (4-bit base) or a smaller model profile")
    if eval_loss is not None and eval_loss > POOR_CONVERGENCE_LOSS:
        add(
            "poor_convergence",
            "warning",
            f"poor convergence: eval loss {eval_loss:.3f} > {POOR_CONVERGENCE_LOSS:g}; "
            "check the learning rate and data format before training longer",
        )
    if result.duration_s > LONG_RUN_S:
        hours = result.duration_s / 3600
        add("long_run", "warning", f"long run: {hours:.1f} h > {LONG_RUN_S / 3600:g} h")
        add("early_stopping", "info", "reduce epochs with early stopping on eval loss")
    return alerts


def within_budget(result: EmissionsResult, budget_kg: float = DEFAULT_BUDGET_KG) -> bool:
    """True when the run emitted no more than the budget."""
    return result.kg_co2eq <= budget_kg


def read_history(history_path: Path) -> list[dict[str, Any]]:
    """The JSONL history; a missing file is an empty history."""
    if not history_path.exists():
        return []
    records = []
    for number, line in enumerate(history_path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{history_path}:{number}: not JSON ({e.msg}); fix or drop the line"
            ) from None
    return records


def append_history(history_path: Path, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Append one record and return the whole history; readers never see a half-written file."""
    records = [*read_history(history_path), dict(record)]
    history_path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_atomic(history_path, text.encode())
    return records


def summarize_history(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over records holding `kg_co2eq` and `energy_kwh` (as `EmissionsResult.to_dict`)."""
    for i, r in enumerate(records):
        if "kg_co2eq" not in r or "energy_kwh" not in r:
            raise ValueError(f"history record {i} lacks kg_co2eq or energy_kwh: {sorted(r)}")
    kgs = [float(r["kg_co2eq"]) for r in records]
    return {
        "runs": len(records),
        "total_kg_co2eq": sum(kgs),
        "total_energy_kwh": sum(float(r["energy_kwh"]) for r in records),
        "mean_kg_co2eq_per_run": sum(kgs) / len(kgs) if kgs else 0.0,
        "max_kg_co2eq": max(kgs, default=0.0),
    }


@dataclass(frozen=True)
class RunEstimate:
    duration_s: float
    energy_kwh: float
    kg_co2eq: float


def estimate_run(
    tokens: int,
    tokens_per_second: float,
    *,
    device_power_w: float,
    ram_power_w: float = 10.0,  # CodeCarbon's RAM floor on x86 (2 DIMMs × 5 W); 20 W above 16 GB RSS
    carbon_intensity_g_per_kwh: float,
    pue: float = 1.0,
) -> RunEstimate:
    """Before training: time from throughput, energy from power, CO2 from the grid."""
    if tokens < 0 or tokens_per_second <= 0 or pue < 1.0:
        raise ValueError(
            f"need tokens >= 0, tokens_per_second > 0, pue >= 1; got {tokens}, {tokens_per_second}, {pue}"
        )
    if device_power_w < 0 or ram_power_w < 0 or carbon_intensity_g_per_kwh < 0:
        raise ValueError("power and carbon intensity cannot be negative")
    duration_s = tokens / tokens_per_second
    energy_kwh = (device_power_w + ram_power_w) * duration_s / 3.6e6 * pue
    return RunEstimate(duration_s, energy_kwh, energy_kwh * carbon_intensity_g_per_kwh / 1000.0)


def emissions_report(
    result: EmissionsResult,
    *,
    eval_loss: float | None,
    history: Sequence[Mapping[str, Any]],
    budget_kg: float = DEFAULT_BUDGET_KG,
) -> dict[str, Any]:
    """Everything a person or a check needs about one run's carbon, JSON-ready."""
    return {
        "emissions": result.to_dict(),
        "equivalencies": equivalencies(result.kg_co2eq),
        "alerts": [dataclasses.asdict(a) for a in recommendations(result, eval_loss=eval_loss)],
        "budget_kg": budget_kg,
        "within_budget": within_budget(result, budget_kg),
        "eval_loss": eval_loss,
        "history": summarize_history(history),
    }


def to_markdown(report: Mapping[str, Any]) -> str:
    """The report as markdown for Dagster metadata or a model card."""
    e, eq, h = report["emissions"], report["equivalencies"], report["history"]
    intensity = e["carbon_intensity_g_per_kwh"]
    lines = [
        "## Carbon footprint",
        "",
        "| | |",
        "|---|---|",
        f"| CO2eq | {e['kg_co2eq'] * 1000:.4g} g |",
        f"| Energy | {e['energy_kwh'] * 1000:.4g} Wh (CPU {e['cpu_kwh'] * 1000:.3g}, GPU {e['gpu_kwh'] * 1000:.3g}, RAM {e['ram_kwh'] * 1000:.3g}) |",
        f"| Duration | {e['duration_s']:.1f} s |",
        f"| Grid | {e['country_iso_code']}{'/' + e['region'] if e['region'] else ''}, {f'{intensity:.0f} g/kWh' if intensity is not None else 'n/a'} |",
        f"| Hardware | {e['cpu_model'] or 'unknown CPU'}{'; ' + e['gpu_model'] if e['gpu_model'] else ''} |",
        f"| Budget | {'within' if report['within_budget'] else 'OVER'} {report['budget_kg']:g} kg |",
        "",
        f"Power: {e['power_measurement']}.",
    ]
    if e["phases"]:
        lines += ["", "| Phase | g CO2eq | Wh | s |", "|---|---|---|---|"]
        for name, p in e["phases"].items():
            lines.append(
                f"| {name} | {p['kg_co2eq'] * 1000:.4g} | {p['energy_kwh'] * 1000:.4g} | {p['duration_s']:.1f} |"
            )
    lines += [
        "",
        f"Equivalent to {eq['car_miles']:.3g} miles by car, {eq['smartphone_charges']:.3g} smartphone "
        f"charges, {eq['tree_years']:.3g} tree-years or {eq['tree_seedlings_10y']:.3g} seedlings grown 10 years.",
        "",
    ]
    lines += [f"- **{a['severity']}** `{a['code']}`: {a['message']}" for a in report["alerts"]]
    lines += [] if report["alerts"] else ["No alerts."]
    lines += [
        "",
        f"History: {h['runs']} runs, {h['total_kg_co2eq']:.4g} kg CO2eq and "
        f"{h['total_energy_kwh']:.4g} kWh in total, {h['mean_kg_co2eq_per_run']:.4g} kg per run "
        f"on average, at most {h['max_kg_co2eq']:.4g} kg.",
    ]
    return "\n".join(lines) + "\n"


def combine_results(phases: Mapping[str, EmissionsResult]) -> EmissionsResult:
    """One result for phases tracked in separate processes or assets (e.g. training, evaluation)."""
    if not phases:
        raise ValueError("no phases to combine")
    parts = list(phases.values())
    kg, kwh = sum(p.kg_co2eq for p in parts), sum(p.energy_kwh for p in parts)
    seconds = sum(p.duration_s for p in parts)
    cpu, gpu = sum(p.cpu_kwh for p in parts), sum(p.gpu_kwh for p in parts)
    watts = 3.6e6 / seconds if seconds > 0 else 0.0
    first = parts[0]
    methods = sorted({p.power_measurement for p in parts})
    return EmissionsResult(
        kg_co2eq=kg,
        energy_kwh=kwh,
        cpu_kwh=cpu,
        gpu_kwh=gpu,
        ram_kwh=sum(p.ram_kwh for p in parts),
        carbon_intensity_g_per_kwh=kg * 1000.0 / kwh if kwh > 0 else None,
        duration_s=seconds,
        country_iso_code=first.country_iso_code,
        region=first.region,
        cpu_model=first.cpu_model,
        gpu_model=first.gpu_model,
        cpu_power_w=cpu * watts,
        gpu_power_w=gpu * watts,
        power_measurement=" | ".join(methods),
        phases=dict(phases),
        csv_path=None,
    )
