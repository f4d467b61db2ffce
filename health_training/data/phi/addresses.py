"""Layer 3 of the PHI engine: a street-address grammar for US and international shapes.

A street line is found in one of four shapes, then the lines or comma pieces that follow it in the
same address block (city, region, postcode, country) are taken too:
- number first, street type last: "418 Olson Landing Apt 2", "221B Baker Street", "48 107 Rue",
  "8 wressle road suite 771"; a type may be glued on: "Hauptstraße 5", "Nassaustraat 123";
- street type first (Romance and Greek): "12 rue de la Paix", "Via Roma 3", "Calle Mayor, 7";
- after an address cue ("lives at", "address:", "return to"): words and a house number in either
  order, any script: "87 Jakobi 69", "Školní 939", "Πλατεία Μαβίλη 170";
- post-office boxes: "P.O. Box 123", "Postfach 1234", "BP 42".
In a block, a piece that is a country or a US state stays (Safe Harbor allows them), a US ZIP is
cut to three digits by the rule layer's convention, other postcodes become "[POSTCODE]", and other
words become "[CITY]". Lower-case street words must be unknown to the English vocabulary
("2 weeks on the road" is not an address; "8 wressle road" is).
"""

from __future__ import annotations

import re
from functools import cache

from health_training.data.phi.findings import PLACEHOLDERS
from health_training.data.phi.lexicon import allowed_places, is_english, safe_words, street_types
from health_training.data.phi.rules import zip3

Hit = tuple[int, int, str, str]

_GLUED = (
    r"stra(?:ss|ß)e|str\.|gasse|weg|platz|allee|ring|damm|ufer|steig|straat|laan|gracht|plein"
    r"|kade|singel|vej|gade|gatan|vägen|väg|veien|vegen|gata|ulica|utca|útja|katu|cesta"
    r"|hof|dreef|steeg|boulevard|pfad|chaussee|markt|gürtel"
)
_ROMANCE = (
    r"rue|avenue|av\.|boulevard|bd\.?|place|pl\.|chemin|allée|impasse|quai|route|cours|via|viale"
    r"|piazza|piazzale|corso|largo|vicolo|calle|c/|avenida|avda\.?|plaza|paseo|carrer|camino|rua"
    r"|travessa|praça|estrada|alameda|callejón|cuesta|ronda|travesía|glorieta|pasaje|rambla"
    r"|urbanización|carretera|bulevar|vía|contrada|borgo|rotonda|strada|stretto|lungomare"
    r"|salita|traversa|vico|galleria|πλατεία|οδός|λεωφόρος"
)
_ARTICLES = (
    r"(?:(?:de|du|des|de la|de l'|d'|del|della|dei|di|da|do|dos|das|la|le|les|el|los|las)\s*)"
)
_UNIT = (
    r"(?:,?\s*(?i:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|Bldg|Building|Lot|Box|Dept"
    r"|Puerta|Piso|Escalera|Appartamento|Interno|Scala|Etage|Wohnung|Bus|Bte|Bloc|Escalier"
    r"|#|No\.?|Nr\.?)\.?\s*#?\s*[A-Za-z]?\d+[A-Za-z]?\b\.?)"
)
_WORD = r"[^\W\d_][\w'’.-]*"
_NUM = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_CUE = (
    r"(?i:\b(?:address(?:es)?|addr|lives?|living|lived|resides?|residing|located|locates|moved"
    r"|move|return|send|ship|mail|deliver|station|restaurant|office|home)\b[^\n\d]{0,24}?"
    r"(?:\b(?:at|on|to|in|is|:)\s*))"
)
_SEP = re.compile(r"[ \t]*(?:[\n,;][ \t]*)+|[ \t]+")
_PIECE_END = re.compile(r"[,\n;]|\.\s|\.$|[:!?()]")
_PARTICLES = frozenset(
    [
        "de",
        "la",
        "le",
        "les",
        "du",
        "des",
        "del",
        "della",
        "di",
        "da",
        "do",
        "dos",
        "das",
        "van",
        "von",
        "der",
        "den",
        "het",
        "ter",
        "am",
        "an",
        "im",
        "sur",
        "sous",
        "upon",
        "on",
        "nad",
        "pod",
        "y",
    ]
)
_NULL_PIECES = frozenset({"nan", "none", "null", "n/a", "na", "-"})


_DIGIT = re.compile(r"\d")
_ROMANCE_WORDS = frozenset(w.strip("\\.") for w in re.sub(r"[\\.?]", "", _ROMANCE).split("|")) | {
    "c",
    "av",
    "bd",
    "pl",
    "avda",
}
_CUE_WORDS = frozenset(
    [
        "address",
        "addresses",
        "addr",
        "live",
        "lives",
        "living",
        "lived",
        "reside",
        "resides",
        "residing",
        "located",
        "locates",
        "moved",
        "move",
        "return",
        "send",
        "ship",
        "mail",
        "deliver",
        "station",
        "restaurant",
        "office",
        "home",
    ]
)
_BOX_WORDS = frozenset(["box", "postfach", "boite", "boîte", "bp", "apartado", "casilla"])


@cache
def _types() -> frozenset[str]:
    return frozenset(w.lower() for w in street_types())


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    suffix = "|".join(re.escape(w) for w in sorted(street_types(), key=len, reverse=True))
    lead = rf"(?<![\w/.,:-])(?:(?:Flat|Apt|Unit|Suite|Studio)\s+\w+,?\s+)?(?:{_NUM}\s+){{1,2}}"
    compass = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)"
    direction = rf"(?:{compass}\.?\s+)?"
    number_first = re.compile(
        rf"{lead}{direction}(?P<words>(?:{_WORD}\s+){{0,4}}?)(?P<type>(?i:{suffix}))\b\.?"
        rf"(?:\s+{compass}\b\.?)?(?:\s+{_NUM}\b)?{_UNIT}?"
    )
    glued = re.compile(
        rf"(?<![\w/.,-])(?:{_NUM}\s+){{0,2}}(?P<words>)"
        rf"(?P<type>[^\W\d_][\w'’-]*?(?i:{_GLUED}))(?![\w])\s*{_NUM}\b\.?{_UNIT}?"
    )
    romance = re.compile(
        rf"(?<![\w/.-])(?:(?P<n1>{_NUM}),?\s+(?:(?:bis|ter)\s+)?)?(?P<type>(?i:{_ROMANCE}))\s+"
        rf"{_ARTICLES}*(?P<words>{_WORD}(?:[ \t]+{_ARTICLES}*{_WORD}){{0,3}}?)"
        rf"(?:,?[ \t]+(?P<n2>{_NUM})\b|(?=\s*(?:[,;.\n]|$))){_UNIT}?"
    )
    cued = re.compile(
        rf"{_CUE}(?P<v>(?:{_NUM}\s+){{0,2}}{_WORD}(?:[ \t]+{_WORD}){{0,3}},?[ \t]+{_NUM}\b\.?"
        rf"|(?:{_NUM}\s+){{1,2}}{_WORD}(?:[ \t]+{_WORD}){{0,3}}){_UNIT}?"
    )
    po_box = re.compile(
        r"(?i:\b(?:p\.?\s?o\.?\s*box|post\s+office\s+box|postfach|bo[iî]te\s+postale|b\.p\."
        r"|apartado(?:\s+de\s+correos)?|casilla)\s*\d[\d ]{0,8}\d?\b)"
    )
    return number_first, glued, romance, cued, po_box


_PIECE_WORDS = re.compile(r"[^\W\d_][\w'’.-]*|\d[\w-]*")
_US_ZIP = re.compile(r"\d{5}(?:-\d{4})?")
_POSTCODE = re.compile(r"(?:[A-Z]{1,2}-?)?\d{3,6}(?:[- ]?\d{2,4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
                       r"|\d{4}\s?[A-Z]{2}"
                       r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d")  # fmt: skip


def detect(text: str, words: frozenset[str]) -> list[Hit]:
    """Street addresses in `text` (and the block pieces after them), overlaps unresolved.
    `words`: the text's lower-case words (`lexicon.words_of`), shared by the layers."""
    if not _DIGIT.search(text):
        return []
    # Each shape needs a word of its own: a street type, a glued German/Dutch/Nordic type, a
    # Romance type, an address cue or a post box. The shared word set decides which run.
    low = text.lower()
    hits: list[Hit] = []
    number_first, glued, romance, cued, po_box = _patterns()
    matches: list[re.Match[str]] = []
    # Number-first streets are searched only in windows around the street-type words found:
    # template text says "walk" or "light" often, and a whole-text scan would cost far more.
    for lo, hi in _windows(low, words & _types()):
        matches.extend(number_first.finditer(text, lo, hi))
    for lo, hi in _windows(low, words & _ROMANCE_WORDS, number_after=True):
        matches.extend(romance.finditer(text, lo, hi))
    for at in _glued_hints(low):  # "...straße 5": the word before, and the number after
        matches.extend(glued.finditer(text, max(0, at - 60), at + 40))
    for m in matches:
        if m.re is glued and is_english(m["type"]):
            continue  # "Spring 2025", "Monitoring 24": English words, not "Hauptstraße 5"
        if _plausible(m, m.re is romance):
            _add_street(text, m.start(), m.end(), hits)
    if not words.isdisjoint(_CUE_WORDS):
        for m in cued.finditer(text):
            if _unknown_words(m["v"]):
                _add_street(text, m.start("v"), m.end(), hits)
    if not words.isdisjoint(_BOX_WORDS):
        for m in po_box.finditer(text):
            _add_street(text, *m.span(), hits)
    return hits


_NUMBER_THEN_WORD = re.compile(r"\d[a-z]?,?[ \t\n]+[^\W\d_]|[^\W\d_],?[ \t]+\d")


_GLUED_NEEDLES = (*(n.replace("\\.", ".") for n in _GLUED.split("|") if "(" not in n and ")" not in n),
                  "strasse", "straße")  # fmt: skip


def _glued_hints(low: str) -> list[int]:
    """Offsets of glued street types ("...straße", "...straat") with a house number after."""
    out = []
    for needle in _GLUED_NEEDLES:
        i = low.find(needle)
        while i >= 0:
            end = i + len(needle)
            while end < len(low) and low[end].isalpha():
                end += 1
            if low[end : end + 4].lstrip(" \t")[:1].isdigit():
                out.append(i)
            i = low.find(needle, i + len(needle))
    return out


def _windows(
    low: str, types: frozenset[str], *, number_after: bool = False
) -> list[tuple[int, int]]:
    """Merged windows from 90 characters before to 60 after each whole-word street type that
    has a house number and a word next to each other near it."""
    spans = []
    for word in types:
        i = low.find(word)
        while i >= 0:
            end = i + len(word)
            whole = (i == 0 or not low[i - 1].isalnum()) and (
                end == len(low) or not low[end].isalnum()
            )
            reach = end + (70 if number_after else 12)  # "Via de Alejandra Ayuso 18"
            if whole and _NUMBER_THEN_WORD.search(low, max(0, i - 90), reach):
                spans.append((max(0, i - 90), min(len(low), end + 60)))
            i = low.find(word, end)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _plausible(m: re.Match[str], romance: bool) -> bool:
    """Street words that are capitalized or unknown to English ("8 wressle road" yes, "2 weeks
    on the road" no); a type-first street needs a house number on one side."""
    if romance and not (m["n1"] or m["n2"]):
        return False
    words = m["words"].split()
    if not words and not m["type"][:1].isupper() and not romance:
        return bool(re.search(r"\d", m["type"])) or m["type"].lower() not in safe_words()
    return all(w[:1].isupper() or w.lower().strip(".") not in safe_words() for w in words)


def _unknown_words(value: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", value)]
    return bool(words) and all(w[:1].isupper() or w.lower() not in safe_words() for w in words)


def _add_street(text: str, start: int, end: int, hits: list[Hit]) -> None:
    end = end - 1 if text[end - 1 : end] in ",;" else end
    hits.append((start, end, "street_address", PLACEHOLDERS["street_address"]))
    _block(text, end, hits)


def _block(text: str, pos: int, hits: list[Hit]) -> None:
    """The pieces after a street line that belong to its address block: up to five, each short,
    made of capitalized words, postcodes and data placeholders like "nan"."""
    for _ in range(5):
        sep = _SEP.match(text, pos)
        if not sep:
            return
        start = sep.end()
        stop = _PIECE_END.search(text, start, start + 80)
        piece = text[start : stop.start() if stop else min(len(text), start + 80)].rstrip()
        if not piece:
            return
        if piece.lower() not in _NULL_PIECES and not _piece_hits(
            piece, start, "\n" in sep[0], hits
        ):
            return
        pos = start + len(piece)


def _piece_hits(piece: str, offset: int, newline: bool, hits: list[Hit]) -> bool:
    """Hits for one block piece; False when the piece is prose, which ends the block."""
    tokens = list(_PIECE_WORDS.finditer(piece))
    if not tokens or len(tokens) > 6:
        return False
    words = [t for t in tokens if not t[0][0].isdigit()]
    words = [w for w in words if w[0].lower() not in _PARTICLES]  # "de Lutte", "nad Labem"
    if any(w[0].islower() and not newline for w in words):
        return False  # same-line lower case is prose: "..., upstairs"
    if any(w[0].lower() in safe_words() and w[0].islower() for w in words):
        return False  # a lower-case English word: prose, not a place
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
        if t is not None and t[0][0].isdigit():
            value = t[0]
            if _US_ZIP.fullmatch(value):  # the rule layer's convention: three digits stay
                hits.append((offset + t.start(), offset + t.end(), "zip", zip3(value)))
            elif _POSTCODE.fullmatch(value) or value.isdigit():
                hits.append((offset + t.start(), offset + t.end(), "zip", PLACEHOLDERS["zip"]))
    return True
