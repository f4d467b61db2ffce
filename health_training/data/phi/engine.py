"""The PHI engine: runs the four layers, resolves overlaps, replaces, and re-scans the output.

Layers (each returns unresolved (start, end, kind, replacement) hits): `rules` (Safe Harbor regex
+ lexicon rules), `identifiers` (validated structured ids), `addresses` (street grammar) and `ner`
(spaCy, on the segments `gate` sends it). Overlaps are resolved by `PRIORITY` (the most specific
identifier wins: "MRN 555-123-4567" is an MRN, a validated card number beats a phone shape,
a street address beats the person NER saw in "Nelson Mandela Drive"); same-kind hits merge into
their union; a lower-priority placeholder hit that is only partly covered keeps its uncovered part.
After replacing, the output is scanned again by the same layers until a pass finds nothing: a
replacement can free a cue ("4567I'm Alice" -> "[PHONE]I'm Alice"), and what curation's
`no_residual_phi` check reads is exactly such a pass. Placeholders are never found again.

Bad input: a non-str is refused (`PhiInputError`, reason "not_text"), as is a text over
`MAX_CHARS`; texts over `CHUNK` characters are scrubbed chunk by chunk (cut at a paragraph, line,
sentence or space), so every rule, the overlap resolution and the model see bounded pieces and time
grows linearly with size.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence

from health_training.data.phi import addresses, gate, identifiers, names, ner, rules
from health_training.data.phi.findings import GateStats, PhiFinding, PhiInputError, ScrubResult
from health_training.data.phi.lexicon import words_of

MAX_CHARS = 256 * 2**20  # refuse above this: 256 Mi characters is no narrative
CHUNK = 65_536  # characters per independently scrubbed piece of a long text
MAX_PASSES = 8  # re-scans of one chunk; each must cover more, two are the rule

# Higher wins when findings overlap.
PRIORITY = {
    "email": 30, "url": 29, "ip": 28, "credit_card": 27, "iban": 27, "ssn": 26, "mrn": 25,
    "account": 25, "health_plan": 25, "license": 25, "device_id": 25, "vehicle_id": 25,
    "fax": 24, "phone": 24, "birth_date": 22, "timestamp": 21, "street_address": 20, "zip": 19,
    "age_over_89": 18, "name": 17, "location": 16, "organization": 15,
}  # fmt: skip
# Kinds whose replacement keeps part of the value: never trimmed or merged, only kept or dropped.
_COARSENED = frozenset({"zip", "birth_date", "timestamp", "age_over_89"})

Hit = tuple[int, int, str, str, str]  # start, end, kind, replacement, detector


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
    check(text)
    pieces = chunks(text)
    hits, _ = _detect_many([piece for _, piece in pieces], ner)
    return [
        PhiFinding(kind, offset + start, offset + end, detector)
        for (offset, _), chunk_hits in zip(pieces, hits, strict=True)
        for start, end, kind, _, detector in chunk_hits
    ]


def scrub_many(texts: Sequence[str], *, ner: bool = True) -> list[ScrubResult]:
    owners: list[int] = []
    offsets: list[int] = []
    pieces: list[str] = []
    for i, text in enumerate(texts):
        for offset, piece in chunks(check(text)):
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
    outs = [_apply(p, h) if h else p for p, h in zip(pieces, hits, strict=True)]
    pending = [i for i, h in enumerate(hits) if h]
    for _ in range(MAX_PASSES):
        if not pending:
            break
        again, _ = _detect_many([outs[i] for i in pending], use_ner)
        still = []
        for i, more in zip(pending, again, strict=True):
            if not more:
                continue
            merged = _absorb(pieces[i], hits[i], more)
            if merged == hits[i]:
                continue  # nothing new to cover: stop here, the residual scan will report it
            hits[i], outs[i] = merged, _apply(pieces[i], merged)
            still.append(i)
        pending = still
    return outs, hits, stats


# Digests of texts a full scan found clean, with the gate's counts. Template narratives repeat
# (instructions, insights) and curation scans every kept text twice (scrub, then the residual
# check); the scan is a pure function of the text, so a clean verdict is reused. 16-byte BLAKE2b
# digests: a collision is far less likely than any detector's error.
_CLEAN: dict[tuple[bytes, bool], GateStats] = {}
CLEAN_CACHE_SIZE = 200_000


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _detect_many(texts: list[str], use_ner: bool) -> tuple[list[list[Hit]], list[GateStats]]:
    keys = [(_digest(t), use_ner) for t in texts]
    todo = [i for i, key in enumerate(keys) if key not in _CLEAN]
    if len(todo) < len(texts):
        hits, stats = _detect_uncached([texts[i] for i in todo], use_ner)
        out_hits: list[list[Hit]] = [[] for _ in texts]
        out_stats = [_CLEAN.get(key, GateStats()) for key in keys]
        for i, h, s in zip(todo, hits, stats, strict=True):
            out_hits[i], out_stats[i] = h, s
        return out_hits, out_stats
    hits, stats = _detect_uncached(texts, use_ner)
    if len(_CLEAN) > CLEAN_CACHE_SIZE:
        _CLEAN.clear()
    for key, h, s in zip(keys, hits, stats, strict=True):
        if not h:
            _CLEAN[key] = s
    return hits, stats


def _detect_uncached(texts: list[str], use_ner: bool) -> tuple[list[list[Hit]], list[GateStats]]:
    found: list[list[Hit]] = []
    for text in texts:
        hits = [(*h, "rules") for h in rules.detect(text)]
        words = words_of(text)
        hits += [(*h, "identifiers") for h in identifiers.detect(text, words)]
        hits += [(*h, "address") for h in addresses.detect(text, words)]
        found.append(hits)
    stats = [GateStats() for _ in texts]
    if use_ner:
        plans = [gate.plan(text) for text in texts]
        stats = [p.stats for p in plans]
        model_hits = ner.detect_many(texts, [p.spans for p in plans])
        for text, hits, more, p in zip(texts, found, model_hits, plans, strict=True):
            hits.extend((*h, "ner") for h in more)
            hits.extend((*h, "names") for h in names.detect(text, p.spans))
    resolved = []
    for text, hits in zip(texts, found, strict=True):
        hits = resolve(text, hits)
        spans = [(h[0], h[1]) for h in hits if h[2] == "name"]
        if spans:  # a name found once is replaced wherever its words stand alone
            more = [(*h, "names") for h in names.propagate(text, spans)]
            hits = resolve(text, hits + more) if more else hits
        resolved.append(hits)
    return resolved, stats


def resolve(text: str, hits: list[Hit]) -> list[Hit]:
    """Sorted, non-overlapping hits: clusters of overlapping hits resolved one by one."""
    if len(hits) < 2:
        return hits
    hits = sorted(hits)
    out: list[Hit] = []
    cluster = [hits[0]]
    reach = hits[0][1]
    for hit in hits[1:]:
        if hit[0] < reach:
            cluster.append(hit)
            reach = max(reach, hit[1])
        else:
            out.extend(_resolve_cluster(text, cluster))
            cluster, reach = [hit], hit[1]
    out.extend(_resolve_cluster(text, cluster))
    return out


def _resolve_cluster(text: str, cluster: list[Hit]) -> list[Hit]:
    if len(cluster) == 1:
        return cluster
    merged: list[Hit] = []
    for hit in cluster:  # sorted by start: same-kind placeholder hits become their union
        same = next((j for j in range(len(merged) - 1, -1, -1) if merged[j][2] == hit[2]), None)
        if same is not None and hit[2] not in _COARSENED and hit[0] < merged[same][1]:
            s, e, k, r, d = merged[same]
            merged[same] = (s, max(e, hit[1]), k, r, d)
        else:
            merged.append(hit)
    chosen: list[tuple[int, int]] = []
    out: list[Hit] = []
    for hit in sorted(merged, key=lambda h: (-PRIORITY[h[2]], h[0] - h[1], h[0])):
        free = _subtract(hit[0], hit[1], chosen)
        if free == [(hit[0], hit[1])]:
            new = [hit]
        elif hit[2] in _COARSENED:
            continue
        else:
            # Partly covered: keep the uncovered words ("Dr. Alice Morgan MRN" -> the name part).
            new = [(*_strip(text, s, e), *hit[2:]) for s, e in free]
            new = [h for h in new if h[0] < h[1]]
        out.extend(new)
        chosen = sorted(chosen + [(h[0], h[1]) for h in new])
    return sorted(out)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """`start, end` narrowed to begin and end on a letter or digit (empty if it holds none)."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def _subtract(start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    free = []
    pos = start
    for s, e in taken:
        if e <= pos or s >= end:
            continue
        if s > pos:
            free.append((pos, s))
        pos = max(pos, e)
    if pos < end:
        free.append((pos, end))
    return free


def _apply(text: str, hits: list[Hit]) -> str:
    parts: list[str] = []
    pos = 0
    for start, end, _, replacement, _ in hits:
        parts += (text[pos:start], replacement)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _absorb(text: str, hits: list[Hit], again: list[Hit]) -> list[Hit]:
    """Findings of a later pass (offsets in the scrubbed text) moved onto the original, each
    widened over the earlier replacements it touches, which it supersedes."""
    out_starts: list[int] = []
    shift_after: list[int] = []
    shift = 0
    for start, end, _, replacement, _ in hits:
        out_starts.append(start + shift)
        shift += len(replacement) - (end - start)
        shift_after.append(shift)

    def original(pos: int, is_end: bool) -> int:
        j = bisect.bisect_left(out_starts, pos) - 1
        if j < 0:
            return pos
        start, end, _, replacement, _ = hits[j]
        if pos < out_starts[j] + len(replacement):
            return end if is_end else start
        return pos - shift_after[j]

    moved = resolve(text, [(original(s, False), original(e, True), *h) for s, e, *h in again])
    starts = [m[0] for m in moved]

    def overlaps(h: Hit) -> bool:
        j = bisect.bisect_left(starts, h[1]) - 1
        return j >= 0 and moved[j][1] > h[0]

    return sorted([h for h in hits if not overlaps(h)] + moved)
