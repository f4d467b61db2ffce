"""Lexicons and compiled regexes of the Safe Harbor rule layer (`rules.py`).

Imported on first use only (the package `__init__` never imports it), so the Dagster code location
does not pay for compiling them. The prefilter shapes at the end start with a literal character,
which lets the regex engine skip from one candidate to the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.resources import files

from health_training.data.phi.findings import PLACEHOLDERS


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
    r"|(?P<account>account(?:\s+(?:number|no|id))?|acct)"
    r"|(?P<device>device\s+(?:id|identifier|serial(?:\s+(?:number|no))?|sn)"
    r"|serial(?:\s+(?:number|no))?|s/n|imei|udi))\b\.?[\s:#=]*"
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
_PLACEHOLDER = PLACEHOLDERS
# fmt: on
