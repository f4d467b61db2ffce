"""Layer 1 of the PHI engine: the regex + lexicon HIPAA Safe Harbor rules (no model).

Direct identifiers after cues (MRN, SSN, "my name is", titles, given names before a surname),
phones and IPs by shape, and the coarsening rules no library has: timestamps -> the day, birth
dates -> the year, ages over 89 -> "90+", ZIP -> 3 digits (the 17 small areas -> 000), cities
removed with the state kept. Most narratives hold no PHI, so a prefilter (one byte-level token
split, a few regexes that start with a literal character) decides which rules run, and those run
only in windows around what it found. `detect` returns unresolved hits; the engine resolves them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from health_training.data.phi.name_place_rules import (
    Hit,
    mark_city,
    mark_given_name,
    mark_name,
    mark_state_context,
    starts_word,
    zip3,
)
from health_training.data.phi.rules_patterns import (
    _ADDRESS_HEAD,
    _ADDRESS_TAIL,
    _AGE,
    _BIRTH,
    _CUES,
    _EMAIL,
    _FAX_BEFORE,
    _HEX_CHAIN,
    _IDS,
    _IPV4,
    _IPV6,
    _LABEL_BEFORE,
    _MAC,
    _NAME_BEFORE_ID,
    _NAME_CUE,
    _NEEDLES,
    _NOT_NAMES,
    _PHONE,
    _PHONE_CUE,
    _PLACEHOLDER,
    _PO_BOX,
    _PRE_DASH,
    _PRE_DOT,
    _PRE_PAREN,
    _PRE_PLUS,
    _SHAPES,
    _SSN,
    _T,
    _T_ADDRESS,
    _T_CITY,
    _T_ID_CUES,
    _T_LEXNAME,
    _T_NAME_CUE,
    _T_STATE,
    _T_TITLE,
    _TIMESTAMP,
    _TITLE,
    _TOK_RE,
    _TOKEN_TABLE,
    _TRIGGERS,
    _TS_COLON,
    _URL,
    _ZIP_CUE,
)


def detect(text: str) -> list[Hit]:
    """Every rule's findings in `text` as (start, end, kind, replacement), overlaps unresolved."""
    hits: list[Hit] = []
    found = _TRIGGERS.intersection(
        text.encode("utf-8", "surrogatepass").translate(_TOKEN_TABLE).split()
    )
    if "@" in text:
        _add(hits, _EMAIL.finditer(text), "email")
    if (_PRE_DASH.search(text) or _PRE_DOT.search(text) or (")" in text and _PRE_PAREN.search(text))
            or ("+" in text and _PRE_PLUS.search(text))):  # fmt: skip
        _digit_shapes(text, hits)
    if ":" in text:
        for m in _TS_COLON.finditer(text):
            colon = m.start()
            for ts in _TIMESTAMP.finditer(text, max(0, colon - 40), colon + 200):
                if ts.start() < colon < ts.end():
                    hits.append((*ts.span(), "timestamp", ts["d1"] or ts["d2"] or ts["d3"]))
                    break
        if _HEX_CHAIN.search(text):
            for lo, hi in _windows([m.span() for m in _HEX_CHAIN.finditer(text)], 40, 40):
                _add(hits, _MAC.finditer(text, lo, hi), "device_id")
                _add(hits, (m for m in _IPV6.finditer(text, lo, hi) if _is_ipv6(m[0])), "ip")
    if found:
        _cued(text, found, hits)
    return hits


def _digit_shapes(text: str, hits: list[Hit]) -> None:
    """SSNs, phones, IPv4 and MAC addresses, in windows around the prefilter's anchors."""
    anchors = sorted(m.span() for p in _SHAPES for m in p.finditer(text))
    for lo, hi in _windows(anchors, 40, 40):
        _add(hits, _SSN.finditer(text, lo, hi), "ssn")
        _phones(text, _PHONE.finditer(text, lo, hi), hits)
        _add(hits, _IPV4.finditer(text, lo, hi), "ip")
        _add(hits, _MAC.finditer(text, lo, hi), "device_id")


def _cued(text: str, found: set[bytes], hits: list[Hit]) -> None:
    """The rules that need a cue word; `found` holds the cue tokens the prefilter saw."""
    if not found.isdisjoint(_T["url"]):
        for m in _URL.finditer(text):
            hits.append((m.start(), m.start() + len(m[0].rstrip(".,;:!?")), "url", "[URL]"))
    for lo, hi in _around(text, found, _T["ssn"], 0, 50):
        _add(hits, _SSN.finditer(text, lo, hi), "ssn")
    for lo, hi in _around(text, found, _T["phone"], 0, 50):
        _phones(text, _PHONE_CUE.finditer(text, lo, hi), hits)
    for lo, hi in _around(text, found, _T["ids"], 16, 80):
        for m in _IDS.finditer(text, lo, hi):
            if len(m["v"]) >= 4 and any(c.isdigit() for c in m["v"]):
                kind = "mrn" if m["mrn"] else "account" if m["account"] else "device_id"
                hits.append((*m.span("v"), kind, _PLACEHOLDER[kind]))
    for lo, hi in _around(text, found, _T["birth"], 16, 80):
        for m in _BIRTH.finditer(text, lo, hi):
            year = m["y1"] or m["y2"] or m["y3"] or m["y4"] or m["y5"]
            hits.append((m.start("v"), m.end(), "birth_date", year or "[DATE]"))
    for lo, hi in _around(text, found, _T["age"], 16, 30):
        _add(hits, _AGE.finditer(text, lo, hi), "age_over_89")
    for lo, hi in _around(text, found, _T_ID_CUES, 40, 0):
        for m in _NAME_BEFORE_ID.finditer(text, lo, hi):
            words = list(_TOK_RE.finditer(text, *m.span("v")))
            while words and words[0][0] in _NOT_NAMES:  # "For Mei Okafor, SSN ..."
                del words[0]
            if len(words) >= 2:
                mark_name(text, words[0].start(), words[-1].end(), hits, strict=False)
    if not found.isdisjoint(_T["zip"]):
        _add(hits, _ZIP_CUE.finditer(text), "zip")
    if not found.isdisjoint(_T["box"]):
        _add(hits, _PO_BOX.finditer(text), "street_address")
    for word, i in _occurrences(text, found, _T_ADDRESS):
        if head := _ADDRESS_HEAD.search(text, max(0, i - 60), i):
            tail = _ADDRESS_TAIL.match(text, i + len(word))
            hits.append((head.start(), tail.end(), "street_address", "[ADDRESS]"))
    for word, i in _occurrences(text, found, _T_STATE):
        mark_state_context(text, word, i, hits)
    for word, i in _occurrences(text, found, _T_CITY):
        mark_city(text, word, i, hits)
    for word, i in _occurrences(text, found, _T_TITLE):
        if m := _TITLE.match(text, i):
            mark_name(text, *m.span("v"), hits, strict=word in _CUES["weak_titles"])
    for lo, hi in _around(text, found, _T_NAME_CUE, 16, 60):
        for m in _NAME_CUE.finditer(text, lo, hi):
            if m["strong"] and _LABEL_BEFORE.search(text, max(0, m.start() - 16), m.start()):
                continue  # "Drug name: Metformin"
            mark_name(text, *m.span("v"), hits, strict=m["weak"] is not None)
    for word, i in _occurrences(text, found, _T_LEXNAME):
        mark_given_name(text, word, i, hits)


def _phones(text: str, matches: Iterable[re.Match[str]], hits: list[Hit]) -> None:
    for m in matches:
        start, end = m.span("v") if m.re is _PHONE_CUE else m.span()
        fax = m[0][:3].lower() == "fax" or _FAX_BEFORE.search(text, max(0, start - 24), start)
        kind = "fax" if fax else "phone"
        hits.append((start, end, kind, _PLACEHOLDER[kind]))


def _add(hits: list[Hit], matches: Iterable[re.Match[str]], kind: str) -> None:
    """Findings from matches: the span of group `v` (or `w`) when it took part, else the match."""
    for m in matches:
        group = next((g for g in ("v", "w") if g in m.re.groupindex and m[g] is not None), 0)
        value = zip3(m[group]) if kind == "zip" else _PLACEHOLDER[kind]
        hits.append((*m.span(group), kind, value))


def _windows(spans: list[tuple[int, int]], before: int, after: int) -> list[tuple[int, int]]:
    """Windows reaching `before`/`after` characters around sorted spans, overlaps merged."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        lo, hi = max(0, start - before), end + after
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _around(
    text: str, found: set[bytes], group: frozenset[bytes], before: int, after: int
) -> list[tuple[int, int]]:
    """Windows around every occurrence of the cue words of `group` that the prefilter found."""
    if found.isdisjoint(group):
        return []
    return _windows(
        sorted((i, i + len(w)) for w, i in _occurrences(text, found, group)), before, after
    )


def _occurrences(text: str, found: set[bytes], group: frozenset[bytes]) -> list[tuple[str, int]]:
    """(word, offset) of each whole-word occurrence of the found cue words of `group`."""
    if found.isdisjoint(group):
        return []
    out = []
    for token in found & group:
        for word in _NEEDLES.get(token) or (token.decode(),):
            i = text.find(word)
            while i >= 0:
                end = i + len(word)
                if starts_word(text, i) and (end == len(text) or not text[end].isalnum()):
                    out.append((word, i))
                i = text.find(word, end)
    return out


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return any(c.isdigit() for c in candidate)
