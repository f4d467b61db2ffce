"""Experiment: does learning from ratings raise fact accuracy on the frozen test split?

    nice .venv/bin/python bench/preference_loop.py                 # the issue's run (hours here)
    nice .venv/bin/python bench/preference_loop.py --prompts 8 --test 8 --sft-steps 2 \
        --pref-steps 2 --pref-min-examples 2 --corrections --keep-going   # smoke run: 31 CPU-min,
                                                 # 95 min wall on 2 cores shared with other jobs
    nice .venv/bin/python bench/preference_loop.py --json var/bench/preference_loop.json

1. SFT: the cpu_demo profile on the bundled SmolLM2-135M (`var/models/smollm2-135m`), cut to
   `--sft-steps`, on a training dataset version (`--dataset`, default the lake's newest): a short
   run, so its fact accuracy on the frozen test split stays below 0.90 (the start the issue asks
   for; the script says so when it is not, and stops unless `--keep-going`).
2. The SFT adapter answers `--prompts` train-split prompts that SFT did not train on (greedy, the
   evaluation's decoding) and `--test` frozen-test rows (stratified by domain).
3. The simulated clinic (ml/preference/simulated_clinic.py) rates each clinic answer from its fact accuracy
   against the row's source facts; ratings go into a feedback store (SQLite) through the store's
   own write path, as `POST /v1/feedback` stores them. `--corrections`: the clinic also writes the
   reference answer under low ratings (DPO pairs); by default ratings alone, the issue's case.
4. The preference dataset is built from the store (test and validation prompts held out, prompts
   split by hash: about 80 % of them train), then `train_with_preference`: the SFT run is a no-op,
   the preference stage (KTO by default) trains on the SFT adapter.
5. Both adapters answer the same test rows; fact accuracy, ROUGE-L and the rest with paired
   bootstrap 95 % intervals of preference − SFT (`evaluation.compare`), and CodeCarbon emissions
   per phase (offline tracker, the country you give; no RAPL here: CPU power is estimated).

Everything goes under `--work` (default var/bench/preference_loop/); the SFT run is reused when its
identity matches, so a second run with other preference settings skips step 1's training.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHOWN = ("fact_accuracy", "fact_recall", "rougeL", "hallucinated_number_rate", "eos_rate")
TARGET_START = 0.90  # the issue: start from an SFT adapter below this fact accuracy


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", type=Path, help="training dataset version folder (default: newest)")
    p.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    p.add_argument("--base", default="smollm2-135m", help="catalog name of the base model")
    p.add_argument("--work", type=Path, default=ROOT / "var" / "bench" / "preference_loop")
    p.add_argument(
        "--sft-steps", type=int, default=6, help="SFT optimizer steps (short on purpose)"
    )
    p.add_argument("--prompts", type=int, default=256, help="train-split prompts the clinic rates")
    p.add_argument("--test", type=int, default=200, help="frozen-test rows compared")
    p.add_argument("--method", choices=("kto", "dpo"), default="kto")
    p.add_argument("--pref-steps", type=int, default=-1, help="-1: one epoch (profile's default)")
    p.add_argument("--pref-lr", type=float, help="override the profile's preference learning rate")
    p.add_argument("--beta", type=float, help="override the profile's preference beta")
    p.add_argument("--pref-min-examples", type=int, help="override preference.min_examples")
    p.add_argument("--corrections", action="store_true", help="the clinic corrects low ratings")
    p.add_argument("--batch-size", type=int, default=16, help="answers generated together")
    p.add_argument("--country", default="USA", help="ISO-3 grid for CodeCarbon")
    p.add_argument("--keep-going", action="store_true", help="go on from an SFT adapter >= 0.90")
    p.add_argument("--json", type=Path, help="write the figures here too")
    return p.parse_args(argv)


def newest_dataset() -> Path:
    history = ROOT / "var" / "lake" / "datasets" / "training" / "history.jsonl"
    if not history.exists():
        raise SystemExit(f"{history} is missing: run `make demo` or pass --dataset")
    version = json.loads(history.read_text().splitlines()[-1])["version"]
    return history.parent / version


def read_rows(dataset: Path, split: str) -> list[dict[str, Any]]:
    from health_training.data.dataset import read_parquet_rows

    return read_parquet_rows((dataset / f"{split}.parquet").read_bytes())


def clinic_prompts(train_rows: list[dict[str, Any]], cfg: Any, n: int) -> list[dict[str, Any]]:
    """`n` train rows the SFT run did not train on: half questions (by kind), half narratives."""
    from health_training.commands.clinic import untrained_rows

    return untrained_rows(train_rows, n, cfg.profile)


def answer_with(model: Any, adapter: str, tokenizer: Any, rows: list, batch_size: int) -> Any:
    """Greedy answers of one adapter (merged for its pass, as the evaluation does)."""
    from health_training.ml.evaluation.answer_and_compare import answer, decoding_settings

    model.set_adapter(adapter)
    settings = decoding_settings(tokenizer, rows, batch_size=batch_size)
    model.merge_adapter()
    try:
        return answer(model, tokenizer, rows, settings)
    finally:
        model.unmerge_adapter()


def rate_into_store(rows: list, answers: Any, url: str, model_version: str, corrects: bool):
    """The clinic's ratings, stored through the feedback store's write path."""
    from collections import Counter

    from health_training.data.feedback import FeedbackRecord
    from health_training.data.phi import Pseudonymizer
    from health_training.ml.preference.simulated_clinic import SimulatedClinic
    from health_training.stores.feedback_store import FeedbackStore
    from health_training.stores.review_queue import ReviewQueue

    clinic = SimulatedClinic(corrects=corrects)
    records, ratings = [], Counter()
    for row, text in zip(rows, answers.predictions, strict=True):
        rating = clinic.rate_row(row, text)
        ratings[rating.rating] += 1
        records.append(
            FeedbackRecord(
                query=row["instruction"],
                response=text or "(empty answer)",
                rating=rating.rating,
                model_version=model_version,
                corrected_response=rating.corrected_response,
                context=row.get("input") or "",
            )
        )
    store = FeedbackStore(url)
    try:
        added = store.add_many(records, Pseudonymizer(b"preference-loop-bench-key-000000"))
        # The clinic's corrections are the dataset's reference answers: the bench plays the
        # reviewer who approves them (stores/review_queue.py), as a person would.
        queue = ReviewQueue(store)
        for row in queue.pending(limit=1_000_000):
            queue.decide(row.id, approve=True, by="bench:simulated-reviewer",
                         reason="the reference answer", accept_unsupported_numbers=True)  # fmt: skip
    finally:
        store.dispose()
    return added, dict(sorted(ratings.items()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from peft import PeftModel

    from health_training.ml.emissions import track_emissions
    from health_training.ml.evaluation.answer_and_compare import (
        ModelAnswers,
        compare,
        stratified_sample,
    )
    from health_training.ml.lm.models import load_model_and_tokenizer, resolve_base_model
    from health_training.ml.preference.stage import train_with_preference
    from health_training.ml.preference.store import (
        preference_dataset_from_store,
        write_preference_dataset,
    )
    from health_training.ml.training.config import load_train_config
    from health_training.ml.training.sft import train

    dataset = args.dataset or newest_dataset()
    manifest = json.loads((dataset / "manifest.json").read_text())
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    cfg = load_train_config("cpu_demo", base_model=args.base, max_steps=args.sft_steps)
    pref = {"method": args.method, "max_steps": args.pref_steps}
    pref |= {"learning_rate": args.pref_lr} if args.pref_lr else {}
    pref |= {"beta": args.beta} if args.beta else {}
    pref |= {"min_examples": args.pref_min_examples} if args.pref_min_examples else {}
    cfg = replace(cfg, preference=replace(cfg.preference, **pref))
    kw = dict(models_dir=args.models_dir, dataset_version=manifest["version"])
    clock: dict[str, float] = {}
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:7.0f} s] {message}", flush=True)

    with track_emissions(
        work / "emissions", project="preference_loop", country_iso_code=args.country
    ) as meter:
        with meter.phase("sft"):
            t = time.monotonic()
            sft = train(cfg, dataset, work / "runs", **kw)
            clock["sft_s"] = time.monotonic() - t
        log(f"SFT run {sft.identity}: {sft.steps} steps, train loss {sft.train_loss}")

        test_rows = list(stratified_sample(read_rows(dataset, "test"), args.test))
        prompts = clinic_prompts(read_rows(dataset, "train"), cfg, args.prompts)
        spec = resolve_base_model(args.base, args.models_dir)
        base, tokenizer = load_model_and_tokenizer(spec)
        model = PeftModel.from_pretrained(base, str(sft.adapter_dir), adapter_name="sft")
        with meter.phase("answering"):
            t = time.monotonic()
            # The SFT adapter's answers are kept per SFT run and rows: a second run with other
            # preference settings goes straight to the preference stage.
            cache = work / f"sft_answers_{sft.identity}_{len(test_rows)}_{len(prompts)}.json"
            if cache.exists():
                doc = json.loads(cache.read_text())
                sft_test = ModelAnswers.from_dict(doc["test"])
                clinic_answers = ModelAnswers.from_dict(doc["clinic"])
                log(f"SFT answers reused from {cache.name}")
            else:
                sft_test = answer_with(model, "sft", tokenizer, test_rows, args.batch_size)
            start = compare(test_rows, sft_test, sft_test, resamples=10)["a"]["overall"]
            log(f"SFT on {len(test_rows)} test rows: fact accuracy {start['fact_accuracy']}")
            if (start["fact_accuracy"] or 0) >= TARGET_START and not args.keep_going:
                log(f"the SFT adapter is at or above {TARGET_START}: use fewer --sft-steps")
                return 2
            if not cache.exists():
                clinic_answers = answer_with(model, "sft", tokenizer, prompts, args.batch_size)
                doc = {"test": sft_test.to_dict(), "clinic": clinic_answers.to_dict()}
                cache.write_text(json.dumps(doc))
            clock["answering_s"] = time.monotonic() - t
        url = f"sqlite:///{work / 'feedback.db'}"
        (work / "feedback.db").unlink(missing_ok=True)
        added, ratings = rate_into_store(
            prompts, clinic_answers, url, f"sft-{sft.identity}", args.corrections
        )
        log(f"clinic: {added} rated answers stored, ratings {ratings}")
        data = preference_dataset_from_store(url, dataset)
        write_preference_dataset(data, work / "preference")
        log(f"preference data {data.version}: {data.stats['by_kind']}, {len(data.train())} train")

        with meter.phase("preference"):
            t = time.monotonic()
            final = train_with_preference(
                cfg, dataset, work / "runs", preference_data=data, progress=_printer(log), **kw
            )
            clock["preference_s"] = time.monotonic() - t
        if not final.preference or "skipped" in final.preference:
            log(f"no preference stage: {final.preference}")
            return 3
        model.load_adapter(str(final.adapter_dir), adapter_name="preference")
        with meter.phase("evaluation"):
            t = time.monotonic()
            tuned_test = answer_with(model, "preference", tokenizer, test_rows, args.batch_size)
            found = compare(test_rows, sft_test, tuned_test)
            clock["evaluation_s"] = time.monotonic() - t
    figures = summarize(args, cfg, sft, final, data, ratings, found, clock, meter.result)
    print(table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


def _printer(log):
    def show(event: dict[str, Any]) -> None:
        if event.get("event") == "preference":
            log(event["message"])
        elif "loss" in event and event.get("stage") == "preference":
            log(f"preference step {event['step']}/{event['max_steps']}: loss {event['loss']:.4f}")

    return show


def summarize(args, cfg, sft, final, data, ratings, found, clock, emissions) -> dict[str, Any]:
    overall = found["intervals"]["overall"]
    return {
        "settings": {
            "base": args.base,
            "sft_steps": args.sft_steps,
            "clinic_prompts": args.prompts,
            "test_rows": args.test,
            "corrections": args.corrections,
            "preference": final.preference["settings"],
        },
        "sft_identity": sft.identity,
        "preference_identity": final.identity,
        "preference_data_version": data.version,
        "clinic_ratings": ratings,
        "preference_examples": {
            k: final.preference[k] for k in ("examples", "desirable", "undesirable", "pairs")
        },
        "preference_steps": final.steps,
        "metrics": {m: overall[m] for m in SHOWN if m in overall},
        "seconds": {k: round(v, 1) for k, v in clock.items()},
        "kg_co2eq": emissions.kg_co2eq,
        "energy_kwh": emissions.energy_kwh,
        "emissions_phases": {k: v.kg_co2eq for k, v in (emissions.phases or {}).items()},
        "country": args.country,
    }


def table(figures: dict[str, Any]) -> str:
    lines = ["| metric | SFT | + preference | difference [95 % CI] |", "|---|---|---|---|"]
    for metric, iv in figures["metrics"].items():

        def fmt(x: float | None) -> str:
            return "—" if x is None else f"{x:.4f}"

        ci = (
            f"{iv['diff']:+.4f} [{iv['ci_low']:+.4f}, {iv['ci_high']:+.4f}]"
            if iv["ci_low"] is not None
            else "—"
        )
        lines.append(f"| {metric} | {fmt(iv['a'])} | {fmt(iv['b'])} | {ci} |")
    lines.append("")
    lines.append(f"ratings {figures['clinic_ratings']}, examples {figures['preference_examples']}")
    lines.append(f"seconds {figures['seconds']}, kg CO2eq {figures['kg_co2eq']:.6f}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
