"""Production against a challenger on the same inputs: the comparisons the promotion gate reads.

Production answers the challenger's test rows (its recorded answers are reused when they were
made on the same rows with the same decoding), the held-out rated prompts of the challenger's
preference data (both adapters on one base, one merged at a time), and the free-form questions
of freeform_test. Each comparison is a paired one; `version_gate.py` turns them into a decision.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from health_training.constants import PRODUCTION
from health_training.data.splits import FREEFORM_TEST
from health_training.ml.registry.rated_prompts import RatedPrompt, compare_rated

AdapterOf = Callable[[str], Path | None]


def adapter_fetcher(registry: Any, cache: Path) -> AdapterOf:
    """version -> its adapter folder (None for an external model), downloaded at most once: a
    registered pyfunc may bundle its base, and the gate needs production's adapter twice."""
    fetched: dict[str, Path | None] = {}

    def fetch(version: str) -> Path | None:
        if version not in fetched:
            try:
                fetched[version], _ = registry.download_adapter(
                    version, cache / PRODUCTION / version
                )
            except FileNotFoundError:
                fetched[version] = None
        return fetched[version]

    return fetch


def _base(base_name: str, models_dir: Path, settings_doc: dict[str, Any]) -> tuple[Any, Any]:
    """The base in the dtype the challenger's answers were decoded in (same weights, fair)."""
    from health_training.ml.lm.models import load_model_and_tokenizer, resolve_base_model

    weights = str(settings_doc.get("weights", "float32"))
    return load_model_and_tokenizer(resolve_base_model(base_name, models_dir), dtype=weights)


def production_answers(
    registry: Any,
    adapter_of: AdapterOf,
    base_name: str,
    models_dir: Path,
    cache: Path,
    challenger: dict,
    rows: list,
    log: Callable[[str], None],
    split: str | None = None,
) -> tuple[str | None, Any]:
    """(production version, its answers to `rows`), (version, None) for an external model,
    (None, None) without production. `split`: the part of production's recorded answers to
    reuse (None: the narrative test split; "freeform_test": the free-form questions)."""
    from health_training.ml.evaluation.answer_and_compare import (
        DecodingSettings,
        ModelAnswers,
        answer,
    )

    prod = registry.production_version()
    if prod is None:
        return None, None
    version = str(prod.version)
    folder = cache / PRODUCTION / version
    recorded = registry.download_run_file(prod.run_id, "eval/answers.json", folder)
    if recorded is not None:
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

    base, tokenizer = _base(base_name, models_dir, challenger["settings_doc"])
    model = PeftModel.from_pretrained(base, str(adapter))
    model.merge_adapter()
    log(f"scoring production v{version} on the challenger's {len(rows)} {split or 'test'} rows")
    return version, answer(model, tokenizer, rows, DecodingSettings(**challenger["settings_doc"]))


def rated_comparison(
    adapter_of: AdapterOf,
    prod_version: str | None,
    prompts: Sequence[RatedPrompt],
    challenger_adapter: Path | None,
    *,
    base_name: str,
    models_dir: Path,
    settings_doc: dict[str, Any],
    log: Callable[[str], None],
) -> dict[str, dict[str, Any]] | None:
    """Production vs the challenger on held-out rated prompts: intervals per metric, or None
    (no production adapter, no prompts)."""
    if prod_version is None or not prompts or challenger_adapter is None:
        return None
    prod_adapter = adapter_of(prod_version)
    if prod_adapter is None:
        return None
    from peft import PeftModel

    from health_training.ml.evaluation.answer_and_compare import DecodingSettings, answer
    from health_training.ml.lm.merge import merged

    base, tokenizer = _base(base_name, models_dir, settings_doc)
    model = PeftModel.from_pretrained(base, str(prod_adapter), adapter_name=PRODUCTION)
    model.load_adapter(str(challenger_adapter), adapter_name="challenger")
    rows, settings = [p.as_row() for p in prompts], DecodingSettings(**settings_doc)
    log(f"production v{prod_version} and the challenger answer {len(rows)} held-out rated prompts")
    predictions = {}
    for name in (PRODUCTION, "challenger"):
        model.set_adapter(name)
        with merged(model):  # one adapter at a time, merged: the evaluation's decoding speed
            predictions[name] = answer(model, tokenizer, rows, settings).predictions
    return compare_rated(prompts, predictions[PRODUCTION], predictions["challenger"])


def freeform_comparison(
    registry: Any,
    adapter_of: AdapterOf,
    base_name: str,
    models_dir: Path,
    cache: Path,
    eval_doc: dict[str, Any],
    answers: dict[str, Any],
    freeform_rows: dict[str, dict[str, Any]] | None,
    log: Callable[[str], None],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the challenger's free-form metrics, challenger − production intervals on the same
    free-form rows): (None, None) when the evaluation had no freeform_test split."""
    from health_training.ml.evaluation.answer_and_compare import ModelAnswers
    from health_training.ml.evaluation.freeform_eval import compare_freeform

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
