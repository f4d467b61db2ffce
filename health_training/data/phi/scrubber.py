"""The PHI engine: runs the four layers, resolves overlaps, replaces, and re-scans the output.

Layers (each returns unresolved (start, end, kind, replacement) hits): `rules` (Safe Harbor regex
+ lexicon rules), `identifiers` (validated structured ids), `addresses` (street grammar) and `ner`
(spaCy, on the segments `gate` sends it, less those whose only unknown words the other three
layers already replaced: `_plan`). Overlaps are resolved by priority (`overlaps.py`).
After replacing, the output is scanned again by the same layers until a pass finds nothing: a
replacement can free a cue ("4567I'm Alice" -> "[PHONE]I'm Alice"), and what curation's
`no_residual_phi` check reads is exactly such a pass. Placeholders are never found again.

Bad input: a non-str is refused (`PhiInputError`, reason "not_text"), as is a text over
`MAX_CHARS`; texts over `CHUNK` characters are scrubbed chunk by chunk (cut at a paragraph, line,
sentence or space), so every rule, the overlap resolution and the model see bounded pieces and time
grows linearly with size.

Cost: curation calls this once per example with three short texts, most of them template text
with nothing to find, so the per-call path below avoids per-text Python work it does not need
(no chunking of short texts, no gate arithmetic, no empty tagging loops); see bench/README.md.
Verdicts already reached (a text found clean, a segment the model read, a word judged, a digit
shape no layer can take anything from: `digit_shapes.py`) are kept in the active `PhiCaches`
(`caches.py`), not in this module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import cast

from health_training.data.phi import (
    addresses,
    caches,
    cues,
    digit_shapes,
    identifiers,
    name_positions,
    names,
    ner,
    rules,
)
from health_training.data.phi.findings import GateStats, PhiFinding, PhiInputError, ScrubResult
from health_training.data.phi.lexicon import words_of
from health_training.data.phi.model_reads import plan_after_hits
from health_training.data.phi.overlaps import PRIORITY, Hit, absorb, apply, resolve

__all__ = [
    "CHUNK",
    "MAX_CHARS",
    "PRIORITY",
    "check",
    "chunks",
    "clear_caches",
    "find",
    "find_many",
    "resolve",
    "scrub_many",
]

MAX_CHARS = 256 * 2**20  # refuse above this: 256 Mi characters is no narrative
CHUNK = 65_536  # characters per independently scrubbed piece of a long text
MAX_PASSES = 8  # re-scans of one chunk; each must cover more, two are the rule
_NO_GATE = GateStats()


def check(text: object) -> str:
    """`text` if the engine accepts it, else PhiInputError with the reason and the fix."""
    if not isinstance(text, str):
        raise PhiInputError(
            "not_text",
            f"PHI scrubbing needs str, got {type(text).__name__}: decode bytes first "
            "(e.g. data.decode('utf-8', errors='replace')) or quarantine the record",
        )
    if len(text) > MAX_CHARS:
        raise PhiInputError(
            "too_large",
            f"text of {len(text):,} characters is over the {MAX_CHARS:,} limit: split it "
            "(e.g. by line) or quarantine the record",
        )
    return text


def find(text: str, *, ner: bool = True) -> list[PhiFinding]:
    return find_many([text], ner=ner)[0]


def find_many(texts: Sequence[str], *, ner: bool = True) -> list[list[PhiFinding]]:
    """`find` of each text; the model reads the gated sentences of all of them in one pass."""
    owners: list[tuple[int, int, str]] = []
    for i, text in enumerate(texts):
        check(text)
        if len(text) <= CHUNK and (
            digit_shapes.clean_stats(text, ner) or _key(text, ner) in caches.active().clean
        ):
            continue  # a template text, or the residual scan of a text already found clean
        owners += [(i, offset, piece) for offset, piece in chunks(text)]
    pieces = list(dict.fromkeys(piece for *_, piece in owners))  # each distinct one once
    hits = dict(zip(pieces, _detect_many(pieces, ner)[0], strict=True))
    out: list[list[PhiFinding]] = [[] for _ in texts]
    for i, offset, piece in owners:
        out[i] += [PhiFinding(k, offset + s, offset + e, d) for s, e, k, _, d in hits[piece]]
    return out


def scrub_many(texts: Sequence[str], *, ner: bool = True) -> list[ScrubResult]:
    texts = [check(text) for text in texts]
    if all(len(text) <= CHUNK for text in texts):
        # One chunk each (the rule): the gate's counts of a chunk are already the text's.
        outs, hits, stats = _scrub_chunks(texts, ner)
        return [
            ScrubResult(out, tuple(PhiFinding(k, s, e, d) for s, e, k, _, d in h), g)
            if h
            else ScrubResult(text, (), g if ner else _NO_GATE)
            for text, out, h, g in zip(texts, outs, hits, stats, strict=True)
        ]
    owners: list[int] = []
    offsets: list[int] = []
    pieces: list[str] = []
    for i, text in enumerate(texts):
        for offset, piece in chunks(text):
            owners.append(i)
            offsets.append(offset)
            pieces.append(piece)
    outs, hits, stats = _scrub_chunks(pieces, ner)
    parts: list[list[str]] = [[] for _ in texts]
    found: list[list[PhiFinding]] = [[] for _ in texts]
    gates = [GateStats() for _ in texts]
    for owner, offset, out, chunk_hits, stat in zip(
        owners, offsets, outs, hits, stats, strict=True
    ):
        parts[owner].append(out)
        found[owner].extend(
            PhiFinding(k, offset + s, offset + e, d) for s, e, k, _, d in chunk_hits
        )
        gates[owner] = gates[owner] + stat
    results = []
    for text, part, finding, g in zip(texts, parts, found, gates, strict=True):
        g = GateStats(1, int(g.segments_to_model > 0), *g.as_tuple()[2:]) if ner else GateStats()
        results.append(ScrubResult("".join(part) if finding else text, tuple(finding), g))
    return results


def chunks(text: str) -> list[tuple[int, str]]:
    """(offset, piece) of `text` in pieces of at most CHUNK characters, cut where PHI rarely
    spans: a blank line, else a line end, else a sentence end, else a space, else anywhere."""
    if len(text) <= CHUNK:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > CHUNK:
        lo, hi = start + CHUNK // 2, start + CHUNK
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            cut = text.rfind(sep, lo, hi)
            if cut >= 0:
                cut += len(sep)
                break
        cut = cut if cut > start else hi
        out.append((start, text[start:cut]))
        start = cut
    out.append((start, text[start:]))
    return out


def _scrub_chunks(
    pieces: list[str], use_ner: bool
) -> tuple[list[str], list[list[Hit]], list[GateStats]]:
    hits, stats = _detect_many(pieces, use_ner)
    pending = [i for i, h in enumerate(hits) if h]
    if not pending:
        return pieces, hits, stats
    outs = list(pieces)
    for i in pending:
        outs[i] = apply(pieces[i], hits[i])
    for _ in range(MAX_PASSES):
        if not pending:
            break
        again, _ = _detect_many([outs[i] for i in pending], use_ner)
        still = []
        for i, more in zip(pending, again, strict=True):
            if not more:
                continue
            merged = absorb(pieces[i], hits[i], more)
            if merged == hits[i]:
                continue  # nothing new to cover: stop here, the residual scan will report it
            hits[i], outs[i] = merged, apply(pieces[i], merged)
            still.append(i)
        pending = still
    return outs, hits, stats


def clear_caches() -> None:
    """Forget every verdict of the active caches (benchmarks that time a cold engine); a test
    that needs its own uses `with PhiCaches().activated():` instead."""
    caches.active().clear()


def _key(text: str, use_ner: bool) -> bytes:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return digest + b"n" if use_ner else digest


# Texts a full scan found clean are remembered by 16-byte BLAKE2b digest (+ b"n" when the model
# took part), with the gate's counts. Template narratives repeat (instructions, insights) and
# curation scans every kept text twice (scrub, then the residual check); the scan is a pure
# function of the text, so a clean verdict is reused. A collision is far less likely than any
# detector's error.
def _detect_many(texts: list[str], use_ner: bool) -> tuple[list[list[Hit]], list[GateStats]]:
    memo = caches.active()
    clean = memo.clean
    keys = [_key(t, use_ner) for t in texts]
    cached = [clean.get(key) for key in keys]
    out_hits: list[list[Hit]] = [[] for _ in texts]
    if None not in cached:
        return out_hits, cast(list[GateStats], cached)  # all clean, counts known
    for i, s in enumerate(cached):  # template text, clean whatever its numbers say
        cached[i] = s or digit_shapes.clean_stats(texts[i], use_ner)
    if None not in cached:
        return out_hits, cast(list[GateStats], cached)
    todo = [i for i, s in enumerate(cached) if s is None]
    hits, fresh = _detect_uncached([texts[i] for i in todo] if len(todo) < len(texts) else texts,
                                   use_ner)  # fmt: skip
    if len(clean) + len(todo) > memo.max_clean_texts:
        clean.clear()
    for i, h, s in zip(todo, hits, fresh, strict=True):
        out_hits[i], cached[i] = h, s
        if not h:
            clean[keys[i]] = s
    return out_hits, cast(list[GateStats], cached)


def _detect_uncached(texts: list[str], use_ner: bool) -> tuple[list[list[Hit]], list[GateStats]]:
    found: list[list[Hit]] = []
    for text in texts:
        words = words_of(text)
        hits = [(*h, "rules") for h in rules.detect(text)]
        more = identifiers.detect(text, words) + cues.detect(text, words)
        if more:
            hits += [(*h, "identifiers") for h in more]
        more = addresses.detect(text, words)
        if more:
            hits += [(*h, "address") for h in more]
        found.append(hits)
    stats = [_NO_GATE] * len(texts)
    if use_ner:
        plans = [plan_after_hits(text, hits) for text, hits in zip(texts, found, strict=True)]
        stats = [p.stats for p in plans]
        if any(p.spans for p in plans):
            model_hits = ner.detect_many(texts, [p.spans for p in plans])
            for text, hits, more, p in zip(texts, found, model_hits, plans, strict=True):
                if p.spans:
                    hits += [(*h, "ner") for h in more]
                    hits += [(*h, "names") for h in names.detect(text, p.spans)]
    for i, (text, hits) in enumerate(zip(texts, found, strict=True)):
        if not hits:
            continue
        hits = resolve(text, hits)
        spans = [(h[0], h[1]) for h in hits if h[2] == "name"]
        if spans:  # a name found once takes the initials next to it ("H. [NAME]") and is
            # replaced wherever its words stand alone
            more = [(*h, "names") for h in name_positions.widen(text, spans)]
            if more:
                hits = resolve(text, hits + more)
                spans = [(h[0], h[1]) for h in hits if h[2] == "name"]
            more = [(*h, "names") for h in names.propagate(text, spans)]
            hits = resolve(text, hits + more) if more else hits
        found[i] = hits
    return found, stats
