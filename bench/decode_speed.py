"""Decoding speed: the evaluation's decoder before issue 19 (bench/decoding_before.py) against
today's (health_training/ml/lm/decoding.py), in one process, on the same prompts.

    nice .venv/bin/python bench/decode_speed.py                      # SmolLM2-135M, narratives
    nice .venv/bin/python bench/decode_speed.py --split questions --batch-sizes 16
    nice .venv/bin/python bench/decode_speed.py --repeat-stop 16     # + the evaluation's repeat cut
    nice .venv/bin/python bench/decode_speed.py --model tiny --prompts 12   # a smoke run
    nice .venv/bin/python bench/decode_speed.py --adapter var/training/<run>/adapter \
        --rows var/lake/datasets/training/<version>/test.parquet         # the demo model

Prompts are the test splits' kind of rows: a split's parquet file (`--rows`), or ETL examples
made in-process by the demo's generator (`generate_corpus`), narratives or question examples;
a stratified sample as the evaluation takes it, encoded with the
training template, their references scored as the evaluation scores them (one pass gives the loss
and the answer), under the evaluation's cap (p99 of reference lengths + 16). For each batch size
the two decoders run alternately, `--repeats` times each, on `batch x --rows-per-slot` prompts
(at most `--prompts`). tokens/s = answer tokens / wall seconds, prefill included, from the best
run of each; `ratio` is the median of the paired (same repeat) ratios. Agreement: answers that
differ token for token from the old decoder's, and the largest reference-loss difference.
`--repeat-stop N` also times today's decoder with the repeat cut and counts the answer tokens it
saves; its answers must be the uncut answers' prefixes. `--bf16` also times today's decoder on
a bf16 copy of the weights and counts the answers that differ from its fp32 answers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def sample_rows(split: str, n: int) -> list[dict[str, Any]]:
    """`n` generated examples of the split's kind, an equal share per domain / question kind."""
    from health_training.etl.generator import generate_corpus
    from health_training.ml.evaluation.answer_and_compare import stratified_sample

    corpus = generate_corpus([(2025, 1), (2025, 2)], 20, 1)
    rows = []
    for data in corpus.files.values():
        for line in data.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the generator's deliberately malformed lines
            if not isinstance(row, dict) or not {"instruction", "output"} <= row.keys():
                continue
            meta = row.get("metadata") or {}
            kind = meta.get("question_kind")
            if bool(kind) != (split == "questions"):
                continue
            row["content_key"] = meta["content_hash"]
            row["category"] = kind or meta.get("training_category")
            rows.append(row)
    return stratified_sample(rows, n)


def read_rows(path: Path, n: int) -> list[dict[str, Any]]:
    """The evaluation's sample of a split file (test.parquet, freeform_test.parquet)."""
    import pandas as pd

    from health_training.ml.evaluation.answer_and_compare import stratified_sample

    by = "question_kind" if path.name.startswith("freeform") else "category"
    return stratified_sample(pd.read_parquet(path).to_dict("records"), n, by=by)


def load_model(name: str, adapter: Path | None = None) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from health_training.ml.lm.tiny import build_tiny_model
    from health_training.resources.environment import home

    if name == "tiny":
        folder = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    else:
        folder = Path(name) if Path(name).is_dir() else home() / "models" / name
        if not (folder / "config.json").is_file():
            sys.exit(f"{folder}: no model there; run `health-training prepare-model {name}`")
    model = AutoModelForCausalLM.from_pretrained(folder)
    if adapter is not None:  # merged, as the evaluation answers with it
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def timed(decode: Any, model: Any, prompts: list, refs: list, **kw: Any) -> tuple[float, list]:
    started = time.perf_counter()
    out = decode(model, prompts, refs, **kw)
    return time.perf_counter() - started, out


def compare(
    opts: argparse.Namespace, model: Any, tok: Any, rows: list, bf16_model: Any = None
) -> list[dict[str, Any]]:
    import decoding_before

    from health_training.ml.evaluation.answer_and_compare import (
        decoding_settings,
        encode_for_eval,
        eos_token_ids,
    )
    from health_training.ml.lm.decoding import decode_all

    prompts, refs = encode_for_eval(tok, rows)
    cap = opts.max_new_tokens or decoding_settings(tok, rows).max_new_tokens
    common = {"max_new_tokens": cap, "eos_ids": eos_token_ids(model, tok),
              "pad_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id}  # fmt: skip
    results = []
    for batch in opts.batch_sizes:
        n = min(len(prompts), batch * opts.rows_per_slot)
        p, r = prompts[:n], refs[:n]
        runs: dict[str, list[float]] = {"old": [], "new": [], "cut": [], "bf16": []}
        answers: dict[str, list] = {}
        variants = [("old", decoding_before.decode_all, {}, model), ("new", decode_all, {}, model)]
        if opts.repeat_stop:
            variants.append(("cut", decode_all, {"repeat_stop": opts.repeat_stop}, model))
        if bf16_model is not None:
            variants.append(("bf16", decode_all, {}, bf16_model))
        for _ in range(opts.repeats):
            for name, decode, extra, weights in variants:
                seconds, answers[name] = timed(decode, weights, p, r, batch_size=batch,
                                               **common, **extra)  # fmt: skip
                runs[name].append(seconds)
                print(f"  batch {batch} {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
        tokens = {k: sum(len(d.answer_ids) for d in v) for k, v in answers.items()}
        old, new = answers["old"], answers["new"]
        row = {
            "batch": batch,
            "prompts": n,
            "cap": cap,
            "answer_tokens": tokens["new"],
            "ended_by_eos": sum(d.ended_by_eos for d in new),
            "old_tokens_per_s": round(tokens["old"] / min(runs["old"]), 1),
            "new_tokens_per_s": round(tokens["new"] / min(runs["new"]), 1),
            "ratio": round(
                statistics.median(a / b for a, b in zip(runs["old"], runs["new"], strict=True)), 2
            ),  # fmt: skip
            "answers_differing": sum(
                a.answer_ids != b.answer_ids for a, b in zip(old, new, strict=True)
            ),  # fmt: skip
            "max_loss_sum_diff": max(
                abs(a.loss_sum - b.loss_sum) for a, b in zip(old, new, strict=True)
            ),  # fmt: skip
            "seconds": {k: [round(s, 2) for s in v] for k, v in runs.items() if v},
        }
        if bf16_model is not None:
            b16 = answers["bf16"]
            row["bf16"] = {
                "tokens_per_s": round(tokens["bf16"] / min(runs["bf16"]), 1),
                "ratio_to_old": round(
                    statistics.median(
                        a / b for a, b in zip(runs["old"], runs["bf16"], strict=True)
                    ),
                    2,
                ),  # fmt: skip
                "answers_differing_from_fp32": sum(
                    a.answer_ids != b.answer_ids for a, b in zip(new, b16, strict=True)
                ),  # fmt: skip
                "max_loss_sum_diff": round(
                    max(abs(a.loss_sum - b.loss_sum) for a, b in zip(new, b16, strict=True)), 3
                ),  # fmt: skip
                "mean_loss_fp32": round(
                    sum(a.loss_sum for a in new) / max(1, sum(a.loss_tokens for a in new)), 4
                ),  # fmt: skip
                "mean_loss_bf16": round(
                    sum(a.loss_sum for a in b16) / max(1, sum(a.loss_tokens for a in b16)), 4
                ),  # fmt: skip
            }
        if opts.repeat_stop:
            cut = answers["cut"]
            row["repeat_cut"] = {
                "stopped": sum(d.stopped for d in cut),
                "answer_tokens": tokens["cut"],
                "prefixes": all(
                    c.answer_ids == a.answer_ids[: len(c.answer_ids)]
                    for c, a in zip(cut, new, strict=True)
                ),  # fmt: skip
                "time_ratio": round(
                    statistics.median(c / b for c, b in zip(runs["cut"], runs["new"], strict=True)),
                    2,
                ),  # fmt: skip
            }
        results.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return results


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2-135m", help="a folder, a name under "
                        "$HEALTH_TRAINING_HOME/models, or tiny")  # fmt: skip
    parser.add_argument("--adapter", type=Path, help="a LoRA adapter folder (the demo model)")
    parser.add_argument("--rows", type=Path, help="a split's parquet file instead of ETL rows")
    parser.add_argument("--split", choices=("narratives", "questions"), default="narratives")
    parser.add_argument("--batch-sizes", default="1,4,16,32")
    parser.add_argument("--rows-per-slot", type=int, default=4, help="prompts = batch x this")
    parser.add_argument("--prompts", type=int, default=128, help="at most this many prompts")
    parser.add_argument("--max-new-tokens", type=int, default=0, help="0: the evaluation's cap")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--repeat-stop", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="also today's decoder in bf16")
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--json", type=Path, help="also write the results here")
    opts = parser.parse_args()
    opts.batch_sizes = [int(b) for b in opts.batch_sizes.split(",")]
    if opts.threads:
        torch.set_num_threads(opts.threads)
    model, tok = load_model(opts.model, opts.adapter)
    rows = (
        read_rows(opts.rows, opts.prompts) if opts.rows else sample_rows(opts.split, opts.prompts)
    )
    bf16_model = None
    if opts.bf16:  # today's decoder on a bf16 copy of the weights (AMX-BF16 CPUs, GPUs)
        import copy

        bf16_model = copy.deepcopy(model).to(torch.bfloat16)
    with torch.no_grad():
        results = compare(opts, model, tok, rows, bf16_model)
    doc = {"model": opts.model, "adapter": str(opts.adapter or ""),
           "rows": str(opts.rows or opts.split), "threads": torch.get_num_threads(),
           "results": results}  # fmt: skip
    if opts.json:
        opts.json.write_text(json.dumps(doc, indent=1) + "\n")
    print("| batch | prompts | old tokens/s | new tokens/s | ratio | answers differing |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['batch']} | {r['prompts']} | {r['old_tokens_per_s']} | "
              f"{r['new_tokens_per_s']} | {r['ratio']}x | {r['answers_differing']}/{r['prompts']} |")  # fmt: skip


if __name__ == "__main__":
    main()
