"""Each phase's expected time and the run's expected end, in the run log and on the run (issue 19).

A phase is one asset of the run. When it starts, `announce_phase` looks up how long each phase
still ahead in this run (this one included) took when it last materialized, in the step stats
Dagster keeps for that earlier run, and logs it with the time the run should end; it also sets
the run tag `EXPECTED_END_TAG`, which the UI shows in the run list and on the run's page. The
UI's Gantt chart already shows what each finished phase took. Without an earlier run of a phase
there is nothing to estimate from: the log says so, and the training phase's own progress lines
(step, tokens/s, ETA) carry the estimate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dagster as dg

from health_training.constants import EXPECTED_END_TAG


@dataclass(frozen=True)
class PhaseTime:
    name: str
    seconds: float | None  # None: never materialized before, or its step stats are gone
    run_id: str | None


def announce_phase(context: dg.AssetExecutionContext) -> None:
    """Log the phases ahead with their last times and the run's expected end; never fails the
    phase (an estimate is not worth a failed run)."""
    try:
        keys = _run_keys(context)
        position = keys.index(context.asset_key)
        past = [_last_time(context.instance, key, context.run_id) for key in keys[position:]]
    except Exception as exc:  # the instance's storage may not answer: say so and go on
        context.log.info(f"phase clock: no estimate ({type(exc).__name__})")
        return
    context.log.info(phase_message(past, position=position + 1, total=len(keys), now=time.time()))
    known = [p.seconds for p in past if p.seconds is not None]
    if known and len(known) == len(past):
        end = time.strftime("%H:%M UTC", time.gmtime(time.time() + sum(known)))
        context.instance.add_run_tags(context.run_id, {EXPECTED_END_TAG: end})


def phase_message(past: list[PhaseTime], *, position: int, total: int, now: float) -> str:
    current, rest = past[0], past[1:]
    head = f"phase {position} of {total}: {current.name}"
    if current.seconds is None:
        head += " (no earlier run to estimate from)"
    else:
        head += f", {current.seconds / 60:.1f} min last time (run {str(current.run_id)[:8]})"
    if not rest:
        return head + "; the run's last phase"
    unknown = [p.name for p in past if p.seconds is None]
    left = sum(p.seconds for p in past if p.seconds is not None)
    end = time.strftime("%H:%M UTC", time.gmtime(now + left))
    ahead = ", ".join(
        f"{p.name} {p.seconds / 60:.1f} min" if p.seconds is not None else f"{p.name} ?"
        for p in rest
    )
    tail = f"; then {ahead}; the run should end about {end} ({left / 60:.1f} min from now)"
    if unknown:
        tail += f", later by what {', '.join(unknown)} take (never run before)"
    return head + tail


def _run_keys(context: dg.AssetExecutionContext) -> list[dg.AssetKey]:
    """The run's assets in the order they run (topological)."""
    graph = context.job_def.asset_layer.asset_graph
    selected = context.run.asset_selection or set(graph.executable_asset_keys)
    return [k for k in graph.toposorted_asset_keys if k in selected]


def _last_time(instance: dg.DagsterInstance, key: dg.AssetKey, run_id: str) -> PhaseTime:
    name = key.to_user_string()
    event = instance.get_latest_materialization_event(key)
    if event is None or event.run_id == run_id or not event.step_key:
        return PhaseTime(name, None, None)
    stats = instance.get_run_step_stats(event.run_id, step_keys=[event.step_key])
    if not stats or stats[0].start_time is None or stats[0].end_time is None:
        return PhaseTime(name, None, event.run_id)
    return PhaseTime(name, stats[0].end_time - stats[0].start_time, event.run_id)
