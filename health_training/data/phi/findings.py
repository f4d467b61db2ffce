"""The PHI engine's value types: findings, scrub results, gate counts, and the errors callers
quarantine on. Nothing here compiles a regex or loads a model, so importing it costs nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PHI_KINDS: tuple[str, ...] = (
    "name", "ssn", "phone", "fax", "email", "mrn", "account", "health_plan", "license",
    "device_id", "vehicle_id", "credit_card", "iban", "url", "ip", "street_address", "zip",
    "birth_date", "age_over_89", "timestamp", "location", "organization",
)  # fmt: skip

# What each kind becomes when it is replaced outright; the coarsened kinds (zip, birth_date,
# timestamp) keep part of their value and are built by the rule that finds them.
PLACEHOLDERS: dict[str, str] = {
    "name": "[NAME]", "ssn": "[SSN]", "phone": "[PHONE]", "fax": "[FAX]", "email": "[EMAIL]",
    "mrn": "[MRN]", "account": "[ACCOUNT]", "health_plan": "[HEALTH_PLAN]", "license": "[LICENSE]",
    "device_id": "[DEVICE_ID]", "vehicle_id": "[VEHICLE_ID]", "credit_card": "[CREDIT_CARD]",
    "iban": "[IBAN]", "ip": "[IP]", "url": "[URL]", "street_address": "[ADDRESS]",
    "location": "[CITY]", "age_over_89": "90+", "zip": "[POSTCODE]",
    "organization": "[ORG]",
}  # fmt: skip

# Which layer found a span (`PhiFinding.detector`): the regex + lexicon Safe Harbor rules, the
# validated structured identifiers, the address grammar, the statistical NER model, or the
# name rules that back it up on the same segments (`names.py`).
DETECTORS: tuple[str, ...] = ("rules", "identifiers", "address", "ner", "names")


class PhiInputError(ValueError):
    """A text the engine refuses to scrub (not a str, or over the size limit); `reason` is a
    stable slug a caller can quarantine on."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class NerModelError(RuntimeError):
    """The NER model (or spaCy) is missing or not the pinned build; the message names the fix."""


@dataclass(frozen=True, slots=True)
class PhiFinding:
    """One identifier: its kind, offsets in the original text (never the matched text) and the
    detector that found it."""

    kind: str
    start: int
    end: int
    detector: str = field(default="rules", compare=False)


@dataclass(frozen=True, slots=True)
class GateStats:
    """How many text segments (sentences or lines) the cheap gate sent to the NER model and how
    many it skipped because every capitalized word was known vocabulary; characters alike."""

    texts: int = 0
    texts_to_model: int = 0
    segments: int = 0
    segments_to_model: int = 0
    chars: int = 0
    chars_to_model: int = 0

    def __add__(self, other: GateStats) -> GateStats:
        # Summed once per curated example: field by field, no tuples in between.
        return GateStats(
            self.texts + other.texts,
            self.texts_to_model + other.texts_to_model,
            self.segments + other.segments,
            self.segments_to_model + other.segments_to_model,
            self.chars + other.chars,
            self.chars_to_model + other.chars_to_model,
        )

    def as_tuple(self) -> tuple[int, ...]:
        return (self.texts, self.texts_to_model, self.segments, self.segments_to_model,
                self.chars, self.chars_to_model)  # fmt: skip

    def as_dict(self) -> dict[str, int | float]:
        """Counts plus the model's share of segments, for asset metadata and reports."""
        share = self.segments_to_model / self.segments if self.segments else 0.0
        return {
            "texts": self.texts,
            "texts_to_model": self.texts_to_model,
            "segments": self.segments,
            "segments_to_model": self.segments_to_model,
            "chars_to_model": self.chars_to_model,
            "model_share": round(share, 4),
        }


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The scrubbed text, what was replaced in the original, and the NER gate's decisions."""

    text: str
    findings: tuple[PhiFinding, ...]
    gate: GateStats = field(default=GateStats(), compare=False)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(f.kind for f in self.findings))
