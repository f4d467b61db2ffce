"""Formatting for the evaluation report: numbers that may be missing or not finite, JSON-safe
values, Markdown and HTML tables, differences and intervals as text, and the page's CSS."""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping
from typing import Any

SAMPLE_KEYS = ("input", "reference", "base", "finetuned")
CSS = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
    "td,th{border:1px solid #ccc;padding:.3rem .6rem;"
    "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    "dt{font-weight:bold}dd{margin:0 0 .5rem 1rem;white-space:pre-wrap}"
)


def number(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


def plain(obj: Any) -> Any:
    """numpy scalars (`.item()`) and paths as JSON values; anything else is a caller's bug."""
    if hasattr(obj, "item"):
        return finite(obj.item())
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"EvalReport: {type(obj).__name__} is not JSON serializable")


def md_table(head: list[str], body: list[list[str]]) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [row(head), "|---" + "|---:" * (len(head) - 1) + "|", *map(row, body)]


def html_table(head: list[str], body: list[list[str]]) -> str:
    e = html.escape
    rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in body)
    header = "".join(f"<th>{e(c)}</th>" for c in head)
    return f'<div class="scroll"><table><tr>{header}</tr>{rows}</table></div>'


def fmt(x: float | None, digits: int) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def delta(base: float | None, tuned: float | None, digits: int) -> str:
    return "—" if base is None or tuned is None else f"{tuned - base:+.{digits}f}"


def ci(interval: Mapping[str, Any] | None, digits: int) -> str:
    if not interval:
        return ""
    low, high = number(interval.get("ci_low")), number(interval.get("ci_high"))
    return "" if low is None or high is None else f"[{low:+.{digits}f}, {high:+.{digits}f}]"


def settings_line(generation: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(generation.items())) or "not recorded"


def one_line(text: str) -> str:
    return " ".join(str(text).split())
