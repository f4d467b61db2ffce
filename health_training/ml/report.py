"""The evaluation report: base model vs fine-tuned model on the test split.

`EvalReport` holds plain values (model names, dataset version, per-model eval loss, perplexity
and the metrics of `metrics.score_predictions`, the judge's summary or why it was skipped, the
generation settings, a few PHI-scrubbed sample predictions) and renders them as JSON, Markdown
and a self-contained HTML page whose charts are inline PNGs. `write` puts all three in a folder,
each atomically. `better_than` says, per metric, whether the fine-tuned model beats the base.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from health_training.files import write_atomic

ROLES = ("base", "finetuned")
# (key, label, higher is better, digits); the order of the tables and charts.
METRICS: tuple[tuple[str, str, bool, int], ...] = (
    ("eval_loss", "eval loss", False, 4),
    ("perplexity", "perplexity", False, 2),
    ("exact_match", "exact match", True, 3),
    ("f1", "token F1", True, 3),
    ("bleu", "BLEU (0-100)", True, 2),
    ("rouge1", "ROUGE-1", True, 3),
    ("rouge2", "ROUGE-2", True, 3),
    ("rougeL", "ROUGE-L", True, 3),
    ("hallucinated_number_rate", "hallucinated numbers", False, 3),
    ("phi_rate", "answers with PHI", False, 3),
)
JUDGE_METRICS = ("accuracy", "safety", "clarity", "overall")  # 1-5, higher is better
DOMAIN_COLUMNS = ("f1", "rougeL", "bleu", "hallucinated_number_rate")
_LABEL = {key: label for key, label, _, _ in METRICS}
_DIGITS = {key: digits for key, _, _, digits in METRICS}


@dataclass(frozen=True)
class EvalReport:
    """One evaluation. `models` maps "base" and "finetuned" to `{"eval_loss", "perplexity",
    "overall": {...}, "per_category": {domain: {...}}}`; `judge` maps the same roles to
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

    def __post_init__(self) -> None:
        missing = [role for role in ROLES if role not in self.models]
        if missing:
            raise ValueError(f"EvalReport.models needs {ROLES}; missing {missing}")
        # A tuple whichever sequence came in, so a report equals its JSON round trip.
        object.__setattr__(self, "samples", tuple(dict(s) for s in self.samples))

    # ------------------------------------------------------------ values

    def value(self, role: str, key: str) -> float | None:
        """A headline number of one model: loss, perplexity, an overall metric, or a judge
        mean as "judge_accuracy" etc. None when absent or not finite."""
        model = self.models[role]
        if key in ("eval_loss", "perplexity"):
            return _number(model.get(key))
        if key.startswith("judge_"):
            means = ((self.judge or {}).get(role) or {}).get("means") or {}
            return _number(means.get(key.removeprefix("judge_")))
        return _number((model.get("overall") or {}).get(key))

    def categories(self) -> list[str]:
        return sorted({c for role in ROLES for c in self.models[role].get("per_category") or {}})

    def _domain(self, role: str, category: str) -> Mapping[str, Any]:
        return (self.models[role].get("per_category") or {}).get(category) or {}

    def to_dict(self) -> dict[str, Any]:
        return _finite(asdict(self) | {"schema_version": 1})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalReport:
        return cls(**{k: v for k, v in data.items() if k != "schema_version"})

    def to_json(self) -> str:
        # Infinite or NaN values (a diverged perplexity) become null: JSON has no such numbers.
        return (
            json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False, default=_plain)
            + "\n"
        )

    # ------------------------------------------------------------ tables

    def _headline_table(self) -> tuple[list[str], list[list[str]]]:
        rows = [(key, label, digits) for key, label, _, digits in METRICS]
        if self.judge:
            rows += [(f"judge_{m}", f"judge {m} (1-5)", 2) for m in JUDGE_METRICS]
        wins = better_than(self)
        body = []
        for key, label, digits in rows:
            base, tuned = self.value("base", key), self.value("finetuned", key)
            mark = (
                "—" if key not in wins else "yes" if wins[key] else "tie" if base == tuned else "no"
            )
            body.append(
                [label, _fmt(base, digits), _fmt(tuned, digits), _delta(base, tuned, digits), mark]
            )
        return ["metric", "base", "fine-tuned", "Δ (ft − base)", "fine-tuned better"], body

    def _domain_table(self) -> tuple[list[str], list[list[str]]]:
        head = ["domain", "n"]
        for key in DOMAIN_COLUMNS:
            head += [f"{_LABEL[key]} base", f"{_LABEL[key]} ft", "Δ"]
        body = []
        for cat in self.categories():
            base, tuned = self._domain("base", cat), self._domain("finetuned", cat)
            row = [cat, str(tuned.get("n", base.get("n", "")))]
            for key in DOMAIN_COLUMNS:
                b, t, d = _number(base.get(key)), _number(tuned.get(key)), _DIGITS[key]
                row += [_fmt(b, d), _fmt(t, d), _delta(b, t, d)]
            body.append(row)
        return head, body

    def _notes(self) -> list[str]:
        """One line each: generation settings, and the judge's coverage or why it was skipped."""
        notes = [f"Generation: {_settings(self.generation)}."]
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
            *_md_table(*self._headline_table()),
            "",
            *(f"- {note}" for note in self._notes()),
            "",
            "## Per health domain",
            "",
            *_md_table(*self._domain_table()),
        ]
        if self.samples:
            lines += ["", "## Sample predictions"]
            for i, s in enumerate(self.samples, 1):
                lines += ["", f"### {i}. {s.get('category', '')}", ""]
                lines += [f"- **{k}**: {_one_line(s.get(k, ''))}" for k in _SAMPLE_KEYS]
        return "\n".join(lines) + "\n"

    def charts(self) -> dict[str, bytes]:
        """PNG bytes of the charts: "metrics" (base vs fine-tuned) and "domains"."""

        def scaled(role: str, key: str) -> float | None:
            v = self.value(role, key)
            return None if v is None else v / 100 if key == "bleu" else v

        scores = {
            "BLEU/100" if key == "bleu" else _LABEL[key]: {r: scaled(r, key) for r in ROLES}
            for key, *_ in METRICS[2:]
        }
        panels = [("scores (higher is better) and error rates (lower), 0-1", scores)] + [
            (f"{_LABEL[key]} (lower is better)", {"": {r: self.value(r, key) for r in ROLES}})
            for key in ("eval_loss", "perplexity")
        ]
        by_domain = [
            (
                f"{_LABEL[key]} by domain ({direction} is better)",
                {
                    cat: {r: _number(self._domain(r, cat).get(key)) for r in ROLES}
                    for cat in self.categories()
                },
            )
            for key, direction in (("rougeL", "higher"), ("hallucinated_number_rate", "lower"))
        ]
        return {
            "metrics": _bar_chart(panels, widths=[4, 1, 1]),
            "domains": _bar_chart(by_domain, widths=[1, 1]),
        }

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
            f"<style>{_CSS}</style></head><body><h1>{title}</h1>",
            f"<p>Dataset <code>{e(self.dataset_version)}</code>, {self.n_examples} test examples,"
            f" created {e(self.created_at)}.</p>",
            _html_table(*self._headline_table()),
            *(f"<p>{e(note)}</p>" for note in self._notes()),
            *(
                f'<figure><img alt="{name} chart" src="data:image/png;base64,'
                f'{base64.b64encode(data).decode("ascii")}"></figure>'
                for name, data in pngs.items()
            ),
            "<h2>Per health domain</h2>",
            _html_table(*self._domain_table()),
        ]
        if self.samples:
            parts.append("<h2>Sample predictions</h2>")
            for i, s in enumerate(self.samples, 1):
                items = "".join(
                    f"<dt>{k}</dt><dd>{e(str(s.get(k, '')))}</dd>" for k in _SAMPLE_KEYS
                )
                parts.append(f"<h3>{i}. {e(str(s.get('category', '')))}</h3><dl>{items}</dl>")
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
    """Per metric, whether the fine-tuned model is strictly better than the base (lower is
    better for loss, perplexity, hallucinated numbers and PHI). Metrics one model lacks are
    left out."""
    keys = [(key, higher) for key, _, higher, _ in METRICS]
    keys += [(f"judge_{m}", True) for m in JUDGE_METRICS]
    out: dict[str, bool] = {}
    for key, higher in keys:
        base, tuned = report.value("base", key), report.value("finetuned", key)
        if base is not None and tuned is not None:
            out[key] = tuned > base if higher else tuned < base
    return out


_SAMPLE_KEYS = ("input", "reference", "base", "finetuned")
_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;"
    "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    "dt{font-weight:bold}dd{margin:0 0 .5rem 1rem;white-space:pre-wrap}"
)


def _number(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _plain(obj: Any) -> Any:
    """numpy scalars (`.item()`) and paths as JSON values; anything else is a caller's bug."""
    if hasattr(obj, "item"):
        return _finite(obj.item())
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"EvalReport: {type(obj).__name__} is not JSON serializable")


def _md_table(head: list[str], body: list[list[str]]) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [row(head), "|---" + "|---:" * (len(head) - 1) + "|", *map(row, body)]


def _html_table(head: list[str], body: list[list[str]]) -> str:
    e = html.escape
    rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in body)
    return "<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in head) + f"</tr>{rows}</table>"


def _fmt(x: float | None, digits: int) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _delta(base: float | None, tuned: float | None, digits: int) -> str:
    return "—" if base is None or tuned is None else f"{tuned - base:+.{digits}f}"


def _settings(generation: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(generation.items())) or "not recorded"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _bar_chart(
    panels: Sequence[tuple[str, Mapping[str, Mapping[str, float | None]]]], widths: Sequence[int]
) -> bytes:
    """Side-by-side panels of grouped bars, one bar per role in each group, as PNG bytes.
    Figure + Agg canvas, not pyplot: no global backend or figure registry is touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 + 1.6 * sum(widths), 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), width_ratios=list(widths), squeeze=False)[0]
    colors = {"base": "#9aa5b1", "finetuned": "#2b6cb0"}
    for ax, (title, groups) in zip(axes, panels, strict=True):
        names = list(groups)
        for i, role in enumerate(ROLES):
            heights = [_nan(groups[g].get(role)) for g in names]
            xs = [x + (i - 0.5) * 0.4 for x in range(len(names))]
            ax.bar(xs, heights, width=0.4, label=role, color=colors[role])
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", ncols=2, fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return buf.getvalue()


def _nan(x: float | None) -> float:
    return math.nan if x is None else x
