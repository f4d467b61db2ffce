"""Layer 2 of the PHI engine: structured identifiers checked by format and checksum.

Phone and fax numbers in any country (Google's `phonenumbers`: a digit run is a phone when it
parses as a possible number of one of `_REGIONS`, or follows a phone cue), credit-card numbers
(IIN prefix + Luhn), IBANs (ISO 13616 mod 97), vehicle ids (VIN, ISO 3779: the North-American
check digit, or a "VIN" cue), identifiers after cue words (driver's licence, health-plan and
member ids, certificate/licence numbers, NPI/DEA) and postcodes with a shape of their own (UK
"SW1A 1AA", Canada "M5V 3L9"). The older cue rules (`rules.py`) still find SSNs, MRNs,
account and device numbers, e-mail, URLs and IPs. Each detector runs only when a cheap test on
the text says its shape may be there, so template narratives pay almost nothing.
"""

from __future__ import annotations

import re

import phonenumbers

from health_training.data.phi.cues import PHONE_CUE as _PHONE_CUE
from health_training.data.phi.cues import PHONE_CUE_AFTER as _PHONE_CUE_AFTER
from health_training.data.phi.findings import PLACEHOLDERS
from health_training.data.phi.prechecks import may_hold_phone

Hit = tuple[int, int, str, str]  # start, end, kind, replacement

# Regions tried in order when a number has no "+country" prefix. US first: most of our users.
_REGIONS = ("US", "GB", "CA", "AU", "DE", "FR", "IT", "ES", "NL", "IE", "IN", "IL", "BR", "MX")

# A run of 7-15 digits with the separators phone numbers use, an optional extension. Starting
# at a digit, "+" or "(" keeps the scan cheap on prose.
_PHONE_RUN = re.compile(
    r"(?<![\w+/.-])(?:\+|00)?\(?\d[\d().\s/-]{5,22}\d(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?(?![\w/-])"
)
_FAX_NEAR = re.compile(r"(?i:\bfax\b)")
# Shapes a digit run takes that are no phone: dates, times, ranges, decimals, measurements.
_NOT_PHONE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})(?!\d)"
    r"|\d+:\d\d|\d+\.\d+\s*%"
    r"|\d{5}-\d{4}$"  # ZIP+4
    r"|(?:19|20)\d\d\s?[-/]\s?(?:19|20)\d\d$|\d{1,3}(?:,\d{3})+$"  # "2024-2025", "1,200,000"
)
# Equal groups of two digits ("02.41.77.30.19", "47-22-91-08") are a phone, never a date.
_PAIRS = re.compile(r"\+?\d\d(?:[-.\s]\d\d){3,}")
# "1200-1400", "0800 - 0930": a range of two equal-length numbers, the second larger.
_RANGE = re.compile(r"(\d{3,5})\s?[-–]\s?(\d{3,5})")
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
# ISO/IEC 7812 major industry: 2-6 are banking and finance; JCB's 15-digit cards start 1800.
_CARD_IIN = re.compile(r"[2-6]|1800")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_VIN = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b")
_VIN_CUE = re.compile(r"(?i:\bvin|vehicle\s+(?:id(?:entification)?|number))\W{0,4}$")
_CUED_ID = re.compile(
    r"(?i:\b(?:(?P<license>driver['’]?s?\s+licen[cs]e|driving\s+licen[cs]e|DL|licen[cs]e"
    r"|certificate|certification|registration|permit|NPI|DEA|passport)"
    r"|(?P<health_plan>health\s*plan|insurance|insurer|member(?:ship)?|subscriber|beneficiary"
    r"|medicare|medicaid|policy|group|plan|payer)"
    r"|(?P<account>account|acct|bank\s+account|routing|iban|sort\s+code|customer|billing))"
    r"(?:\s+(?:id|no\b\.?|nr\b\.?|number|num\b\.?|#|identifier|code))?)"
    r"\s*(?:[:#=]|\bis\b|\bwas\b)?\s*"
    r"(?P<v>(?=[A-Za-z0-9-]*\d)[A-Za-z0-9](?:[A-Za-z0-9-]{2,22}[A-Za-z0-9]))(?![\w-])"
)
# Lower-case words of which one must be in the text for `_CUED_ID` to run at all.
_CUE_WORDS = frozenset(
    ["license", "licence", "certificate", "certification", "registration", "permit", "npi", "dea", "passport", "plan", "insurance", "insurer", "member", "membership", "subscriber", "beneficiary", "medicare", "medicaid", "policy", "group", "payer", "account", "acct", "routing", "iban", "sort", "customer", "billing", "healthplan"]
)  # fmt: skip
_DIGIT = re.compile(r"\d")
_SHAPE_TABLE = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"0" * 10 + b"A" * 26 + b"a" * 26,
)
_PHONE_HINTS = (b"0000", b"+0", b"(0", b"00 00 00", b"00.00.00", b"00-00-00", b"000 000", b"000.000",
                b"000-000")  # fmt: skip
_UK_POSTCODE = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)\s?\d[ABD-HJLNP-UW-Z]{2}\b")
_CA_POSTCODE = re.compile(r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b")


def detect(text: str, words: frozenset[str]) -> list[Hit]:
    """Structured identifiers in `text` as (start, end, kind, replacement), overlaps unresolved.
    `words`: the text's lower-case words (`lexicon.words_of`), shared by the layers."""
    hits: list[Hit] = []
    if not _DIGIT.search(text):
        return hits
    # The text's shape (digits -> "0", capitals -> "A", small letters -> "a") answers "could a
    # card, an IBAN, a phone be here?" with C-speed substring tests before any regex runs.
    data = text.encode("utf-8", "surrogatepass")
    shape = data.translate(_SHAPE_TABLE)
    if may_hold_phone(text, data) and any(hint in shape for hint in _PHONE_HINTS):
        _phones(text, hits)
    if b"0000" in shape and (
        b"0000 0000" in shape or b"0000-0000" in shape or b"00000000" in shape
    ):
        _cards(text, hits)
    cues = words & _CUE_WORDS
    if "DL" in text:  # upper case only: "mg/dL" is everywhere in our narratives
        cues |= {"dl"}
    if cues:
        _cued(text, text.lower(), cues, hits)
    if b"A0" in shape or b"0A" in shape:  # VINs, IBANs and postcodes mix capitals and digits
        _vins(text, hits)
        _ibans(text, hits)
        _postcodes(text, hits)
    return hits


def _phones(text: str, hits: list[Hit]) -> None:
    for m in _PHONE_RUN.finditer(text):
        run = m[0]
        digits = sum(c.isdigit() for c in run)
        if not 7 <= digits <= 18 or _NOT_PHONE.fullmatch(run) or _is_range(run):
            continue
        start, end = m.span()
        before = text[max(0, start - 24) : start]
        cued = bool(_PHONE_CUE.search(before) or _PHONE_CUE_AFTER.match(text, end, end + 12))
        if _NOT_PHONE.match(run) and not (cued and _PAIRS.fullmatch(run)):
            continue  # "2025-01-03 08:15": a date first, unless a cue says phone
        if not (cued or _possible_phone(run)):
            continue
        kind = (
            "fax"
            if _FAX_NEAR.search(before) or _FAX_NEAR.match(text, end + 1, end + 5)
            else "phone"
        )
        hits.append((start, end, kind, PLACEHOLDERS[kind]))


def _is_range(run: str) -> bool:
    """ "1200-1400", "0800-1700": no phone. A leading 0 is a phone's trunk prefix ("0284-8081")
    unless both numbers are clock times."""
    m = _RANGE.fullmatch(run)
    if not m or len(m[1]) != len(m[2]) or int(m[1]) >= int(m[2]):
        return False
    return m[1][0] != "0" or all(len(t) == 4 and t < "2400" and t[2] < "6" for t in m.groups())


def _possible_phone(run: str) -> bool:
    """`run` parses as a valid number of one of our regions (or of its "+" country)."""
    core = re.split(r"\s?(?:x|ext\.?|#)\s?\d", run, maxsplit=1)[0]
    if core.startswith("00"):
        core = "+" + core[2:]
    regions = (None,) if core.startswith("+") else _REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(core, region)
        except phonenumbers.NumberParseException:
            continue
        # With a "+country" prefix a possible length is enough; without, it must be valid.
        if phonenumbers.is_valid_number(number) or (
            region is None and phonenumbers.is_possible_number(number)
        ):
            return True
    return False


def _cards(text: str, hits: list[Hit]) -> None:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m[0])
        if 13 <= len(digits) <= 19 and _CARD_IIN.match(digits) and _luhn(digits):
            hits.append((*m.span(), "credit_card", PLACEHOLDERS["credit_card"]))


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _ibans(text: str, hits: list[Hit]) -> None:
    for m in _IBAN.finditer(text):
        value = m[0].replace(" ", "")
        if 15 <= len(value) <= 34 and _mod97(value):
            hits.append((*m.span(), "iban", PLACEHOLDERS["iban"]))


def _mod97(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}  # fmt: skip
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _vins(text: str, hits: list[Hit]) -> None:
    for m in _VIN.finditer(text):
        vin = m[0]
        if sum(c.isdigit() for c in vin) < 3 or vin.isdigit():
            continue
        check = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True)) % 11
        cued = _VIN_CUE.search(text, max(0, m.start() - 30), m.start())
        if cued or vin[8] == ("X" if check == 10 else str(check)):
            hits.append((*m.span(), "vehicle_id", PLACEHOLDERS["vehicle_id"]))


def _cued(text: str, low: str, cues: frozenset[str], hits: list[Hit]) -> None:
    """`_CUED_ID` in windows around the cue words present, not over the whole text."""
    spans = []
    for cue in cues:
        i = low.find(cue)
        while i >= 0:
            spans.append((max(0, i - 24), i + len(cue) + 48))
            i = low.find(cue, i + len(cue))
    matches = {m.span("v"): m for lo, hi in sorted(spans) for m in _CUED_ID.finditer(text, lo, hi)}
    for m in matches.values():
        kind = next(k for k in ("license", "health_plan", "account") if m[k])
        value = m["v"]
        if len(value) < 5 and not (any(c.isalpha() for c in value) and len(value) >= 4):
            continue  # "policy 2024", "group 12": a year or a small count, not an id
        # "DL" alone is also decilitre: "2 DL 5" is no licence; a letter or a colon makes it one.
        if (
            m["license"] == "DL"
            and not any(c.isalpha() for c in value)
            and not re.match(r"\s*[:#]", text[m.end("license") : m.start("v")])
        ):
            continue
        hits.append((*m.span("v"), kind, PLACEHOLDERS[kind]))


def _postcodes(text: str, hits: list[Hit]) -> None:
    for pattern in (_UK_POSTCODE, _CA_POSTCODE):
        for m in pattern.finditer(text):
            hits.append((*m.span(), "zip", PLACEHOLDERS["zip"]))
