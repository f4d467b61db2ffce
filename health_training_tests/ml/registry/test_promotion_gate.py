"""The promotion gate: hard bounds, better only when the 95 % interval clears the margin, worse
only when the whole interval is beyond the allowance, carbon and sample size."""

from __future__ import annotations

from pathlib import Path

import pytest

from health_training.ml.registry.promotion_gate import (
    GateDecision,
    GatePolicy,
    MetricRule,
    evaluate_gate,
    load_gate_policy,
)

CHALLENGER = {
    "eval_loss": 0.4,
    "fact_accuracy": 0.99,
    "fact_recall": 0.93,
    "hallucinated_number_rate": 0.005,
    "phi_rate": 0.0,
    "rougeL": 0.62,
}


def iv(diff: float, low: float, high: float, a: float = 0.5) -> dict[str, float]:
    return {"a": a, "b": a + diff, "diff": diff, "ci_low": low, "ci_high": high}


NEUTRAL = {
    "eval_loss": iv(0.0, -0.01, 0.01),
    "fact_accuracy": iv(0.0, -0.005, 0.005),
    "fact_recall": iv(0.0, -0.01, 0.01),
    "rougeL": iv(0.0, -0.01, 0.01),
}


def gate(challenger=CHALLENGER, intervals=None, **kw):
    kw = {"emissions_kg": 0.2, "n_test": 200} | kw
    return evaluate_gate(challenger, load_gate_policy(), intervals=intervals, **kw)


def test_bundled_policy_has_the_documented_defaults():
    policy = load_gate_policy()
    rules = {r.name: r for r in policy.rules}
    assert policy.mode == "human" and policy.min_better == 1 and policy.min_test_examples == 200
    assert rules["hallucinated_number_rate"].maximum == 0.02 and rules["phi_rate"].maximum == 0.0
    assert rules["fact_accuracy"].minimum == 0.9 and rules["rougeL"].max_regression == 0.02
    assert load_gate_policy(mode="auto").mode == "auto"


def test_policy_rejects_unknown_keys_and_modes(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("mode: human\ncarbon_budgt_kg: 1\n")
    with pytest.raises(ValueError, match="unknown keys"):
        load_gate_policy(path)
    with pytest.raises(ValueError, match="mode"):
        GatePolicy(mode="sometimes")


def test_first_model_needs_only_the_bounds():
    d = gate()
    assert d.passed and d.compared_with is None, d.reasons
    d = gate(CHALLENGER | {"hallucinated_number_rate": 0.03, "phi_rate": 0.01})
    assert not d.passed
    assert "hallucinated_number_rate: 0.03 is above the bound 0.02" in d.reasons
    assert "phi_rate: 0.01 is above the bound 0" in d.reasons


def test_better_only_when_the_interval_clears_the_margin():
    clear = NEUTRAL | {"fact_accuracy": iv(0.04, 0.02, 0.06)}
    d = gate(intervals=clear, compared_with="3")
    assert d.passed and d.better == ["fact_accuracy"]
    assert d.per_metric["fact_accuracy"]["verdict"] == "better"
    # The same point gain with an interval that includes zero is noise: not better.
    noisy = NEUTRAL | {"fact_accuracy": iv(0.04, -0.01, 0.09)}
    d = gate(intervals=noisy, compared_with="3")
    assert not d.passed and d.better == []
    assert "better than production on 0 metric(s)" in d.reasons[-1]


def test_lower_is_better_metrics_use_the_upper_bound():
    d = gate(intervals=NEUTRAL | {"eval_loss": iv(-0.3, -0.4, -0.2)}, compared_with="3")
    assert d.passed and d.better == ["eval_loss"]


def test_worse_only_when_the_whole_interval_is_beyond_the_allowance():
    slightly = NEUTRAL | {
        "fact_accuracy": iv(0.03, 0.01, 0.05),
        "rougeL": iv(-0.02, -0.03, -0.01),  # within the 0.02 allowance at its better end
    }
    assert gate(intervals=slightly).passed
    clearly = slightly | {"rougeL": iv(-0.06, -0.08, -0.04)}
    d = gate(intervals=clearly)
    assert not d.passed and any(r.startswith("rougeL: worse than production") for r in d.reasons)


def test_carbon_sample_size_and_missing_metrics():
    d = gate(CHALLENGER | {"rougeL": float("nan")}, emissions_kg=3.5, n_test=50)
    assert not d.passed
    assert "rougeL: missing from the challenger's metrics" in d.reasons
    assert any("exceed the budget of 3 kg" in r for r in d.reasons)
    assert any("only 50 test examples" in r for r in d.reasons)


def test_decision_round_trips_and_summarizes_its_figures():
    d = gate(intervals=NEUTRAL | {"fact_accuracy": iv(0.04, 0.02, 0.06)}, compared_with="3")
    again = GateDecision.from_json(d.to_json())
    assert (again.passed, again.better, again.compared_with) == (True, ["fact_accuracy"], "3")
    assert "fact_accuracy 0.990 (Δ +0.040 [+0.020, +0.060])" in d.summary()
    auto = GatePolicy(mode="auto", rules=(MetricRule("acc", higher_is_better=True),))
    d = evaluate_gate({"acc": 0.9}, auto, intervals=None, emissions_kg=0, n_test=200)
    assert d.auto_promote


# --- users' verdicts: held-out rated prompts ----------------------------------------------------

RATED_NEUTRAL = {
    "rated_agreement": iv(0.0, -0.01, 0.01),
    "hallucinated_number_rate": iv(0.0, -0.01, 0.01, a=0.0),
}


def test_rated_prompts_count_towards_better_and_block_when_worse():
    # Neutral on the test split, clearly closer to what users liked on their held-out prompts.
    liked = RATED_NEUTRAL | {"rated_agreement": iv(0.3, 0.2, 0.4, a=-0.5)}
    d = gate(intervals=NEUTRAL, compared_with="3", rated=liked, n_rated=40)
    assert d.passed and d.better == ["rated_prompts.rated_agreement"], d.reasons
    entry = d.per_metric["rated_prompts.rated_agreement"]
    assert entry["verdict"] == "better" and entry["prompts"] == 40
    assert entry["challenger"] == pytest.approx(-0.2) and entry["production"] == -0.5
    # More made-up numbers on users' own questions block, whatever the test split says.
    worse = liked | {"hallucinated_number_rate": iv(0.1, 0.05, 0.15, a=0.0)}
    d = gate(intervals=NEUTRAL, compared_with="3", rated=worse, n_rated=40)
    assert not d.passed
    assert any(r.startswith("rated_prompts.hallucinated_number_rate: worse") for r in d.reasons)


def test_too_few_rated_prompts_are_shown_not_decided_on():
    worse = RATED_NEUTRAL | {"rated_agreement": iv(-0.5, -0.7, -0.3)}
    d = gate(intervals=NEUTRAL | {"rougeL": iv(0.05, 0.02, 0.08)}, rated=worse, n_rated=5)
    assert d.passed and d.better == ["rougeL"], d.reasons
    entry = d.per_metric["rated_prompts.rated_agreement"]
    assert entry["verdict"].startswith("not scored: 5 held-out rated prompts; deciding needs 20")
    assert entry["diff"] == -0.5  # the figures are still there for people
    none = gate(intervals=NEUTRAL | {"rougeL": iv(0.05, 0.02, 0.08)})
    assert none.per_metric["rated_prompts.rated_agreement"]["verdict"] == (
        "not scored: no production version or rated prompts"
    )
    assert "rated_prompts.rated_agreement" in d.summary()


def test_policy_reads_the_rated_prompts_section(tmp_path: Path):
    policy = load_gate_policy()
    assert policy.min_rated_prompts == 20 and policy.max_rated_prompts == 200
    assert [r.name for r in policy.rated_rules] == ["rated_agreement", "hallucinated_number_rate"]
    path = tmp_path / "p.yaml"
    path.write_text("rated_prompts:\n  min_prompt: 5\n")
    with pytest.raises(ValueError, match="unknown keys under rated_prompts"):
        load_gate_policy(path)
