"""The computed line where set N (development since its first use as a check, run 32) found it
wrong: values on separate lines, number words, a bare value a few words after its name, clinical
sleep shorthand, and the computations users ask of their own lists and goals. Each message here
is written for this test, in set N's kinds; every computed value is checked by hand."""

from __future__ import annotations

import pytest

from health_training.etl.computed import PREFIX, computed_facts
from health_training.etl.measured_values import stated_values


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # one value per line, "Label: value": a unit never reaches over the line's end
        (
            "Steps: 9,870\nActive calories: 512\nResting HR: 61",
            {"total_steps": 9870, "total_active_kcal": 512, "resting_hr_bpm": 61},
        ),
        ("steps 7,020\nkcal burned 300", {"total_steps": 7020}),
        # the unit before the number
        ("- active kcal 415\n- avg hr 70", {"total_active_kcal": 415, "mean_hr_bpm": 70}),
        # a bare value the clause says its name was, a few words on
        ("my max hr on the last hill repeat was 193", {"max_hr_bpm": 193}),
        ("HRV the morning after the race was 24", {"mean_rmssd_ms": 24}),
        # sleep shorthand: wake after sleep onset, sleep onset latency
        (
            "TST 401 min, WASO 37 min, SOL 14 min",
            {"asleep_min": 401, "awake_min": 37, "sleep_latency_min": 14},
        ),
    ],
)
def test_values_set_n_wrote(message, expected):
    assert stated_values(message) == pytest.approx(expected)


@pytest.mark.parametrize(
    "message",
    [
        # the name and the number in different clauses, or another number between them (each
        # ends in "was" within 40 characters of the name, so only these conditions keep it out)
        "max hr was fine, and the run time was 38",
        "hrv and the time i went to bed at 11 was 23",
        "my resting hr, which my doctor said is 20 points lower than my dad's, was 58",
    ],
)
def test_a_bare_number_far_from_its_name_binds_only_through_its_own_clause(message):
    values = stated_values(message)
    assert values.get("max_hr_bpm") != 38
    assert values.get("mean_rmssd_ms") not in (11, 23)
    assert values.get("resting_hr_bpm") != 20


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # number words (text2num): 5.5 h = 330 min, 7.5 h = 450 min
        ("slept five and a half hrs, deep 52, how bad?", "total sleep 5 h 30 min is under"),
        ("Is seven and a half hours of sleep enough?", "total sleep 7 h 30 min is within"),
        ("ran twelve km in 66 min, pace?", "12 km in 66 min: pace 5.5 min per km"),
        # a percent change asked in words (8,100 - 6,900 = 1,200; 1,200 / 6,900 = 17.4%)
        (
            "march avg was 6,900 steps and april 8,100. by what percent did i improve",
            "step total 8,100 steps, up from 6,900 steps: a rise of 1,200 steps (17%)",
        ),
        # the average of listed values: (44 + 39 + 50 + 47 + 35) / 5 = 43; (101 + 97 + 110) / 3
        # = 102.7, half up to 103
        (
            "hrv this week: mon 44 tue 39 wed 50 thu 47 fri 35, what's my weekly average",
            "average 43 ms of 5 values (44, 39, 50, 47 and 35 ms)",
        ),
        (
            "fasting readings were 101, 97 and 110 mg/dL, what's the mean?",
            "average 103 mg/dL of 3 values (101, 97 and 110 mg/dL)",
        ),
        # steps left to a stated goal: 10,000 - 7,315 = 2,685; 12,000 - 9,400 = 2,600
        (
            "7,315 steps and its 8pm, how many more to hit 10k",
            "goal 10,000 steps, 7,315 steps done: 2,685 steps to go",
        ),
        (
            "at 9,400 steps, my goal is 12,000 steps, how many left?",
            "goal 12,000 steps, 9,400 steps done: 2,600 steps to go",
        ),
        # the goal written first, and a goal after "to" with a "hit" before the count
        (
            "my goal is 10,000 steps and I'm at 6,150 steps, how many left?",
            "goal 10,000 steps, 6,150 steps done: 3,850 steps to go",
        ),
        (
            "i hit 8,200 steps, how many more to 10k?",
            "goal 10,000 steps, 8,200 steps done: 1,800 steps to go",
        ),
    ],
)
def test_computations_set_n_asked(question, expected):
    assert expected in computed_facts(question)


@pytest.mark.parametrize(
    ("question", "unwanted"),
    [
        # an average named beside other measures is a value, not a list to average
        ("lowest 58, highest 240, average 160 mg/dL. ok?", "values ("),
        # two values are no list; no average asked of a list
        ("avg hr 71 and 74 bpm", "values ("),
        ("readings 101, 97 and 110 mg/dL today", "values ("),
        # a goal with nothing asked of what is left
        ("6,100 steps today, is that good? my goal is 10k", "to go"),
        # one or two alone stay words: "one day" is no value
        ("slept badly one night, is that a trend?", "1"),
    ],
)
def test_the_new_computations_stay_where_they_are_asked(question, unwanted):
    assert unwanted not in computed_facts(question).removeprefix(PREFIX)


def test_a_week_of_listed_values_is_averaged_though_a_week_is_asked_about():
    """A trend with one day given is out of reach; a week whose days the user lists is not."""
    line = computed_facts("resting hr mon 58 tue 60 wed 57 thu 61, weekly avg?")
    assert line == f"{PREFIX} average 59 bpm of 4 values (58, 60, 57 and 61 bpm)."  # 236 / 4 = 59
    assert "more days" in computed_facts("what's my weekly average resting hr?")


def test_a_hostile_list_is_averaged_without_being_written_out_again():
    values = [str(40 + i % 30) for i in range(3000)]  # 40..69 a hundred times: mean 54.5
    line = computed_facts("avg? " + ", ".join(values) + " ms")
    assert line == f"{PREFIX} average 55 ms of 3,000 values."
