"""The evaluation's greedy decoder as it was before issue 19 (health_training/ml/lm/decoding.py at
commit a2f7eb0), its code kept verbatim below as the baseline of bench/decode_speed.py:
left-padded batches of similar length, a StaticCache sized to the longest prompt plus the cap
(attention reads every column at every step), rows that end leave the batch and nothing takes
their place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Decoded:
    """One example: the reference's summed token loss (NaN-free; 0 tokens when not scored) and
    the greedy answer's token ids, without the EOS that ended it."""

    loss_sum: float
    loss_tokens: int
    answer_ids: tuple[int, ...]
    ended_by_eos: bool

    @property
    def loss(self) -> float | None:
        return self.loss_sum / self.loss_tokens if self.loss_tokens else None


def decode_batch(
    model: Any,
    prompts: Sequence[Sequence[int]],
    references: Sequence[Sequence[int]] | None,
    *,
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
) -> list[Decoded]:
    """Score `references` (ids ending with EOS) and greedily answer `prompts`, one batch."""
    import torch
    from transformers import StaticCache

    n = len(prompts)
    device = next(model.parameters()).device
    refs = [list(r) for r in references] if references is not None else [[] for _ in prompts]
    p_len = max(len(p) for p in prompts)
    r_len = max(len(r) for r in refs)
    total = p_len + max(r_len, max_new_tokens)
    ids = torch.full((n, p_len + r_len), pad_id, dtype=torch.long)
    mask = torch.zeros((n, total), dtype=torch.long)
    for i, (prompt, ref) in enumerate(zip(prompts, refs, strict=True)):
        ids[i, p_len - len(prompt) : p_len] = torch.tensor(prompt, dtype=torch.long)
        mask[i, p_len - len(prompt) : p_len] = 1
        if ref:
            ids[i, p_len : p_len + len(ref)] = torch.tensor(ref, dtype=torch.long)
            mask[i, p_len : p_len + len(ref)] = 1
    ids, mask = ids.to(device), mask.to(device)
    prompt_lengths = torch.tensor([len(p) for p in prompts], device=device)
    # Positions count real tokens only, so a left-padded row sees the same positions as alone.
    positions = (mask[:, : p_len + r_len].cumsum(1) - 1).clamp(min=0)
    cache = StaticCache(config=model.config, max_cache_len=total)
    eos = torch.tensor(sorted(set(eos_ids)), device=device)
    loss_sum = [0.0] * n
    loss_tokens = [0] * n
    with torch.no_grad():
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=r_len
            + 1,  # the logits that predict the reference, and the first answer token
        )
        logits = out.logits.float()
        if r_len:
            targets = ids[:, p_len:]
            valid = mask[:, p_len : p_len + r_len].bool()
            token_loss = torch.nn.functional.cross_entropy(
                logits[:, :r_len].reshape(-1, logits.shape[-1]),
                targets.reshape(-1),
                reduction="none",
            ).view(n, r_len)
            token_loss = token_loss.masked_fill(~valid, 0.0)
            loss_sum = token_loss.sum(1).tolist()
            loss_tokens = valid.sum(1).tolist()
        next_token = logits[:, 0].argmax(-1)
        del out, logits
        # Rewind the cache to the end of the prompt: answer tokens overwrite the reference's.
        for layer in cache.layers:
            layer.cumulative_length.fill_(p_len)
        answers: list[list[int]] = [[] for _ in range(n)]
        ended = [False] * n
        alive = torch.arange(n, device=device)
        mask[:, p_len:] = 0
        for step in range(max_new_tokens):
            done = torch.isin(next_token, eos)
            for row, token, stop in zip(
                alive.tolist(), next_token.tolist(), done.tolist(), strict=True
            ):
                if stop:
                    ended[row] = True
                else:
                    answers[row].append(token)
            keep = ~done
            if not keep.any() or step == max_new_tokens - 1:
                break
            if not keep.all():
                alive, next_token = alive[keep], next_token[keep]
                mask = keep_rows(cache, mask, keep)
            logits = next_logits(
                model, next_token, mask, p_len + step, prompt_lengths[alive] + step, cache
            )
            next_token = logits.argmax(-1)
    return [
        Decoded(float(loss_sum[i]), int(loss_tokens[i]), tuple(answers[i]), ended[i])
        for i in range(n)
    ]


def decode_all(
    model: Any,
    prompts: Sequence[Sequence[int]],
    references: Sequence[Sequence[int]] | None,
    *,
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
    batch_size: int = 16,
) -> list[Decoded]:
    """`decode_batch` over batches of similar length (less padding), results in input order."""
    refs = references if references is not None else [()] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]) + len(refs[i]), i))
    results: list[Decoded | None] = [None] * len(prompts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        decoded = decode_batch(
            model,
            [prompts[i] for i in chunk],
            [refs[i] for i in chunk] if references is not None else None,
            max_new_tokens=max_new_tokens,
            eos_ids=eos_ids,
            pad_id=pad_id,
        )
        for i, d in zip(chunk, decoded, strict=True):
            results[i] = d
    return [r for r in results if r is not None]


def keep_rows(cache: Any, mask: Any, keep: Any) -> Any:
    """Finished rows leave the batch and its cost: the KV cache and the attention mask keep
    only the rows `keep` selects (a boolean mask or an index tensor); the new mask."""
    for layer in cache.layers:
        layer.keys, layer.values = layer.keys[keep], layer.values[keep]
    return mask[keep]


def next_logits(model: Any, tokens: Any, mask: Any, column: int, positions: Any, cache: Any) -> Any:
    """One decoding step: each row's new token enters the cache at `column` (its position,
    counting real tokens only, in `positions`); the logits of the token after it."""
    mask[:, column] = 1
    out = model(
        input_ids=tokens[:, None],
        attention_mask=mask,
        position_ids=positions[:, None],
        past_key_values=cache,
        use_cache=True,
    )
    return out.logits[:, -1]
