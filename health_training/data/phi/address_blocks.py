"""The address block around a street line (`addresses.py`): the unit, city, region, postcode and
country pieces that follow it on the next lines or after commas.

A piece that is a country or a US state stays (Safe Harbor allows them), a US ZIP is cut to three
digits by the rule layer's convention, other postcodes become "[POSTCODE]", a unit ("Apt. 614",
"Suite 246") joins the street, and other words become "[CITY]". Line bullets ("•", "???", "-")
and the data placeholder "nan" are skipped. A piece ends at the first lower-case English word
("Portugal 76970 in case of an issue": the block ends after the postcode; particles such as
"de", "an der", "aan" are no prose), and a piece that is
prose ends the block. A street line without a street type ("11 Školní 939") is still a street
line when a unit line follows it.
"""

from __future__ import annotations

import re
from functools import cache

from health_training.data.phi.findings import PLACEHOLDERS
from health_training.data.phi.lexicon import allowed_places, is_known, safe_words
from health_training.data.phi.name_place_rules import zip3

Hit = tuple[int, int, str, str]

_SEP = re.compile(r"[ \t]*(?:[\n,;][ \t]*)+|[ \t]+")
_BULLET = re.compile(r"(?:[?•*·▪‣◦>]+|-(?=[ \t]))[ \t]*")
# A piece ends at a comma, a line end or a sentence end; the dot of "St. Bethton" is no end.
_PIECE_END = re.compile(r"[,\n;]|(?<!\bSt)(?<!\bSte)(?<!\bMt)(?<!\bFt)\.(?:\s|$)|[:!?()]")
_PIECE_WORDS = re.compile(r"[^\W\d_][\w'’.-]*|\d[\w-]*")
_US_ZIP = re.compile(r"\d{5}(?:-\d{4})?")
_POSTCODE = re.compile(r"(?:[A-Z]{1,2}-?)?\d{3,6}(?:[- ]?\d{2,4})?|\d{2}-\d{3}"
                       r"|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
                       r"|\d{4}\s?[A-Z]{2}"
                       r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d")  # fmt: skip
_UNIT_WORDS = r"apt|apartment|suite|ste|unit|flat|room|rm|bldg|building|floor"  # no "FL": Florida
_UNIT_PIECE = re.compile(rf"(?i:{_UNIT_WORDS})\.?[ \t]*#?[ \t]*[A-Za-z]?\d{{1,4}}[A-Za-z]?\b\.?")
# A unit alone on its line, and the line before it: house number and words, in either order.
_UNIT_LINE = re.compile(
    rf"(?im:^[ \t]*(?:{_UNIT_WORDS})\.?[ \t]*#?[ \t]*[a-z]?\d{{1,4}}[a-z]?\.?[ \t]*$)"
)
_STREET_LINE = re.compile(
    r"(?m:^[ \t]*(?P<v>\d{1,5}[A-Za-z]?[ \t]+(?:[^\W\d_][\w'’.-]*[ \t]+){0,3}[^\W\d_][\w'’.-]*"
    r"(?:[ \t]+\d{1,5}[A-Za-z]?)?|(?:[^\W\d_][\w'’.-]*[ \t]+){1,4}\d{1,5}[A-Za-z]?)[ \t]*\n)"
)
_LABEL = re.compile(r"[^\W\d_]+(?:[ \t][^\W\d_]+){0,2}[ \t]*")
_NULL_PIECES = frozenset({"nan", "none", "null", "n/a", "na", "-"})
_PARTICLES = frozenset(["de", "la", "le", "les", "du", "des", "del", "della", "di", "da", "do",
                        "dos", "das", "van", "von", "der", "den", "het", "ter", "am", "an", "im",
                        "sur", "sous", "upon", "on", "nad", "pod", "y", "aan", "op", "bei",
                        "auf", "ob", "en", "sul", "al", "el"])  # fmt: skip


def add_street(text: str, start: int, end: int, hits: list[Hit]) -> None:
    """A street line and the block after it."""
    end = end - 1 if text[end - 1 : end] in ",;" else end
    hits.append((start, end, "street_address", PLACEHOLDERS["street_address"]))
    block(text, end, hits)


def unit_lines(text: str, hits: list[Hit]) -> None:
    """ "11 Školní 939\\n Apt. 827\\n Kaplice 1": a unit alone on a line makes the line before it
    a street line (a house number and capitalized or unknown words) and starts a block."""
    for unit in _UNIT_LINE.finditer(text):
        line_start = text.rfind("\n", 0, max(0, unit.start() - 1)) + 1
        street = _STREET_LINE.match(text, line_start, unit.start())
        words = re.findall(r"[^\W\d_][\w'’.-]*", street["v"]) if street else []
        if street and all(w[:1].isupper() or w.lower() not in safe_words() for w in words):
            hits.append((*street.span("v"), "street_address", PLACEHOLDERS["street_address"]))
        add_street(text, *unit.span(), hits)


def block(text: str, pos: int, hits: list[Hit]) -> None:
    """The pieces after a street line that belong to its address block: up to five, each short,
    made of capitalized words, units, postcodes and data placeholders like "nan"."""
    for _ in range(5):
        sep = _SEP.match(text, pos)
        if not sep:
            return
        start = sep.end()
        if "\n" in sep[0] and (bullet := _BULLET.match(text, start)):
            start = bullet.end()
        if unit := _UNIT_PIECE.match(text, start):  # before the cut at "Apt. 018"'s dot
            hits.append((start, unit.end(), "street_address", "[ADDRESS]"))
            pos = unit.end()
            continue
        stop = _PIECE_END.search(text, start, start + 80)
        if stop and stop[0] == ":" and _LABEL.fullmatch(text, start, stop.start()):
            return  # "Admitted: 2025-03-05": the next field's label, not a town
        line = text[start : stop.start() if stop else min(len(text), start + 80)].rstrip()
        prose = _prose_start(line)
        piece = line[:prose].rstrip()
        if not piece:
            return
        if prose < len(line):
            # Prose follows on the same line ("Portugal 76970 in case of an issue"): the block
            # ends here, and a capitalized word before the prose is more likely a sentence's
            # first word ("Sedentary day") than a town, so only postcodes are taken.
            _postcodes(piece, start, hits)
            return
        if piece.lower() not in _NULL_PIECES and not _piece_hits(piece, start, hits):
            return
        pos = start + len(piece)


@cache
def _not_prose() -> frozenset[str]:
    # Countries and regions in lower case ("tunisia") are no prose; abbreviations ("in", "or",
    # "me" for Indiana, Oregon, Maine) are.
    return _NULL_PIECES | _PARTICLES | {p for p in allowed_places() if len(p) > 2}


def _prose_start(line: str) -> int:
    """Where the first lower-case English word of `line` starts (prose, no place), else its end."""
    for t in _PIECE_WORDS.finditer(line):
        word = t[0].rstrip(".")
        if word.islower() and is_known(word) and word not in _not_prose():
            return t.start()
    return len(line)


def _postcodes(piece: str, offset: int, hits: list[Hit]) -> None:
    for t in _PIECE_WORDS.finditer(piece):
        if len(t[0]) >= 4 and _POSTCODE.fullmatch(t[0]):
            hits.append(_postcode(t, offset))


def _postcode(t: re.Match[str], offset: int) -> tuple[int, int, str, str]:
    value = t[0]  # a US ZIP keeps three digits, the rule layer's convention
    replacement = zip3(value) if _US_ZIP.fullmatch(value) else PLACEHOLDERS["zip"]
    return (offset + t.start(), offset + t.end(), "zip", replacement)


def _piece_hits(piece: str, offset: int, hits: list[Hit]) -> bool:
    """Hits for one block piece; False when the piece is prose, which ends the block."""
    tokens = [t for t in _PIECE_WORDS.finditer(piece) if t[0].lower() not in _NULL_PIECES]
    if not tokens or len(tokens) > 6:
        return False
    words = [t for t in tokens if not t[0][0].isdigit()]
    words = [w for w in words if w[0].lower() not in _PARTICLES]  # "de Lutte", "nad Labem"
    keep = allowed_places()
    run: list[re.Match[str]] = []
    if " ".join(w[0] for w in words).lower() in keep:
        words = []  # "United States": the whole piece is a country
    for t in [*tokens, None]:
        if t is not None and not t[0][0].isdigit() and t[0].lower().strip(".") not in keep:
            if words:
                run.append(t)
            continue
        if run:
            hits.append((offset + run[0].start(), offset + run[-1].end(), "location", "[CITY]"))
            run = []
        if t is not None and t[0][0].isdigit() and (_POSTCODE.fullmatch(t[0]) or t[0].isdigit()):
            hits.append(_postcode(t, offset))
    return True
