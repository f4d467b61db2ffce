"""Name rules that back up the NER model on the segments the gate sends it.

The small spaCy model misses names it has not seen in English news ("I saw Geraldine Stumpf",
"Contact Natalia Adler B.Eng.", "Thanks, Francesca"). Three rules, run only on gated segments:
- a run of two or more capitalized words (particles such as "van", "de la" between them) none of
  which is known vocabulary, an acronym or a clinical eponym: "María Jesús Torrens";
- one or more capitalized words that are not vocabulary right after a name cue: a title in any
  case ("ms. Kuyra"), a greeting or sign-off ("Dear", "Thanks,", "Regards,"), or a naming phrase
  ("my name is", "last name?", "call me", "named", "this is");
- propagation (`propagate`): once a name is found anywhere in a text, its words are replaced
  wherever else they stand alone in that text ("Rachel Bush ... Rachel now lives at").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from health_training.data.phi.findings import PLACEHOLDERS
from health_training.data.phi.lexicon import NOT_A_PERSON_WORDS as _NOT_A_PERSON_WORDS
from health_training.data.phi.lexicon import is_name_word

Hit = tuple[int, int, str, str]

_WORD = re.compile(r"[^\W\d_][\w'’.-]*[^\W\d_]|[^\W\d_]")
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "de",
        "der",
        "den",
        "del",
        "della",
        "dei",
        "di",
        "da",
        "du",
        "la",
        "le",
        "los",
        "las",
        "dos",
        "das",
        "bin",
        "ibn",
        "al",
        "el",
        "y",
        "ter",
        "ten",
        "zu",
        "zur",
        "st",
    ]
)
_CUE = re.compile(
    r"(?i:\b(?:mr|mrs|ms|mx|miss|dr|prof|doctor|nurse|sir|madam|dear|hi|hello|thanks|thank you"
    r"|regards|best|cheers|sincerely|signed|contact|saw|seen by|referred by|with dr|called"
    r"|named|call me|calls me|name|surname|last name|first name|maiden name|this is|i am|i'm"
    r"|patient|pt|husband|wife|son|daughter|mother|father|partner|friend|brother|sister|kid"
    r"|child|said|says|told|asked|by)\b)[.,:?]?\s*(?:is\s+)?$"
)
_NAME_PLACEHOLDER = PLACEHOLDERS["name"]
# Words after a run of names that make it a disease, organism or institution, not a person.
_NOT_A_PERSON_AFTER = re.compile(
    r"(?:['’]s?)?[\s-]+(?i:" + "|".join(sorted(_NOT_A_PERSON_WORDS, key=len, reverse=True)) + r")\b"
)


def detect(text: str, spans: Iterable[tuple[int, int]]) -> list[Hit]:
    hits: list[Hit] = []
    for lo, hi in spans:
        words = list(_WORD.finditer(text, lo, hi))
        i = 0
        while i < len(words):
            j = i
            run: list[re.Match[str]] = []
            while j < len(words) and (
                is_name_word(words[j][0])
                or (run and words[j][0] in _PARTICLES and j + 1 < len(words))
            ):
                gap = text[words[j - 1].end() : words[j].start()] if j > i else " "
                if gap.strip(" '’-") != "" or gap.count(" ") > 1:
                    break  # a comma, a newline or a column gap ends the run
                run.append(words[j])
                j += 1
            while run and run[-1][0] in _PARTICLES:
                run.pop()
            named = [w for w in run if w[0] not in _PARTICLES]
            cued = bool(named) and _CUE.search(text, max(0, run[0].start() - 24), run[0].start())
            if named and (
                _NOT_A_PERSON_AFTER.match(text, run[-1].end())
                or any(w[0].lower() in _NOT_A_PERSON_WORDS for w in named[1:])
            ):
                pass  # "West Nile virus", "Johns Hopkins Hospital", "Addison's disease"
            elif len(named) >= 2 or cued:
                hits.append((run[0].start(), run[-1].end(), "name", _NAME_PLACEHOLDER))
            i = max(j, i + 1)
    return hits


def propagate(text: str, name_spans: Iterable[tuple[int, int]]) -> list[Hit]:
    """Every other stand-alone occurrence of a word of a name already found in `text`."""
    found = {
        m[0]
        for start, end in name_spans
        for m in _WORD.finditer(text, start, end)
        if is_name_word(m[0]) and len(m[0]) > 2
    }
    if not found:
        return []
    pattern = re.compile(
        r"(?<![\w'’-])(?:" + "|".join(map(re.escape, sorted(found))) + r")(?![\w-])"
    )
    return [(*m.span(), "name", _NAME_PLACEHOLDER) for m in pattern.finditer(text)]
