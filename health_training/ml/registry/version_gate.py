"""The promotion gate run on a newly registered version, and promotions that cite it.

`gate_new_version`: production answers the challenger's test rows (its recorded answers are
reused when they match), both answer the held-out rated prompts of the adapter's preference data
(ml/registry/rated_prompts.py) and the free-form questions, each comparison is paired
(version_comparison.py), and `ml.registry.promotion_gate` decides; the decision and its figures are recorded on the
version, which auto mode also promotes. `promote_recorded` is how a person (CLI, job, admin API)
moves `production` later: with the decision recorded at registration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from health_training.constants import GATE_TAG
from health_training.data.blob_storage import BlobStorage
from health_training.ml.registry.promotion_gate import GateDecision, evaluate_gate, load_gate_policy
from health_training.ml.registry.rated_prompts import RatedPrompt, held_out_rated_prompts
from health_training.ml.registry.version_comparison import (
    adapter_fetcher,
    freeform_comparison,
    production_answers,
    rated_comparison,
)


def now() -> str:
    """The registry's timestamps: UTC, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def challenger_metrics(eval_doc: dict[str, Any], role: str = "finetuned") -> dict[str, float]:
    """The gate's metric names (ml/metrics overall, the response-token loss included)."""
    model = eval_doc["models"][role]
    overall = {k: v for k, v in model["overall"].items() if isinstance(v, int | float)}
    return {**{k: model[k] for k in ("eval_loss", "perplexity") if k in model}, **overall}


def rated_prompts_of(storage: BlobStorage, preference_version: str | None) -> list[RatedPrompt]:
    """The held-out rated prompts of a preference data version (none without one), at most the
    policy's `max_prompts`."""
    if not preference_version:
        return []
    from health_training.ml.preference.store import read_preference_version

    examples = read_preference_version(storage, preference_version).examples
    return held_out_rated_prompts(examples, limit=load_gate_policy().max_rated_prompts)


def decide(
    registry: Any,
    version: str,
    metrics: dict[str, float],
    answers: dict[str, Any],
    rows: list[dict[str, Any]],
    production: tuple[str | None, Any],
    *,
    emissions_kg: float,
    rated: dict[str, dict[str, Any]] | None = None,
    n_rated: int = 0,
    freeform: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None),
) -> GateDecision:
    """`freeform`: (the challenger's overall free-form metrics, their intervals against
    production), each None when not available."""
    from health_training.ml.evaluation.answer_and_compare import ModelAnswers, compare

    prod_version, prod_answers = production
    intervals = None
    if prod_answers is not None:
        found = compare(rows, prod_answers, ModelAnswers.from_dict(answers["finetuned"]))
        intervals = found["intervals"]["overall"]
    decision = evaluate_gate(
        metrics,
        load_gate_policy(),
        intervals=intervals,
        emissions_kg=emissions_kg,
        n_test=len(rows),
        compared_with=prod_version,
        rated=rated,
        n_rated=n_rated,
        freeform=freeform[0],
        freeform_intervals=freeform[1],
    )
    registry.set_version_tags(
        version,
        {
            GATE_TAG: decision.to_json(),
            "gate.summary": decision.summary(),
            "gate.compared_with": prod_version or "none",
        },
    )
    if decision.auto_promote:
        registry.promote(
            version,
            approved_by="auto-gate",
            reason="gate passed (auto mode)",
            decision=decision,
            now=now(),
        )
    return decision


def gate_new_version(
    registry: Any,
    version: str,
    eval_doc: dict[str, Any],
    answers: dict[str, Any],
    test_rows: dict[str, dict[str, Any]],
    *,
    base_name: str,
    models_dir: Path,
    cache: Path,
    emissions_kg: float,
    log: Callable[[str], None],
    rated_prompts: Sequence[RatedPrompt] = (),
    challenger_adapter: Path | None = None,
    freeform_rows: dict[str, dict[str, Any]] | None = None,
) -> tuple[GateDecision, str | None]:
    """The whole gate for a just-registered version: production answers the same test rows
    (`test_rows` by content key) and, with the challenger (`challenger_adapter`), the held-out
    `rated_prompts`; then `decide`. Returns (decision, production version)."""
    rows = [test_rows[k] for k in answers["content_keys"]]
    adapter_of = adapter_fetcher(registry, cache)
    production = production_answers(
        registry, adapter_of, base_name, models_dir, cache, answers, rows, log
    )
    rated = rated_comparison(
        adapter_of,
        production[0],
        rated_prompts,
        challenger_adapter,
        base_name=base_name,
        models_dir=models_dir,
        settings_doc=answers["settings_doc"],
        log=log,
    )
    freeform = freeform_comparison(
        registry, adapter_of, base_name, models_dir, cache, eval_doc, answers, freeform_rows, log
    )
    decision = decide(
        registry,
        version,
        challenger_metrics(eval_doc),
        answers,
        rows,
        production,
        emissions_kg=emissions_kg,
        rated=rated,
        n_rated=len(rated_prompts) if rated is not None else 0,
        freeform=freeform,
    )
    return decision, production[0]


def recorded_decision(registry: Any, version: str) -> GateDecision | None:
    raw = registry.version(version).tags.get(GATE_TAG)
    return GateDecision.from_json(raw) if raw else None


def promote_recorded(
    registry: Any, version: str, *, approved_by: str, reason: str, force: bool = False
) -> None:
    """Promote with the gate decision recorded on the version at registration."""
    registry.promote(
        version,
        approved_by=approved_by,
        reason=reason,
        decision=recorded_decision(registry, version),
        now=now(),
        force=force,
    )
