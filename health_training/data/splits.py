"""Stable train/validation/test splits by hash of each example's content key.

An example's split depends only on its content key and the salt, never on which months are
loaded or in what order: adding or backfilling a month never moves an example, and the test keys
of an earlier dataset version can be pinned (`frozen_test_keys`) so a test example never reaches
training even if the ratios change.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from statistics import fmean
from typing import Any

_SCALE = float(1 << 64)
FREEFORM_TEST = "freeform_test"  # question examples of held-out template families
QUESTION = "question"  # metadata.example_kind of the ETL writer's question examples


def bucket(key: str, salt: str) -> float:
    """A uniform number in [0, 1) from the key; the salt lets a new test set be drawn on purpose."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def split_for(key: str, ratios: Sequence[tuple[str, float]], salt: str = "v1") -> str:
    """The split a content key belongs to, for ratios such as (("train", .8), ("test", .2))."""
    point = bucket(key, salt)
    edge = 0.0
    for name, share in ratios:
        edge += share
        if point < edge:
            return name
    return ratios[-1][0]


@dataclass(frozen=True, slots=True)
class SplitResult:
    splits: dict[str, tuple[dict[str, Any], ...]]
    pinned_to_test: int  # examples kept in test because an earlier version had them there
    balanced_out: dict[str, int]  # category -> train examples dropped by balancing
    duplicates_dropped: int


def _balance(
    rows: list[dict[str, Any]], shares: Mapping[str, float], salt: str
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Downsample categories above their target share; the lowest hashes stay (stable as data grows)."""
    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_cat[row["category"]].append(row)
    named = {c: s for c, s in shares.items() if c in by_cat and s > 0}
    if not named:
        return rows, Counter()
    # The largest total whose per-category targets every category can still fill.
    total = min(len(by_cat[c]) / s for c, s in named.items())
    out: list[dict[str, Any]] = []
    removed: Counter[str] = Counter()
    for cat, items in by_cat.items():
        if cat not in named:
            out.extend(items)
            continue
        quota = int(round(total * named[cat]))
        items.sort(key=lambda r: bucket(r["content_key"], salt + "/balance"))
        out.extend(items[:quota])
        removed[cat] = len(items) - quota
    return out, removed


def assign_splits(
    rows: Sequence[dict[str, Any]],
    ratios: Sequence[tuple[str, float]],
    *,
    salt: str = "v1",
    frozen_test_keys: Set[str] = frozenset(),
    balance: Mapping[str, float] | None = None,
    freeform_families: Set[str] = frozenset(),
) -> SplitResult:
    """Split flat rows (each with `content_key` and `category`); later duplicates are dropped.

    Question examples (`example_kind` "question") never reach `test`, which stays the narrative
    split it has always been: those of a held-out template family (`freeform_families`) form
    `freeform_test`, the others split between the remaining ratios by the same hash."""
    seen: set[str] = set()
    buckets: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in ratios}
    question_ratios = _without_test(ratios)
    pinned = dups = 0
    for row in rows:
        key = row["content_key"]
        if key in seen:
            dups += 1
            continue
        seen.add(key)
        if row.get("example_kind") == QUESTION:
            held_out = row.get("template_family") in freeform_families
            name = FREEFORM_TEST if held_out else split_for(key, question_ratios, salt)
            buckets.setdefault(name, []).append(row)
            continue
        name = split_for(key, ratios, salt)
        if key in frozen_test_keys and name != "test":
            name, pinned = "test", pinned + 1
        buckets[name].append(row)
    removed: Counter[str] = Counter()
    if balance:
        # Only train is balanced: validation and test keep the natural mix they measure.
        buckets["train"], removed = _balance(buckets["train"], balance, salt)
    for items in buckets.values():
        items.sort(key=lambda r: r["content_key"])
    return SplitResult({k: tuple(v) for k, v in buckets.items()}, pinned, dict(removed), dups)


def _without_test(ratios: Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    rest = [(name, share) for name, share in ratios if name != "test"]
    total = sum(share for _, share in rest) or 1.0
    return tuple((name, share / total) for name, share in rest)


def split_digest(rows: Sequence[dict[str, Any]]) -> str:
    """SHA-256 over a split's sorted content keys: equal digests mean equal example sets."""
    h = hashlib.sha256()
    for key in sorted(r["content_key"] for r in rows):
        h.update(key.encode())
        h.update(b"\n")
    return h.hexdigest()


def build_manifest(result: SplitResult, *, version: str, months: Sequence[str]) -> dict[str, Any]:
    """Counts per split × category, date range, mean quality and a digest per split."""
    splits: dict[str, Any] = {}
    for name, rows in result.splits.items():
        qualities = [r["quality_score"] for r in rows if r.get("quality_score") is not None]
        splits[name] = {
            "examples": len(rows),
            "by_category": dict(sorted(Counter(r["category"] for r in rows).items())),
            "mean_quality": round(fmean(qualities), 4) if qualities else None,
            "sha256": split_digest(rows),
        }
    all_rows = [r for rows in result.splits.values() for r in rows]
    days = sorted(r["day"] for r in all_rows if r.get("day"))
    return {
        "version": version,
        "months": list(months),
        "date_range": [days[0], days[-1]]
        if days
        else [min(months, default=None), max(months, default=None)],
        "examples": len(all_rows),
        "splits": splits,
        "pinned_to_test": result.pinned_to_test,
        "balanced_out": result.balanced_out,
        "duplicates_dropped": result.duplicates_dropped,
    }
