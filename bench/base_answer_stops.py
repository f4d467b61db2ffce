"""What a stop rule would do to an evaluation (issue 19): answers cut, answer tokens saved and
every figure of both models on both test splits, computed from a recorded evaluation.

    .venv/bin/python bench/base_answer_stops.py --run var/lake/models/runs/<run_id> \\
        --dataset var/lake/datasets/training/<version>

`--run` holds `eval/answers.json` (what `eval_report` stores: both models' answers, EOS flags,
losses, to the cap with EOS as the only stop); `--dataset` the `test.parquet` and
`freeform_test.parquet` those answers come from. A stop rule only ends a greedy answer earlier
and never changes the tokens before the stop, so a rule's answers are the recorded answers cut
where it fires: no decoding is needed. (Answers are stored as text: they are re-tokenized, which
can differ from the generated ids by a token at a join; the rules look at whole spans.) Rules:

- `new-turn`: the text of a new chat turn ("\\nuser\\n", "\\nassistant\\n", "Human:", "User:"), as
  a chat model writes one when it runs on; the special tokens themselves are not in the stored
  text, so the text markers stand for them;
- `repeat-N`: the answer's last N tokens repeat a span it already wrote (a verbatim loop), cut
  where the repeat begins: `DecodingSettings.repeat_stop`.

`references cut` counts the split's references (all its rows) that a rule would cut: a model
that writes like the references must never be stopped by it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TURN_TEXTS = ("\nuser\n", "\nassistant\n", "Human:", "User:")
FIGURES = {
    "test": (
        "rougeL",
        "bleu",
        "fact_accuracy",
        "fact_recall",
        "hallucinated_number_rate",
        "eos_rate",
    ),  # fmt: skip
    "freeform_test": (
        "asked_fact_rate",
        "fact_accuracy",
        "computation_accuracy",
        "cannot_answer_rate",
        "hallucinated_number_rate",
        "rougeL",
        "eos_rate",
    ),  # fmt: skip
}
REPEATS = (8, 12, 16, 24, 32)


def repeat_cut(ids: list[int], n: int) -> int | None:
    """Where a repeat of `n` tokens begins (the answer's new length), or None."""
    seen = set()
    for end in range(n, len(ids) + 1):
        span = tuple(ids[end - n : end])
        if span in seen:
            return end - n
        seen.add(span)
    return None


def turn_cut(text: str) -> int | None:
    found = [text.find(t) for t in TURN_TEXTS if t in text]
    return min(found) if found else None


def cut_answers(tok: Any, answers: dict, rule: str) -> tuple[dict, int, int]:
    """The answers as the rule leaves them; how many it cut and their answer tokens in all."""
    out = dict(answers, predictions=[], ended_by_eos=[])
    cut = tokens = 0
    for text, eos in zip(answers["predictions"], answers["ended_by_eos"], strict=True):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        at: int | None = None
        if rule.startswith("repeat-"):
            at = repeat_cut(ids, int(rule.split("-")[1]))
            text = tok.decode(ids[:at]).strip() if at is not None else text
        elif rule == "new-turn":
            at = turn_cut(text)
            text = text[:at].strip() if at is not None else text
        cut += at is not None
        tokens += len(tok(text, add_special_tokens=False)["input_ids"]) + (eos and at is None)
        out["predictions"].append(text)
        out["ended_by_eos"].append(eos and at is None)
    return out, cut, tokens


def measure(split: str, recorded: dict, rows: list[dict], tok: Any) -> dict[str, Any]:
    from health_training.ml.evaluation.answer_and_compare import ModelAnswers, scored_rows
    from health_training.ml.evaluation.freeform_eval import freeform_stats
    from health_training.ml.evaluation.text_metrics import aggregate, example_stats

    stats_of = freeform_stats if split == "freeform_test" else example_stats
    by_key = {r["content_key"]: r for r in rows}
    sample = [by_key[k] for k in recorded["content_keys"]]
    references = [tok(r["output"], add_special_tokens=False)["input_ids"] for r in rows]
    found: dict[str, Any] = {"rows": len(sample), "cap": recorded["settings_doc"]["max_new_tokens"]}
    for rule in ("eos only", "new-turn", *(f"repeat-{n}" for n in REPEATS)):
        if rule.startswith("repeat-"):
            n = int(rule.split("-")[1])
            refs_cut = sum(repeat_cut(r, n) is not None for r in references)
        else:
            refs_cut = sum(rule == "new-turn" and turn_cut(r["output"]) is not None for r in rows)
        entry: dict[str, Any] = {"references_cut": f"{refs_cut}/{len(rows)}"}
        for model in ("base", "finetuned"):
            answers, cut, tokens = cut_answers(tok, recorded[model], rule)
            figures = aggregate(stats_of(scored_rows(sample, ModelAnswers.from_dict(answers))),
                                FIGURES[split])  # fmt: skip
            entry[model] = {"answers_cut": cut, "answer_tokens": tokens,
                            **{k: round(figures[k], 4) if isinstance(figures.get(k), float)
                               else figures.get(k) for k in FIGURES[split]}}  # fmt: skip
        found[rule] = entry
        print(split, rule, json.dumps(entry), file=sys.stderr, flush=True)
    return found


def main() -> None:
    import pandas as pd
    from transformers import AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="holds eval/answers.json")
    parser.add_argument("--dataset", type=Path, required=True, help="holds the split parquets")
    parser.add_argument("--tokenizer", default="var/models/smollm2-135m")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    opts = parser.parse_args()
    tok = AutoTokenizer.from_pretrained(opts.tokenizer)
    recorded = json.loads((opts.run / "eval" / "answers.json").read_text())
    doc = {}
    for split in ("test", "freeform_test"):
        part = recorded if split == "test" else recorded.get(split)
        table = opts.dataset / f"{split}.parquet"
        if part and table.is_file():
            doc[split] = measure(split, part, pd.read_parquet(table).to_dict("records"), tok)
    if opts.json:
        opts.json.write_text(json.dumps(doc, indent=1) + "\n")
    for split, found in doc.items():
        keys = FIGURES[split]
        print(f"\n{split}: {found['rows']} rows, cap {found['cap']}\n")
        print("| rule | model | cut | answer tokens | " + " | ".join(keys) + " |")
        print("|---" * (4 + len(keys)) + "|")
        for rule, entry in found.items():
            if not isinstance(entry, dict):
                continue
            for model in ("base", "finetuned"):
                r = entry[model]
                cells = [r["answers_cut"], r["answer_tokens"], *(r[k] for k in keys)]
                print(f"| {rule} (refs cut {entry['references_cut']}) | {model} | "
                      + " | ".join(str(c) for c in cells) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
