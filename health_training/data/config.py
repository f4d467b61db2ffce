"""The data-plane policy, loaded from a commented YAML file into frozen dataclasses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from health_training.constants import DEFAULT_OPENAI_MODEL
from health_training.data.openai_chat import DEFAULT_TOKEN_LIMIT

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "data.yaml"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """How the upstream's metadata words map onto ours (the `vocabulary` section of the YAML).

    `values` maps a metadata field (complexity_level, clinical_relevance) to {spelling: internal
    value}; `fields` renames upstream metadata fields (source_s3_key -> source_key)."""

    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)

    def canonical(self, key: str, value: str) -> str | None:
        """The internal value of `value` for field `key`, or None when it is not accepted."""
        return self.values.get(key, {}).get(value)

    def accepted(self, key: str) -> tuple[str, ...]:
        """Every spelling accepted for `key`, internal values first (for error messages)."""
        table = self.values.get(key, {})
        return (*dict.fromkeys(table.values()), *(s for s in table if s not in table.values()))

    def canonical_list(self, key: str, values: Iterable[str]) -> tuple[str, ...]:
        """Filter settings written in either vocabulary, as internal values; unknown ones fail."""
        out = []
        for value in values:
            internal = self.canonical(key, str(value))
            if internal is None:
                raise ValueError(
                    f"{key} value {value!r} is not in the vocabulary; "
                    f"accepted: {', '.join(self.accepted(key))}"
                )
            out.append(internal)
        return tuple(dict.fromkeys(out))

    @staticmethod
    def from_dict(raw: Mapping[str, object]) -> Vocabulary:
        values: dict[str, dict[str, str]] = {}
        for key, table in raw.items():
            if key == "fields":
                continue
            values[key] = {}
            for internal, spellings in dict(table or {}).items():
                for spelling in [internal, *(spellings or [])]:
                    values[key][str(spelling)] = str(internal)
        fields = {str(k): str(v) for k, v in dict(raw.get("fields") or {}).items()}
        return Vocabulary(values, fields)


@dataclass(frozen=True, slots=True)
class FilterPolicy:
    min_quality_score: float = 0.7
    complexity_levels: tuple[str, ...] = ("moderate", "high")
    exclude_relevance: tuple[str, ...] = ("standard",)
    apply_to_external: bool = False
    # The spec's complexity/relevance levels describe narratives; a question example's level says
    # how hard its question is, and dropping "standard" ones would leave only abnormal values
    # (a model that answers "too low" to everything). Questions are filtered by quality only.
    levels_apply_to_questions: bool = False


@dataclass(frozen=True, slots=True)
class PhiPolicy:
    scrub: bool = True
    pseudonymize_user_ids: bool = True


def _held_out_families() -> tuple[str, ...]:
    from health_training.etl.questions.families import HELD_OUT_FAMILIES

    return tuple(sorted(HELD_OUT_FAMILIES))


@dataclass(frozen=True, slots=True)
class SplitPolicy:
    ratios: tuple[tuple[str, float], ...] = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
    salt: str = "v1"
    last_n_months: int | None = None
    balance: tuple[tuple[str, float], ...] | None = None
    # Question examples of these template families form the `freeform_test` split and never
    # train: it measures answers to phrasings the model has not seen (etl/questions).
    freeform_test_families: tuple[str, ...] = field(default_factory=_held_out_families)

    def __post_init__(self) -> None:
        total = sum(r for _, r in self.ratios)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split ratios must add up to 1.0, got {total:.3f}")
        if "train" not in dict(self.ratios) or "test" not in dict(self.ratios):
            raise ValueError("split ratios need at least 'train' and 'test'")


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    quarantine_warn_share: float = 0.05
    drift_threshold: float = 0.15
    min_examples: tuple[tuple[str, int], ...] = (("train", 50), ("validation", 5), ("test", 5))


@dataclass(frozen=True, slots=True)
class OpenAIExportPolicy:
    token_limit: int = DEFAULT_TOKEN_LIMIT
    price_model: str = DEFAULT_OPENAI_MODEL


@dataclass(frozen=True, slots=True)
class DataConfig:
    format: str = "auto"
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    filters: FilterPolicy = field(default_factory=FilterPolicy)
    phi: PhiPolicy = field(default_factory=PhiPolicy)
    splits: SplitPolicy = field(default_factory=SplitPolicy)
    checks: CheckPolicy = field(default_factory=CheckPolicy)
    openai: OpenAIExportPolicy = field(default_factory=OpenAIExportPolicy)


def _pairs(mapping: dict[str, Any] | None, cast: type) -> tuple[tuple[str, Any], ...] | None:
    return None if mapping is None else tuple((str(k), cast(v)) for k, v in mapping.items())


def load_data_config(path: str | Path | None = None, **overrides: Any) -> DataConfig:
    """Read the YAML policy (default: the bundled configs/data.yaml); overrides win.

    Overrides use dotted names, e.g. `load_data_config(**{"filters.min_quality_score": 0.5})`.
    """
    source = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = yaml.safe_load(source.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"data config {source} does not exist") from None
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        raw.setdefault(section, {})[key] = value
    f, p, s = raw.get("filters", {}), raw.get("phi", {}), raw.get("splits", {})
    c, o = raw.get("checks", {}), raw.get("openai", {})
    vocabulary = Vocabulary.from_dict(raw.get("vocabulary") or {})
    if not vocabulary.values:  # a policy file written before the vocabulary section existed
        vocabulary = default_vocabulary()
    cfg = DataConfig(
        format=raw.get("ingest", {}).get("format", "auto"),
        vocabulary=vocabulary,
        filters=FilterPolicy(
            min_quality_score=float(f.get("min_quality_score", 0.7)),
            complexity_levels=vocabulary.canonical_list(
                "complexity_level", f.get("complexity_levels", FilterPolicy.complexity_levels)
            ),
            exclude_relevance=vocabulary.canonical_list(
                "clinical_relevance", f.get("exclude_relevance", FilterPolicy.exclude_relevance)
            ),
            apply_to_external=bool(f.get("apply_to_external", False)),
            levels_apply_to_questions=bool(f.get("levels_apply_to_questions", False)),
        ),
        phi=PhiPolicy(
            scrub=bool(p.get("scrub", True)),
            pseudonymize_user_ids=bool(p.get("pseudonymize_user_ids", True)),
        ),
        splits=SplitPolicy(
            ratios=_pairs(s.get("ratios"), float) or SplitPolicy().ratios,
            salt=str(s.get("salt", "v1")),
            last_n_months=s.get("last_n_months"),
            balance=_pairs(s.get("balance"), float),
            **(
                {"freeform_test_families": tuple(s["freeform_test_families"])}
                if s.get("freeform_test_families") is not None
                else {}
            ),
        ),
        checks=CheckPolicy(
            quarantine_warn_share=float(c.get("quarantine_warn_share", 0.05)),
            drift_threshold=float(c.get("drift_threshold", CheckPolicy.drift_threshold)),
            min_examples=_pairs(c.get("min_examples"), int) or CheckPolicy().min_examples,
        ),
        openai=OpenAIExportPolicy(
            token_limit=int(o.get("token_limit", DEFAULT_TOKEN_LIMIT)),
            price_model=str(o.get("price_model", DEFAULT_OPENAI_MODEL)),
        ),
    )
    return cfg


@cache
def default_vocabulary() -> Vocabulary:
    """The bundled YAML's vocabulary: what `parse_file` uses when its caller names none."""
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text()) or {}
    return Vocabulary.from_dict(raw.get("vocabulary") or {})


__all__ = [
    "CheckPolicy",
    "DataConfig",
    "FilterPolicy",
    "PhiPolicy",
    "SplitPolicy",
    "Vocabulary",
    "default_vocabulary",
    "load_data_config",
]
