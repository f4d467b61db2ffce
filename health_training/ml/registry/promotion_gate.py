"""The promotion gate: may a registered challenger replace production? A pure function of numbers.

The challenger and production answer the same test examples; `evaluation.compare` gives, per
metric, both values and the paired bootstrap 95 % interval of challenger − production. Rules
(configs/promotion.yaml):

  * hard bounds (`min` / `max`) on the challenger's own value hold with or without production:
    hallucinated numbers and PHI are bounded this way;
  * the challenger counts as *better* on a metric only when the interval clears `margin` in the
    metric's good direction (lower bound above +margin for higher-is-better), and as *worse* only
    when the whole interval lies beyond `max_regression` in the bad direction: a noise-level
    difference is neither;
  * with a production version the challenger must be better on at least `min_better` metrics
    and worse on none; without one, the bounds alone decide;
  * users' verdicts: with enough held-out rated prompts (`rated_prompts:`, ml/registry/rated_prompts.py)
    both models answer them and the same better / worse rules apply to `rated_prompts.<metric>`;
    a better one counts towards `min_better`; too few prompts are reported, not decided on;
  * free-form questions (`freeform_test:`, ml/evaluation/freeform_eval.py): the challenger's answers to
    the held-out question families obey their own bounds, and with production the same better
    / worse rules apply to `freeform_test.<metric>`: a version worse on either split is blocked;
  * emissions within the carbon budget, and enough test examples for the intervals to mean
    something.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "configs" / "promotion.yaml"


@dataclass(frozen=True, slots=True)
class MetricRule:
    name: str
    higher_is_better: bool
    minimum: float | None = None  # hard bounds on the challenger's value
    maximum: float | None = None
    margin: float = 0.0  # an improvement counts when the interval clears this
    max_regression: float | None = None  # worse when the whole interval lies beyond this


@dataclass(frozen=True, slots=True)
class GatePolicy:
    mode: str = "human"  # human: a person promotes; auto: promote when the gate passes
    rules: tuple[MetricRule, ...] = ()
    min_better: int = 1
    carbon_budget_kg: float | None = 3.0
    min_test_examples: int = 200
    rated_rules: tuple[MetricRule, ...] = ()  # on held-out rated prompts
    min_rated_prompts: int = 20  # fewer: the figures are shown, not decided on
    max_rated_prompts: int = 200  # the gate answers at most this many (both models)
    freeform_rules: tuple[MetricRule, ...] = ()  # on the freeform_test split

    def __post_init__(self) -> None:
        if self.mode not in ("human", "auto"):
            raise ValueError(f"promotion mode must be 'human' or 'auto', got {self.mode!r}")


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reasons: list[str]  # why it failed; empty when it passed
    per_metric: dict[str, dict[str, Any]]
    better: list[str] = field(default_factory=list)
    compared_with: str | None = None  # the production version, or None
    mode: str = "human"

    @property
    def auto_promote(self) -> bool:
        return self.passed and self.mode == "auto"

    def to_json(self) -> str:
        return json.dumps(
            {
                "passed": self.passed,
                "reasons": self.reasons,
                "per_metric": self.per_metric,
                "better": self.better,
                "compared_with": self.compared_with,
            },
            sort_keys=True,
        )

    @staticmethod
    def from_json(raw: str, mode: str = "human") -> GateDecision:
        data = json.loads(raw)
        return GateDecision(
            passed=bool(data["passed"]),
            reasons=list(data.get("reasons", [])),
            per_metric=dict(data.get("per_metric", {})),
            better=list(data.get("better", [])),
            compared_with=data.get("compared_with"),
            mode=mode,
        )

    def summary(self) -> str:
        """One line a person reads in the registry: the verdict and the deciding figures."""
        figures = []
        for name, m in sorted(self.per_metric.items()):
            value = m.get("challenger")
            text = f"{name} {value:.3f}" if isinstance(value, int | float) else f"{name} n/a"
            if m.get("ci_low") is not None:
                text += f" (Δ {m['diff']:+.3f} [{m['ci_low']:+.3f}, {m['ci_high']:+.3f}])"
            figures.append(text)
        head = "passed" if self.passed else "blocked: " + "; ".join(self.reasons)
        return f"{head} | " + ", ".join(figures)


def load_gate_policy(path: str | Path | None = None, **overrides: Any) -> GatePolicy:
    """Read configs/promotion.yaml (or `path`); top-level overrides win (e.g. mode="auto")."""
    source = Path(path) if path else DEFAULT_POLICY
    raw = {**(yaml.safe_load(source.read_text()) or {}), **overrides}
    known = {"mode", "metrics", "min_better", "carbon_budget_kg", "min_test_examples"}
    known |= {"rated_prompts", "freeform_test"}
    if unknown := sorted(set(raw) - known):
        raise ValueError(f"{source}: unknown keys {unknown}; expected {sorted(known)}")
    rated = raw.get("rated_prompts") or {}
    if unknown := sorted(set(rated) - {"min_prompts", "max_prompts", "metrics"}):
        raise ValueError(f"{source}: unknown keys under rated_prompts: {unknown}")
    return GatePolicy(
        mode=str(raw.get("mode", "human")),
        rules=_rules(raw.get("metrics"), source, "metrics"),
        min_better=int(raw.get("min_better", 1)),
        carbon_budget_kg=_opt_float(raw.get("carbon_budget_kg", 3.0)),
        min_test_examples=int(raw.get("min_test_examples", 200)),
        rated_rules=_rules(rated.get("metrics"), source, "rated_prompts.metrics"),
        min_rated_prompts=int(rated.get("min_prompts", 20)),
        max_rated_prompts=int(rated.get("max_prompts", 200)),
        freeform_rules=_rules(
            (raw.get("freeform_test") or {}).get("metrics"), source, "freeform_test.metrics"
        ),
    )


def _rules(specs: Mapping[str, Any] | None, source: Path, where: str) -> tuple[MetricRule, ...]:
    rules = []
    for name, spec in (specs or {}).items():
        better = spec.get("better")
        if better not in ("higher", "lower"):
            raise ValueError(f"{source}: {where}.{name}.better must be 'higher' or 'lower'")
        rules.append(
            MetricRule(
                name=name,
                higher_is_better=better == "higher",
                minimum=_opt_float(spec.get("min")),
                maximum=_opt_float(spec.get("max")),
                margin=float(spec.get("margin", 0.0)),
                max_regression=_opt_float(spec.get("max_regression")),
            )
        )
    return tuple(rules)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _verdict(rule: MetricRule, interval: Mapping[str, Any] | None) -> str | None:
    """better / worse / None (no clear difference, or no interval) for challenger − production."""
    if not interval:
        return None
    low, high = _finite(interval.get("ci_low")), _finite(interval.get("ci_high"))
    if low is None or high is None:
        return None
    sign = 1.0 if rule.higher_is_better else -1.0
    # In the metric's good direction: "gain" bounds of challenger − production.
    worst, best = sorted((sign * low, sign * high))
    if worst > rule.margin:
        return "better"
    if rule.max_regression is not None and best < -rule.max_regression:
        return "worse"
    return None


def _judge(
    rule: MetricRule, value: float | None, interval: Mapping[str, Any] | None, compared: bool
) -> tuple[dict[str, Any], list[str], str | None]:
    """(the figures recorded for one metric, why it fails, its verdict vs production)."""
    entry: dict[str, Any] = {"challenger": value}
    if interval:
        entry |= {k: interval.get(k) for k in ("diff", "ci_low", "ci_high")}
        entry["production"] = interval.get("a")
    failed = []
    if value is None:
        failed.append("missing from the challenger's metrics")
    else:
        if rule.minimum is not None and value < rule.minimum - 1e-12:
            failed.append(f"{value:.4g} is below the bound {rule.minimum:g}")
        if rule.maximum is not None and value > rule.maximum + 1e-12:
            failed.append(f"{value:.4g} is above the bound {rule.maximum:g}")
    verdict = _verdict(rule, interval) if compared else None
    if verdict == "worse" and interval:
        failed.append(
            f"worse than production beyond {rule.max_regression:g} "
            f"(Δ {interval['diff']:+.4g}, 95 % CI [{interval['ci_low']:+.4g}, "
            f"{interval['ci_high']:+.4g}])"
        )
    entry |= {"verdict": verdict or "no clear difference", "passed": not failed}
    return entry, failed, verdict


def evaluate_gate(
    challenger: Mapping[str, Any],
    policy: GatePolicy,
    *,
    intervals: Mapping[str, Mapping[str, Any]] | None,
    emissions_kg: float,
    n_test: int,
    compared_with: str | None = None,
    rated: Mapping[str, Mapping[str, Any]] | None = None,
    n_rated: int = 0,
    freeform: Mapping[str, Any] | None = None,
    freeform_intervals: Mapping[str, Mapping[str, Any]] | None = None,
) -> GateDecision:
    """Decide on the challenger's overall metrics and, with a production version, the intervals
    of challenger − production on the same examples (`evaluation.compare(...)["intervals"]
    ["overall"]`, production as a and the challenger as b); `rated`: the same on `n_rated`
    held-out rated prompts (`rated_prompts.compare_rated`), None when not compared;
    `freeform`: the challenger's overall free-form metrics (None: the dataset has no
    freeform_test split) and `freeform_intervals` challenger − production on them."""
    reasons: list[str] = []
    per_metric: dict[str, dict[str, Any]] = {}
    better: list[str] = []
    for rule in policy.rules:
        interval = (intervals or {}).get(rule.name)
        entry, failed, verdict = _judge(
            rule, _finite(challenger.get(rule.name)), interval, intervals is not None
        )
        better += [rule.name] if verdict == "better" else []
        per_metric[rule.name] = entry
        reasons += [f"{rule.name}: {f}" for f in failed]
    for rule in policy.rated_rules:
        name = f"rated_prompts.{rule.name}"
        if rated is None or n_rated < policy.min_rated_prompts:
            why = (
                "no production version or rated prompts"
                if rated is None
                else (
                    f"{n_rated} held-out rated prompts; deciding needs {policy.min_rated_prompts}"
                )
            )
            shown = (rated or {}).get(rule.name) or {}
            per_metric[name] = {
                "challenger": _finite(shown.get("b")),
                **{k: shown.get(k) for k in ("diff", "ci_low", "ci_high")},
                "verdict": f"not scored: {why}",
                "passed": True,
                "prompts": n_rated,
            }
            continue
        interval = rated.get(rule.name)
        value = _finite((interval or {}).get("b"))
        entry, failed, verdict = _judge(rule, value, interval, True)
        better += [name] if verdict == "better" else []
        per_metric[name] = entry | {"prompts": n_rated}
        reasons += [f"{name}: {f}" for f in failed]
    for rule in policy.freeform_rules:
        name = f"freeform_test.{rule.name}"
        if freeform is None:
            per_metric[name] = {"verdict": "not scored: no freeform_test split", "passed": True}
            continue
        interval = (freeform_intervals or {}).get(rule.name)
        entry, failed, verdict = _judge(
            rule, _finite(freeform.get(rule.name)), interval, freeform_intervals is not None
        )
        better += [name] if verdict == "better" else []
        per_metric[name] = entry
        reasons += [f"{name}: {f}" for f in failed]
    if intervals is not None and len(better) < policy.min_better:
        reasons.append(
            f"better than production on {len(better)} metric(s) ({', '.join(better) or 'none'}); "
            f"the gate needs {policy.min_better} whose 95 % interval clears its margin"
        )
    if policy.carbon_budget_kg is not None and emissions_kg > policy.carbon_budget_kg:
        reasons.append(
            f"emissions {emissions_kg:.3g} kg CO2eq exceed the budget of"
            f" {policy.carbon_budget_kg:g} kg per run"
        )
    if n_test < policy.min_test_examples:
        reasons.append(f"only {n_test} test examples; the gate needs {policy.min_test_examples}")
    return GateDecision(not reasons, reasons, per_metric, better, compared_with, policy.mode)
