"""HIPAA Safe Harbor PHI detection and scrubbing for free-text health narratives.

`find_phi` says where identifiers are (kind and offsets, never the text, so findings can be
logged); `scrub_phi` replaces them. Direct identifiers become placeholders ("[NAME]", "[PHONE]",
"[MRN]", ...); what Safe Harbor allows in coarser form is coarsened: ZIP 62704 -> "627XX", a birth
date -> its year, an age over 89 -> "90+", a timestamp -> its day, a city -> "[CITY]" (the state
stays). There is no NER model: names come from title and phrase cues and the lexicons in
`lexicons/`. Most narratives hold no PHI, so a prefilter (one byte-level token split, a few
regexes that start with a literal character) decides which rules run, and those run only in
windows around what it found. `Pseudonymizer` turns user ids into keyed HMAC-SHA256 pseudonyms.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import ipaddress
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files

PHI_KINDS: tuple[str, ...] = (
    "name", "ssn", "phone", "fax", "email", "mrn", "account", "device_id", "url", "ip",
    "street_address", "zip", "birth_date", "age_over_89", "timestamp", "location",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PhiFinding:
    """One identifier: its kind and offsets in the original text (never the matched text)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The scrubbed text and what was replaced in the original."""

    text: str
    findings: tuple[PhiFinding, ...]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(f.kind for f in self.findings))


def _lexicon(name: str) -> list[str]:
    text = (files("health_training.data") / "lexicons" / name).read_text(encoding="utf-8")
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def _variants(words: Iterable[str]) -> frozenset[bytes]:
    return frozenset(v.encode() for w in words for v in (w, w.capitalize(), w.upper()))


def _by_last_word(names: Iterable[str]) -> dict[str, list[str]]:
    """Names filed under their last word, longest first: "West Palm Beach" under "Beach"."""
    table: dict[str, list[str]] = {}
    for name in sorted(names, key=len, reverse=True):
        table.setdefault(re.split(r"[ .-]", name)[-1], []).append(name)
    return table


_CUES = {k: v.split() for k, _, v in (line.partition(": ") for line in _lexicon("cue_words.txt"))}
_FIRST = frozenset(_lexicon("first_names.txt"))
_AMBIG_FIRST = frozenset(_lexicon("ambiguous_first_names.txt"))  # need a known surname after
_SURNAMES = frozenset(_lexicon("surnames.txt"))
_KNOWN_NAMES = _FIRST | _SURNAMES
_NOT_NAMES = frozenset(_lexicon("not_names.txt"))
_STATES = dict(line.split("|") for line in _lexicon("us_states.txt"))
_ABBRS = frozenset(_STATES.values())
_AMBIG_CITIES = frozenset(_lexicon("us_cities_ambiguous.txt"))  # need ", <state>" after
_CITY_BY_LAST = _by_last_word([*_lexicon("us_cities.txt"), *_AMBIG_CITIES])
_STATE_BY_LAST = _by_last_word(_STATES)
_SMALL_ZIP3 = frozenset(_CUES["small_zip3"])


def _words(key: str) -> str:
    return "|".join(re.escape(w) for w in _CUES[key])


# fmt: off
_STATE_RE = "|".join(sorted(map(re.escape, [*_STATES, *_ABBRS]), key=len, reverse=True))
_LOW = "a-z\u00e0-\u00f6\u00f8-\u00ff"
_TOK = rf"(?:Mc|Mac|O['’])?[A-Z][{_LOW}]+(?:-[A-Z][{_LOW}]+)?\b"  # one capitalized name word
_NAMES = rf"(?:[A-Z]\.\s*)?{_TOK}(?:\s+(?:[A-Z]\.?\s+)?{_TOK})?"  # one or two, middle initial
_MONTH = (r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
_TIME = (r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?!\d)(?:\s?[AaPp]\.?[Mm]\b\.?)?"
         r"(?:\s?(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT|[ECMP][SD]T)\b)?")
# Times glued on ("08:15 to 09:30", "T08:15 12:30") go with the first: left behind, they would
# sit next to the kept day and read as a new timestamp.
_MORE_TIMES = rf"(?:\s*(?:[-–,T]|to|until|at|and)?\s*{_TIME})*"
_YEAR = r"\d{4}(?!\d)"

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.A)
_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'()\[\]{}]+|\b(?:[A-Za-z0-9-]+\.)+"
                  r"(?:com|org|net|gov|edu|io|info)\b(?:/[^\s<>\"'()\[\]{}]*)?", re.I)
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                   r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_MAC = re.compile(r"(?<![\w:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:-])")
_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])|(?i:\b(?:ssn|social\s+security"
                  r"(?:\s+(?:number|no\b\.?|#))?))[\s:#]*(?:is\s+)?(?P<v>\d{3}[- ]?\d{2}[- ]?\d{4}"
                  r"|\d{4})(?!\d)")
_PHONE = re.compile(r"(?<![\w+])(?:(?:\+?1[-.\s]?)?(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.\s]\d{4}"
                    r"|\+1[-.\s]?\d{3}[-.\s]\d{3}[-.\s]\d{4}|\+[2-9]\d{0,2}(?:[-.\s]?\d{2,4}){2,5})"
                    r"(?!\d)(?:\s?(?:x|ext\.?)\s?\d{1,5}\b)?")
_PHONE_CUE = re.compile(rf"(?i:\b(?:{_words('trigger_phone')})\b)[^\d\n]{{0,15}}?"
                        r"(?P<v>\d{3}[-.]\d{4}|\d{10}|\d{3}\s\d{3}\s\d{4})(?!\d)")
_FAX_BEFORE = re.compile(r"fax\W{0,3}(?:(?:number|no|#)\W{0,3})?(?:is\s+|at\s+)?$", re.I)
_IDS = re.compile(
    r"(?i:\b(?:(?P<mrn>mrn|medical\s+record(?:\s+(?:number|no))?|med\s+rec(?:ord)?"
    r"|chart\s+(?:number|no)|patient\s+(?:id|number))"
    r"|(?P<account>account(?:\s+(?:number|no|id))?|acct|member\s+(?:id|number|no)"
    r"|policy(?:\s+(?:number|no|id))?|subscriber\s+(?:id|number)|health\s+plan\s+(?:id|number)"
    r"|insurance\s+(?:id|number)|licen[cs]e\s+(?:number|no)|certificate\s+(?:number|no))"
    r"|(?P<device>device\s+(?:id|identifier|serial(?:\s+(?:number|no))?|sn)"
    r"|serial(?:\s+(?:number|no))?|s/n|imei|udi|vin))\b\.?[\s:#=]*"
    r"(?:(?:is|was|ending\s+in)\s+[\s:#]*)?)"
    r"(?P<v>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?![\w-])")
_BIRTH = re.compile(
    r"(?i:\b(?:dob|d\.o\.b\b\.?|date\s+of\s+birth|birth\s*date|birthday|born)"
    r"(?:\s+(?:is|was|on|in))?)[\s:-]*(?:on\s+)?(?P<v>"
    rf"(?P<y1>\d{{4}})-\d{{1,2}}-\d{{1,2}}(?!\d)"
    rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-](?P<y2>\d{{4}}|\d\d)(?!\d)|{_MONTH},?\s+(?P<y3>{_YEAR})"
    rf"|{_MONTH}\s+\d{{1,2}}(?!\d)(?:st|nd|rd|th)?(?:,?\s+(?P<y4>{_YEAR}))?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?(?:\s+(?P<y5>{_YEAR}))?)(?:[T\s]{_TIME})?")
_AGE = re.compile(
    r"(?<![\d.,+])(?P<v>9\d|1[0-2]\d)(?=(?i:(?:\s*-\s*|\s+)(?:years?|yrs?)(?:\s*-\s*|\s+)old\b"
    r"|\s+(?:years?|yrs?)\s+of\s+age\b|\s*(?:y/o|y\.o\.|yo\b)))"
    r"|(?i:\b(?:age|aged)\b)[\s:]+(?:of\s+)?(?P<w>9\d|1[0-2]\d)(?![\d.+]|\s*(?:%|mg|kg|lb))")
_TIMESTAMP = re.compile(
    rf"(?<![\d-])(?P<d1>\d{{4}}-\d{{2}}-\d{{2}})(?:T|\s+(?:at\s+)?){_TIME}{_MORE_TIMES}"
    rf"|(?<![\d/])(?P<d2>\d{{1,2}}/\d{{1,2}}/\d{{2,4}}),?\s+(?:at\s+)?{_TIME}{_MORE_TIMES}"
    rf"|\b(?P<d3>{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}})"
    rf",?\s+(?:at\s+)?{_TIME}{_MORE_TIMES}")
# Anchored rules: they run at a cue word the prefilter found (a street suffix, a state, a title,
# a given name); those ending in "$" are searched in a window that ends at the cue.
_ADDRESS_HEAD = re.compile(r"(?<![\w.,/-])\d{1,6}[A-Za-z]?\s+"
                           r"(?:(?:[NSEW]|North|South|East|West|[NS][EW])\.?\s+)?"
                           rf"(?:(?:[A-Z][{_LOW}]+|\d+(?:st|nd|rd|th))\.?\s+){{1,4}}$")
_ADDRESS_TAIL = re.compile(r"\.?(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Bldg|Floor|Fl|Room|Rm|#)"
                           r"\.?\s*#?\s*[A-Za-z0-9-]+)?")
_PO_BOX = re.compile(r"\b[Pp]\.?\s?[Oo]\.?\s+[Bb][Oo][Xx]\s+\d+")
_ZIP_AFTER = re.compile(r"\.?,?\s+(?P<v>\d{5}(?:-\d{4})?)(?![\d-])")
_ZIP_CUE = re.compile(r"(?i:\b(?:zip(?:\s*code)?|postal\s+code))[\s:#]*"
                      r"(?P<v>\d{5}(?:-\d{4})?)(?![\d-])")
_CITY_BEFORE = re.compile(r"(?:\b(?:[Ii]n|[Ff]rom|[Aa]t|[Nn]ear|[Tt]o|[Vv]isiting|[Oo]utside)\s+"
                          rf"|(?P<comma>,\s*))(?P<v>(?:St\.\s|Saint\s)?[A-Z][{_LOW}]+"
                          rf"(?:[ -][A-Z][{_LOW}]+){{0,2}}),\s*$")
_COMMA_BEFORE = re.compile(rf"[{_LOW}],\s*$")
_STATE_AFTER = re.compile(rf",\s*(?:{_STATE_RE})\b")
_NOT_PLACE_AFTER = re.compile(rf"\s+(?i:{_words('not_place_words')})")
_TITLE = re.compile(rf"(?P<t>{_words('titles')})\b\.?\s+(?P<v>{_NAMES})")
_NAME_CUE = re.compile(rf"(?:(?P<strong>(?i:\bmy\s+name\s+is|\bname\s*:|\bpatient\s*:|\bmy\s+"
                       rf"(?:{_words('relations')}),?))|(?P<weak>(?i:\bpatient|\bsigned[:,]?)))"
                       rf"\s*(?P<v>{_NAMES})")
# "Mei Okafor, DOB ...": capitalized words right before an identifier cue are a name.
_NAME_BEFORE_ID = re.compile(rf"(?<![\w'’-])(?P<v>{_TOK}(?:\s+(?:[A-Z]\.?\s+)?{_TOK})+?),?\s*"
                             r"(?=(?:DOB|D\.O\.B|MRN|SSN|[Bb]orn|[Aa]ged?)\b)")
_LABEL_BEFORE = re.compile(rf"(?i:{_words('name_labels')})\s*$")
_TOK_RE = re.compile(_TOK)
_AFTER_FIRST = re.compile(rf"(?:\s+[A-Z]\.?)?\s+(?P<v>{_TOK})")
_I_AM_BEFORE = re.compile(r"\bI(?:['’]m|\s+am)\s+$")
_SIGN_BEFORE = re.compile(r"(?:^|\s)[-–—~]\s?$")
_LINE_END = re.compile(r"[ \t]*[.!]?[ \t]*(?:\n|$)")
_PLACE_BEFORE = re.compile(r"\b(?:St|Saint|San|Santa|Fort|Mount|Mt|Lake|Port)\.?\s+$")
_EPONYM_AFTER = re.compile(rf"(?:['’]s?)?\s+(?i:{_words('eponym_words')})\b")
# Prefilter shapes. Each starts with a literal character, so the regex engine jumps from one
# "-", ".", ")", "+" or ":" to the next; a leading character class makes it try every position.
_PRE_DASH = re.compile(r"-(?:\d\d-\d{4}|\s?\d{3}[-.\s]\d{4}|[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-)")
_PRE_DOT = re.compile(r"\.\d{1,3}\.\d")  # 555.123.4567, IPv4
_PRE_PAREN = re.compile(r"\)\s?\d{3}[-.\s]\d{4}")  # (555) 123-4567
_PRE_PLUS = re.compile(r"\+\d")  # +44 ...
_SHAPES = (_PRE_DASH, _PRE_DOT, _PRE_PAREN, _PRE_PLUS)
# A colon with a date before its hour ("2025-01-03T08:15", "Jan 3, 2025 at 8:15"); lookbehinds
# after a literal ":" cost next to nothing on the colons of bare times like "bedtime 23:10".
_TS_COLON = re.compile(":(?:" + "|".join(rf"(?<=\d{lead}{hour}:)" for hour in (r"\d", r"\d\d")
                       for lead in ("T", r"\s", r",\s", r"\sat\s", r",\sat\s")) + ")")
_HEX_CHAIN = re.compile(r":[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]")  # IPv6, MAC, a time with seconds

# The prefilter's tokens: bytes split at whitespace, ASCII punctuation, any non-ASCII byte and
# digits (no cue word holds one, and numbers are a third of a narrative's tokens).
_SPLIT = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123456789" + bytes(range(128, 256))
_TOKEN_TABLE = bytes.maketrans(_SPLIT, b" " * len(_SPLIT))
_T_LEXNAME = frozenset(n.encode() for n in _FIRST | _AMBIG_FIRST)
_T_TITLE = frozenset(t.encode() for t in _CUES["titles"])
_T_NAME_CUE = _variants(_CUES["trigger_name"] + _CUES["relations"])
_T_CITY = frozenset(k.encode() for k in _CITY_BY_LAST)
_T_STATE = frozenset(k.encode() for k in [*_STATE_BY_LAST, *_ABBRS])
_T_ADDRESS = frozenset(s.encode() for s in _CUES["street_suffixes"])
_T = {k[8:]: _variants(v) for k, v in _CUES.items() if k.startswith("trigger_")}
# Single-letter tokens stand for abbreviations the tokenizer splits; look for those instead.
_NEEDLES = {b"o": ("y/o", "y.o.", "d.o.b"), b"O": ("Y/O", "D.O.B"), b"n": ("s/n",), b"N": ("S/N",)}
_T_ID_CUES = _T["birth"] | _T["ids"] | _T["ssn"] | _T["age"]
_TRIGGERS = frozenset().union(_T_LEXNAME, _T_TITLE, _T_NAME_CUE, _T_CITY, _T_STATE, _T_ADDRESS,
                              *_T.values())

# Higher wins when two findings overlap: the more specific rule ("MRN 555-123-4567" is an MRN).
_PRIORITY = {"email": 16, "url": 15, "ip": 14, "ssn": 13, "mrn": 12, "account": 12,
             "device_id": 12, "fax": 11, "phone": 11, "birth_date": 10, "timestamp": 9,
             "street_address": 8, "zip": 7, "age_over_89": 6, "name": 5, "location": 4}
_PLACEHOLDER = {"name": "[NAME]", "ssn": "[SSN]", "phone": "[PHONE]", "fax": "[FAX]",
                "email": "[EMAIL]", "mrn": "[MRN]", "account": "[ACCOUNT]", "ip": "[IP]",
                "device_id": "[DEVICE_ID]", "url": "[URL]", "street_address": "[ADDRESS]",
                "location": "[CITY]", "age_over_89": "90+"}
# fmt: on

_Hit = tuple[int, int, str, str]  # start, end, kind, replacement


def find_phi(text: str) -> list[PhiFinding]:
    """Every identifier in `text` as kind + offsets, sorted and non-overlapping."""
    return [PhiFinding(kind, start, end) for start, end, kind, _ in _detect(text)]


def count_phi(text: str) -> dict[str, int]:
    """How many identifiers of each kind `text` holds."""
    return dict(Counter(kind for _, _, kind, _ in _detect(text)))


def scrub_phi(text: str) -> ScrubResult:
    """`text` with every identifier replaced by its placeholder or coarsened value."""
    hits = _detect(text)
    if not hits:
        return ScrubResult(text, ())
    out = _apply(text, hits)
    # A replacement can expose PHI its neighbour hid ("4567I'm Alice" -> "[PHONE]I'm Alice" frees
    # the "I'm" cue): scrub the result again until clean, keeping offsets in the original.
    # Every pass covers more of the original, so the bound is never reached.
    for _ in range(len(text)):
        again = _detect(out)
        if not again:
            break
        hits = _absorb(hits, again)
        out = _apply(text, hits)
    return ScrubResult(out, tuple(PhiFinding(kind, start, end) for start, end, kind, _ in hits))


def _apply(text: str, hits: list[_Hit]) -> str:
    parts: list[str] = []
    pos = 0
    for start, end, _, replacement in hits:
        parts += (text[pos:start], replacement)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _absorb(hits: list[_Hit], again: list[_Hit]) -> list[_Hit]:
    """Findings of a later pass (offsets in the scrubbed text) moved onto the original, each
    widened over the earlier replacements it touches, which it supersedes."""

    def original(pos: int, is_end: bool) -> int:
        shift = 0
        for start, end, _, replacement in hits:
            if pos <= start + shift:
                break
            if pos < start + shift + len(replacement):
                return end if is_end else start
            shift += len(replacement) - (end - start)
        return pos - shift

    moved = _resolve([(original(s, False), original(e, True), k, r) for s, e, k, r in again])
    kept = [h for h in hits if all(h[1] <= m[0] or m[1] <= h[0] for m in moved)]
    return sorted(kept + moved)


def _detect(text: str) -> list[_Hit]:
    hits: list[_Hit] = []
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
    return _resolve(hits)


def _digit_shapes(text: str, hits: list[_Hit]) -> None:
    """SSNs, phones, IPv4 and MAC addresses, in windows around the prefilter's anchors."""
    anchors = sorted(m.span() for p in _SHAPES for m in p.finditer(text))
    for lo, hi in _windows(anchors, 40, 40):
        _add(hits, _SSN.finditer(text, lo, hi), "ssn")
        _phones(text, _PHONE.finditer(text, lo, hi), hits)
        _add(hits, _IPV4.finditer(text, lo, hi), "ip")
        _add(hits, _MAC.finditer(text, lo, hi), "device_id")


def _cued(text: str, found: set[bytes], hits: list[_Hit]) -> None:
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
                _add_name(text, words[0].start(), words[-1].end(), hits, strict=False)
    if not found.isdisjoint(_T["zip"]):
        _add(hits, _ZIP_CUE.finditer(text), "zip")
    if not found.isdisjoint(_T["box"]):
        _add(hits, _PO_BOX.finditer(text), "street_address")
    for word, i in _occurrences(text, found, _T_ADDRESS):
        if head := _ADDRESS_HEAD.search(text, max(0, i - 60), i):
            tail = _ADDRESS_TAIL.match(text, i + len(word))
            hits.append((head.start(), tail.end(), "street_address", "[ADDRESS]"))
    for word, i in _occurrences(text, found, _T_STATE):
        _state_context(text, word, i, hits)
    for word, i in _occurrences(text, found, _T_CITY):
        _city(text, word, i, hits)
    for word, i in _occurrences(text, found, _T_TITLE):
        if m := _TITLE.match(text, i):
            _add_name(text, *m.span("v"), hits, strict=word in _CUES["weak_titles"])
    for lo, hi in _around(text, found, _T_NAME_CUE, 16, 60):
        for m in _NAME_CUE.finditer(text, lo, hi):
            if m["strong"] and _LABEL_BEFORE.search(text, max(0, m.start() - 16), m.start()):
                continue  # "Drug name: Metformin"
            _add_name(text, *m.span("v"), hits, strict=m["weak"] is not None)
    for word, i in _occurrences(text, found, _T_LEXNAME):
        _given_name(text, word, i, hits)


def _given_name(text: str, first: str, i: int, hits: list[_Hit]) -> None:
    """A lexicon given name before a surname; alone only after "I'm" or as a "- Alice" sign-off."""
    end = i + len(first)
    if _PLACE_BEFORE.search(text, max(0, i - 8), i):
        return  # "St. Paul", "Fort Wayne"
    ambiguous = first in _AMBIG_FIRST
    m = _AFTER_FIRST.match(text, end)
    if (
        m
        and m["v"] not in _NOT_NAMES
        and (not ambiguous or m["v"] in _SURNAMES)
        and not _EPONYM_AFTER.match(text, end)
        and not _EPONYM_AFTER.match(text, m.end())
    ):
        hits.append((i, m.end(), "name", "[NAME]"))
    elif not ambiguous and (
        _I_AM_BEFORE.search(text, max(0, i - 8), i)
        or (_SIGN_BEFORE.search(text, max(0, i - 3), i) and _LINE_END.match(text, end))
    ):
        hits.append((i, end, "name", "[NAME]"))


def _add_name(text: str, start: int, end: int, hits: list[_Hit], *, strict: bool) -> None:
    """The cue's name words up to the first that is never a name; `strict` (weak cues such as
    "patient" or "Doctor") wants the first word in a lexicon."""
    stop = start
    for n, word in enumerate(_TOK_RE.finditer(text, start, end)):
        if word[0] in _NOT_NAMES or (n == 0 and strict and word[0] not in _KNOWN_NAMES):
            break
        stop = word.end()
    if stop > start and not _EPONYM_AFTER.match(text, stop):
        hits.append((start, stop, "name", "[NAME]"))


def _state_context(text: str, word: str, i: int, hits: list[_Hit]) -> None:
    """Around a state: the ZIP after it, and the city of "in <city>, <state>" or
    ", <city>, <state> <zip>"."""
    start = i
    if word not in _ABBRS:  # a state name: which one ends here ("West Virginia", "Virginia")?
        ends = i + len(word)
        name = next((s for s in _STATE_BY_LAST[word] if text.startswith(s, ends - len(s))), None)
        if name is None:
            return
        start = ends - len(name)
    zip_m = _ZIP_AFTER.match(text, i + len(word))
    if zip_m:
        hits.append((*zip_m.span("v"), "zip", _zip3(zip_m["v"])))
    # Cheap test first: "SD" (standard deviation) in glucose narratives is no state.
    city = _COMMA_BEFORE.search(text, max(0, start - 4), start) and _CITY_BEFORE.search(
        text, max(0, start - 60), start
    )
    if city and (zip_m or not city["comma"]) and _is_place(city["v"]):
        hits.append((*city.span("v"), "location", "[CITY]"))


def _city(text: str, last: str, i: int, hits: list[_Hit]) -> None:
    end = i + len(last)
    for name in _CITY_BY_LAST[last]:
        start = end - len(name)
        if start >= 0 and text.startswith(name, start) and _starts_word(text, start):
            if (
                name not in _AMBIG_CITIES or _STATE_AFTER.match(text, end)
            ) and not _NOT_PLACE_AFTER.match(text, end):
                hits.append((start, end, "location", "[CITY]"))
            return


def _phones(text: str, matches: Iterable[re.Match[str]], hits: list[_Hit]) -> None:
    for m in matches:
        start, end = m.span("v") if m.re is _PHONE_CUE else m.span()
        fax = m[0][:3].lower() == "fax" or _FAX_BEFORE.search(text, max(0, start - 24), start)
        kind = "fax" if fax else "phone"
        hits.append((start, end, kind, _PLACEHOLDER[kind]))


def _add(hits: list[_Hit], matches: Iterable[re.Match[str]], kind: str) -> None:
    """Findings from matches: the span of group `v` (or `w`) when it took part, else the match."""
    for m in matches:
        group = next((g for g in ("v", "w") if g in m.re.groupindex and m[g] is not None), 0)
        value = _zip3(m[group]) if kind == "zip" else _PLACEHOLDER[kind]
        hits.append((*m.span(group), kind, value))


def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Keep the highest-priority (then longest) of overlapping findings, sorted by start."""
    if len(hits) < 2:
        return hits
    starts: list[int] = []  # of `chosen`, which stays sorted and free of overlaps
    chosen: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (-_PRIORITY[h[2]], h[0] - h[1], h[0])):
        n = bisect.bisect_right(starts, hit[0])
        if (n == 0 or chosen[n - 1][1] <= hit[0]) and (n == len(chosen) or hit[1] <= starts[n]):
            starts.insert(n, hit[0])
            chosen.insert(n, hit)
    return chosen


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
                if _starts_word(text, i) and (end == len(text) or not text[end].isalnum()):
                    out.append((word, i))
                i = text.find(word, end)
    return out


def _starts_word(text: str, i: int) -> bool:
    return i == 0 or not text[i - 1].isalnum()


def _is_place(name: str) -> bool:
    return name not in _STATES and not all(w in _NOT_NAMES for w in re.split(r"[ .-]+", name) if w)


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return any(c.isdigit() for c in candidate)


def _zip3(value: str) -> str:
    return ("000" if value[:3] in _SMALL_ZIP3 else value[:3]) + "XX"


class Pseudonymizer:
    """Keyed HMAC-SHA256 pseudonyms for user ids."""

    __slots__ = ("_key",)
    _FORMAT = re.compile(r"u_[0-9a-f]{20}")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise TypeError(f"pseudonymizer key must be bytes, not {type(key).__name__}")
        if len(key) < 16:
            raise ValueError(
                f"pseudonymizer key is {len(key)} bytes; use at least 16 random bytes "
                "(e.g. secrets.token_bytes(32)) from the secret store"
            )
        self._key = bytes(key)

    def __call__(self, user_id: str) -> str:
        # An id that already is a pseudonym stays as it is, so re-running a pipeline is harmless.
        if self.is_pseudonym(user_id):
            return user_id
        digest = hmac.new(self._key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return "u_" + digest[:20]

    def __repr__(self) -> str:
        return "Pseudonymizer(key=<hidden>)"

    @staticmethod
    def is_pseudonym(value: str) -> bool:
        return Pseudonymizer._FORMAT.fullmatch(value) is not None
