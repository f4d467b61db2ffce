"""The decoder's core: a KV cache in which every row has its own length, the prefill that
fills it and the one decoding step that reads it. Evaluation (decoding.py) and the model server
(serving/backends/batch_decode.py) both decode through these three pieces.

    prefilled = prefill(model, prompts, references, pad_id=pad)   # loss + first-token logits
    cache = RowCache(model, slots=16, capacity=longest_prompt + cap)
    cache.put(slot, prefilled, i)                                 # prompt i's KV into a slot
    logits = cache.step(model, next_tokens)                       # one token for every slot

Row b's tokens fill columns [0, lengths[b]) of its slot and its next token is written at column
lengths[b], so a row can join at any step (a new prompt takes a finished row's slot) without
shifting the others. Attention reads only the filled width (the longest row + 1): the static cache
this replaces made SDPA read every preallocated column at every step (27 % of a step at batch 16).
Each step hands the model its own 4D mask, so transformers builds none. Full-attention decoders
(Llama, OLMo) with the `sdpa` or `eager` attention are what this supports; no sliding windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transformers.cache_utils import Cache, CacheLayerMixin


class RowLayer(CacheLayerMixin):
    """One layer's keys and values, [slots, heads, capacity, head_dim], written per row."""

    def __init__(self, owner: RowCache) -> None:
        super().__init__()
        self.owner = owner

    def lazy_initialization(self, key_states: Any, value_states: Any) -> None:
        raise RuntimeError("a RowCache is filled by put(), never by a forward pass")

    def allocate(self, like_keys: Any, like_values: Any, slots: int, capacity: int) -> None:
        import torch

        heads = like_keys.shape[1]
        self.keys = torch.zeros((slots, heads, capacity, like_keys.shape[-1]),
                                dtype=like_keys.dtype, device=like_keys.device)  # fmt: skip
        self.values = torch.zeros((slots, heads, capacity, like_values.shape[-1]),
                                  dtype=like_values.dtype, device=like_values.device)  # fmt: skip
        self.is_initialized = True

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
        if key_states.shape[2] != 1:
            raise ValueError("RowCache takes one token per row; prefill() fills it")
        owner = self.owner
        rows, columns = owner.row_index, owner.lengths
        self.keys[rows, :, columns] = key_states[:, :, 0]
        self.values[rows, :, columns] = value_states[:, :, 0]
        return self.keys[:, :, : owner.width], self.values[:, :, : owner.width]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.owner.width, 0

    def get_seq_length(self) -> int:
        return self.owner.width

    def get_max_length(self) -> int:
        return self.owner.capacity


@dataclass(frozen=True)
class Prefilled:
    """Prompts run once (left-padded together): each row's reference loss (0 tokens when not
    scored), the logits of its first answer token, and the KV cache the prompts left."""

    loss_sum: tuple[float, ...]
    loss_tokens: tuple[int, ...]
    first_logits: Any  # [rows, vocab]
    kv: Any  # a transformers DynamicCache over the padded prompts (+ references)
    starts: tuple[int, ...]  # the column where each row's prompt starts in kv
    prompt_lengths: tuple[int, ...]


def prefill(
    model: Any,
    prompts: Sequence[Sequence[int]],
    references: Sequence[Sequence[int]] | None,
    *,
    pad_id: int,
) -> Prefilled:
    """One forward pass over `prompt + reference` per row: the reference's loss and, from the
    logits at the end of the prompt, the first answer token. Prompts are left-padded so they all
    end at one column and the references' logits are one slice; only the prompt's KV is kept."""
    import torch
    from transformers import DynamicCache

    n = len(prompts)
    device = next(model.parameters()).device
    refs = [list(r) for r in references] if references is not None else [[] for _ in prompts]
    p_len = max(len(p) for p in prompts)
    r_len = max(len(r) for r in refs)
    ids = torch.full((n, p_len + r_len), pad_id, dtype=torch.long)
    mask = torch.zeros((n, p_len + r_len), dtype=torch.long)
    for i, (prompt, ref) in enumerate(zip(prompts, refs, strict=True)):
        ids[i, p_len - len(prompt) : p_len + len(ref)] = torch.tensor([*prompt, *ref])
        mask[i, p_len - len(prompt) : p_len + len(ref)] = 1
    ids, mask = ids.to(device), mask.to(device)
    # Positions count real tokens only, so a left-padded row sees the same positions as alone.
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    kv = DynamicCache(config=model.config)
    out = model(
        input_ids=ids,
        attention_mask=None if bool(mask.all()) else mask,  # unpadded: the causal kernel
        position_ids=positions,
        past_key_values=kv,
        use_cache=True,
        logits_to_keep=r_len + 1,  # the logits that predict the reference, and the first token
    )
    logits = out.logits.float()
    loss_sum, loss_tokens = [0.0] * n, [0] * n
    if r_len:
        valid = mask[:, p_len:].bool()
        token_loss = torch.nn.functional.cross_entropy(
            logits[:, :r_len].reshape(-1, logits.shape[-1]),
            ids[:, p_len:].reshape(-1),
            reduction="none",
        ).view(n, r_len)
        loss_sum = token_loss.masked_fill(~valid, 0.0).sum(1).tolist()
        loss_tokens = valid.sum(1).tolist()
    return Prefilled(
        loss_sum=tuple(float(x) for x in loss_sum),
        loss_tokens=tuple(int(x) for x in loss_tokens),
        first_logits=logits[:, 0].clone(),  # not a view that keeps every row's logits
        kv=kv,
        starts=tuple(p_len - len(p) for p in prompts),
        prompt_lengths=tuple(len(p) for p in prompts),
    )


class RowCache(Cache):
    """`slots` rows of at most `capacity` tokens each; `lengths[b]` tokens filled in slot b."""

    def __init__(self, model: Any, *, slots: int, capacity: int) -> None:
        import torch

        config = model.config
        super().__init__(layers=[RowLayer(self) for _ in range(config.num_hidden_layers)])
        self.slots, self.capacity = slots, capacity
        self.device = next(model.parameters()).device
        self.lengths = torch.zeros(slots, dtype=torch.long, device=self.device)
        self.row_index = torch.arange(slots, device=self.device)
        self.width = 0
        self.float_mask = getattr(config, "_attn_implementation", "sdpa") != "sdpa"

    def put(self, slot: int, prefilled: Prefilled, row: int) -> None:
        """Row `row` of a prefill takes slot `slot` (whatever was there is overwritten)."""
        start, length = prefilled.starts[row], prefilled.prompt_lengths[row]
        if length >= self.capacity:
            raise ValueError(f"a prompt of {length} tokens does not fit {self.capacity} columns")
        for layer, source in zip(self.layers, prefilled.kv.layers, strict=True):
            if not layer.is_initialized:
                layer.allocate(source.keys, source.values, self.slots, self.capacity)
            layer.keys[slot, :, :length] = source.keys[row, :, start : start + length]
            layer.values[slot, :, :length] = source.values[row, :, start : start + length]
        self.lengths[slot] = length

    def keep(self, slots: Sequence[int]) -> None:
        """Only these slots stay, renumbered 0.. in this order: finished rows leave the batch
        and its cost (a copy of the rows that stay)."""
        import torch

        index = torch.tensor(list(slots), dtype=torch.long, device=self.device)
        for layer in self.layers:
            if layer.is_initialized:
                layer.keys, layer.values = layer.keys[index], layer.values[index]
        self.lengths = self.lengths[index]
        self.slots = len(slots)
        self.row_index = self.row_index[: self.slots]

    def step(self, model: Any, tokens: Any) -> Any:
        """Every slot's next token enters the cache at its row's length (its position, counting
        real tokens only); the logits of the token after it, [slots, vocab]."""
        import torch

        self.width = int(self.lengths.max()) + 1
        if self.width > self.capacity:
            raise ValueError(f"a row would pass the cache's {self.capacity} columns")
        columns = torch.arange(self.width, device=self.device)
        allowed = (columns[None, :] <= self.lengths[:, None])[:, None, None, :]
        if self.float_mask:  # eager attention adds its mask to the scores
            dtype = next(model.parameters()).dtype
            zero = torch.zeros((), dtype=dtype, device=self.device)
            allowed = torch.where(allowed, zero, torch.finfo(dtype).min)
        out = model(
            input_ids=tokens[:, None],
            attention_mask=allowed,
            position_ids=self.lengths[:, None],
            past_key_values=self,
            use_cache=True,
        )
        self.lengths += 1
        return out.logits[:, -1]
