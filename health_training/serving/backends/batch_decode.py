"""One batch of concurrent requests decoded together, token by token, on one model.

The evaluation's decoder (ml/lm/decoding.py) underneath: prompts are prefilled together
(ml/lm/row_cache.py: left-padded, positions counting real tokens only, so a padded row sees what it
would alone), then every row decodes in its own slot of a cache that attention reads only as far
as it is filled, and rows that finish leave the batch and its cost.
What serving adds: each row has its own length limit and sampling settings (greedy, or
temperature + top-p with the row's own seeded generator), and every new token is handed to
`emit(row, token)` at once, which returns False to end the row (a stop sequence, its length
limit, a client that went away). `emit(row, None)` says the row produced EOS. A row may carry a
number constraint (number_mask.py) that masks its logits before the pick and follows its tokens,
and an EOS gate (serving/line_coverage.py) asked whenever the row would end: while it withholds
EOS, the row's next token is its best other one.
A sampled row whose probabilities are not a distribution (NaN, inf, all zero) is handed to
`fail(row, error)` and leaves; the other rows go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from health_training.ml.lm.decoding import PREFILL_ROWS
from health_training.ml.lm.row_cache import RowCache, prefill


@dataclass(slots=True)
class Row:
    prompt_ids: Sequence[int]
    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    generator: Any = None  # torch.Generator for sampled rows
    constraint: Any = None  # number_mask.NumberConstraint: only allowed numbers are written
    gate: Any = None  # line_coverage.EosGate: EOS waits until the line's values are stated


def _pick(
    logits: Any, rows: Sequence[Row], made: int, eos: Sequence[int] = ()
) -> tuple[Any, dict[int, Exception]]:
    """The next token of each row (`made` tokens into the answer): argmax for greedy rows, a
    top-p sample for the others; and the rows whose sampling failed, by index."""
    import torch

    failed: dict[int, Exception] = {}
    for i, row in enumerate(rows):
        if row.constraint is not None:
            # The length cut must not leave a number half written ("14" of an allowed "142").
            row.constraint.apply(logits[i], left=row.max_new_tokens - made - 1)
    chosen = logits.argmax(-1)
    for i, row in enumerate(rows):
        try:
            if row.temperature > 0.0:
                chosen[i] = _sample(logits[i], row)
            if row.gate is not None and int(chosen[i]) in eos and row.gate.withholds():
                others = logits[i].clone()
                others[list(eos)] = float("-inf")
                if bool(torch.isfinite(others).any()):  # a row the number mask left only EOS
                    logits[i] = others
                    chosen[i] = _sample(others, row) if row.temperature > 0.0 else others.argmax()
        except (RuntimeError, ValueError) as exc:
            failed[i] = exc
    return chosen, failed


def _sample(logits: Any, row: Row) -> Any:
    """A top-p sample of one row's logits at its temperature."""
    import torch

    probs = torch.softmax(logits.float() / row.temperature, -1)
    if not bool(torch.isfinite(probs).all()) or float(probs.sum()) <= 0.0:
        raise ValueError(f"sampling at temperature {row.temperature:g} gave no distribution")
    if row.top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        # Keep the smallest prefix whose mass reaches top_p (the top token always stays).
        drop = sorted_p.cumsum(-1) - sorted_p >= row.top_p
        sorted_p[drop] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_p)
    return torch.multinomial(probs, 1, generator=row.generator)[0]


def _raise(_row: int, exc: Exception) -> None:
    raise exc


def decode_rows(
    model: Any,
    rows: Sequence[Row],
    *,
    eos_ids: Sequence[int],
    pad_id: int,
    emit: Callable[[int, int | None], bool],
    fail: Callable[[int, Exception], None] = _raise,
) -> int:
    """Decode every row until it ends; returns how many tokens were generated in all."""
    import torch

    n = len(rows)
    longest = max(r.max_new_tokens for r in rows)
    capacity = max(len(r.prompt_ids) for r in rows) + max(longest, 1)
    cache = RowCache(model, slots=n, capacity=capacity)
    eos = set(eos_ids)
    generated = 0
    with torch.no_grad():
        first = []
        for start in range(0, n, PREFILL_ROWS):
            group = rows[start : start + PREFILL_ROWS]
            pre = prefill(model, [r.prompt_ids for r in group], None, pad_id=pad_id)
            for row in range(len(group)):
                cache.put(start + row, pre, row)
            first.append(pre.first_logits)
            del pre
        alive = list(range(n))
        next_token, failed = _pick(torch.cat(first), rows, 0, eos_ids)
        for step in range(longest):
            keep = []
            for slot, (row, token) in enumerate(zip(alive, next_token.tolist(), strict=True)):
                if slot in failed:
                    fail(row, failed[slot])
                    continue
                if token in eos:
                    emit(row, None)
                    continue
                generated += 1
                if rows[row].constraint is not None:
                    rows[row].constraint.advance(token)
                if rows[row].gate is not None:
                    rows[row].gate.advance()
                if emit(row, token) and step + 1 < rows[row].max_new_tokens:
                    keep.append(slot)
            if not keep:
                break
            if len(keep) < len(alive):
                alive = [alive[k] for k in keep]
                next_token = next_token[keep]
                cache.keep(keep)
            logits = cache.step(model, next_token)
            next_token, failed = _pick(logits, [rows[r] for r in alive], step + 1, eos_ids)
    return generated
