"""Preference examples from rated answers: KTO (one answer, thumbs up or down) and DPO pairs.

    held = held_out_prompts({"test": test_rows, "validation": validation_rows})
    data = build_preference_dataset(store.since(0), ratios=policy.ratios, salt=policy.salt,
                                    held_out=held)
    data.train()          # what the preference stage may learn from

Rules, in order:
  * Text is PHI-scrubbed again (stored rows already are; this guards rows written before the
    scrub existed, exactly as `data.feedback.feedback_examples` does).
  * The *prompt* is the user turn the model saw (`prompts.user_message(query, context)`); its key
    is the SHA-256 of that text normalized like every content key, so a prompt keeps its key
    whether the instruction and the facts were stored apart (`feedback import`) or as one message
    (the server: `query` is the last user turn, `context` the rest of the conversation).
  * KTO: the same answer to the same prompt counts once, with the mean of its ratings: desirable
    when that mean is >= 4, undesirable when <= 2; anything between (a single 3, or a 2 and a 4
    that disagree) is ignored.
  * DPO: a correction makes a pair (chosen = the correction, rejected = the rated answer); a
    prompt with desirable and undesirable answers makes a pair per undesirable answer, with the
    best-rated desirable one as chosen. Pairs are deduplicated by their normalized texts.
  * Split: by the prompt key, with the SFT data's ratios and salt (`data.splits.split_for`), and
    a prompt that the SFT dataset holds in test or validation is pinned there, so a prompt of the
    frozen test split never trains. A held-out prompt is recognised by the whole prompt and by the
    query alone (a served question after a system turn). Only `split == "train"` examples train.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from statistics import fmean
from typing import Any

import orjson

from health_training.data.feedback import StoredFeedback
from health_training.data.phi import scrub_many
from health_training.data.records import normalize_text
from health_training.data.splits import split_for
from health_training.ml.lm.prompts import user_message

DESIRABLE_MIN_RATING = 4  # a mean rating this high or higher: a desirable answer
UNDESIRABLE_MAX_RATING = 2  # this low or lower: undesirable; in between (3) teaches nothing
DEFAULT_RATIOS: tuple[tuple[str, float], ...] = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
HELD_OUT_ORDER = ("test", "validation")  # a prompt in both SFT splits is pinned to test


def prompt_key(instruction: str, input_: str = "") -> str:
    """SHA-256 of the normalized user turn: the split and dedup key of a preference prompt."""
    return hashlib.sha256(normalize_text(user_message(instruction, input_)).encode()).hexdigest()


def held_out_prompts(splits: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """prompt key -> split for the SFT dataset's held-out rows (`instruction`, `input`)."""
    held: dict[str, str] = {}
    for split in reversed(HELD_OUT_ORDER):  # test last: it wins
        for row in splits.get(split, ()):
            held[prompt_key(str(row["instruction"]), str(row.get("input") or ""))] = split
    return held


@dataclass(frozen=True, slots=True)
class PreferenceExample:
    """One KTO example (`completion` + `desirable`) or one DPO pair (`chosen` vs `rejected`)."""

    kind: str  # "kto" | "dpo"
    source: str  # "rating" | "correction" | "rating_pair"
    prompt_key: str
    split: str
    instruction: str
    input: str
    completion: str = ""
    desirable: bool | None = None
    chosen: str = ""
    rejected: str = ""
    # kto: its mean rating; rating pair: (chosen's, rejected's); correction: (the rejected's,)
    ratings: tuple[float, ...] = ()
    model_versions: tuple[str, ...] = ()
    feedback_ids: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        """Identity of the example's content (what dedup and the data version hash)."""
        texts = (
            (self.completion, str(self.desirable))
            if self.kind == "kto"
            else (self.chosen, self.rejected)
        )
        joined = "\x1f".join((self.kind, self.prompt_key, *(normalize_text(t) for t in texts)))
        return hashlib.sha256(joined.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> PreferenceExample:
        values = dict(data)
        for name in ("ratings", "model_versions", "feedback_ids"):
            values[name] = tuple(values.get(name) or ())
        return PreferenceExample(**values)


@dataclass(frozen=True)
class PreferenceDataset:
    version: str
    examples: tuple[PreferenceExample, ...]
    stats: dict[str, Any] = field(default_factory=dict)

    def train(self) -> tuple[PreferenceExample, ...]:
        return tuple(e for e in self.examples if e.split == "train")

    def to_jsonl(self) -> bytes:
        return b"".join(orjson.dumps(e.to_dict()) + b"\n" for e in self.examples)

    def manifest(self) -> dict[str, Any]:
        return {"version": self.version, "examples": len(self.examples), **self.stats}

    @staticmethod
    def from_jsonl(version: str, data: bytes) -> PreferenceDataset:
        lines = (line for line in data.splitlines() if line.strip())
        return PreferenceDataset(
            version, tuple(PreferenceExample.from_dict(orjson.loads(x)) for x in lines)
        )


@dataclass
class _Answer:
    """One distinct answer to one prompt, with every rating it received."""

    text: str
    ratings: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return fmean(self.ratings)


def _label(mean: float) -> bool | None:
    if mean >= DESIRABLE_MIN_RATING:
        return True
    return False if mean <= UNDESIRABLE_MAX_RATING else None


def data_version(examples: Sequence[PreferenceExample]) -> str:
    """12 hex of the examples' keys and splits: equal versions mean equal training data."""
    digest = hashlib.sha256()
    for line in sorted(f"{e.split}\x1f{e.key}" for e in examples):
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()[:12]


def build_preference_dataset(
    rows: Iterable[StoredFeedback],
    *,
    ratios: Sequence[tuple[str, float]] = DEFAULT_RATIOS,
    salt: str = "v1",
    held_out: Mapping[str, str] | None = None,
) -> PreferenceDataset:
    """KTO examples and DPO pairs of the rated answers (rules in the module docstring)."""
    held = held_out or {}
    rows = sorted(rows, key=lambda r: r.id)
    scrub = _Scrubber(
        t for r in rows for t in (r.query, r.context, r.response, r.corrected_response or "")
    )
    prompts: dict[str, tuple[str, str]] = {}
    answers: dict[str, dict[str, _Answer]] = defaultdict(dict)
    corrections: list[tuple[str, str, str, StoredFeedback]] = []
    by_rating: Counter[int] = Counter()
    by_version: Counter[str] = Counter()
    rows_read = 0
    for row in rows:
        rows_read += 1
        by_rating[row.rating] += 1
        by_version[row.model_version] += 1
        instruction, input_ = scrub(row.query), scrub(row.context)
        key = prompt_key(instruction, input_)
        prompts.setdefault(key, (instruction, input_))
        response = scrub(row.response)
        answer = answers[key].setdefault(normalize_text(response), _Answer(response))
        answer.ratings.append(row.rating)
        answer.ids.append(row.id)
        answer.versions.append(row.model_version)
        if (row.corrected_response or "").strip():
            correction = scrub(row.corrected_response or "")
            if normalize_text(correction) != normalize_text(response):
                corrections.append((key, correction, response, row))

    splits: dict[str, str] = {}
    pinned = 0
    for key, (instruction, _) in prompts.items():
        natural = split_for(key, ratios, salt)
        splits[key] = held.get(key) or held.get(prompt_key(instruction)) or natural
        pinned += splits[key] != natural

    found: dict[str, PreferenceExample] = {}
    ignored = 0

    def add(example: PreferenceExample) -> None:
        found.setdefault(example.key, example)

    for key, by_text in answers.items():
        instruction, input_ = prompts[key]
        labelled: list[tuple[_Answer, bool]] = []
        for answer in by_text.values():
            label = _label(answer.mean)
            if label is None:
                ignored += 1
                continue
            labelled.append((answer, label))
            add(
                PreferenceExample(
                    "kto",
                    "rating",
                    key,
                    splits[key],
                    instruction,
                    input_,
                    completion=answer.text,
                    desirable=label,
                    ratings=(round(answer.mean, 3),),
                    model_versions=tuple(sorted(set(answer.versions))),
                    feedback_ids=tuple(answer.ids),
                )
            )
        good = [a for a, label in labelled if label]
        if not good:
            continue
        best = max(good, key=lambda a: (a.mean, -min(a.ids)))
        for bad in (a for a, label in labelled if not label):
            add(
                PreferenceExample(
                    "dpo",
                    "rating_pair",
                    key,
                    splits[key],
                    instruction,
                    input_,
                    chosen=best.text,
                    rejected=bad.text,
                    ratings=(round(best.mean, 3), round(bad.mean, 3)),
                    model_versions=tuple(sorted(set(best.versions + bad.versions))),
                    feedback_ids=tuple(sorted(best.ids + bad.ids)),
                )
            )
    for key, correction, response, row in corrections:
        instruction, input_ = prompts[key]
        add(
            PreferenceExample(
                "dpo",
                "correction",
                key,
                splits[key],
                instruction,
                input_,
                chosen=correction,
                rejected=response,
                ratings=(float(row.rating),),
                model_versions=(row.model_version,),
                feedback_ids=(row.id,),
            )
        )

    examples = tuple(sorted(found.values(), key=lambda e: (e.split, e.kind, e.key)))
    stats = {
        "rows_read": rows_read,
        "prompts": len(prompts),
        "by_rating": {str(r): by_rating[r] for r in sorted(by_rating)},
        "by_model_version": dict(sorted(by_version.items())),
        "by_kind": dict(sorted(Counter(kind_label(e) for e in examples).items())),
        "by_split": dict(sorted(Counter(e.split for e in examples).items())),
        "ignored_neutral": ignored,
        "pinned_to_held_out": pinned,
        "phi_replaced": dict(sorted(scrub.replaced.items())),
    }
    return PreferenceDataset(data_version(examples), examples, stats)


class _Scrubber:
    """Scrubbed text by original text: every distinct text scrubbed once, in one batch
    (`scrub_many`); prompts and contexts repeat across ratings."""

    def __init__(self, texts: Iterable[str]) -> None:
        distinct = list(dict.fromkeys(t for t in texts if t))
        results = scrub_many(distinct)
        self.clean = {t: r.text for t, r in zip(distinct, results, strict=True)}
        self.replaced: Counter[str] = Counter()
        for result in results:
            self.replaced.update(result.counts)

    def __call__(self, text: str) -> str:
        return self.clean.get(text, text)


def kind_label(example: PreferenceExample) -> str:
    """kto_desirable, kto_undesirable, dpo_correction or dpo_rating_pair."""
    if example.kind == "kto":
        return "kto_desirable" if example.desirable else "kto_undesirable"
    return f"dpo_{example.source}"
