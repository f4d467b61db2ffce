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

from health_training.data.phi import address_forms
from health_training.data.phi.address_blocks import add_street, unit_lines
from health_training.data.phi.lexicon import is_english, safe_words, street_types
from health_training.data.phi.prechecks import may_hold_glued_street, may_hold_number_first_street

Hit = tuple[int, int, str, str]

_GLUED = (
    r"stra(?:ss|ß)e|str\.|gasse|weg|platz|allee|ring|damm|ufer|steig|straat|laan|gracht|plein"
    r"|kade|singel|vej|gade|gatan|vägen|väg|veien|vegen|gata|ulica|utca|útja|katu|cesta"
    r"|hof|dreef|steeg|boulevard|pfad|chaussee|markt|gürtel"
    # Nordic and Finnish street words glued to the name: "Mäkitie 14", "Järnvägstorget 3",
    # "Bergrøa 6", "Sivertsenåsen 95C", "Skolgränd 9", "Borgskriverstræde 7", "Adambaan 3".
    r"|tie|kuja|polku|tori|väylä|rinne|kaari|raitti|piha|gränd|torget|stigen|backen|gången"
    r"|plassen|åsen|faret|ekra|øa|lia|lien|haugen|bakken|vollen|grenda|svingen|jordet|tunet"
    r"|stien|løkka|berget|dalen|kroken|toppen|myra|marka|hagen|sletta|tangen|vika|stræde"
    r"|vænget|parken|baan|dijk|kamp|hove|singel|erf|wal|vliet|engen|eggen|bulevardi|puistikko"
    r"|ranta|mäki"
)
_ROMANCE = (
    r"rue|avenue|av\.|boulevard|bd\.?|place|pl\.|chemin|allée|impasse|quai|route|cours|via|viale"
    r"|piazza|piazzale|corso|largo|vicolo|calle|c/|avenida|avda\.?|plaza|paseo|carrer|camino|rua"
    r"|travessa|praça|estrada|alameda|callejón|cuesta|ronda|travesía|glorieta|pasaje|rambla"
    r"|urbanización|carretera|bulevar|vía|contrada|borgo|rotonda|strada|stretto|lungomare"
    r"|salita|traversa|vico|galleria|acceso|cañada|pasadizo|vial|calzada|cerrada|andador|privada"
    r"|prolongación|retorno|circuito|incrocio|canale|c\.(?=\s+de\b)|πλατεία|οδός|λεωφόρος"
    r"|ul\.|ulica|aleja|plac|r\.(?=\s+[A-ZÀ-Ý])|náměstí|nám\."
)
_ARTICLES = (
    r"(?:(?:de|du|des|de la|de l'|d'|del|della|dei|di|da|do|dos|das|la|le|les|el|los|las)\s*)"
)
_UNIT = (
    r"(?:,?\s*(?i:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|Bldg|Building|Lot|Box|Dept"
    r"|Puerta|Piso|Escalera|Appartamento|Interno|Int|Piano|Scala|Etage|Wohnung|Bus|Bte|Bloc|Escalier"
    r"|#|No\.?|Nr\.?)\.?\s*#?\s*[A-Za-z]?\d+[A-Za-z]?\b\.?)"
)
_WORD = r"[^\W\d_][\w'’.-]*"
_NUM = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_CUE = (
    r"(?i:\b(?:address(?:es)?|addr|lives?|living|lived|resides?|residing|located|locates|moved"
    r"|move|return|send|ship|mail|deliver|station|restaurant|office|home)\b[^\n\d]{0,24}?"
    r"(?:\b(?:at|on|to|in|is|with|from|:)\s*))"
)


_DIGIT = re.compile(r"\d")
_ROMANCE_WORDS = frozenset(w for w in re.sub(r"[\\.?]", "", _ROMANCE).split("|") if w.isalpha()) | {
    "c", "av", "bd", "pl", "avda", "ul", "r", "nám",
}  # fmt: skip
_CUE_WORDS = frozenset([
    "address", "addresses", "addr", "live", "lives", "living", "lived", "reside", "resides",
    "residing", "located", "locates", "moved", "move", "return", "send", "ship", "mail",
    "deliver", "station", "restaurant", "office", "home"
])  # fmt: skip
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
        rf"(?<![\w/.,-])(?:{_NUM}\s+){{0,2}}(?P<words>(?:[^\W\d_a-z][\w'’-]*[ \t]+){{0,2}})"
        rf"(?P<type>[^\W\d_][\w'’-]*?(?i:{_GLUED}))(?![\w])\s*{_NUM}\b\.?{_UNIT}?"
    )
    romance = re.compile(
        rf"(?<![\w/.-])(?:(?P<n1>{_NUM}(?:\s+{_NUM})?),?\s+(?:(?:bis|ter)\s+)?)?"
        rf"(?P<type>(?i:{_ROMANCE}))\s+"
        rf"{_ARTICLES}*(?P<words>{_WORD}(?:[ \t]+{_ARTICLES}*{_WORD}){{0,3}}?)"
        # With a house number before, the street may end before lower-case prose too.
        rf"(?:,?[ \t]+(?P<n2>{_NUM})\b|(?=\s*(?:[,;.\n]|$))|(?(n1)(?=[ \t]+[a-z])|(?!)))(?:{_UNIT}){{0,2}}"
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


def detect(text: str, words: frozenset[str]) -> list[Hit]:
    """Street addresses in `text` (and the block pieces after them), overlaps unresolved.
    `words`: the text's lower-case words (`lexicon.words_of`), shared by the layers."""
    if not _DIGIT.search(text):
        return address_forms.corners(text, words)
    # Each shape needs a word of its own: a street type, a glued German/Dutch/Nordic type, a
    # Romance type, an address cue or a post box. The shared word set decides which run.
    low = text.lower()
    hits: list[Hit] = []
    number_first, glued, romance, cued, po_box = _patterns()
    matches: list[re.Match[str]] = []
    # Number-first streets are searched only in windows around the street-type words found:
    # template text says "walk" or "light" often, and a whole-text scan would cost far more.
    # The prechecks (`prechecks.py`) say at C speed when a shape cannot keep anything here.
    if not words.isdisjoint(_types()) and may_hold_number_first_street(text, low, words):
        for lo, hi in _windows(low, words & _types()):
            matches.extend(number_first.finditer(text, lo, hi))
    for lo, hi in _windows(low, words & _ROMANCE_WORDS, number_after=True):
        matches.extend(romance.finditer(text, lo, hi))
    if may_hold_glued_street(text, low, words, _GLUED_ENDS):
        for at in _glued_hints(low):  # "...straße 5": the word before, and the number after
            matches.extend(glued.finditer(text, max(0, at - 60), at + 40))
    for m in matches:
        start = m.start()
        if m.re is glued:
            if is_english(m["type"]):
                continue  # "Spring 2025", "Monitoring 24": English words, not "Hauptstraße 5"
            if any(is_english(w) for w in m["words"].split()):
                start = m.start("type")  # "The Hauptstraße 5": the street starts at its name
        if _plausible(m, m.re is romance):
            end = _more_name_words(text, m.end()) if m.re is romance and not m["n2"] else m.end()
            add_street(text, start, end, hits)
    if not words.isdisjoint(_CUE_WORDS):
        for m in cued.finditer(text):
            if _unknown_words(m["v"]):
                add_street(text, m.start("v"), m.end(), hits)
    if not words.isdisjoint(_BOX_WORDS):
        for m in po_box.finditer(text):
            add_street(text, *m.span(), hits)
    if "\n" in text and not words.isdisjoint(_UNIT_WORDS):
        unit_lines(text, hits)  # "11 Školní 939\n Apt. 827": the unit line makes the street
    hits += address_forms.detect(text, words)
    return hits


_UNIT_WORDS = frozenset(["apt", "apartment", "suite", "ste", "unit", "flat", "room", "rm", "bldg",
                         "building", "floor"])  # fmt: skip
_POSTCODE_LINE = re.compile(r"[ \t]*\n[ \t]*\d{4,5}[ \t]+[^\W\d_]")
_NUMBER_THEN_WORD = re.compile(r"\d[a-z]?,?[ \t\n]+[^\W\d_]|[^\W\d_],?[ \t]+\d")


_GLUED_NEEDLES = (*(n.replace("\\.", ".") for n in _GLUED.split("|") if "(" not in n and ")" not in n),
                  "strasse", "straße")  # fmt: skip
_GLUED_ENDS = tuple(n.rstrip(".") for n in _GLUED_NEEDLES)


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
                hi = end + 60
                while hi < len(low) and (low[hi].isalnum() or low[hi] == "_"):
                    hi += 1  # end on a word boundary: a cut "Street|car" is no "Street"
                spans.append((max(0, i - 90), min(len(low), hi)))
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
    on the road" no); a type-first street needs a house number on one side, or a postcode
    starting the next line."""
    if romance and not (m["n1"] or m["n2"]):
        return bool(_POSTCODE_LINE.match(m.string, m.end()))  # "rue Evrard\n50451 Martin"
    words = m["words"].split()
    if not words and not m["type"][:1].isupper() and not romance:
        return bool(re.search(r"\d", m["type"])) or m["type"].lower() not in safe_words()
    return all(w[:1].isupper() or w.lower().strip(".") not in safe_words() for w in words)


def _more_name_words(text: str, end: int) -> int:
    """The end of a type-first street's name in lower-case text: "21, rue maggie pelletier is
    where" ends after "pelletier", the next words being no English."""
    for _ in range(3):
        m = _NEXT_WORD.match(text, end)
        if not m or is_english(m[1]):
            break
        end = m.end()
    return end


_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_][\w'’-]*)")


def _unknown_words(value: str) -> bool:
    words = re.findall(r"(?<!\w)[^\W\d_][\w'’-]*", value)  # not the "a" of "26a"
    return bool(words) and all(w[:1].isupper() or w.lower() not in safe_words() for w in words)
