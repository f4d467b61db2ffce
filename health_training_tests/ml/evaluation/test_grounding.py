"""The serving-time grounding rule on hand-made requests: each derivation (pace, sleep from clock
times, a difference, GMI, a reference value), numbers it must not let through, the strings a
constrained decoder may write, and the character rule that decides when a number may end."""

from __future__ import annotations

import pytest

from health_training.etl.reference_values import REFERENCE_VALUES
from health_training.ml.evaluation.faithfulness import factual_consistency
from health_training.ml.evaluation.grounding import (
    allowed_number_strings,
    allowed_quantities,
    check_grounding,
)
from health_training.ml.evaluation.number_writing import START, AllowedNumbers, advance

RUN = "I ran 5 km in 27 min this morning. How was my pace?"
SLEEP = "Went to bed at 23:40 and woke at 07:10. Was that enough sleep?"
CGM = "my cgm avg was 163 mg/dl and 62% in range, is that bad?"
WEIGHT = "I weighed 82.4 last month and 80.1 today."


@pytest.mark.parametrize(
    ("request_text", "answer", "supported"),
    [
        (RUN, "Your pace was 5.4 min/km.", True),
        (RUN, "That is 5:24 per km.", True),
        (RUN, "About 5 min per km.", True),
        (RUN, "An average of 11.1 km/h.", True),
        (RUN, "Your pace was 5.5 min/km.", False),
        (RUN, "That is 5:30 per km.", False),
        (SLEEP, "You slept 450 min.", True),
        (SLEEP, "You slept 7 h 30 min.", True),
        (SLEEP, "You slept 7.5 h, above the 7 h minimum.", True),
        (SLEEP, "You slept 7.5, which is fine.", True),  # no unit: the hours conversion
        (SLEEP, "You slept 8.5 h.", False),
        (SLEEP, "You slept 7 h 45 min.", False),
        (CGM, "Your average of 163 mg/dL is above target.", True),
        (CGM, "Your average of 164 mg/dL is above target.", False),
        (CGM, "That is a GMI of about 7.2%.", True),
        (CGM, "That is a GMI of about 7.6%.", False),
        (CGM, "62% is 8 points below the 70% target.", True),  # a stated and a reference value
        (CGM, "Only 14% of readings were low.", False),
        (WEIGHT, "You lost 2.3 since last month.", True),
        (WEIGHT, "That is a change of -2.3.", True),
        (WEIGHT, "You lost 2.8%.", True),
        (WEIGHT, "You lost 2.4 since last month.", False),
        ("How did I sleep?", "Adults need at least 7 h; 70% time in range is the target.", True),
        ("How did I sleep?", "You slept 6 h 12 min.", False),
        ("Steps: 7,500 today.", "That is 75% of the 10,000-step goal.", True),
        ("Steps: 7,500 today.", "That is 76% of the goal.", False),
        # a decimal comma in a distance (set K's "7,9 km" made the server fail with a 500)
        ("ran 7,9 km in 43 min, pace?", "Your pace was 5.4 min per km.", True),
        ("ran 7,9 km in 43 min, pace?", "Your pace was 6.1 min per km.", False),
    ],
)
def test_grounding_rule(request_text, answer, supported):
    score = check_grounding(answer, request_text)
    assert (score.hallucinated == 0) is supported, score.hallucinated_values


def test_the_line_and_the_guard_read_any_mix_of_the_number_shapes_users_write():
    # Each shape the scanner learned on sets J, L and M, put into messages where it does not
    # belong: the line and the guard must still answer (a shape read one way by one reader and
    # another way by the other crashed the server once).
    import random

    from health_training.etl.computed import computed_facts

    shapes = ("9,2 km", "58:40", "1:02:15", "11.45pm", "at midnight", "an hour and 5 min",
              "2.310 kcal", "steps=12,4k", "7 h 50.", "deep 1:35", "6 200 steps", "3 lows",
              "resting 57", "0:40", "23h40", ",5k", "1,2,3k", "steps 1 2 3", "10:61", "99:59:59")  # fmt: skip
    messages = (RUN, SLEEP, CGM, WEIGHT, "sleep 7:48 | deep 64 | rem 102. ok?")
    rng = random.Random(0)
    for _ in range(300):
        text = rng.choice(messages)
        for _ in range(3):
            at = rng.randrange(len(text) + 1)
            text = f"{text[:at]} {rng.choice(shapes)} {text[at:]}"
        line = computed_facts(text, "")
        assert check_grounding(f"{line} {text}", f"{text}\n{line}").hallucinated == 0


def test_every_reference_value_is_allowed_without_being_asked():
    allowed = allowed_quantities("Hello")
    for ref in REFERENCE_VALUES:
        written = f"{ref.value:g} {ref.unit or ''}".replace("ms/h", "ms")
        assert check_grounding(written, "Hello").hallucinated == 0, (ref, allowed[:3])


def test_extra_quantities_leave_faithfulness_unchanged():
    source = "Sleep session 21:58-04:55: 417 min in bed, 384 min asleep. Efficiency 92%."
    for answer in ("You slept 384 min, 92% of 417 min.", "You slept 7 h 30 min.", "70%"):
        assert factual_consistency(answer, source, extra=()) == factual_consistency(answer, source)


def test_allowed_strings_are_written_as_a_model_writes_numbers():
    strings = allowed_number_strings(RUN + " " + SLEEP + " Steps: 9,412 on 2025-01-03.")
    for written in ("5.4", "5:24", "27", "450", "7", "30", "7.5", "23:40", "07:10", "7:10"):
        assert written in strings
    for written in ("10000", "10,000", "9412", "9,412", "2025", "01", "03"):
        assert written in strings
    assert "5.5" not in strings and "5:30" not in strings and "164" not in strings


def test_pairwise_work_is_bounded():
    many = " ".join(f"{n} min" for n in range(100, 300))
    assert len(allowed_quantities(many)) < 20_000


NUMBERS = AllowedNumbers.of(["163", "6.4", "6", "10,000", "5:24"])


@pytest.mark.parametrize(
    ("steps", "fits"),
    [
        (["16", "3", ".", " The"], True),  # "163." ends a sentence
        (["6", ".", "4", " h"], True),
        (["6", ".", "5"], False),  # "6.5" is no allowed number
        (["16", " "], False),  # "16" may not end
        (["10", ",", "000", "."], True),
        (["10", ", "], False),  # "10" ended by the comma
        (["5", ":", "24"], True),
        (["SpO", "2 is"], True),  # digits glued to a word are not a number
        (["at -", "6"], False),  # a negative number needs a negative source
        (["70-", "163"], False),  # a range: "70" is not allowed
    ],
)
def test_numbers_can_be_written_and_ended_only_when_allowed(steps, fits):
    state = START
    for text in steps:
        state = advance(state, text, NUMBERS)
        if state is None:
            break
    ok = state is not None and NUMBERS.can_end(state)
    assert ok is fits
