"""The datasheet every fine-tuning job needs: where the data came from and what it may be used for.

A YAML (or JSON) mapping with at least `source`, `license`, `redaction` (how PHI was removed) and
`intended_use`; any further keys are kept as `extra`. Its fields become MLflow tags on the run
and the whole sheet is logged as datasheet.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from health_training.ml.openai.fine_tune_errors import DatasheetError

DATASHEET_FIELDS = ("source", "license", "redaction", "intended_use")


@dataclass(frozen=True)
class Datasheet:
    """Where the training data came from and what it may be used for; every job needs one."""

    source: str  # e.g. "ETL health journals 2025-01..03, dataset version 3f2a…"
    license: str  # terms the data may be used under
    redaction: str  # how PHI was removed (e.g. "HIPAA Safe Harbor scrub + second scan")
    intended_use: str  # what the model is for, and what it is not for
    extra: Mapping[str, str] = field(default_factory=dict)  # any further documented fields

    def __post_init__(self) -> None:
        empty = [name for name in DATASHEET_FIELDS if not str(getattr(self, name) or "").strip()]
        if empty:
            raise DatasheetError(f"datasheet field(s) {empty} are empty: describe each of them")

    def to_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DATASHEET_FIELDS} | dict(self.extra)

    def tags(self) -> dict[str, str]:
        # MLflow caps tag values (8,000 characters); the full text is logged as datasheet.json.
        return {f"datasheet.{k}": str(v)[:5000] for k, v in self.to_dict().items()}


def load_datasheet(path: str | Path) -> Datasheet:
    """A YAML or JSON mapping with (at least) source, license, redaction and intended_use."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, yaml.YAMLError) as exc:
        raise DatasheetError(f"{path}: cannot read the datasheet ({exc})") from exc
    if not isinstance(raw, dict):
        raise DatasheetError(f"{path}: a datasheet is a mapping with keys {list(DATASHEET_FIELDS)}")
    missing = [name for name in DATASHEET_FIELDS if name not in raw]
    empty = [name for name in DATASHEET_FIELDS if name in raw and not str(raw[name] or "").strip()]
    if missing or empty:
        raise DatasheetError(
            f"{path}: datasheet field(s) missing {missing}, empty {empty}; every job needs "
            f"{list(DATASHEET_FIELDS)} filled in (how PHI was removed goes under 'redaction')"
        )
    extra = {str(k): str(v) for k, v in raw.items() if k not in DATASHEET_FIELDS}
    return Datasheet(**{name: str(raw[name]).strip() for name in DATASHEET_FIELDS}, extra=extra)
