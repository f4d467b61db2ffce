"""Street-address forms outside the number-first / type-first grammar of `addresses.py`.

- Name, then a street word, then the house number, the word standing alone: Hungarian "Váci u.
  27.", "Arany jános utca 72.", "Kossuth tér 5"; German "Berliner Str. 5"; Danish "Næsbyholm
  Allé 77". The name words are read backwards from the street word and stop at the first word
  of English prose ("moved from Kecskeméti tér 81." keeps "Kecskeméti tér 81.").
- A street line right above a postcode line ("Antonsenspranget 53\\n3905 Magnusvåg"), whatever
  its street word, as in the address blocks of letters and forms.
- UK flats and studios before the street ("Studio 15N, Jeffrey Vista").
- US military mail: "PSC 2210, Box 4471, APO AE 09012", "Unit 8400 Box 1234, DPO AP 96501",
  "USNS Guzman, FPO AA 34020" (APO/FPO/DPO with AA/AE/AP is the city and state of military mail).
- Intersections: "the corner of Maple str and Dunmore Lane", "junction of Egevej and Ætnavej":
  both streets, named without a house number.
Every form takes the address block after it (`address_blocks.block`) like the other shapes.
"""

from __future__ import annotations

import re
from functools import cache

from health_training.data.phi.address_blocks import add_street
from health_training.data.phi.lexicon import function_words, is_english, safe_words, street_types

Hit = tuple[int, int, str, str]

_NUM = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_UNIT = (
    r"(?:,?[ \t]*(?:(?i:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|Bldg|Lot|No|Nr|lph"
    r"|ajtó|em|emelet|et|etg|st|tv|th|mf|OG|EG|vån|lgh)\.?[ \t]*#?[ \t]*\d{1,4}[A-Za-z]?\b\.?"
    r"|\d{1,2}\.?[ \t]*(?i:em|emelet|et|etg|etasje|st|sal|tv|th|mf|OG|vån|ajtó)\b\.?))"
)
# Street words written apart from the street's name, before the house number.
_SEPARATE = (
    r"utca|u\.|út|útja|tér|tere|köz|körút|krt\.|sor|sétány|rakpart|fasor|lakótelep|ltp\.|dűlő"
    r"|liget|udvar|str\.|straße|strasse|stra[sß]e|gasse|allee|platz|weg|allé|vej|gade|vei|veien"
    r"|gata|gatan|väg|vägen|tie|katu|straat|laan|gracht|plein|ulica|třída|náměstí"
)
_STREET_WORD = re.compile(
    rf"(?<![\w.-])(?P<type>(?i:{_SEPARATE}))(?:(?<=\.)|\b)[ \t]*{_NUM}\b\.?{_UNIT}?"
)
_NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*$")
_ABOVE_POSTCODE = re.compile(
    r"(?m)^[ \t]*(?P<v>(?:[^\W\d_][\w'’.-]*[ \t]+){1,3}\d{1,5}[A-Za-z]?\.?"
    r"|\d{1,5}[A-Za-z]?,?[ \t]+(?:[^\W\d_][\w'’.-]*[ \t]*){1,4})[ \t]*\n"
    r"(?=[ \t]*(?:[A-Z]{1,2}-)?\d{3,5}(?:[ \t]?\d{2}|[ \t]?[A-Z]{2})?[ \t]+[^\W\d_a-z])"
)
_POSTCODE_LINE = re.compile(r"\n[ \t]*(?:[A-Z]{1,2}-)?\d{3}")  # literal first: a cheap test
_MILITARY = re.compile(
    r"\b(?:(?:PSC|CMR|Unit)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{1,5}|(?:USNS|USS|USCGC)[ \t]+"
    r"[A-Z][\w'’-]*(?:[ \t]+[A-Z][\w'’-]*)?)(?:,?[ \t]+(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)"
    r"[ \t]+\d{5}(?:-\d{4})?)?|\b(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}(?:-\d{4})?"
)
_MILITARY_WORDS = frozenset(["psc", "cmr", "unit", "usns", "uss", "uscgc", "apo", "fpo", "dpo"])
_CORNER_WORDS = frozenset(["corner", "intersection", "junction", "crossing", "crossroads"])
_FLAT_WORDS = frozenset(["flat", "studio", "apartment", "apt", "unit", "suite"])


@cache
def _corner() -> re.Pattern[str]:
    """Two streets after "corner of": capitalized words, a street word in any case allowed."""
    types = "|".join(re.escape(w) for w in sorted(street_types(), key=len, reverse=True))
    # A type-first street word in lower case may lead: "chemin Aurore Maillet", "via Roma".
    lead = r"(?:(?:rue|chemin|avenue|allée|boulevard|place|impasse|via|viale|piazza|calle|avenida"
    lead += r"|plaza|paseo|rua|ul\.|ulica)[ \t]+(?:(?:de|du|des|la|le|del|della|di)[ \t]+)*)?"
    street = (
        rf"{lead}[^\W\d_a-z][\w'’.-]*(?:[ \t]+(?:[^\W\d_a-z][\w'’.-]*|(?i:{types}|str)\b\.?"
        rf"|(?:de|del|la|di|van|von)\b)){{0,3}}"
    )
    conj = r"[ \t]+(?i:and|&|with|/)[ \t]+"
    return re.compile(
        r"(?i:\b(?:corner|intersection|junction|crossing|crossroads)[ \t]+(?:of[ \t]+)?)"
        rf"(?:(?i:the)[ \t]+)?(?:(?P<a>{street})(?={conj})|[^\n]{{0,60}}?){conj}(?P<b>{street})"
    )


@cache
def _flat() -> re.Pattern[str]:
    types = "|".join(re.escape(w) for w in sorted(street_types(), key=len, reverse=True))
    return re.compile(
        r"\b(?:Flat|Studio|Apartment|Apt\.?|Unit|Suite)[ \t]+\d{1,4}[A-Za-z]?,?[ \t]+"
        rf"(?:[^\W\d_a-z][\w'’-]*[ \t]+){{1,3}}(?i:{types})\b\.?"
    )


def detect(text: str, words: frozenset[str]) -> list[Hit]:
    """Street addresses of the forms above, overlaps unresolved; `words`: `lexicon.words_of`."""
    hits: list[Hit] = []
    if not words.isdisjoint(_SEPARATE_WORDS):
        for m in _STREET_WORD.finditer(text):
            start = _name_start(text, m.start())
            if start is not None:
                add_street(text, start, m.end(), hits)
    if "\n" in text and _POSTCODE_LINE.search(text):
        for m in _ABOVE_POSTCODE.finditer(text):
            found = re.findall(r"[^\W\d_][\w'’.-]*", m["v"])
            if _plausible(found) and not all(is_english(w) for w in found):
                add_street(text, *m.span("v"), hits)
    if not words.isdisjoint(_FLAT_WORDS):
        for m in _flat().finditer(text):
            add_street(text, *m.span(), hits)
    if not words.isdisjoint(_MILITARY_WORDS):
        for m in _MILITARY.finditer(text):
            hits.append((*m.span(), "street_address", "[ADDRESS]"))
    return hits + corners(text, words)


def corners(text: str, words: frozenset[str]) -> list[Hit]:
    """Both streets of "the corner of A and B" (no house number needed)."""
    hits: list[Hit] = []
    if not words.isdisjoint(_CORNER_WORDS):
        for m in _corner().finditer(text):
            for group in ("a", "b"):
                if m[group]:
                    hits.append((*m.span(group), "street_address", "[ADDRESS]"))
    return hits


# The street words as `lexicon.words_of` splits them ("u." -> "u"): the form runs only if one is there.
_SEPARATE_WORDS = frozenset(
    w.strip("\\.") for w in re.sub(r"stra\[sß\]e", "", _SEPARATE).split("|") if w
)


def _name_start(text: str, type_start: int) -> int | None:
    """Where the street's name begins, read back from its street word: up to three words, none
    of them English prose in lower case or a function word; None when there is no name word."""
    start = None
    pos = type_start
    for _ in range(3):
        gap = re.search(r"[ \t]+$", text[max(0, pos - 4) : pos])
        if not gap:
            break
        word = _NAME_WORD.search(text, max(0, pos - len(gap[0]) - 40), pos - len(gap[0]))
        if not word:
            break
        w = word[0].rstrip(".")
        low = w.lower()
        if low in function_words() or (w.islower() and low in safe_words()) or w.isdigit():
            break
        if w[:1].isupper() and is_english(w) and start is not None and _is_sentence_word(w):
            break
        start, pos = word.start(), word.start()
    return start


def _is_sentence_word(word: str) -> bool:
    """A capitalized English word that starts a sentence rather than a street name."""
    return word.lower() in safe_words() and word.lower() in _VERBS


_VERBS = frozenset(["moved", "move", "live", "lives", "lived", "send", "ship", "visit", "visited",
                    "meet", "met", "near", "at", "from", "to", "in", "on", "address"])  # fmt: skip


def _plausible(words: list[str]) -> bool:
    return bool(words) and all(
        w[:1].isupper() or w.lower().strip(".") not in safe_words() for w in words
    )
