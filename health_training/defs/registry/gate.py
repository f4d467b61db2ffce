"""The promotion gate for a newly registered version (the second half of `registered_model`):
production answers the challenger's test rows (its recorded answers are reused when they match),
both answer the held-out rated prompts of the adapter's preference data (ml/rated_prompts.py),
both are compared with paired bootstrap intervals, and `ml.gate` decides; the decision and its
figures are recorded on the version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from health_training.constants import GATE_TAG
from health_training.data import layout
from health_training.ml.gate import GateDecision, evaluate_gate, load_gate_policy
from health_training.ml.rated_prompts import RatedPrompt, compare_rated, held_out_rated_prompts


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def adapter_fetcher(registry: Any, cache: Path) -> Callable[[str], Path | None]:
    """version -> its adapter folder (None for an external model), downloaded at most once: a
    registered pyfunc may bundle its base, and the gate needs production's adapter twice."""
    fetched: dict[str, Path | None] = {}

    def fetch(version: str) -> Path | None:
        if version not in fetched:
            try:
                fetched[version], _ = registry.download_adapter(
                    version, cache / "production" / version
                )
            except FileNotFoundError:
                fetched[version] = None
        return fetched[version]

    return fetch


def production_answers(
    registry: Any,
    adapter_of: Callable[[str], Path | None],
    base_name: str,
    models_dir: Path,
    cache: Path,
    challenger: dict,
    rows: list,
    log: Any,
    split: str | None = None,
) -> tuple[str | None, Any]:
    """(production version, its answers to `rows`), (version, None) for an external model,
    (None, None) without production. `split`: the part of production's recorded answers to
    reuse (None: the narrative test split; "freeform_test": the free-form questions)."""
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
        doc = (doc.get(split) or {"content_keys": None, "settings": None}) if split else doc
        if (doc["content_keys"], doc["settings"]) == (
            challenger["content_keys"],
            challenger["settings"],
        ):
            log(f"production v{version} answered the same {split or 'test'} rows: reused")
            return version, ModelAnswers.from_dict(doc["finetuned"])
    adapter = adapter_of(version)
    if adapter is None:
        log(f"production v{version} holds no adapter (an external model): no paired comparison")
        return version, None
    from peft import PeftModel

    from health_training.ml.models import load_model_and_tokenizer, resolve_base_model

    base, tokenizer = load_model_and_tokenizer(resolve_base_model(base_name, models_dir))
    model = PeftModel.from_pretrained(base, str(adapter))
    model.merge_adapter()
    log(f"scoring production v{version} on the challenger's {len(rows)} {split or 'test'} rows")
    return version, answer(model, tokenizer, rows, DecodingSettings(**challenger["settings_doc"]))


def rated_prompts_of(storage: Any, preference_version: str | None) -> list[RatedPrompt]:
    """The held-out rated prompts of a preference data version (none without one), at most the
    policy's `max_prompts`."""
    if not preference_version:
        return []
    from health_training.ml.preference.examples import PreferenceDataset

    raw = storage.read_bytes(layout.preference_examples(preference_version))
    examples = PreferenceDataset.from_jsonl(preference_version, raw).examples
    return held_out_rated_prompts(examples, limit=load_gate_policy().max_rated_prompts)


def rated_comparison(
    adapter_of: Callable[[str], Path | None],
    prod_version: str | None,
    prompts: Sequence[RatedPrompt],
    challenger_adapter: Path | None,
    *,
    base_name: str,
    models_dir: Path,
    settings_doc: dict[str, Any],
    log: Any,
) -> dict[str, dict[str, Any]] | None:
    """Production vs the challenger on held-out rated prompts: intervals per metric, or None
    (no production adapter, no prompts)."""
    if prod_version is None or not prompts or challenger_adapter is None:
        return None
    prod_adapter = adapter_of(prod_version)
    if prod_adapter is None:
        return None
    from peft import PeftModel

    from health_training.ml.evaluation import DecodingSettings, answer
    from health_training.ml.models import load_model_and_tokenizer, resolve_base_model

    base, tokenizer = load_model_and_tokenizer(resolve_base_model(base_name, models_dir))
    model = PeftModel.from_pretrained(base, str(prod_adapter), adapter_name="production")
    model.load_adapter(str(challenger_adapter), adapter_name="challenger")
    rows, settings = [p.as_row() for p in prompts], DecodingSettings(**settings_doc)
    log(f"production v{prod_version} and the challenger answer {len(rows)} held-out rated prompts")
    predictions = {}
    for name in ("production", "challenger"):
        model.set_adapter(name)
        model.merge_adapter()  # one adapter at a time, merged: the evaluation's decoding speed
        try:
            predictions[name] = answer(model, tokenizer, rows, settings).predictions
        finally:
            model.unmerge_adapter()
    return compare_rated(prompts, predictions["production"], predictions["challenger"])


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
    log: Any,
    rated_prompts: Sequence[RatedPrompt] = (),
    challenger_adapter: Path | None = None,
    freeform_rows: dict[str, dict[str, Any]] | None = None,
) -> tuple[GateDecision, str | None]:
    """The whole gate for a just-registered version: production answers the same test rows
    (`test_rows` by content key) and, with the challenger (`challenger_adapter`), the held-out
    `rated_prompts`; then `decide`. Returns (decision, production version)."""
    from health_training.defs.registry.tracking import challenger_metrics

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


def freeform_comparison(
    registry: Any,
    adapter_of: Callable[[str], Path | None],
    base_name: str,
    models_dir: Path,
    cache: Path,
    eval_doc: dict[str, Any],
    answers: dict[str, Any],
    freeform_rows: dict[str, dict[str, Any]] | None,
    log: Any,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the challenger's free-form metrics, challenger − production intervals on the same
    free-form rows): (None, None) when the evaluation had no freeform_test split."""
    from health_training.data.splits import FREEFORM_TEST
    from health_training.ml.evaluation import ModelAnswers
    from health_training.ml.freeform_eval import compare_freeform

    section, doc = eval_doc.get("freeform"), answers.get(FREEFORM_TEST)
    if not section or not doc or not freeform_rows:
        return None, None
    metrics = dict(section["models"]["finetuned"]["overall"])
    rows = [freeform_rows[k] for k in doc["content_keys"]]
    _, prod = production_answers(
        registry, adapter_of, base_name, models_dir, cache, doc, rows, log, split=FREEFORM_TEST
    )
    if prod is None:
        return metrics, None
    found = compare_freeform(rows, prod, ModelAnswers.from_dict(doc["finetuned"]))
    return metrics, found["intervals"]["overall"]


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
