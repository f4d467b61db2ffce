"""The vocabulary the NER gate and the NER filter share, loaded once on first use.

`safe_words.txt` (built by `bench/build_phi_lexicons.py`: WordNet lemmas, drug names and the ETL
template words, minus every given name, surname and city Faker or our lexicons know),
`medical_acronyms.txt` and `eponyms.txt`. A word is *known* when it, its singular, or each part
of a hyphenated compound is in the safe list; known words are never a person or a place alone.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from health_training.data.phi import caches

# Words that make a run of capitalized words a disease, an organism or an institution.
NOT_A_PERSON_WORDS = frozenset(
    [
        "disease",
        "syndrome",
        "sarcoma",
        "lymphoma",
        "tumor",
        "tumour",
        "palsy",
        "sign",
        "test",
        "virus",
        "fever",
        "phenomenon",
        "disorder",
        "anemia",
        "leukemia",
        "cell",
        "cells",
        "hospital",
        "clinic",
        "institute",
        "university",
        "college",
        "center",
        "centre",
        "foundation",
        "medical",
        "health",
        "school",
        "society",
        "association",
        "sequence",
    ]
)
_ROMAN = re.compile(r"[IVX]{1,5}[A-E]?")
# Clinical word formation: Greek and Latin suffixes of diseases, procedures and cells, drug-stem
# suffixes (WHO INN stems: -mab, -tinib, -statin...) and prefixes of long anatomical adjectives.
# Names listed in person_names.txt are checked first, so "Kovacic" is not taken for "-ic".
_CLINICAL_FORM = re.compile(
    r"(?i:.{3,}(?:omas?|itis|os[ie]s|a?emia|ectomy|otomy|ostomy|plasty|therap(?:y|ies)|olog(?:y|ist)s?"
    r"|oids?|cytes?|blasts?|plasia|path(?:y|ies)|scopy|graphy|genic|trophy|algia|uria|penia"
    r"|megaly|lytic|sensiti[sz]ers?|form|mab|tinib|ciclib|platin|rubicin|mycin|cillin|azole"
    r"|statin|pril|sartan|olol|dipine|gliptin|glutide|parin|vir|zumab|ximab)"
    r"|(?:intra|extra|peri|hemangio|angio|fibro|neuro|onco|cardio|nephro|hepato|gastro|dermato"
    r"|lympho|myelo|osteo|chondro|cranio|endo|hyper|hypo|anti|radio|immuno|chemo|histio"
    r"|adeno|oligo|medullo|rhabdo|leiomyo|myo|hemato|haemato|thrombo|broncho|pneumo)\w{4,})"
)
_POSSESSIVE = re.compile(r"['’]s?$")
# Synthea's generated patients carry a number on each name ("Maude352 Wunsch128"): a capitalized
# word with a few digits glued on is judged by its letters. Gene and stage names ("BRCA1",
# "CD34", "HbA1c") are in capitals or mixed case and do not match.
_SYNTHEA = re.compile(r"([^\W\d_]{3,}(?:-[^\W\d_]+)*)\d{1,3}")


def synthea_letters(word: str) -> str | None:
    """The name of a Synthea-numbered word ("Maude352" -> "Maude", "Ernst-Otto35"), else None."""
    m = _SYNTHEA.fullmatch(word)
    if m and all(p[:1].isupper() and p[1:].islower() for p in m[1].split("-")):
        return m[1]
    return None


# Inflections WordNet's lemma list leaves out: "admitted", "monitoring", "carefully".
_INFLECTIONS = (("ied", ("y",)), ("ies", ("y",)), ("ing", ("", "e")), ("ed", ("", "e")),
                ("ly", ("", "le")), ("er", ("", "e")), ("est", ("", "e")))  # fmt: skip


def _read(name: str) -> list[str]:
    text = (files("health_training.data") / "lexicons" / name).read_text(encoding="utf-8")
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


@cache
def safe_words() -> frozenset[str]:
    """Lower-case words known not to be names or places on their own."""
    return frozenset(_read("safe_words.txt")) | function_words()


@cache
def function_words() -> frozenset[str]:
    return frozenset(_read("function_words.txt"))


@cache
def person_names() -> frozenset[str]:
    """Given names and surnames (Faker, every locale; ours): never vocabulary."""
    return frozenset(line.removesuffix(" +") for line in _read("person_names.txt"))


@cache
def unambiguous_names() -> frozenset[str]:
    """Listed names that are no English word: "tracy", "kristin", not "grace" or "john". A
    lower-case one still sends its sentence to the model ("the gender of lilly")."""
    return frozenset(w for w in _read("person_names.txt") if not w.endswith(" +") and len(w) > 2)


@cache
def acronyms() -> frozenset[str]:
    return frozenset(_read("medical_acronyms.txt"))


@cache
def eponyms() -> frozenset[str]:
    return frozenset(_read("eponyms.txt"))


_LOWER_WORDS = re.compile(r"[^\W\d_]+")


# Splits ASCII text into words at one C-speed pass: digits and punctuation other than the
# apostrophe and hyphen are separators (what `_LOWER_WORDS` does, without the regex engine).
_SEPARATORS = bytes(c for c in range(128) if not chr(c).isalpha() and chr(c) not in "'-")
_WORD_TABLE = bytes.maketrans(_SEPARATORS, b" " * len(_SEPARATORS))


def words_of(text: str) -> frozenset[str]:
    """The lower-case words of `text`: the layers test their cue words against this set."""
    low = text.lower()
    if low.isascii():
        return frozenset(low.encode().translate(_WORD_TABLE).decode().replace("'", " ").split())
    return frozenset(_LOWER_WORDS.findall(low))


def is_known(word: str) -> bool:
    """`word` (any case) is vocabulary, not a name: listed, a listed acronym, the plural or
    possessive of a listed word, or a hyphenated compound of listed words."""
    # Template text repeats its few capitalized words endlessly: verdicts are remembered.
    memo = caches.active()
    known = memo.known
    verdict = known.get(word)
    if verdict is None:
        verdict = _is_known(word)
        if len(known) >= memo.max_words:
            known.clear()
        known[word] = verdict
    return verdict


def _is_known(word: str) -> bool:
    word = _POSSESSIVE.sub("", word)  # "NCI's", "Parkinson's": the word before it decides
    if letters := synthea_letters(word):
        if letters.lower() in person_names():
            return False  # "Max193": a listed name that Synthea numbered
        word = letters  # "Wunsch128": the letters decide
    if word in acronyms() or len(word) <= 1 or any(c.isdigit() for c in word):
        return True  # an initial alone, "CD34", "NF1": no name has a digit
    if _ROMAN.fullmatch(word):
        return True  # stages: "II", "IIIE", "IVB"
    low = word.lower().rstrip(".")
    if low in function_words():
        return True
    if low in person_names():
        return False
    for tail in ("'s", "’s", "'", "’"):
        if low.endswith(tail):
            low = low[: -len(tail)]
            break
    safe = safe_words()
    if low in safe:
        return True
    if low.endswith("s") and (
        low[:-1] in safe
        or (low.endswith("es") and low[:-2] in safe)
        or (low.endswith("ies") and low[:-3] + "y" in safe)
    ):
        return True
    for suffix, endings in _INFLECTIONS:
        if low.endswith(suffix) and len(low) > len(suffix) + 2:
            stem = low[: -len(suffix)]
            if any(stem + e in safe for e in endings) or (
                len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in safe
            ):
                return True
    if _CLINICAL_FORM.fullmatch(low):
        return True  # "Astrocytomas", "Intrahepatic", "Lorvotuzumab": clinical vocabulary
    if word.isupper() and len(word) <= 5:
        return True  # an abbreviation ("JMML", "BRAF") that is no listed name ("JOHN", "LEE")
    if "-" in word:
        parts = [p for p in word.split("-") if p]
        return bool(parts) and all(is_known(p) for p in parts)
    return False


def is_english(word: str) -> bool:
    """An English word, even if it is also a name ("Spring", "Grace"): for grammar decisions,
    never for deciding that a word is no name."""
    low = word.lower()
    return low in safe_words() or low in english_names() or is_known(word)


@cache
def english_names() -> frozenset[str]:
    return frozenset(w.removesuffix(" +") for w in _read("person_names.txt") if w.endswith(" +"))


def is_name_word(word: str) -> bool:
    """Capitalized, not vocabulary, not an acronym ("QLD", "CGM"), no digit, not an eponym."""
    bare = re.sub(r"['’]s?$", "", word.rstrip("."))
    if not word[:1].isupper() or word in acronyms() or bare in eponyms():
        return False
    if "-" in bare and all(p in eponyms() or is_known(p) for p in bare.split("-") if p):
        return False  # "Epstein-Barr", "Hippel-Lindau"
    if letters := synthea_letters(word):
        word = letters  # "Wunsch128"
    if (word.isupper() and len(word) <= 4) or any(c.isdigit() for c in word):
        return False
    return not is_known(word)


@cache
def allowed_places() -> frozenset[str]:
    """Countries, US states and other first-level regions, lower case: Safe Harbor lets them stay."""
    out: set[str] = set()
    for name in ("countries.txt", "us_states.txt", "regions.txt"):
        for line in _read(name):
            out.update(part.strip().lower() for part in line.split("|"))
    return frozenset(out)


@cache
def street_types() -> tuple[str, ...]:
    return tuple(_read("street_types.txt"))
