"""Held-out rated prompts for the gate: grouping liked and disliked texts per prompt (test split
only), the agreement and number metrics, and the paired interval of challenger − production."""

from __future__ import annotations

import pytest

from health_training.ml.preference.examples import PreferenceExample
from health_training.ml.registry.rated_prompts import (
    RatedPrompt,
    compare_rated,
    held_out_rated_prompts,
    prompt_stats,
)

PROMPT = "How was my glucose? Mean 142 mg/dL, 71% in range."
GOOD = "Your glucose averaged 142 mg/dL with 71% of readings in range."
BAD = "Your glucose averaged 180 mg/dL, far above range."


def kto(key: str, split: str, text: str, desirable: bool) -> PreferenceExample:
    return PreferenceExample(
        "kto", "rating", key, split, PROMPT, "", completion=text, desirable=desirable
    )


def dpo(key: str, split: str, chosen: str, rejected: str) -> PreferenceExample:
    return PreferenceExample(
        "dpo", "correction", key, split, PROMPT, "", chosen=chosen, rejected=rejected
    )


def test_only_the_held_out_split_grouped_by_prompt():
    examples = [
        kto("b", "test", GOOD, True),
        kto("b", "test", BAD, False),
        dpo("b", "test", GOOD, BAD),  # the same texts again: kept once
        kto("a", "test", BAD, False),  # ratings alone: nothing liked
        kto("c", "train", GOOD, True),  # trains: never scored
        dpo("d", "validation", GOOD, BAD),
    ]
    found = held_out_rated_prompts(examples)
    assert [p.prompt_key for p in found] == ["a", "b"]
    assert found[0].liked == () and found[0].disliked == (BAD,)
    assert found[1].liked == (GOOD,) and found[1].disliked == (BAD,)
    assert held_out_rated_prompts(examples, limit=1) == found[:1]
    assert found[1].as_row() == {
        "content_key": "b",
        "instruction": PROMPT,
        "input": "",
        "output": GOOD,
    }


def test_agreement_rewards_moving_from_disliked_to_liked_and_numbers_are_checked():
    prompt = RatedPrompt("b", PROMPT, "", (GOOD,), (BAD,))
    stats = prompt_stats([prompt, prompt], [GOOD, BAD])
    (good, _), (bad, _) = stats["rated_agreement"]
    assert good > 0.3 and bad < -0.3 and good == pytest.approx(-bad)  # shared words cancel
    # 142 mg/dL and 71 % are in the prompt; 180 mg/dL is not.
    assert stats["hallucinated_number_rate"] == [(0.0, 2.0), (1.0, 1.0)]
    only_bad = RatedPrompt("a", PROMPT, "", (), (BAD,))
    assert prompt_stats([only_bad], [BAD])["rated_agreement"] == [(-1.0, 1.0)]
    with pytest.raises(ValueError, match="1 prompts but 2 answers"):
        prompt_stats([only_bad], [BAD, GOOD])


def test_compare_gives_the_paired_interval_of_challenger_minus_production():
    prompts = [RatedPrompt(str(i), PROMPT, "", (GOOD,), (BAD,)) for i in range(30)]
    found = compare_rated(prompts, [BAD] * 30, [GOOD] * 25 + [BAD] * 5)
    agreement = found["rated_agreement"]
    assert agreement["n"] == 30 and agreement["a"] < 0 < agreement["b"]
    assert 0 < agreement["ci_low"] <= agreement["diff"] <= agreement["ci_high"]
    numbers = found["hallucinated_number_rate"]
    assert numbers["a"] == 1.0 and numbers["b"] < 0.2 and numbers["ci_high"] < 0
    # deterministic: the same inputs give the same interval
    assert compare_rated(prompts, [BAD] * 30, [GOOD] * 25 + [BAD] * 5) == found
