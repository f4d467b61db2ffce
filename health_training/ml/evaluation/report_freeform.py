"""The evaluation report's free-form part: answers to questions of template families the model
never trained on (the `freeform_test` split; metrics in freeform_eval.py), as Markdown and HTML.

`EvalReport.freeform` holds the section as plain values: `n_examples`, `models` (base and
finetuned, each `{"overall": ..., "per_category": {question kind: ...}}`), `intervals`
(fine-tuned − base, overall and per kind), `generation`, `seconds_per_example` and `samples`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

# (key, label, higher is better, digits): the free-form table's rows, in order.
FREEFORM_METRICS: tuple[tuple[str, str, bool, int], ...] = (
    ("asked_fact_rate", "asked fact stated correctly", True, 3),
    ("fact_accuracy", "fact accuracy", True, 3),
    ("computation_accuracy", "computations correct", True, 3),
    ("cannot_answer_rate", "cannot-answer handled", True, 3),
    ("hallucinated_number_rate", "hallucinated numbers", False, 3),
    ("contradiction_rate", "answers contradicting their own numbers", False, 3),
    ("eos_rate", "answers ended by EOS", True, 3),
    ("eval_loss", "response-token loss", False, 4),
    ("rougeL", "ROUGE-L", True, 3),
)
KIND_COLUMNS = ("asked_fact_rate", "hallucinated_number_rate", "eos_rate")


def _num(x: Any) -> float | None:
    """A finite number, else None (NaN and infinities from a diverged metric included)."""
    if not isinstance(x, int | float) or isinstance(x, bool):
        return None
    return float(x) if math.isfinite(x) else None


def _fmt(x: float | None, digits: int) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def verdict(interval: Mapping[str, Any] | None, higher: bool) -> str:
    """better / worse / no clear difference by the 95 % interval of a difference ("—": none);
    the narrative report's verdicts use it too."""
    low = _num((interval or {}).get("ci_low"))
    high = _num((interval or {}).get("ci_high"))
    if low is None or high is None:
        return "—"
    if (low > 0 and higher) or (high < 0 and not higher):
        return "better"
    if (high < 0 and higher) or (low > 0 and not higher):
        return "worse"
    return "no clear difference"


def headline(section: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    overall = {r: section["models"][r]["overall"] for r in ("base", "finetuned")}
    intervals = (section.get("intervals") or {}).get("overall") or {}
    body = []
    for key, label, higher, digits in FREEFORM_METRICS:
        base, tuned = _num(overall["base"].get(key)), _num(overall["finetuned"].get(key))
        if base is None and tuned is None:
            continue
        iv = intervals.get(key) or {}
        low, high = _num(iv.get("ci_low")), _num(iv.get("ci_high"))
        ci = "" if low is None or high is None else f"[{low:+.{digits}f}, {high:+.{digits}f}]"
        delta = "—" if base is None or tuned is None else f"{tuned - base:+.{digits}f}"
        body.append(
            [label, _fmt(base, digits), _fmt(tuned, digits), delta, ci, verdict(iv, higher)]
        )
    return ["metric", "base", "fine-tuned", "Δ (ft − base)", "95 % CI of Δ", "fine-tuned is"], body


def per_kind(section: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    labels = {k: label for k, label, _, _ in FREEFORM_METRICS}
    head = ["question kind", "n", *(f"{labels[k]} base → ft" for k in KIND_COLUMNS)]
    base = section["models"]["base"].get("per_category") or {}
    tuned = section["models"]["finetuned"].get("per_category") or {}
    body = []
    for kind in sorted(set(base) | set(tuned)):
        b, t = base.get(kind) or {}, tuned.get(kind) or {}
        row = [kind, str(t.get("n", b.get("n", "")))]
        row += [f"{_fmt(_num(b.get(k)), 3)} → {_fmt(_num(t.get(k)), 3)}" for k in KIND_COLUMNS]
        body.append(row)
    return head, body


def markdown(section: Mapping[str, Any], md_table: Any) -> list[str]:
    gen = section.get("generation") or {}
    lines = [
        "",
        "## Free-form questions (template families never trained on)",
        "",
        f"{section['n_examples']} examples of the `freeform_test` split; "
        + ", ".join(f"{k}={v}" for k, v in sorted(gen.items())),
        "",
        *md_table(*headline(section)),
        "",
        *md_table(*per_kind(section)),
    ]
    for s in section.get("samples") or ():
        lines += ["", f"### {s.get('category', '')}", ""]
        lines += [f"- **{k}**: {' '.join(str(s.get(k, '')).split())}" for k in _SAMPLE_KEYS]
    return lines


def html_part(section: Mapping[str, Any], html_table: Any) -> str:
    e = html.escape
    parts = [
        "<h2>Free-form questions (template families never trained on)</h2>",
        f"<p>{section['n_examples']} examples of the <code>freeform_test</code> split.</p>",
        html_table(*headline(section)),
        html_table(*per_kind(section)),
    ]
    for s in section.get("samples") or ():
        items = "".join(f"<dt>{k}</dt><dd>{e(str(s.get(k, '')))}</dd>" for k in _SAMPLE_KEYS)
        parts.append(f"<h3>{e(str(s.get('category', '')))}</h3><dl>{items}</dl>")
    return "".join(parts)


_SAMPLE_KEYS = ("input", "reference", "base", "finetuned")
