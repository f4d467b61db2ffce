"""Cue-driven identifiers: a cue word makes the digits after it an identifier in any national
format, where the same digits alone would be too ambiguous to take.

- Phones: the cue words (`PHONE_CUE`, `PHONE_CUE_AFTER`) are used by `identifiers._phones`: a cued
  digit run of 7+ digits is a phone in any grouping ("02.41.77.30.19", "47-22-91-08",
  "61 204 377"); without a cue it must parse as a valid number of one of our regions.
- Postcodes: after "zip", "zip code", "postcode", "postal code", "PLZ", "CAP", "code postal",
  "CP", "postnummer", "irányítószám" ... (and "is", ":", "#" between), the postcode shapes of
  most countries: 4-6 digits, ZIP+4, "602 00", "27-097", "8706-690", "1234 AB", "H-2706".
- Bare domain names with a country or generic top-level domain ("fischer.de", "banco.es"); the
  rule layer's URL rule knows only .com/.org/.net/.gov/.edu/.io/.info.
A cue never makes a clinical number an identifier: runs that read as dates, times, ranges,
decimals or thousands ("1,200") are refused first (`identifiers._NOT_PHONE`), and postcodes
must stand alone after their cue ("zip 2" is too short, "ZIP: 12 mg" has a unit).
"""

from __future__ import annotations

import re

from health_training.data.phi.findings import PLACEHOLDERS
from health_training.data.phi.name_place_rules import zip3

Hit = tuple[int, int, str, str]

# Words after which a digit run is a phone number (English and the major European languages).
PHONE_CUE = re.compile(
    r"(?i:\b(?:phone|ph|tel|telephone|telefon|telefono|teléfono|téléphone|tlf|puh|puhelin"
    r"|mobile|mobil|móvil|cellulare|portable|handy|cell|cellphone|fax|desk|office|home|work"
    r"|call|calls|calling|reach|reached|answering|answer|text|sms|contact|pager|beeper"
    r"|whatsapp|signal|viber|dial|ring|hotline|helpline|ext)\b)[^\n\d]{0,14}$"
)
PHONE_CUE_AFTER = re.compile(
    r"^\s*\(?(?i:mobile|cell|office|home|work|fax|desk|phone|tel|mob|landline)\b"
)
_POSTCODE_WORDS = frozenset(["zip", "zipcode", "postcode", "postal", "plz", "cap", "postleitzahl",
                             "postnummer", "postinumero", "irányítószám", "cp", "psč", "kod",
                             "code", "pincode", "pin", "eircode"])  # fmt: skip
# Case-sensitive where the cue is also an English word ("cap", "pin", "cp").
_POSTCODE_CUE = re.compile(
    r"(?:(?i:\bzip(?:\s*code)?|\bzipcode|\bpost\s*code|\bpostal\s*code|\bpostleitzahl"
    r"|\bpostnummer|\bpostinumero|\birányítószám|\bcode\s+postal|\bkod\s+pocztowy|\bpin\s*code"
    r"|\bpincode|\beircode)|\bPLZ|\bPlz|\bCAP|\bC\.?P\.|\bPSČ|\bPIN)"
    r"(?:\s*(?:is|was|:|#|-|=|no\.?|nr\.?)\s*|\s+)(?:(?i:is|was|:)\s*)?"
    r"(?P<v>\d{4}\s?[A-Z]{2}(?![\w-])|(?:[A-Z]{1,2}-)?\d{4,6}(?:-\d{4})?|\d{3}\s\d{2}|\d{3}\s\d{3}"
    r"|\d{2}-\d{3}|\d{4}-\d{3}|\d{3}-\d{4}|[A-Z]\d{2}\s?[A-Z0-9]{4})"
    r"(?![\w-]|[.,]\d|\s*(?:%|mg|kg|lb|ml|mmol|bpm|ms|min|h\b|steps))"
)
_US_ZIP = re.compile(r"\d{5}(?:-\d{4})?")
_TLDS = (
    "de|fr|it|es|nl|se|fi|no|dk|hu|pl|cz|sk|pt|at|ch|be|ie|uk|eu|biz|ca|au|nz|us|gr|ro|bg|hr|si"
    "|lt|lv|ee|is|lu|info|net|org|com|co|me|tv|app|dev|online|site|shop|health|care|clinic"
)
# Lower-case labels of 2+ characters, a dot, a listed TLD, not followed by more of a word: a
# dotted abbreviation ("e.g.", "i.e.", "p.m.") has one-letter labels and never matches.
_DOMAIN = re.compile(
    rf"(?<![\w.@/-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:co\.uk|com\.au|{_TLDS})"
    r"(?![\w@-]|\.[a-z])(?:/[^\s<>\"'()\[\]{}]*)?"
)
# Starts with a literal ".", so the regex engine jumps from dot to dot (a leading class would
# make it try every position of every text).
_DOMAIN_HINT = re.compile(rf"\.(?:{_TLDS})\b")


def detect(text: str, words: frozenset[str]) -> list[Hit]:
    """Postcodes after their cue words and bare domain names in `text`, overlaps unresolved.
    `words`: the text's lower-case words (`lexicon.words_of`)."""
    hits: list[Hit] = []
    if not words.isdisjoint(_POSTCODE_WORDS):
        for m in _POSTCODE_CUE.finditer(text):
            value = m["v"]
            replacement = zip3(value) if _US_ZIP.fullmatch(value) else PLACEHOLDERS["zip"]
            hits.append((*m.span("v"), "zip", replacement))
    hint = _DOMAIN_HINT.search(text) if "." in text else None
    if hint and any(text[m.start() - 1 : m.start()].isalnum() for m in _DOMAIN_HINT.finditer(text)):
        for m in _DOMAIN.finditer(text):
            labels = m[0].split("/")[0].split(".")
            if len(labels[0]) >= 2 and not labels[0].isdigit():
                hits.append((*m.span(), "url", PLACEHOLDERS["url"]))
    return hits
