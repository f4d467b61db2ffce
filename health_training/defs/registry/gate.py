"""The promotion gate for a newly registered version (the second half of `registered_model`):
production answers the challenger's test rows (its recorded answers are reused when they match),
both are compared with paired bootstrap intervals, and `ml.gate` decides; the decision and its
figures are recorded on the version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from health_training.ml.gate import GateDecision, evaluate_gate, load_gate_policy

GATE_TAG = "gate.decision"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def production_answers(
    registry: Any, base_name: str, models_dir: Path, cache: Path, challenger: dict, rows: list, log
) -> tuple[str | None, Any]:
    """(production version, its answers to `rows`), (version, None) for an external model,
    (None, None) without production."""
    from health_training.ml.evaluation import DecodingSettings, ModelAnswers, answer

    prod = registry.production_version()
    if prod is None:
        return None, None
    version = str(prod.version)
    folder = cache / "production" / version
    recorded = registry.download_run_file(prod.run_id, "eval/answers.json", folder)
    if recorded is not None:
        import json

        doc = json.loads(recorded.read_text())
        if (doc["content_keys"], doc["settings"]) == (
            challenger["content_keys"],
            challenger["settings"],
        ):
            log(f"production v{version} answered the same test rows: its answers are reused")
            return version, ModelAnswers.from_dict(doc["finetuned"])
    try:
        adapter, _ = registry.download_adapter(version, folder)
    except FileNotFoundError:
        log(f"production v{version} holds no adapter (an external model): no paired comparison")
        return version, None
    from peft import PeftModel

    from health_training.ml.models import load_model_and_tokenizer, resolve_base_model

    base, tokenizer = load_model_and_tokenizer(resolve_base_model(base_name, models_dir))
    model = PeftModel.from_pretrained(base, str(adapter))
    model.merge_adapter()
    log(f"scoring production v{version} on the challenger's {len(rows)} test rows")
    return version, answer(model, tokenizer, rows, DecodingSettings(**challenger["settings_doc"]))


def decide(
    registry: Any,
    version: str,
    metrics: dict[str, float],
    answers: dict[str, Any],
    rows: list[dict[str, Any]],
    production: tuple[str | None, Any],
    *,
    emissions_kg: float,
) -> GateDecision:
    from health_training.ml.evaluation import ModelAnswers, compare

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
    log: Any,
) -> tuple[GateDecision, str | None]:
    """The whole gate for a just-registered version: production answers the same test rows
    (`test_rows` by content key), then `decide`. Returns (decision, production version)."""
    from health_training.defs.registry.tracking import challenger_metrics

    rows = [test_rows[k] for k in answers["content_keys"]]
    production = production_answers(registry, base_name, models_dir, cache, answers, rows, log)
    decision = decide(
        registry,
        version,
        challenger_metrics(eval_doc),
        answers,
        rows,
        production,
        emissions_kg=emissions_kg,
    )
    return decision, production[0]


def recorded_decision(registry: Any, version: str) -> GateDecision | None:
    raw = registry.version(version).tags.get(GATE_TAG)
    return GateDecision.from_json(raw) if raw else None


def version_metadata(
    model_name: str,
    version: str,
    decision: GateDecision,
    run_identity: str,
    mlflow_run_id: str,
    compared_with: str | None,
) -> dict[str, Any]:
    """What `registered_model` records for people: the version, its alias and the gate."""
    import dagster as dg

    return {
        "model_name": model_name,
        "version": version,
        "alias": "production" if decision.auto_promote else "staging",
        "run_identity": run_identity,
        "mlflow_run_id": mlflow_run_id,
        "model_uri": f"models:/{model_name}/{version}",
        "gate_passed": decision.passed,
        "gate_reasons": dg.MetadataValue.json(decision.reasons),
        "gate_figures": dg.MetadataValue.json(decision.per_metric),
        "compared_with_production": compared_with or "none",
        "gate_mode": "auto" if decision.auto_promote else "human",
    }
