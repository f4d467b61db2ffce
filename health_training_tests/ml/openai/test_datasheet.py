"""`load_datasheet` and `Datasheet`: every job documents its data, or does not start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from health_training.ml import openai as oft
from health_training_tests.ml.openai.support import DATASHEET


def test_datasheet_loads_from_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        "source: ETL journals  # where from\nlicense: internal\nredaction: Safe Harbor scrub\n"
        "intended_use: wearable explanations\ncontact: data-team@example.org\n"
    )
    fields = {k: getattr(DATASHEET, k) for k in oft.DATASHEET_FIELDS}
    (tmp_path / "d.json").write_text(json.dumps(fields))
    from_yaml = oft.load_datasheet(tmp_path / "d.yaml")
    assert from_yaml.source == "ETL journals" and from_yaml.extra == {
        "contact": "data-team@example.org"
    }
    assert from_yaml.tags()["datasheet.redaction"] == "Safe Harbor scrub"
    assert oft.load_datasheet(tmp_path / "d.json") == DATASHEET


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read the datasheet"),
        ("- just a list\n", "a datasheet is a mapping"),
        ("source: x\nlicense: y\nredaction: z\n", "missing ['intended_use']"),
        ("source: x\nlicense: y\nredaction: '  '\nintended_use: w\n", "empty ['redaction']"),
    ],
)
def test_datasheet_refuses_missing_or_empty_fields(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "datasheet.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(oft.DatasheetError, match=r"datasheet\.yaml") as info:
        oft.load_datasheet(path)
    assert message in str(info.value)
    with pytest.raises(oft.DatasheetError, match="empty"):
        oft.Datasheet(source="x", license="", redaction="z", intended_use="w")
