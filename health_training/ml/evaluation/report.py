"""The evaluation report: base model vs fine-tuned model on the test split.

`EvalReport` holds plain values (model names, dataset version, per-model metrics of
`metrics.aggregate` overall and per domain, the paired bootstrap 95 % interval of every
difference, the decoding settings, seconds per example, the judge's summary or why it was
skipped, a few PHI-scrubbed sample predictions) and renders them as JSON, Markdown and a
self-contained HTML page whose charts are inline PNGs. `write` puts all three in a folder, each
atomically. `better_than` says, per metric, whether the fine-tuned model beats the base: by the
interval when there is one (its bound clears zero), else by the point values.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from health_training.files import write_atomic
from health_training.ml.evaluation.report_format import (
    CSS,
    SAMPLE_KEYS,
    ci,
    delta,
    finite,
    fmt,
    html_table,
    md_table,
    number,
    one_line,
    plain,
    settings_line,
)
from health_training.ml.evaluation.report_metrics import (
    DIGITS,
    DOMAIN_COLUMNS,
    JUDGE_METRICS,
    LABEL,
    METRICS,
    ROLES,
)


@dataclass(frozen=True)
class EvalReport:
    """One evaluation. `models` maps "base" and "finetuned" to `{"overall": {...},
    "per_category": {domain: {...}}}` (metrics.aggregate; older reports carry eval_loss and
    perplexity beside them); `intervals` holds `{"overall": {metric: {"diff", "ci_low",
    "ci_high", ...}}, "per_category": {...}}` for fine-tuned − base; `judge` maps the roles to
    `JudgeResult.summary()` dicts. `samples` hold already PHI-scrubbed text (the caller's duty):
    `{"category", "input", "reference", "base", "finetuned"}`."""

    base_model: str
    finetuned_model: str
    dataset_version: str
    n_examples: int
    models: Mapping[str, Mapping[str, Any]]
    created_at: str
    generation: Mapping[str, Any] = field(default_factory=dict)
    judge: Mapping[str, Mapping[str, Any]] | None = None
    judge_skipped_reason: str | None = None
    samples: Sequence[Mapping[str, str]] = ()
    intervals: Mapping[str, Any] | None = None
    seconds_per_example: Mapping[str, float] | None = None
    loss_definition: str = ""
    notes: Sequence[str] = ()
    freeform: Mapping[str, Any] | None = None  # the freeform_test split (report_freeform.py)

    def __post_init__(self) -> None:
        missing = [role for role in ROLES if role not in self.models]
        if missing:
            raise ValueError(f"EvalReport.models needs {ROLES}; missing {missing}")
        # A tuple whichever sequence came in, so a report equals its JSON round trip.
        object.__setattr__(self, "samples", tuple(dict(s) for s in self.samples))
        object.__setattr__(self, "notes", tuple(self.notes))

    # ------------------------------------------------------------ values

    def value(self, role: str, key: str) -> float | None:
        """A headline number of one model: loss, perplexity, an overall metric, or a judge
        mean as "judge_accuracy" etc. None when absent or not finite."""
        model = self.models[role]
        if key in ("eval_loss", "perplexity") and key in model:
            return number(model.get(key))
        if key.startswith("judge_"):
            means = ((self.judge or {}).get(role) or {}).get("means") or {}
            return number(means.get(key.removeprefix("judge_")))
        return number((model.get("overall") or {}).get(key))

    def categories(self) -> list[str]:
        return sorted({c for role in ROLES for c in self.models[role].get("per_category") or {}})

    def _domain(self, role: str, category: str) -> Mapping[str, Any]:
        return (self.models[role].get("per_category") or {}).get(category) or {}

    def interval(self, key: str, category: str | None = None) -> Mapping[str, Any] | None:
        """The 95 % interval of fine-tuned − base for `key` (overall, or in one domain)."""
        found = self.intervals or {}
        table = (
            found.get("overall")
            if category is None
            else found.get("per_category", {}).get(category)
        )
        return (table or {}).get(key)

    def to_dict(self) -> dict[str, Any]:
        return finite(asdict(self) | {"schema_version": 1})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalReport:
        return cls(**{k: v for k, v in data.items() if k != "schema_version"})

    def to_json(self) -> str:
        # Infinite or NaN values (a diverged perplexity) become null: JSON has no such numbers.
        return (
            json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False, default=plain)
            + "\n"
        )

    # ------------------------------------------------------------ tables

    def _verdict(self, key: str, higher: bool, category: str | None = None) -> str:
        from health_training.ml.evaluation.report_freeform import verdict

        return verdict(self.interval(key, category), higher)

    def _headline_table(self) -> tuple[list[str], list[list[str]]]:
        rows = [(key, label, higher, digits) for key, label, higher, digits in METRICS]
        if self.judge:
            rows += [(f"judge_{m}", f"judge {m} (1-5)", True, 2) for m in JUDGE_METRICS]
        body = []
        for key, label, higher, digits in rows:
            base, tuned = self.value("base", key), self.value("finetuned", key)
            if base is None and tuned is None:
                continue
            body.append(
                [
                    label,
                    fmt(base, digits),
                    fmt(tuned, digits),
                    delta(base, tuned, digits),
                    ci(self.interval(key), digits),
                    self._verdict(key, higher),
                ]
            )
        head = ["metric", "base", "fine-tuned", "Δ (ft − base)", "95 % CI of Δ", "fine-tuned is"]
        return head, body

    def _domain_table(self) -> tuple[list[str], list[list[str]]]:
        head = ["domain", "n"]
        for key in DOMAIN_COLUMNS:
            head += [f"{LABEL[key]} base → ft", "Δ [95 % CI]"]
        body = []
        for cat in self.categories():
            base, tuned = self._domain("base", cat), self._domain("finetuned", cat)
            row = [cat, str(tuned.get("n", base.get("n", "")))]
            for key in DOMAIN_COLUMNS:
                b, t, d = number(base.get(key)), number(tuned.get(key)), DIGITS[key]
                row += [
                    f"{fmt(b, d)} → {fmt(t, d)}",
                    f"{delta(b, t, d)} {ci(self.interval(key, cat), d)}".strip(),
                ]
            body.append(row)
        return head, body

    def _notes(self) -> list[str]:
        """One line each: generation settings, and the judge's coverage or why it was skipped."""
        notes = [f"Generation: {settings_line(self.generation)}."]
        if self.loss_definition:
            notes.append(f"Loss: {self.loss_definition}.")
        if self.seconds_per_example:
            notes.append(
                "Seconds per example: "
                + ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.seconds_per_example.items()))
                + "."
            )
        if self.intervals:
            notes.append(
                "Intervals: paired bootstrap over test examples, 1,000 seeded resamples, "
                "percentile 95 %; a difference counts only when its interval excludes zero."
            )
        notes += list(self.notes)
        if self.judge_skipped_reason:
            notes.append(f"LLM judge skipped: {self.judge_skipped_reason}")
        for role, summary in (self.judge or {}).items():
            notes.append(
                f"LLM judge ({summary.get('model', '?')}) on {role}: "
                f"{summary.get('n_scored', 0)} of {summary.get('n_requested', 0)} scored, "
                f"{summary.get('n_errors', 0)} errors, {summary.get('n_timeouts', 0)} timeouts."
            )
        return notes

    # ------------------------------------------------------------ renderings

    def to_markdown(self) -> str:
        lines = [
            f"# Evaluation: {self.finetuned_model} vs {self.base_model}",
            "",
            f"Dataset `{self.dataset_version}`, {self.n_examples} test examples, "
            f"created {self.created_at}.",
            "",
            *md_table(*self._headline_table()),
            "",
            *(f"- {note}" for note in self._notes()),
            "",
            "## Per health domain",
            "",
            *md_table(*self._domain_table()),
        ]
        if self.samples:
            lines += ["", "## Sample predictions"]
            for i, s in enumerate(self.samples, 1):
                lines += ["", f"### {i}. {s.get('category', '')}", ""]
                lines += [f"- **{k}**: {one_line(s.get(k, ''))}" for k in SAMPLE_KEYS]
        if self.freeform:
            from health_training.ml.evaluation import report_freeform

            lines += report_freeform.markdown(self.freeform, md_table)
        return "\n".join(lines) + "\n"

    def charts(self) -> dict[str, bytes]:
        """PNG bytes of the charts: "metrics" (base vs fine-tuned) and "domains"."""
        from health_training.ml.evaluation.report_charts import report_charts

        return report_charts(self)

    def to_html(self, charts_dir: Path | None = None) -> str:
        """A self-contained page, charts inlined as base64 PNG; with `charts_dir` the PNGs are
        also saved there (metrics.png, domains.png), e.g. to log them as artifacts."""
        pngs = self.charts()
        if charts_dir is not None:
            charts_dir.mkdir(parents=True, exist_ok=True)
            for name, data in pngs.items():
                write_atomic(charts_dir / f"{name}.png", data)
        e = html.escape
        title = e(f"Evaluation: {self.finetuned_model} vs {self.base_model}")
        parts = [
            f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>',
            f"<style>{CSS}</style></head><body><h1>{title}</h1>",
            f"<p>Dataset <code>{e(self.dataset_version)}</code>, {self.n_examples} test examples,"
            f" created {e(self.created_at)}.</p>",
            html_table(*self._headline_table()),
            *(f"<p>{e(note)}</p>" for note in self._notes()),
            *(
                f'<figure><img alt="{name} chart" src="data:image/png;base64,'
                f'{base64.b64encode(data).decode("ascii")}"></figure>'
                for name, data in pngs.items()
            ),
            "<h2>Per health domain</h2>",
            html_table(*self._domain_table()),
        ]
        if self.samples:
            parts.append("<h2>Sample predictions</h2>")
            for i, s in enumerate(self.samples, 1):
                items = "".join(f"<dt>{k}</dt><dd>{e(str(s.get(k, '')))}</dd>" for k in SAMPLE_KEYS)
                parts.append(f"<h3>{i}. {e(str(s.get('category', '')))}</h3><dl>{items}</dl>")
        if self.freeform:
            from health_training.ml.evaluation import report_freeform

            parts.append(report_freeform.html_part(self.freeform, html_table))
        parts.append("</body></html>\n")
        return "".join(parts)

    # ------------------------------------------------------------ files

    def write(self, out_dir: Path) -> dict[str, Path]:
        """eval_report.json, .md and .html in `out_dir`, each written to a temporary file and
        renamed, so a reader never sees half a report."""
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            "json": out_dir / "eval_report.json",
            "md": out_dir / "eval_report.md",
            "html": out_dir / "eval_report.html",
        }
        write_atomic(paths["json"], self.to_json().encode("utf-8"))
        write_atomic(paths["md"], self.to_markdown().encode("utf-8"))
        write_atomic(paths["html"], self.to_html().encode("utf-8"))
        return paths


def better_than(report: EvalReport) -> dict[str, bool]:
    """Per metric, whether the fine-tuned model is better than the base (lower is better for
    loss, perplexity, hallucinated numbers and PHI): by the 95 % interval when the report has
    one (its bound clears zero), else strictly by the point values. Metrics one model lacks are
    left out."""
    keys = [(key, higher) for key, _, higher, _ in METRICS]
    keys += [(f"judge_{m}", True) for m in JUDGE_METRICS]
    out: dict[str, bool] = {}
    for key, higher in keys:
        base, tuned = report.value("base", key), report.value("finetuned", key)
        if base is None or tuned is None:
            continue
        iv = report.interval(key)
        if iv and number(iv.get("ci_low")) is not None and number(iv.get("ci_high")) is not None:
            out[key] = report._verdict(key, higher) == "better"
        else:
            out[key] = tuned > base if higher else tuned < base
    return out
