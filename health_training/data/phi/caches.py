"""Every memo the PHI engine keeps between calls, in one object with bounded size.

The engine's verdicts are pure functions of their input and of the lexicons, and curation feeds it
the same template text over and over, so it remembers them: texts a full scan found clean, the
entities the spaCy model found in a segment, the words the NER gate, the street-shape prechecks and
`lexicon.is_known` have judged, and the digit shapes judged clean or not (`digit_shapes.py`). All
of them live in a `PhiCaches`, each memo under its own limit; a memo that would pass its limit is
emptied whole (the working set of template text is a few hundred words, so refilling is cheap,
and the hot path pays no LRU bookkeeping).

The engine reads the *active* caches (`active()`): those a caller activated for the current thread
or task, else the process's default, created on first use. That default is the engine's only
module-level state. A test or benchmark that needs cold or isolated caches makes its own:

    with PhiCaches().activated():
        scrub_many(texts)          # starts cold, leaves the default untouched

What is not here: the lexicons and the patterns built from them (`lexicon.py`, `ner_gate.py`,
`addresses.py`, ... `@cache` loaders) and the spaCy model (`ner.load`) are loaded data, the same
for every input and every caches object, not memos of inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from health_training.data.phi.findings import GateStats


@dataclass(eq=False)
class PhiCaches:
    """The engine's memos; the limits are entries per memo (texts, segments or words)."""

    max_clean_texts: int = 200_000  # 16-byte digests + counts: ~40 MB when full
    max_segments: int = 50_000  # NER answers per model-read segment
    max_words: int = 200_000  # each word memo below

    # 16-byte BLAKE2b digest of a text (+ b"n" when the model took part) -> the gate's counts,
    # for texts a full scan found clean (`engine._detect_many`).
    clean: dict[bytes, GateStats] = field(default_factory=dict)
    # The same digest of a text's digit shape (every digit "0") -> the gate's counts when no
    # layer can find anything in any text of that shape, () when it must be scanned
    # (`digit_shapes.clean_stats`).
    clean_shapes: dict[bytes, GateStats | tuple[()]] = field(default_factory=dict)
    # segment text -> (label, start, end) of each entity the model found (`ner.detect_many`).
    entities: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # ASCII words `gate._word_needs_model` cleared.
    gate_cleared: set[bytes] = field(default_factory=set)
    # Words `prechecks.may_hold_glued_street` found no glued street type in.
    not_glued: set[str] = field(default_factory=set)
    # Words `prechecks.may_hold_number_first_street` found to be, or not to be, a street type.
    street_types: set[str] = field(default_factory=set)
    not_street_types: set[str] = field(default_factory=set)
    # word -> `lexicon.is_known`'s verdict.
    known: dict[str, bool] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget every verdict (benchmarks that time a cold engine)."""
        for memo in self._memos():
            memo.clear()

    def sizes(self) -> dict[str, int]:
        """Entries per memo, for logs and tests."""
        names = ("clean", "clean_shapes", "entities", "gate_cleared", "not_glued", "street_types",
                 "not_street_types", "known")  # fmt: skip
        return {name: len(memo) for name, memo in zip(names, self._memos(), strict=True)}

    @contextmanager
    def activated(self) -> Iterator[PhiCaches]:
        """Make these the caches the engine uses in this thread or task, until the block ends."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def _memos(self) -> tuple[dict[Any, Any] | set[Any], ...]:
        return (self.clean, self.clean_shapes, self.entities, self.gate_cleared, self.not_glued,
                self.street_types, self.not_street_types, self.known)  # fmt: skip


# A ContextVar, not a global: each thread and asyncio task sees the caches it activated, and a
# `with` block in one never swaps the memos under another.
_ACTIVE: ContextVar[PhiCaches | None] = ContextVar("phi_caches", default=None)
_default: PhiCaches | None = None


def active() -> PhiCaches:
    """The caches the engine uses here: the activated ones, else the process's default."""
    caches = _ACTIVE.get()
    if caches is not None:
        return caches
    global _default
    if _default is None:
        _default = PhiCaches()
    return _default
