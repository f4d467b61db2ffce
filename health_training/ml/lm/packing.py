"""Tokenize instruction examples and pack them into fixed-length training rows.

Packing puts several examples in one row with position ids that restart at each example; with
no attention mask, transformers builds a block-diagonal causal mask from those position ids, so
packed examples never attend to each other. Examples longer than `max_length` are counted and
left out — never silently cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from health_training.ml.lm.prompts import IGNORE_INDEX, Encoded, encode_example


@dataclass(frozen=True, slots=True)
class PackedData:
    rows: tuple[dict[str, list[int]], ...]  # input_ids, labels, position_ids (all max_length)
    examples: int  # examples that made it in
    too_long: int  # examples left out because they exceed max_length
    too_long_keys: tuple[str, ...]
    tokens: int  # real (non-pad) tokens
    response_tokens: int  # tokens that carry loss

    @property
    def fill(self) -> float:
        capacity = sum(len(r["input_ids"]) for r in self.rows)
        return self.tokens / capacity if capacity else 0.0


def encode_rows(tokenizer: Any, rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, Encoded]]:
    return [
        (
            str(r.get("content_key", i)),
            encode_example(tokenizer, r["instruction"], r.get("input") or "", r["output"]),
        )
        for i, r in enumerate(rows)
    ]


def pack(
    encoded: Sequence[tuple[str, Encoded]], max_length: int, pad_id: int, *, packing: bool = True
) -> PackedData:
    """First-fit-decreasing into rows of `max_length`; without packing, one example a row."""
    fits = [(k, e) for k, e in encoded if len(e.input_ids) <= max_length]
    too_long = tuple(k for k, e in encoded if len(e.input_ids) > max_length)
    bins: list[list[Encoded]] = []
    if packing:
        space: list[int] = []
        for _, enc in sorted(fits, key=lambda ke: -len(ke[1].input_ids)):
            n = len(enc.input_ids)
            for i, free in enumerate(space):
                if n <= free:
                    bins[i].append(enc)
                    space[i] -= n
                    break
            else:
                bins.append([enc])
                space.append(max_length - n)
    else:
        bins = [[e] for _, e in fits]
    rows = []
    for group in bins:
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        for enc in group:
            ids += enc.input_ids
            labels += enc.labels
            pos += list(range(len(enc.input_ids)))
        pad = max_length - len(ids)
        # The padding is one more "sequence" (positions restart at 0) that carries no loss.
        rows.append(
            {
                "input_ids": ids + [pad_id] * pad,
                "labels": labels + [IGNORE_INDEX] * pad,
                "position_ids": pos + list(range(pad)),
            }
        )
    return PackedData(
        rows=tuple(rows),
        examples=len(fits),
        too_long=len(too_long),
        too_long_keys=too_long,
        tokens=sum(len(e.input_ids) for _, e in fits),
        response_tokens=sum(e.response_tokens for _, e in fits),
    )


def collate(batch: Sequence[Mapping[str, list[int]]]) -> dict[str, Any]:
    """Stack packed rows; no attention mask on purpose (see the module docstring)."""
    import torch

    return {
        key: torch.tensor([row[key] for row in batch])
        for key in ("input_ids", "labels", "position_ids")
    }
