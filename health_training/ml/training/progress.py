"""The training run's log lines: the plan with a duration/energy/CO2 estimate, a resume or a
no-op notice, then step, loss, tokens/s and ETA. The estimate uses the median throughput of the
last runs on the same base (one slow or fast run does not swing it)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

RECENT_RUNS = 5


def plan_line(event: dict[str, Any], max_length: int, estimate: str) -> str:
    return (
        f"plan: {event['train_examples']} examples packed into {event['packed_rows']} rows "
        f"(fill {event['fill']:.0%}), {event['too_long']} longer than {max_length} tokens left "
        f"out, {event['tokens_planned']:,} tokens; {estimate}"
        + (f" ({event['sample']})" if event.get("sample") else "")
    )


def estimate_text(
    tokens: int, history: Sequence[dict[str, Any]], intensity_g_per_kwh: float
) -> str:
    """The pre-run estimate from the median of the last runs' measured tokens/s and power."""
    from health_training.ml.emissions import estimate_run

    recent = list(history)[-RECENT_RUNS:]
    if not recent:
        return "no measured throughput for this base yet: the first run measures it"
    rate = statistics.median(h["tokens_per_second"] for h in recent)
    power = statistics.median(h.get("power_w") or 10.0 for h in recent)
    est = estimate_run(
        tokens, rate, device_power_w=power, carbon_intensity_g_per_kwh=intensity_g_per_kwh
    )
    return (
        f"estimate from the median of the last {len(recent)} runs ({rate:.0f} tokens/s): "
        f"{est.duration_s / 60:.1f} min, {est.energy_kwh * 1000:.2f} Wh, "
        f"{est.kg_co2eq * 1000:.2f} g CO2eq"
    )


def progress_logger(
    log: Callable[[str], None], max_length: int, estimate: Callable[[int], str]
) -> Callable[[dict[str, Any]], None]:
    """A `train(progress=...)` callback writing one line per event to `log`."""

    def progress(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "plan":
            log(plan_line(event, max_length, estimate(event["tokens_planned"])))
        elif kind == "resume":
            log(f"resuming from {event['checkpoint']} (step {event['step']})")
        elif kind == "preference":  # the preference stage's plan, skip or no-op, in words
            log(event["message"])
        elif kind == "finished_before":
            log(
                f"this run identity already finished ({event['step']} steps): its adapter is "
                "reused, nothing is trained (change data or config to train anew)"
            )
        else:
            eta = f", ETA {event['eta_s'] / 60:.1f} min" if event.get("eta_s") is not None else ""
            loss = f"loss {event['loss']:.4f}, " if "loss" in event else ""
            if "eval_loss" in event:
                loss += f"validation response-token loss {event['eval_loss']:.4f}, "
            log(
                f"step {event['step']}/{event['max_steps']}: {loss}"
                f"{event['tokens_per_s']:.0f} tokens/s{eta}"
            )

    return progress
