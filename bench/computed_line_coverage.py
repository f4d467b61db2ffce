"""How many questions of a served set get a computed line that holds every value asked: no model,
no server, the parser alone.

    .venv/bin/python bench/computed_line_coverage.py bench/data/freeform_heldout_d.jsonl ...
    .venv/bin/python bench/computed_line_coverage.py --show bench/data/freeform_dev_l.jsonl

A question is covered when the line the server would build for it (`etl/computed.py`, from the
question and the records after it) states each asked value by the evaluation's equality rule
(`freeform_eval.stated_correctly`), or, for one the data cannot answer, is nothing but what is
missing ("no SpO2 data given", a scope marker). The served model seldom addresses a question
whose line lacks the value (run 28 on the held-out sets F, D and B: 4 of 23 such questions, 110
of 113 covered ones), so this bounds the served figure from the parser's side.

Counts per kind only by default, safe to run on held-out sets; `--show` prints the uncovered
questions with their lines, for development sets only.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def covered(question: dict) -> tuple[bool, str]:
    """(does the line hold every asked value or only decline, the line)"""
    from health_training.etl.computed import computed_facts, line_parts
    from health_training.ml.evaluation.freeform_eval import stated_correctly

    text, _, records = question["question"].partition("\n\n")
    line = computed_facts(text, records)
    if question.get("cannot_answer"):
        parts = line_parts(line)
        declines = all(p.startswith("no ") or "asked" in p or "cause" in p for p in parts)
        return bool(parts) and declines, line
    return all(stated_correctly(line, asked) for asked in question["asked"]), line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--show", action="store_true", help="print uncovered questions (dev sets)")
    args = parser.parse_args()
    for path in args.sets:
        questions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        by_kind: Counter[tuple[str, bool]] = Counter()
        for i, q in enumerate(questions):
            ok, line = covered(q)
            by_kind[(q["kind"], ok)] += 1
            if args.show and not ok:
                print(f"  {i} {q['kind']}: {q['question'][:200]!r}\n     line: {line!r}")
        kinds = sorted({k for k, _ in by_kind})
        total = sum(by_kind[(k, True)] for k in kinds)
        per_kind = ", ".join(
            f"{k} {by_kind[(k, True)]}/{by_kind[(k, True)] + by_kind[(k, False)]}" for k in kinds
        )
        print(f"{path.name}: {total} of {len(questions)} covered ({per_kind})")


if __name__ == "__main__":
    main()
