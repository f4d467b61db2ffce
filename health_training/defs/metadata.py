"""Helpers for what assets show people in the UI: metadata values built the same way everywhere."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> dg.MetadataValue:
    """A markdown table for the UI; floats rounded to 4 significant places, empty cells shown."""

    def cell(value: object) -> str:
        if value is None or value == "":
            return "—"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))
