"""HIPAA Safe Harbor PHI detection and scrubbing for free-text health narratives.

`find_phi` says where identifiers are (kind, offsets and the detector, never the text, so findings
can be logged); `scrub_phi` replaces them; `find_phi_many` and `scrub_many` do the same for a
batch of texts and feed the NER model in batches. Four layers find PHI, resolved by a stated
priority (`scrubber.py`): the regex + lexicon Safe Harbor rules (`rules.py`), validated structured
identifiers (`identifiers.py`), an address grammar (`addresses.py`) and spaCy's NER model
(`ner.py`), which sees only the sentences that a cheap vocabulary gate (`ner_gate.py`) cannot clear
and whose unknown words the other layers have not already replaced; name rules (`names.py`) back
the model up on those sentences. Direct identifiers
become placeholders ("[NAME]", "[PHONE]", ...); what Safe Harbor allows in coarser form is
coarsened: ZIP 62704 -> "627XX", a birth date -> its year, an age over 89 -> "90+", a timestamp ->
its day, a city -> "[CITY]" (the state stays). The output is scanned again until a pass finds
nothing. `Pseudonymizer` turns user ids into keyed HMAC-SHA256 pseudonyms.

Importing this package is cheap: regexes, lexicons and the spaCy model load on first use.
"""

from __future__ import annotations

from collections.abc import Sequence

from health_training.data.phi.findings import (
    DETECTORS,
    PHI_KINDS,
    PLACEHOLDERS,
    GateStats,
    NerModelError,
    PhiFinding,
    PhiInputError,
    ScrubResult,
)
from health_training.data.phi.pseudonym import Pseudonymizer

__all__ = [
    "DETECTORS",
    "PHI_KINDS",
    "PLACEHOLDERS",
    "GateStats",
    "NerModelError",
    "PhiFinding",
    "PhiInputError",
    "Pseudonymizer",
    "ScrubResult",
    "count_phi",
    "find_phi",
    "find_phi_many",
    "scrub_many",
    "scrub_phi",
]


def find_phi(text: str, *, ner: bool = True) -> list[PhiFinding]:
    """Every identifier in `text` as kind + offsets + detector, sorted and non-overlapping.
    `ner=False` runs the rule layers only (no model)."""
    from health_training.data.phi import scrubber

    return scrubber.find(text, ner=ner)


def find_phi_many(texts: Sequence[str], *, ner: bool = True) -> list[list[PhiFinding]]:
    """`find_phi` for each text, with the NER model run once over all their gated sentences."""
    from health_training.data.phi import scrubber

    return scrubber.find_many(texts, ner=ner)


def count_phi(text: str, *, ner: bool = True) -> dict[str, int]:
    """How many identifiers of each kind `text` holds."""
    counts: dict[str, int] = {}
    for f in find_phi(text, ner=ner):
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return counts


def scrub_phi(text: str, *, ner: bool = True) -> ScrubResult:
    """`text` with every identifier replaced by its placeholder or coarsened value."""
    from health_training.data.phi import scrubber

    return scrubber.scrub_many([text], ner=ner)[0]


def scrub_many(texts: Sequence[str], *, ner: bool = True) -> list[ScrubResult]:
    """`scrub_phi` for each text, with the NER model run once over all their gated sentences."""
    from health_training.data.phi import scrubber

    return scrubber.scrub_many(texts, ner=ner)
