"""Curate accepted examples: the OLMo spec's filters, the PHI scrub, pseudonyms and global dedup.

`curate` is pure: the caller passes the content keys already kept by *other* months (so a month
that is materialized again does not count itself) and gets back what to keep, each drop counted
by reason, the PHI found and scrubbed, and the residual PHI a second scan still finds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from typing import Any

from health_training.data.config import FilterPolicy, PhiPolicy
from health_training.data.phi import GateStats, Pseudonymizer, find_phi, scrub_many, scrub_phi
from health_training.data.records import Example, content_key

# A timestamp finer than a day inside a metadata value: truncated to the day like free text.
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?$")
_USER_SEGMENT = re.compile(r"(?<=/)user_[A-Za-z0-9_-]+(?=/)")


@dataclass(frozen=True, slots=True)
class CurationResult:
    examples_in: int
    kept: tuple[Example, ...]
    dropped: dict[str, int]  # reason -> count
    phi_scrubbed: dict[str, int]  # kind -> count found (and replaced) in kept examples
    residual_phi: dict[str, int]  # kind -> count a second scan still finds in kept examples
    # The PHI engine's NER gate over the scrubbed texts: how many texts and sentences it sent to
    # the spaCy model and how many it cleared by vocabulary (GateStats.as_dict()).
    phi_ner: dict[str, int | float] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.examples_in == len(self.kept) + sum(self.dropped.values())


def filter_reason(meta: dict[str, Any], policy: FilterPolicy) -> str | None:
    """Why the spec's filters drop an example, or None to keep it."""
    if meta.get("source_format") != "etl" and not policy.apply_to_external:
        return None
    quality = meta.get("quality_score")
    if quality is None or float(quality) < policy.min_quality_score:
        return "quality_below_min"
    if meta.get("example_kind") == "question" and not policy.levels_apply_to_questions:
        return None
    if meta.get("complexity_level") not in policy.complexity_levels:
        return "complexity_excluded"
    if meta.get("clinical_relevance") in policy.exclude_relevance:
        return "relevance_excluded"
    return None


def _scrub_insights(value: Any) -> Any:
    """Every string inside the insights, whether a list (ours) or an object (ETL Module 4)."""
    if isinstance(value, str):
        return scrub_phi(value).text
    if isinstance(value, list):
        return [_scrub_insights(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_insights(v) for k, v in value.items()}
    return value


def _scrub_meta(meta: dict[str, Any], pseudonymize: Callable[[str], str] | None) -> dict[str, Any]:
    out = dict(meta)
    user = out.get("user_id")
    if pseudonymize is not None and isinstance(user, str) and user:
        pseudonym = pseudonymize(user)
        out["user_id"] = pseudonym
        if isinstance(out.get("source_key"), str):
            out["source_key"] = out["source_key"].replace(user, pseudonym)
    if pseudonymize is not None and isinstance(out.get("source_key"), str):
        out["source_key"] = _USER_SEGMENT.sub(lambda m: pseudonymize(m.group(0)), out["source_key"])
    for key, value in out.items():
        if isinstance(value, str) and _TIMESTAMP.match(value):
            out[key] = value[:10]
    return out


def curate(
    examples: Iterable[Example],
    filters: FilterPolicy,
    phi: PhiPolicy,
    *,
    seen_keys: Set[str] = frozenset(),
    pseudonymize: Callable[[str], str] | None = None,
) -> CurationResult:
    """Filter, scrub, pseudonymize and deduplicate; every example is kept or counted as dropped."""
    if phi.pseudonymize_user_ids and pseudonymize is None:
        raise ValueError("pseudonymize_user_ids is on but no pseudonymizer was given")
    dropped: Counter[str] = Counter()
    scrubbed: Counter[str] = Counter()
    residual: Counter[str] = Counter()
    gate = GateStats()
    kept: list[Example] = []
    kept_keys: set[str] = set()
    n = 0
    for ex in examples:
        n += 1
        meta = dict(ex.metadata)
        reason = filter_reason(meta, filters)
        if reason:
            dropped[reason] += 1
            continue
        texts = [ex.instruction, ex.input, ex.output]
        insights = meta.get("clinical_insights")
        if phi.scrub:
            # One call for the three texts: the NER model reads their gated sentences in a batch.
            results = scrub_many(texts)
            gate = sum((r.gate for r in results), gate)
            found: Counter[str] = Counter()
            for r in results:
                found.update(r.counts)
            texts = [r.text for r in results]
            if insights is not None:
                meta["clinical_insights"] = _scrub_insights(insights)
        else:
            found = Counter()
        instruction, input_, output = texts
        key = content_key(instruction, input_, output)
        if key in kept_keys:
            dropped["duplicate_within_month"] += 1
            continue
        if key in seen_keys:
            dropped["duplicate_other_month"] += 1
            continue
        kept_keys.add(key)
        scrubbed.update(found)
        meta = _scrub_meta(meta, pseudonymize if phi.pseudonymize_user_ids else None)
        meta["content_key"] = key
        # The second, independent scan is what the blocking no-residual-PHI check reads.
        for text in texts:
            residual.update(f.kind for f in find_phi(text))
        user = meta.get("user_id")
        if isinstance(user, str) and user and not Pseudonymizer.is_pseudonym(user):
            residual["user_id"] += 1
        kept.append(Example(instruction, input_, output, meta))
    return CurationResult(
        n, tuple(kept), dict(dropped), dict(scrubbed), dict(residual), gate.as_dict()
    )
