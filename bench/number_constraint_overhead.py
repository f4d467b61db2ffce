"""Measurement: what the number constraint (serving/backends/number_mask.py) costs per decoding step.

    nice .venv/bin/python bench/number_constraint_overhead.py            # the tiny test model, CPU
    nice .venv/bin/python bench/number_constraint_overhead.py --model var/models/smollm2-135m

Decodes the same batch of greedy rows with `serving.backends.batch_decode.decode_rows`, with and without a
constraint on every row, and reports wall time per step and the constraint's own share (its
`apply` and `advance` timed alone), plus the one-off costs: the tokenizer's table (once per
server) and a request's allowed numbers (once per constrained request). The tiny model's forward
pass is far cheaper than a real one, so read the absolute microseconds, not the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REQUEST = "my cgm avg was 163 mg/dl and 62% in range; I ran 5 km in 27 min, bed 23:40, up 07:10"


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from health_training.ml.evaluation.grounding import allowed_numbers
    from health_training.ml.lm.tiny import build_tiny_model
    from health_training.serving.backends.batch_decode import Row, decode_rows
    from health_training.serving.backends.number_mask import NumberConstraint, NumberTokens

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a model folder (default: the tiny test model)")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    folder = Path(args.model) if args.model else build_tiny_model(Path(tempfile.mkdtemp()) / "t")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    started = time.perf_counter()
    table = NumberTokens(tokenizer)
    table_s = time.perf_counter() - started
    started = time.perf_counter()
    allowed = allowed_numbers(REQUEST)
    allowed_s = time.perf_counter() - started
    prompt = tokenizer(REQUEST + " Your", add_special_tokens=False)["input_ids"]
    spent = {"apply": 0.0}

    class Timed(NumberConstraint):
        def apply(self, logits, *, left=1 << 30):  # noqa: ANN001, ANN202
            t = time.perf_counter()
            super().apply(logits, left=left)
            spent["apply"] += time.perf_counter() - t

    def run(constrained: bool) -> tuple[float, int]:
        rows = [
            Row(prompt, args.tokens, constraint=Timed(table, allowed) if constrained else None)
            for _ in range(args.rows)
        ]
        t = time.perf_counter()
        steps = decode_rows(model, rows, eos_ids=[], pad_id=0, emit=lambda i, tok: True)
        return time.perf_counter() - t, steps

    run(False)  # warm-up
    plain = min(run(False)[0] for _ in range(args.repeats))
    spent["apply"] = 0.0
    timed = [run(True) for _ in range(args.repeats)]
    constrained, tokens = min(t for t, _ in timed), timed[0][1]
    steps = tokens // args.rows
    print(
        json.dumps(
            {
                "model": str(folder),
                "vocab": len(tokenizer),
                "digit_tokens_checked": len(table.checked),
                "rows": args.rows,
                "steps": steps,
                "table_build_s": round(table_s, 4),
                "allowed_numbers_s": round(allowed_s, 4),
                "allowed_strings": len(allowed.complete),
                "step_ms_plain": round(1e3 * plain / steps, 3),
                "step_ms_constrained": round(1e3 * constrained / steps, 3),
                "apply_us_per_row_step": round(1e6 * spent["apply"] / (args.repeats * tokens), 1),
                "torch_threads": torch.get_num_threads(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
