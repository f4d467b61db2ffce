"""Overlap resolution and replacement for the PHI engine: pure functions over hits.

A hit is (start, end, kind, replacement, detector). Overlaps are resolved by `PRIORITY` (the most
specific identifier wins: "MRN 555-123-4567" is an MRN, a validated card number beats a phone
shape, a street address beats the person NER saw in "Nelson Mandela Drive"); same-kind hits merge
into their union; a lower-priority placeholder hit that is only partly covered keeps its
uncovered part. `absorb` moves the findings of a re-scan of scrubbed text back onto the original.
"""

from __future__ import annotations

import bisect

# Higher wins when findings overlap.
PRIORITY = {
    "email": 30, "url": 29, "ip": 28, "credit_card": 27, "iban": 27, "ssn": 26, "mrn": 25,
    "account": 25, "health_plan": 25, "license": 25, "device_id": 25, "vehicle_id": 25,
    "fax": 24, "phone": 24, "birth_date": 22, "timestamp": 21, "street_address": 20, "zip": 19,
    "age_over_89": 18, "name": 17, "location": 16, "organization": 15,
}  # fmt: skip
# Kinds whose replacement keeps part of the value: never trimmed or merged, only kept or dropped.
COARSENED = frozenset({"zip", "birth_date", "timestamp", "age_over_89"})

Hit = tuple[int, int, str, str, str]  # start, end, kind, replacement, detector


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
        if same is not None and hit[2] not in COARSENED and hit[0] < merged[same][1]:
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
        elif hit[2] in COARSENED:
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


def apply(text: str, hits: list[Hit]) -> str:
    """`text` with each (sorted, non-overlapping) hit replaced by its replacement."""
    parts: list[str] = []
    pos = 0
    for start, end, _, replacement, _ in hits:
        parts += (text[pos:start], replacement)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def absorb(text: str, hits: list[Hit], again: list[Hit]) -> list[Hit]:
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
