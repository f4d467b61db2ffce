"""The evaluation report's charts, as PNG bytes (matplotlib Figure + Agg canvas, no pyplot).

"metrics": each metric's difference fine-tuned − base with its 95 % interval (a forest plot:
the length of a whisker is the uncertainty, a whisker that crosses zero means no clear
difference), and the two models side by side where no interval exists. "domains": ROUGE-L and
fact accuracy per health domain for both models. Legends sit below the axes so they never
cover a title or a bar.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

_COLORS = {"base": "#9aa5b1", "finetuned": "#2b6cb0", "better": "#2f855a", "worse": "#c53030"}
_NEUTRAL = "#718096"


def report_charts(report: Any) -> dict[str, bytes]:
    """{"metrics": PNG, "domains": PNG} for an `EvalReport`."""
    from health_training.ml.evaluation.report_metrics import METRICS, ROLES

    rows = []
    for key, label, higher, _ in METRICS:
        ci = report.interval(key)
        if key == "perplexity" or not ci or ci.get("ci_low") is None:
            continue
        scale = 0.01 if key == "bleu" else 1.0
        rows.append(
            (
                f"{label}{' /100' if key == 'bleu' else ''}",
                ci["diff"] * scale,
                ci["ci_low"] * scale,
                ci["ci_high"] * scale,
                report._verdict(key, higher),
            )
        )
    if rows:
        metrics = _forest(rows, "fine-tuned − base, 95 % interval")
    else:  # an older report without intervals: the two models side by side
        values = {
            label: {r: report.value(r, key) for r in ROLES}
            for key, label, _, _ in METRICS
            if key not in ("eval_loss", "perplexity")
        }
        metrics = _bars([("scores and error rates, 0-1", values)])
    domains = [
        (
            f"{label} by domain",
            {
                cat: {r: report._domain(r, cat).get(key) for r in ROLES}
                for cat in report.categories()
            },
        )
        for key, label in (("rougeL", "ROUGE-L"), ("fact_accuracy", "fact accuracy"))
    ]
    return {"metrics": metrics, "domains": _bars(domains)}


def _forest(rows: Sequence[tuple[str, float, float, float, str]], title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 0.45 * len(rows) + 1.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for y, (_, diff, low, high, verdict) in enumerate(reversed(rows)):
        color = _COLORS.get(verdict, _NEUTRAL)
        # A percentile interval need not contain the point estimate (BLEU is not linear).
        xerr = [[max(diff - low, 0.0)], [max(high - diff, 0.0)]]
        ax.errorbar(diff, y, xerr=xerr, fmt="o", color=color, capsize=3)
    ax.axvline(0.0, color="#444", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)], fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("difference (green: better, red: worse, grey: interval includes 0)", fontsize=8)
    return _png(fig)


def _bars(panels: Sequence[tuple[str, Mapping[str, Mapping[str, Any]]]]) -> bytes:
    """Side-by-side panels of grouped bars, base and fine-tuned in each group."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5 * len(panels), 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, groups) in zip(axes, panels, strict=True):
        names = list(groups)
        for i, role in enumerate(("base", "finetuned")):
            heights = [_nan(groups[g].get(role)) for g in names]
            xs = [x + (i - 0.5) * 0.4 for x in range(len(names))]
            ax.bar(xs, heights, width=0.4, label=role, color=_COLORS[role])
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
    return _png(fig)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return buf.getvalue()


def _nan(x: Any) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan
