"""EOS withheld until an answer states a value of each part of the computed line
(serving/line_coverage.py): which values each kind of line part asks for, and the decoder's pick
when the gate withholds EOS, on real logits."""

from __future__ import annotations

import pytest

from health_training.etl.computed import PREFIX, computed_facts
from health_training.serving.backends.batch_decode import Row, _pick
from health_training.serving.line_coverage import (
    EXTRA_TOKENS,
    EosGate,
    last_line,
    required_values,
    unstated,
)


def values(line: str) -> list[tuple]:
    return [r.values for r in required_values(line)]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Judged values: the value before the verdict, not the threshold.
        (
            "My average glucose this week is 132 mg/dL and time in range is 78%. Is that ok?",
            [((132.0, "mg/dL"),), ((78.0, "%"),)],
        ),
        # A computation: its results after the colon (either form of the pace), not 4 or 38.
        ("ran 4 mi in 38min, whats that per mile??", [((9.5, "min"), (570.0, "time"))]),
        # A change: the difference or its percentage.
        (
            "my resting hr went from 52 to 51 bpm, how much did it change",
            [((1.0, "bpm"), (2.0, "%"))],
        ),
        # What the data cannot give asks for no number.
        ("My resting HR was 55. What was my blood pressure?", []),
        ("What's my 30-day HRV trend? It was 45 ms today", []),
    ],
)
def test_required_values_of_the_servers_own_lines(question, expected):
    assert values(computed_facts(question)) == expected


def test_a_share_asks_its_percentage_and_a_look_up_any_of_its_values():
    assert values(f"{PREFIX} deep sleep 72 min of 384 min: 19%.") == [((19.0, "%"),)]
    share = f"{PREFIX} 19% of active kcal came in the most active hour 17:00: 530 of 2,800 kcal."
    assert values(share)[0][0] == (19.0, "%")
    assert values(f"{PREFIX} busiest hour 18:00 with 5,988 steps.") == [
        ((18 * 60.0, "time"), (5988.0, "steps"))
    ]
    assert values("no line here") == []
    # Three clock times: the asleep and in-bed spans are alternatives, one asked.
    spans = computed_facts("in bed 22:15, asleep 22:40, up 05:50. how long did i sleep?")
    assert spans.count("; from ") == 1 and values(spans) == [
        ((430.0, "min"), (430.0, "min"), (455.0, "min"), (455.0, "min"))
    ]


def test_unstated_parts_by_the_evaluations_equality_rule():
    required = required_values(
        computed_facts("slept 6 h 45 min, 9,870 steps and resting hr 55. how was my day?")
    )
    assert len(required) == 3
    answer = "Your total sleep of 6 h 45 min is short. Your step total of 9870 steps is fine."
    assert [r.part.split()[0] for r in unstated(answer, required)] == ["resting"]
    assert unstated(answer + " Resting heart rate 55 bpm is normal.", required) == []
    assert len(unstated("405 min of sleep", required)) == 2  # 6 h 45 min written in minutes


def test_last_line_is_the_computed_line_of_the_turn():
    turn = f"How was my day?\n\nRecord type: StepsRecord. Steps: 9,000.\n{PREFIX} step total 9,000."
    assert last_line(turn) == f"{PREFIX} step total 9,000."
    assert last_line("a question with no line") == ""


def _logits(eos: int, second: int, size: int = 16):
    import torch

    logits = torch.zeros(2, size)
    logits[:, eos], logits[:, second] = 5.0, 4.0
    return logits


def test_the_pick_withholds_eos_until_the_value_is_stated_or_the_budget_is_spent():
    required = required_values(f"{PREFIX} time in range 78% is at or above the 70% target.")
    text = {"now": "Your average glucose is fine."}
    gate = EosGate(required, lambda: text["now"])
    gated, free = Row([1], 50, gate=gate), Row([1], 50)
    eos, second = 2, 7
    chosen, failed = _pick(_logits(eos, second), [gated, free], 3, [eos])
    assert not failed and chosen.tolist() == [second, eos]  # only the gated row goes on
    assert gate.withheld == 1
    # Stated: the answer may end.
    text["now"] += " Time in range was 78%."
    chosen, _ = _pick(_logits(eos, second), [gated, free], 4, [eos])
    assert chosen.tolist() == [eos, eos] and gate.withheld == 1
    # Never stated: EOS is allowed again after EXTRA_TOKENS tokens past the first withholding.
    text["now"] = "Your average glucose is fine."
    late = EosGate(required, lambda: text["now"])
    row = Row([1], 500, gate=late)
    assert _pick(_logits(eos, second)[:1], [row], 0, [eos])[0].tolist() == [second]
    for _ in range(EXTRA_TOKENS - 1):
        late.advance()
    assert _pick(_logits(eos, second)[:1], [row], 0, [eos])[0].tolist() == [second]
    late.advance()
    assert _pick(_logits(eos, second)[:1], [row], 0, [eos])[0].tolist() == [eos]


def test_a_sampled_row_is_sampled_again_without_eos():
    import torch

    required = required_values(f"{PREFIX} average heart rate 81 bpm.")
    gate = EosGate(required, lambda: "Your heart rate was fine.")
    logits = torch.full((1, 16), -30.0)
    logits[0, 2] = 10.0  # EOS all but certain
    logits[0, 9] = 0.0
    row = Row([1], 50, temperature=1.0, generator=torch.Generator().manual_seed(0), gate=gate)
    chosen, failed = _pick(logits, [row], 0, [2])
    assert not failed and chosen.tolist() == [9] and gate.withheld == 1


def test_a_held_row_cannot_begin_another_turn(tiny_base):
    """Held back from EOS, the next best token was often the chat template's turn start: run 31
    wrote a made-up user turn into 7 of the 9 held-out answers it held. Every special token
    ends an answer and is held back with EOS."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from health_training.serving.backends.inprocess import answer_end_ids

    tok = AutoTokenizer.from_pretrained(tiny_base)
    model = AutoModelForCausalLM.from_pretrained(tiny_base)
    ends = answer_end_ids(model, tok)
    turn_start = tok.convert_tokens_to_ids("<|im_start|>")
    assert tok.eos_token_id in ends and turn_start in ends
    required = required_values(f"{PREFIX} average heart rate 81 bpm.")
    gate = EosGate(required, lambda: "Your heart rate was fine.")
    logits = _logits(tok.eos_token_id, turn_start, size=len(tok))
    logits[0, 42] = 3.0  # the best token that is no special one
    chosen, failed = _pick(logits[:1], [Row([1], 50, gate=gate)], 0, ends)
    assert not failed and chosen.tolist() == [42]


def test_the_tokens_after_a_withheld_eos_are_a_trial_kept_only_if_they_state_the_value():
    required = required_values(f"{PREFIX} average heart rate 81 bpm.")
    text = {"now": "Your heart rate was fine."}
    gate = EosGate(required, lambda: text["now"])
    assert not gate.pending() and not gate.gave_up()  # nothing withheld yet: nothing held back
    for _ in range(3):
        gate.advance()
    assert gate.withholds() and gate.first_at == 3 and gate.pending()
    for _ in range(EXTRA_TOKENS - 1):
        gate.advance()
        text["now"] += " #hashtag"
    assert gate.pending() and not gate.gave_up()
    gate.advance()
    assert gate.gave_up()  # spent without the value: the answer ends at its first 3 tokens
    # Stated within the budget: the trial is kept and the answer may end.
    text["now"] = "Your heart rate was fine."
    kept = EosGate(required, lambda: text["now"])
    assert kept.withholds() and kept.pending()
    kept.advance()
    text["now"] += " It averaged 81 bpm."
    assert not kept.pending() and not kept.gave_up() and not kept.withholds()
    text["now"] = "Your heart rate was fine."  # a stated value stays stated
    assert not kept.pending()
