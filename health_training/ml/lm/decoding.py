"""Batched greedy decoding that scores the reference in the same forward pass.

Evaluation needs two things per example: the loss of the reference answer (teacher-forced) and
the model's own greedy answer. Both start from the same prompt, so one forward pass over
`prompt + reference` gives the reference loss *and* the prompt's KV cache; only the prompt's part
is kept, and greedy decoding continues from there. That halves the prompt work of a naive
loss-then-generate evaluation, the largest cost on a CPU.

Rows decode together in a fixed number of slots (row_cache.py: every row has its own length, and
attention reads only the filled part of the cache). When a row ends, by EOS or at the cap, the
next prompt is prefilled and takes its slot, so the batch stays full until the prompts run out;
the rows that are left then leave the batch as they finish. Prompts go in order of length, so
the rows of a batch need about the same cache width. Token ids in, token ids out: prompts and
references are tokenized by the caller (see prompts.py), so training, evaluation and serving
share one template.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PREFILL_ROWS = 8  # prompts prefilled together at most: their logits are rows x reference x vocab


@dataclass(frozen=True, slots=True)
class Decoded:
    """One example: the reference's summed token loss (NaN-free; 0 tokens when not scored) and
    the greedy answer's token ids, without the EOS (or stop token) that ended it."""

    loss_sum: float
    loss_tokens: int
    answer_ids: tuple[int, ...]
    ended_by_eos: bool
    stopped: bool = False  # ended by a stop token or a repeat (see decode_all), not by EOS

    @property
    def loss(self) -> float | None:
        return self.loss_sum / self.loss_tokens if self.loss_tokens else None


def decode_all(
    model: Any,
    prompts: Sequence[Sequence[int]],
    references: Sequence[Sequence[int]] | None,
    *,
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
    batch_size: int = 16,
    stop_ids: Sequence[int] = (),
    repeat_stop: int = 0,
) -> list[Decoded]:
    """Score `references` (ids ending with EOS) and greedily answer `prompts`, in input order.
    `batch_size` rows decode at once. A row also ends at any of `stop_ids` (not kept) and, when
    `repeat_stop` > 0, as soon as its last `repeat_stop` tokens repeat a span it already wrote:
    a verbatim loop, cut where the repeat begins (a base model's usual way to reach the cap)."""
    import torch

    from health_training.ml.lm.row_cache import RowCache, prefill

    n = len(prompts)
    if n == 0:
        return []
    ref_len = [len(references[i]) if references is not None else 0 for i in range(n)]
    pending = deque(sorted(range(n), key=lambda i: (len(prompts[i]) + ref_len[i], i)))
    eos, stops = set(eos_ids), set(stop_ids) - set(eos_ids)
    answers: list[list[int]] = [[] for _ in range(n)]
    ended, stopped = [False] * n, [False] * n
    loss_sum, loss_tokens = [0.0] * n, [0] * n
    spans: list[set[tuple[int, ...]]] = [set() for _ in range(n)]  # each answer's n-grams

    def goes_on(i: int, token: int) -> bool:
        """Example i's next token taken; whether it needs another."""
        answer = answers[i]
        if len(answer) >= max_new_tokens:
            return False
        if token in eos or token in stops:
            ended[i], stopped[i] = token in eos, token in stops
            return False
        answer.append(token)
        if repeat_stop and len(answer) >= repeat_stop:
            span = tuple(answer[-repeat_stop:])
            if span in spans[i]:
                del answer[-repeat_stop:]
                stopped[i] = True
                return False
            spans[i].add(span)
        return len(answer) < max_new_tokens

    slots = min(batch_size, n)
    capacity = max(len(p) for p in prompts) + max(max_new_tokens, 1)
    cache = RowCache(model, slots=slots, capacity=capacity)
    occupant: list[int | None] = [None] * slots  # the example decoding in each slot
    tokens = torch.zeros(slots, dtype=torch.long, device=cache.device)
    with torch.no_grad():
        while True:
            free = [s for s, i in enumerate(occupant) if i is None]
            while free and pending:
                group = [
                    pending.popleft() for _ in range(min(len(free), PREFILL_ROWS, len(pending)))
                ]
                refs = [references[i] for i in group] if references is not None else None
                pre = prefill(model, [prompts[i] for i in group], refs, pad_id=pad_id)
                first = pre.first_logits.argmax(-1).tolist()
                for row, (i, token) in enumerate(zip(group, first, strict=True)):
                    loss_sum[i], loss_tokens[i] = pre.loss_sum[row], pre.loss_tokens[row]
                    if goes_on(i, token):
                        slot = free.pop(0)
                        cache.put(slot, pre, row)
                        occupant[slot], tokens[slot] = i, token
                del pre
            live = [s for s, i in enumerate(occupant) if i is not None]
            if not live:
                break
            if len(live) < len(occupant):  # no prompt left to take their slots
                cache.keep(live)
                occupant, tokens = [occupant[s] for s in live], tokens[live]
            tokens = cache.step(model, tokens).argmax(-1)
            # One host transfer per step for all rows (a no-op on CPU, a sync on a GPU).
            for slot, token in enumerate(tokens.tolist()):
                if not goes_on(occupant[slot], token):
                    occupant[slot] = None
    return [
        Decoded(loss_sum[i], loss_tokens[i], tuple(answers[i]), ended[i], stopped[i])
        for i in range(n)
    ]
