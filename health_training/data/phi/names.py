"""Name rules that back up the NER model on the segments the gate sends it.

The small spaCy model misses names it has not seen in English news ("I saw Geraldine Stumpf",
"Contact Natalia Adler B.Eng.", "Thanks, Francesca"). These rules run only on gated segments:
- a run of two or more capitalized words (particles such as "van", "de la" between them) none of
  which is known vocabulary, an acronym or a clinical eponym: "María Jesús Torrens";
- one or more capitalized words that are not vocabulary right after a name cue: a title in any
  case ("ms. Kuyra"), a greeting or sign-off ("Dear", "Thanks,", "Regards,"), or a naming phrase
  ("my name is", "last name?", "call me", "named", "this is");
- a name in lower case: a listed given name or surname followed by words that are no English
  ("kristin crnić", "tracy sukhorukova"); the name must be one that is no English word unless
  the whole text is in lower case (where case tells nothing);
- the line after a sign-off or a name label ("Kind regards,\nJodie Little", "Name: Frank Day"),
  English words included;
- a word no English speaker would use there, in the place of a person: addressed at the start
  of a sentence ("Marisca, can I ...") or the indirect object of a giving verb ("had given
  shamhan his address");
- propagation (`propagate`): once a name is found anywhere in a text, its words are replaced
  wherever else they stand alone in that text ("Rachel Bush ... Rachel now lives at").
A word with a few digits glued on ("Maude352 Wunsch128", Synthea's style) is judged by its letters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from health_training.data.phi import name_positions
from health_training.data.phi.findings import PLACEHOLDERS
from health_training.data.phi.lexicon import NOT_A_PERSON_WORDS as _NOT_A_PERSON_WORDS
from health_training.data.phi.lexicon import (
    english_names,
    function_words,
    is_english,
    is_name_word,
    person_names,
    synthea_letters,
)

Hit = tuple[int, int, str, str]

_WORD = re.compile(r"[^\W\d_][\w'’.-]*[^\W\d_](?:\d{1,3}(?!\d))?|[^\W\d_]")
_PARTICLES = frozenset(["van", "von", "de", "der", "den", "del", "della", "dei", "di", "da", "du",
                        "la", "le", "los", "las", "dos", "das", "bin", "ibn", "al", "el", "y", "en",
                        "ter", "ten", "zu", "zur", "st"])  # fmt: skip
_CUE = re.compile(
    r"(?i:\b(?:mr|mrs|ms|mx|miss|dr|prof|doctor|nurse|sir|madam|dear|hi|hello|thanks|thank you"
    r"|regards|best|cheers|sincerely|signed|contact|saw|seen by|referred by|with dr|called"
    r"|named|call me|calls me|name|surname|last name|first name|maiden name|this is|i am|i'm"
    r"|patient|pt|husband|wife|son|daughter|mother|father|partner|friend|brother|sister|kid"
    r"|child|said|says|told|asked|by)\b)[.,:?]?\s*(?:is\s+)?$"
)
# "Marisca, can I please speak to your boss?": a capitalized word, a comma, then the start of
# a request, question or greeting addressed to that person.
_VOCATIVE = re.compile(
    r"\s*(?P<v>[^\W\d_][\w'’-]*),\s+(?i:can|could|would|will|please|i|i'm|i'd|i'll|you|we"
    r"|thanks|thank|do|did|are|is|have|hope|just|let|let's|sorry|how|what|when|where|why"
    r"|hi|hello|good|yes|no|here|this|that|it's)\b"
)
# "had given shamhan his address", "told Maria her results": the word between a giving verb and
# a possessive is a person.
_INDIRECT_OBJECT = re.compile(
    r"(?i:\b(?:gave|given|give|gives|giving|sent|send|sends|told|tell|tells|showed|shown|show"
    r"|handed|emailed|texted|offered|promised|lent|owe|owes|owed|paid|wished))\s+"
    r"(?P<v>[^\W\d_][\w'’-]*)\s+(?i:his|her|their|my|your|our)\b"
)
# A line that is a name: capitalized words and name particles, up to four.
_LINE_NAME = (
    r"(?P<v>[^\W\d_a-z][\w'’.-]*(?:[ \t]+(?:[^\W\d_a-z][\w'’.-]*|(?:van|von|de|du|da|der"
    r"|den|del|della|di|la|le|ter|ten|en|bin|ibn|al|el)\b)){0,3})[ \t]*(?=\n|$)"
)
# "Kind regards,\nJodie Little" and "Name: Frank Day": the line after a sign-off or a name label.
_NAME_LINES = re.compile(
    r"(?:(?i:regards|sincerely|thanks|thank you|best wishes|best|cheers|yours|warmly|love)"
    r"[ \t]*[,!.]?[ \t]*\n|(?im:^[ \t]*(?:patient\s+|full\s+)?name[ \t]*:))[ \t]*" + _LINE_NAME
)
_TITLE_HEAD = re.compile(
    r"(?i:mr|mrs|ms|mx|miss|dr|prof|herr|frau|mme|mlle|sr|sra|srta|dhr|mevr|sig(?:\.ra)?)\.?[ \t]+"
)
_DEGREE_TAIL = re.compile(r"(?:[ \t]+(?:[A-Z]{2,4}|(?:[A-Z][a-z]{0,2}\.){2,}|Ph\.?D)\.?)+$")
_NAME_PLACEHOLDER = PLACEHOLDERS["name"]
# Words after a run of names that make it a disease, organism or institution, not a person.
_NOT_A_PERSON_AFTER = re.compile(
    r"(?:['’]s?)?[\s-]+(?i:" + "|".join(sorted(_NOT_A_PERSON_WORDS, key=len, reverse=True)) + r")\b"
)


def detect(text: str, spans: Iterable[tuple[int, int]]) -> list[Hit]:
    hits: list[Hit] = []
    lower_case_text = text == text.lower()
    for lo, hi in spans:
        words = list(_WORD.finditer(text, lo, hi))
        _capitalized_runs(text, words, hits)
        _lower_case_names(words, lower_case_text, hits)
        _sign_off(text, lo, hi, hits)
        hits += name_positions.detect(text, lo, hi)
        for m in (_VOCATIVE.match(text, lo, hi), *_INDIRECT_OBJECT.finditer(text, lo, hi)):
            if m and _stranger(m["v"]):
                hits.append((*m.span("v"), "name", _NAME_PLACEHOLDER))
    return hits


def _capitalized_runs(text: str, words: list[re.Match[str]], hits: list[Hit]) -> None:
    i = 0
    while i < len(words):
        j = i
        run: list[re.Match[str]] = []
        while j < len(words) and (
            _name_like(words[j][0])
            or (run and words[j][0].lower() in _PARTICLES and j + 1 < len(words))
        ):
            gap = text[words[j - 1].end() : words[j].start()] if j > i else " "
            if gap.strip(" '’-") != "" or gap.count(" ") > 1:
                break  # a comma, a newline or a column gap ends the run
            run.append(words[j])
            j += 1
        while run and run[-1][0].lower() in _PARTICLES:
            run.pop()
        named = [w for w in run if w[0].lower() not in _PARTICLES]
        k = i  # particles right before the run ("Dr. ter Waarbeek") belong to it after a cue
        while (
            k > 0
            and words[k - 1][0] in _PARTICLES
            and text[words[k - 1].end() : words[k].start()] == " "
        ):
            k -= 1
        start = words[k].start() if named else 0
        cued = bool(named) and _CUE.search(text, max(0, start - 24), start)
        if named and (
            _NOT_A_PERSON_AFTER.match(text, run[-1].end())
            or any(w[0].lower() in _NOT_A_PERSON_WORDS for w in named[1:])
        ):
            pass  # "West Nile virus", "Johns Hopkins Hospital", "Addison's disease"
        elif len(named) >= 2 or cued:
            hits.append(
                (start if cued else run[0].start(), run[-1].end(), "name", _NAME_PLACEHOLDER)
            )
        i = max(j, i + 1)


def _name_like(word: str) -> bool:
    """A name word, or any word numbered the way Synthea numbers names ("Max193")."""
    return is_name_word(word) or synthea_letters(word) is not None


def _sign_off(text: str, lo: int, hi: int, hits: list[Hit]) -> None:
    """ "Kind regards,\nJodie Little", "Name: Frank Day": the line after a sign-off or a name
    label is a name, English words too; a title before it and a degree after it stay."""
    for m in _NAME_LINES.finditer(text, max(0, lo - 40), hi):
        start, end = m.span("v")
        if title := _TITLE_HEAD.match(text, start, end):
            start = title.end()
        if degree := _DEGREE_TAIL.search(text, start, end):
            end = degree.start()
        words = text[start:end].split()
        if m.start("v") >= lo and words and words[0].lower() not in function_words():
            hits.append((start, end, "name", _NAME_PLACEHOLDER))


def _lower_case_names(words: list[re.Match[str]], any_name: bool, hits: list[Hit]) -> None:
    """A lower-case listed name and the non-English words right after it ("kristin crnić")."""
    for i, m in enumerate(words):
        word = m[0]
        if not word.islower() or word not in person_names() or word in function_words():
            continue
        if word in english_names() and not any_name:
            continue  # "rose", "will", "mark" in ordinary text
        j = i + 1
        while j < min(len(words), i + 3) and words[j][0].islower() and _stranger(words[j][0]):
            if words[j].start() - words[j - 1].end() != 1:
                break  # one space between the words of a name
            j += 1
        if j > i + 1:
            hits.append((m.start(), words[j - 1].end(), "name", _NAME_PLACEHOLDER))


def _stranger(word: str) -> bool:
    """No English word, function word or known vocabulary, as a name would be."""
    return len(word) > 2 and not is_english(word) and word.lower() not in function_words()


def propagate(text: str, name_spans: Iterable[tuple[int, int]]) -> list[Hit]:
    """Every other stand-alone occurrence of a word of a name already found in `text`."""
    found = {
        m[0]
        for start, end in name_spans
        for m in _WORD.finditer(text, start, end)
        if _name_like(m[0]) and len(m[0]) > 2
    }
    if not found:
        return []
    pattern = re.compile(
        r"(?<![\w'’-])(?:" + "|".join(map(re.escape, sorted(found))) + r")(?![\w-])"
    )
    return [(*m.span(), "name", _NAME_PLACEHOLDER) for m in pattern.finditer(text)]
