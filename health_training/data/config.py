"""The data-plane policy, loaded from a commented YAML file into frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "data.yaml"


@dataclass(frozen=True, slots=True)
class FilterPolicy:
    min_quality_score: float = 0.7
    complexity_levels: tuple[str, ...] = ("moderate", "high")
    exclude_relevance: tuple[str, ...] = ("standard",)
    apply_to_external: bool = False


@dataclass(frozen=True, slots=True)
class PhiPolicy:
    scrub: bool = True
    pseudonymize_user_ids: bool = True


@dataclass(frozen=True, slots=True)
class SplitPolicy:
    ratios: tuple[tuple[str, float], ...] = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
    salt: str = "v1"
    last_n_months: int | None = None
    balance: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        total = sum(r for _, r in self.ratios)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split ratios must add up to 1.0, got {total:.3f}")
        if "train" not in dict(self.ratios) or "test" not in dict(self.ratios):
            raise ValueError("split ratios need at least 'train' and 'test'")


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    quarantine_warn_share: float = 0.05
    min_examples: tuple[tuple[str, int], ...] = (("train", 50), ("validation", 5), ("test", 5))


@dataclass(frozen=True, slots=True)
class OpenAIExportPolicy:
    token_limit: int = 16385
    price_model: str = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True, slots=True)
class DataConfig:
    format: str = "auto"
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
    cfg = DataConfig(
        format=raw.get("ingest", {}).get("format", "auto"),
        filters=FilterPolicy(
            min_quality_score=float(f.get("min_quality_score", 0.7)),
            complexity_levels=tuple(f.get("complexity_levels", ("moderate", "high"))),
            exclude_relevance=tuple(f.get("exclude_relevance", ("standard",))),
            apply_to_external=bool(f.get("apply_to_external", False)),
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
        ),
        checks=CheckPolicy(
            quarantine_warn_share=float(c.get("quarantine_warn_share", 0.05)),
            min_examples=_pairs(c.get("min_examples"), int) or CheckPolicy().min_examples,
        ),
        openai=OpenAIExportPolicy(
            token_limit=int(o.get("token_limit", 16385)),
            price_model=str(o.get("price_model", "gpt-4o-mini-2024-07-18")),
        ),
    )
    return cfg


__all__ = [
    "CheckPolicy",
    "DataConfig",
    "FilterPolicy",
    "PhiPolicy",
    "SplitPolicy",
    "load_data_config",
]
