"""Drift of a new month against the training baseline: category mix, answer-length distribution
and vocabulary, each as a Jensen-Shannon divergence (base 2, so 0 = same, 1 = disjoint), and a
weighted score. A profile is small (shares and counts), so the baseline is stored beside the
dataset and a month is compared without rereading the training data.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

LENGTH_BUCKETS = (0, 200, 300, 400, 500, 600, 700, 800, 1000, 1500)  # answer characters
TOP_WORDS = 500
WEIGHTS = {"category": 0.4, "length": 0.3, "vocabulary": 0.3}
_WORD = re.compile(r"[a-z]{3,}")


@dataclass(frozen=True)
class Profile:
    examples: int
    category: dict[str, float]
    length: dict[str, float]
    vocabulary: dict[str, float]  # the top words' shares

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Profile:
        return cls(
            int(d["examples"]), dict(d["category"]), dict(d["length"]), dict(d["vocabulary"])
        )


@dataclass(frozen=True)
class DriftResult:
    score: float
    components: dict[str, float] = field(default_factory=dict)
    threshold: float = 0.0  # the policy's (data.yaml checks.drift_threshold)

    @property
    def drifted(self) -> bool:
        return self.score > self.threshold


def _bucket(n: int) -> str:
    for low, high in zip(LENGTH_BUCKETS, LENGTH_BUCKETS[1:], strict=False):
        if n < high:
            return f"{low}-{high}"
    return f"{LENGTH_BUCKETS[-1]}+"


def _shares(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}


def profile_of(rows: Iterable[Mapping[str, Any]]) -> Profile:
    """Rows with `category` and `output` (training rows or curated examples flattened)."""
    cats: Counter[str] = Counter()
    lengths: Counter[str] = Counter()
    words: Counter[str] = Counter()
    n = 0
    for row in rows:
        n += 1
        cats[str(row.get("category") or "unknown")] += 1
        text = str(row.get("output") or "")
        lengths[_bucket(len(text))] += 1
        words.update(_WORD.findall(text.lower()))
    top = Counter(dict(words.most_common(TOP_WORDS)))
    return Profile(n, _shares(cats), _shares(lengths), _shares(top))


def js_divergence(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence in bits (0..1); missing keys count as zero mass."""
    if not p or not q:
        return 0.0 if not p and not q else 1.0
    keys = set(p) | set(q)
    m = {k: (p.get(k, 0.0) + q.get(k, 0.0)) / 2 for k in keys}

    def kl(a: Mapping[str, float]) -> float:
        return sum(a[k] * math.log2(a[k] / m[k]) for k in keys if a.get(k, 0.0) > 0)

    return max(0.0, min(1.0, (kl(p) + kl(q)) / 2))


def compare(baseline: Profile, month: Profile, threshold: float) -> DriftResult:
    parts = {
        "category": js_divergence(baseline.category, month.category),
        "length": js_divergence(baseline.length, month.length),
        "vocabulary": js_divergence(baseline.vocabulary, month.vocabulary),
    }
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    return DriftResult(round(score, 6), {k: round(v, 6) for k, v in parts.items()}, threshold)
