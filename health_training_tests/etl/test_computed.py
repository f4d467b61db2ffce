"""What a question's numbers imply, computed for the model (etl/computed.py), by hand."""

from __future__ import annotations

import pytest

from health_training.etl.computed import computed_facts, with_computed_facts
from health_training.serving.backends.generation import Prompt


@pytest.mark.parametrize(
    ("question", "context", "expected"),
    [
        (
            "I ran 8 km in 44 minutes. What was my pace?",
            "",
            "8 km in 44 min: pace 5.5 min per km (5:30 per km).",
        ),
        (
            "15 km in 1 hours 47 minutes, min per km?",
            "",
            "15 km in 107 min: pace 7.1 min per km (7:08 per km).",
        ),
        ("20 km in 50 min, what's that in km/h?", "", "20 km in 50 min: speed 24.0 km/h."),
        # Miles ask per mile (45 / 5 = 9.0), unless the words ask per km (45 / 8.047 = 5.59).
        ("5 miles in 45 min pace?", "", "5 mi in 45 min: pace 9.0 min per mile (9:00 per mile)."),
        (
            "5 miles in 45 min, min per km?",
            "",
            "5 mi in 45 min: pace 5.6 min per km (5:36 per km).",
        ),
        ("12 km in 60 min, mph?", "", "12 km in 60 min: speed 7.5 mph."),  # 12 / 1.609344
        (
            "Did 5 km in 30 min, how was that?",
            "",
            "5 km in 30 min: pace 6.0 min per km (6:00 per km), speed 10.0 km/h.",
        ),
        ("bed at 23:15, up at 06:45, how long?", "", "from 23:15 to 06:45: 450 min (7 h 30 min)"),
        (
            "ate 2,400 kcal, burned 2,900 kcal",
            "",
            "intake 2,400 kcal, burned 2,900 kcal: deficit 500 kcal",
        ),
        (
            "burned 650 kcal today and ate 2,100 kcal, net?",
            "",
            "intake 2,100 kcal, burned 650 kcal: surplus 1,450 kcal",
        ),
        (
            "I slept 420 minutes and 84 of them were deep sleep. What share is deep?",
            "",
            "deep sleep 84 min of 420 min: 20%",
        ),
        (
            "what percentage of my 8,000 steps came in the 2,000 steps of my walk?",
            "",
            "2,000 steps of 8,000 steps: 25%",
        ),
        (
            "resting hr 58 bpm last week, 66 bpm now",
            "",
            "66 bpm, up from 58 bpm: a rise of 8 bpm (14%)",
        ),
        (
            "change given 125 mg/dl yesterday?",
            "Mean glucose 100 mg/dL (range 84-141 mg/dL)",
            "100 mg/dL, down from 125 mg/dL: a drop of 25 mg/dL (20%)",
        ),
    ],
)
def test_each_rule_on_hand_made_numbers(question, context, expected):
    assert expected in computed_facts(question, context)


def test_nothing_to_compute_gives_nothing_and_the_input_is_unchanged():
    assert computed_facts("Any tips for staying motivated?") == ""
    heart = "Record type: HeartRateRecord. Resting heart rate 55 bpm (5th percentile), mean 61 bpm."
    # A named value no rule judges is the record's value, with no verdict.
    assert computed_facts("What was my mean heart rate?", heart) == (
        "Computed from your numbers: average heart rate 61 bpm."
    )
    assert with_computed_facts("How was it?", "Record type: X.") == "Record type: X."


def test_the_server_appends_the_same_line_the_training_input_ends_with():
    question, record = "change given 125 mg/dl yesterday?", "Mean glucose 100 mg/dL."
    training_input = with_computed_facts(question, record)
    served = Prompt((("user", f"{question}\n\n{record}"),)).with_computed_facts()
    assert served.messages[-1][1] == f"{question}\n\n{training_input}"
    # Asked again verbatim (the clinic sends training rows), the line is not doubled.
    assert served.with_computed_facts() == served


def test_the_line_gives_the_pace_or_the_speed_each_phrasing_asks_for():
    """Every pace phrasing of the writer (held-out ones too) gets the pace alone, every speed
    phrasing the speed (alone, or with the pace when its words do not say): given both, the model
    answered many pace questions with the speed."""
    from random import Random

    from health_training.etl.questions.computation_phrasings import FAMILIES, situation_of
    from health_training.etl.questions.phrasing import fill

    for family, phrasings in FAMILIES.items():
        if situation_of(family) not in ("pace", "speed"):
            continue
        for template, _ in phrasings:
            question = fill(template, d="6.4 km", t="35 min", when=Random(0).choice(("", " today")))
            line = computed_facts(question)
            if situation_of(family) == "pace":
                assert "pace 5.5 min per km" in line and "speed" not in line, question
            else:
                assert "speed 11.0 km/h" in line, question


def test_a_records_goal_and_reference_values_are_never_paired_with_the_question():
    record = (
        "Total 2,430 steps against a goal of 10,000 steps (24% of goal). Most active hour 10:00 "
        "with 308 steps (13% of the day). Reference: under 2,500 steps a day is very low."
    )
    line = computed_facts("What is the change in daily step count from 2100 steps?", record)
    assert "2,430 steps, up from 2,100 steps: a rise of 330 steps (16%)" in line
    changes = [part for part in line.split("; ") if ": a rise of" in part or ": a drop of" in part]
    assert not any("10,000" in part or "2,500" in part for part in changes)


def test_the_peak_hours_share_of_the_day_is_in_the_record_a_share_question_reads():
    """Asked what share of the day's steps came in the busiest hour, the model copies the
    writer's percentage from the record instead of dividing (share_pct(308, 2,430) = 13)."""
    from health_training.etl.clinical_types import DailyTotalStats
    from health_training.etl.narratives.activity import daily_total_narrative

    stats = DailyTotalStats(
        total=2_430,
        goal=10_000,
        percent_of_goal=24,
        peak_hour=10,
        peak_value=308,
        active_hours=2,
        hours=24,
    )
    facts, _, _ = daily_total_narrative(stats, set(), steps=True)
    assert "Most active hour 10:00 with 308 steps (13% of the day)" in " ".join(facts)


def test_a_stated_value_is_paired_with_the_record_only_when_the_words_ask_for_a_change():
    """Every change phrasing of the writer (held-out registers too) pairs the stated value with
    the record's; a judgement of one stated value does not ("Rate my time to fall asleep of
    39 min" paired with 535 min in bed was answered "a drop of 496 min")."""
    from health_training.etl.questions.computation_phrasings import FAMILIES, situation_of
    from health_training.etl.questions.phrasing import fill

    record = "Total 2,430 steps against a goal of 10,000 steps (24% of goal)."
    for family, phrasings in FAMILIES.items():
        if situation_of(family) != "change":
            continue
        for template, variant in phrasings:
            if variant != "record":
                continue
            question = fill(template, what="step count", prev="2,100 steps", now="", when="")
            assert "2,430 steps, up from 2,100 steps" in computed_facts(question, record), question
    for question in ("Rate my step count of 2100 steps: fine or not?", "2100 steps - healthy?"):
        assert "change" not in computed_facts(question, record)


GLUCOSE_RECORD = (
    "Record type: BloodGlucoseRecord. Date: 2025-03-23. Mean glucose 215 mg/dL (range 140-340 "
    "mg/dL), SD 47 mg/dL, CV 22% (stable at 36% or below). Time in range 70-180 mg/dL: 19% "
    "(target above 70%); below 70 mg/dL: 0% (target below 4%); above 180 mg/dL: 81%."
)
STEPS_RECORD = "Record type: StepsRecord. Total 4,176 steps against a goal of 10,000 steps."


@pytest.mark.parametrize(
    ("question", "context", "expected"),
    [
        # the record's value of the measure the question names, judged by clinical.py's rule
        (
            "My partner thinks my time in range is off. Is it?",
            GLUCOSE_RECORD,
            "time in range 19% is far below the 70% target (under 50%)",
        ),
        # the user's own numbers, each with its measure (62 < 70, 163 > 154)
        (
            "my cgm avg was 163 mg/dl and 62% in range, bad?",
            "",
            "average glucose 163 mg/dL is above 154 mg/dL, the level at which an average counts "
            "as high; time in range 62% is below the 70% target",
        ),
        ("watch says resting pulse 54. good?", "", "resting heart rate 54 bpm is within the"),
        ("I had 31 pct REM sleep. Is that bad?", "", "REM sleep share 31% is at or above 15%"),
        # no measure named: each record's headline measure
        ("How was my day?", STEPS_RECORD, "step total 4,176 steps is under 5,000 steps"),
        # named but held by no record and not stated: what is missing
        ("Is my sleep ok?", STEPS_RECORD, "no sleep data given"),
        ("What was my highest heart rate?", "", "no heart rate data given"),
        # a record type named as a whole, under another record: what is missing, no verdict
        ("My nurse asked, so what was my blood sugar?", STEPS_RECORD, "numbers: no glucose data"),
        ("what was my blood pressure?", STEPS_RECORD, "numbers: no blood pressure data given."),
        ("How were my steps?", STEPS_RECORD, "numbers: step total 4,176 steps is under 5,000"),
        # a weight asked in its unit is body weight, which no record holds; a weight given is not
        ("walked loads today, how many kilos is that?", STEPS_RECORD, ": no body weight data"),
        ("how many lbs do I lose if I keep this up?", STEPS_RECORD, "numbers: no body weight data"),
        ("I weigh 92 kg. How were my steps?", STEPS_RECORD, "numbers: step total 4,176 steps"),
        # thousands grouped by a space, as many languages write them
        ("steps 12 300 yesterday, good?", "", "step total 12,300 steps is at or above"),
    ],
)
def test_the_line_judges_the_measures_the_question_is_about(question, context, expected):
    assert expected in computed_facts(question, context)


@pytest.mark.parametrize(
    ("question", "asks_weight"),
    [
        ("trying to lose weight. I walked 8,000 steps today, is that enough?", False),
        ("I want to lose some weight, is 8,000 steps enough?", False),
        ("Is 9,000 steps a day enough for weight loss?", False),
        ("Did I lose weight? I walked 8,000 steps today.", True),
        ("How much weight have I lost? 8,000 steps today.", True),
        ("I walked 8,000 steps. What is my weight?", True),
    ],
)
def test_weight_as_an_aim_is_not_asked_for(question, asks_weight):
    line = computed_facts(question, "")
    assert ("no body weight data given" in line) is asks_weight, line
    if not asks_weight:
        assert "step total 8,000 steps" in line or "step total 9,000 steps" in line


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # a race time: mm:ss past any clock hour, h:mm:ss, or a clock-like time taken "in"
        ("ran 8 km in 44:00, whats my pace per km", "8 km in 44 min: pace 5.5 min per km"),
        ("half marathon 21.1 km in 1:45:30 - speed?", "21.1 km in 105 min 30 s: speed 12.0 km/h"),
        ("did a 5k in 20:00 today, pace?", "5 km in 20 min: pace 4.0 min per km (4:00 per km)"),
        # a question sent with no "?" asks in its sentence that opens with a question word
        (
            "hrv 52 ms today. how has it changed over the past month",
            "more days are asked about than the one given",
        ),
        # a ride among a day's numbers, no pace or speed asked: the day's verdicts (set L)
        (
            "4h on the bike, 100 km, resting hr 52, 11k steps. anything off?",
            "numbers: resting heart rate 52 bpm is within",
        ),
        ("rode 100 km in 4 h, what was my speed?", "100 km in 240 min: speed 25.0 km/h"),
        ("steps=12.4k, rhr 60. ok?", "numbers: step total 12,400 steps is at or above"),
        # clock times of a span stay clock times after "sleep"
        ("went to sleep 1:10, woke 7:00, how long?", "from 01:10 to 07:00: 350 min"),
        # a decimal comma in a distance, "an hour", dotted clocks with am/pm, "at midnight", a
        # thousands point in kcal (set M, development)
        ("ran 7,5 km in 40 min, pace?", "7.5 km in 40 min: pace 5.3 min per km"),
        ("walked 3 miles, took an hour and 6 minutes. pace per mile?", "pace 22.0 min per mile"),
        ("bed at 10.30pm, up at 6.15am. how long?", "from 22:30 to 06:15: 465 min"),
        ("asleep at midnight, alarm 6:10, how long did I sleep?", "from 00:00 to 06:10: 370 min"),
        ("ate 1900 kcal, burned 2.450 kcal. balance?", "burned 2,450 kcal: deficit 550 kcal"),
        # a span among a day's numbers when its duration is asked, the verdicts when it is not
        ("bed 23:10 up 6:40, deep 80 min. how long did I sleep?", "from 23:10 to 06:40: 450 min"),
        (
            "slept 23:00 to 6:30, 25 min awake, rhr 60. how was the night?",
            "numbers: time awake 25 min has no reference range here; resting heart rate 60 bpm",
        ),
    ],
)
def test_served_phrasings_of_set_j(question, expected):
    assert expected in computed_facts(question, "")


GLUCOSE_RECORD = (
    "Record type: BloodGlucoseRecord. Date: 2025-01-03. Readings: 288 CGM values at 5-minute "
    "intervals. Mean glucose 125 mg/dL (range 60-190 mg/dL), SD 41 mg/dL, CV 33% (stable at 36% "
    "or below). Time in range 70-180 mg/dL: 74% (target above 70%); below 70 mg/dL: 13% (target "
    "below 4%); above 180 mg/dL: 13%. Hypoglycemic events (below 70 mg/dL for 15 min or more): 2."
    " Hyperglycemic events (above 250 mg/dL for 15 min or more): 1."
)


@pytest.mark.parametrize(
    ("question", "context", "expected"),
    [
        # seconds of a run's time (31.25 / 3.1 = 10.08), and a race's name beside the distance
        (
            "my first 5K-ish loop, the app says 3.1 miles, took me 31 min 15 sec. pace per mile?",
            "",
            "3.1 mi in 31 min 15 s: pace 10.1 min per mile (10:05 per mile)",
        ),
        ("ran 10.5 km in 58:40 whats my pace", "", "10.5 km in 58 min 40 s: pace 5.6 min per km"),
        # the burned side with its unit left off (1,890 - 1,640 = 250)
        (
            "ate 1,890 cals today, watch says i burned 1640 total... so whats my surplus",
            "",
            "intake 1,890 kcal, burned 1,640 kcal: surplus 250 kcal",
        ),
        # a change of the one measure stated with a number, another merely named (57 - 64 = -7)
        (
            "resting heart rate was 64 bpm two weeks ago and its 57 now since I started zone 2 "
            "training. how much did it change",
            "",
            "resting heart rate 57 bpm, down from 64 bpm: a drop of 7 bpm (11%)",
        ),
        # thousands after "steps are", half hours, "cals"
        ("my steps are 4 500 and rhr 60. how was my day?", "", "step total 4,500 steps"),
        ("I slept 7 1/2 hours. How was my day?", "", "total sleep 7 h 30 min"),
        ("slept 6 and a half hours, ok?", "", "total sleep 6 h 30 min"),
        ("2.1k steps, 180 active cals rhr 83. rate my day", "", "active calorie total 180 kcal"),
        # a bound the user is set is no value of theirs; "mine was" takes the measure before
        (
            "My endo wants time below range under 4%. Mine was 7% this week - is that too much?",
            "",
            "time spent low 7% is above the 4% target",
        ),
        ("doc says keep time in range above 70%. mine is 64%. bad?", "", "time in range 64% is"),
        ("my time below 70 was 6%, ok?", "", "time spent low 6% is above the 4% target"),
        # a whole number right before "low" or "high" counts them (set K)
        ("tir 78%, only 1 low, 9200 steps. how was her day?", "", "hypoglycemic events 1 has"),
        ("mean 151 mg/dL and 1 low yesterday, 2 high", "", "hyperglycemic events 2 has"),
        # one kcal number no word names, by no intake or burn word: the active calories
        ("2.1k steps 180 kcals rhr 83. rate my day", "", "active calorie total 180 kcal"),
        ("day after: 7,2k steps & 300 cals. how's my day", "", "active calorie total 300 kcal"),
        # the count of lows or highs of a record
        ("how many lows did she have today?", GLUCOSE_RECORD, "hypoglycemic events 2."),
        ("number of highs?", GLUCOSE_RECORD, "hyperglycemic events 1."),
    ],
)
def test_served_phrasings_of_set_k(question, context, expected):
    assert expected in computed_facts(question, context)


@pytest.mark.parametrize(
    ("question", "wrong"),
    [
        # a bare number right after another measure's name is that measure's
        ("Yesterday: maximum HR 88 and mean RMSSD 46 milliseconds. Please summarize.", "from 88"),
        ("Yesterday: deep sleep 12 pct and active energy 182 calories. Summarize.", "from 12"),
        # an intake is no active-calorie total
        ("I had 1,900 calories today and walked 8000 steps", "active calorie total"),
        ("ate 2,150 kcal, burned 2,900 kcal. balance?", "active calorie total"),
        # a small count beside "ate" is no intake
        ("burned 600 kcal on a 12 km ride, ate 3 meals, balance?", "intake 3 kcal"),
        # with the unit on two values a bare number is something else; "18u" is insulin (set M)
        (
            "My son's (14, T1D) 14-day average glucose went from 154 mg/dl to 138 mg/dl after we "
            "changed his basal from 18u to 16u. How big a change is that?",
            "from 14 mg/dL",
        ),
        ("basal went from 18u to 16u, glucose 150 mg/dl before. change?", "from 18 mg/dL"),
        # a range is a bound; two percentages are no part and whole (set M)
        (
            "coach says max 20-25 min of hard efforts, how long was i in zone 5 yesterday??",
            "from 20",
        ),
        ("Libre report: time in range 64 percent, below 70 was 6%. Good enough?", "of 64%"),
    ],
)
def test_bare_numbers_of_another_measure_or_a_count_are_left_alone(question, wrong):
    assert wrong not in computed_facts(question, "")


def test_the_line_follows_the_order_the_user_wrote_the_values_in():
    line = computed_facts("7.5 hours asleep, 22% deep, 24% REM, 92% efficiency - good night?")
    order = [
        "total sleep 7 h 30 min",
        "deep sleep share 22%",
        "REM sleep share 24%",
        "efficiency 92%",
    ]
    assert sorted(order, key=line.index) == order
    # an unjudged value keeps its place among the judged ones
    line = computed_facts("resting hr 74, avg hr 88, max 171 bpm during my run. ok?")
    order = ["resting heart rate 74 bpm", "average heart rate 88 bpm", "peak heart rate 171 bpm"]
    assert sorted(order, key=line.index) == order


@pytest.mark.parametrize(
    ("value", "clause"),
    [
        # International Consensus: under 25 % of readings above 180 mg/dL; over it is outside
        (31, "time spent high 31% is above the 25% target for time above 180 mg/dL"),
        (26, "time spent high 26% is above the 25% target"),
        (25, "time spent high 25% is within the target of under 25% above 180 mg/dL"),
        (18, "time spent high 18% is within the target"),
    ],
)
def test_time_above_range_is_judged_against_its_own_target(value, clause):
    assert clause in computed_facts(f"TIR 70%, TAR {value}%. Ok?")


def test_a_stated_value_with_no_rule_says_so_and_takes_no_neighbours_verdict():
    line = computed_facts("sleep: 6h 12m total, awake 48 min. bad?")
    assert "7 h minimum; time awake 48 min has no reference range here" in line
    line = computed_facts("resting hr 74, avg hr 88, max 171 bpm during my run. ok?")
    assert "average heart rate 88 bpm has no reference range here; peak heart rate" in line
    # a record's value a look-up names is stated as the record holds it
    record = "Mean RMSSD 40 ms (lowest 22 ms at 03:10, highest 60 ms at 05:00)"
    assert computed_facts("whats my lowest hrv", record).endswith("lowest HRV reading 22 ms.")


def test_a_race_distance_is_no_value_of_a_change():
    # 359 < 500 but >= 200 (40 % of the goal): short of the target, not low; the 10 of "10k"
    # is a race, not 10 kcal.
    line = computed_facts("I'm training for a 10k. 359 cals of active calories yesterday. Ok?")
    assert line == (
        "Computed from your numbers: active calorie total 359 kcal is short of the 500 kcal "
        "target but not low."
    )


def test_dropping_off_to_sleep_is_no_drop():
    # 5 h 40 min = 340 min < 420; 45 > 30; the night's two durations are no change.
    line = computed_facts("Slept 5 hrs 40 mins, took 45 min to drop off. Should I be worried?")
    assert "change" not in line
    assert "total sleep 5 h 40 min is under the recommended 7 h minimum" in line
    assert "sleep latency 45 min is longer than the 30 min reference" in line
    assert "a drop of 17 ms" in computed_facts("my hrv dropped from 48 to 31 ms, bad?")


def test_thousands_of_steps_written_with_k_are_steps_not_a_run():
    # 12 x 1,000 = 12,000 >= 10,000; run 21's line made "12k steps" and 6.5 h a 12 km run.
    line = computed_facts("Slept 6.5h, resting pulse 61 bpm, 12k steps. Overall?")
    assert "step total 12,000 steps is at or above the 10,000 steps daily target" in line
    assert "pace" not in line and "km" not in line
    assert "pace 5.2 min per km" in computed_facts("ran 10k in 52 min, pace?")


def test_nothing_is_missing_when_the_data_holds_the_measure_in_some_form():
    # 38 ms is HRV data though the parser binds it to no name; a step record holds step totals
    assert "no " not in computed_facts("My average HRV over a month? Today's reading: 38 ms.")
    assert "no " not in computed_facts("What was my step count?", STEPS_RECORD)
    # a 50-minute run is not a glucose minimum ("min" is a glucose word only before mg/dL)
    assert computed_facts("20 km in 50 min, what's that in km/h?") == (
        "Computed from your numbers: 20 km in 50 min: speed 24.0 km/h."
    )


HRV_RECORD = (
    "Record type: HeartRateVariabilityRmssdRecord. Mean RMSSD 47 ms (lowest 33 ms at 11:09, "
    "highest 69 ms at 02:25); linear trend over the day -0.7 ms per hour."
)
SLEEP_RECORD = (
    "Record type: SleepSessionRecord. Sleep session 21:58-04:55: 417 min in bed, 384 min asleep "
    "(6 h 24 min). Sleep efficiency 92% (reference 85% or more); sleep latency 13 min "
    "(reference 30 min or less)."
)


def test_a_change_pairs_the_stated_value_with_the_named_measures_value_in_the_record():
    """Run 8 was handed "39 ms to 47 ms; 39 ms to 33 ms" (mean, then lowest) and "500 min to
    603 min" (in bed) for a previous night's sleep, and copied the wrong pair."""
    line = computed_facts("Change in mean RMSSD from 39 ms the day before?", HRV_RECORD)
    assert (
        line
        == "Computed from your numbers: average HRV 47 ms, up from 39 ms: a rise of 8 ms (21%)."
    )
    line = computed_facts("Change in sleep duration from 8 hours 20 minutes the night before?",
                          SLEEP_RECORD)  # fmt: skip
    assert line == (
        "Computed from your numbers: total sleep 384 min, down from 500 min: a drop of 116 min (23%)."
    )


def test_a_question_about_bed_and_wake_times_gets_the_records_session():
    line = computed_facts("How long from my bedtime to my wake time?", SLEEP_RECORD)
    assert line == "Computed from your numbers: from 21:58 to 04:55: 417 min (6 h 57 min)."


SHARE_RECORDS = {
    "deep": SLEEP_RECORD + " Stages: awake 33 min (8% of time in bed), deep 64 min (17%), "
    "REM 109 min (28%).",
    "steps_peak": "Record type: StepsRecord. Total 18,276 steps against a goal of 10,000 steps "
    "(183% of goal). Most active hour 07:00 with 9,028 steps (49% of the day).",
    "kcal_peak": "Record type: ActiveCaloriesBurnedRecord. Total active energy 367 kcal against a "
    "goal of 500 kcal (73% of goal). Peak hour 17:00 with 43 kcal (12% of the day).",
}
SHARE_LINES = {  # share_pct by hand: 64/384 = 16.7, 109/384 = 28.4, 384/417 = 92.1, ...
    "deep": ("deep", "17% of sleep was deep sleep: 64 min of 384 min asleep"),
    "rem": ("deep", "28% of sleep was REM sleep: 109 min of 384 min asleep"),
    "asleep": ("deep", "92% of time in bed was asleep: 384 min of 417 min in bed"),
    "steps_peak": (
        "steps_peak",
        "49% of steps came in the busiest hour, 07:00: 9,028 of 18,276 steps",
    ),
    "kcal_peak": (
        "kcal_peak",
        "12% of active kcal came in the most active hour, 17:00: 43 of 367 kcal",
    ),
}


def test_every_share_phrasing_gets_the_share_it_asks_for():
    """Every share phrasing of the writer (held-out ones too), for every share it writes: run 10
    answered "what proportion of my steps came in my busiest hour?" with the hour's steps and
    no share (7 of its 8 wrong computations were shares)."""
    from health_training.etl.questions.computation_phrasings import FAMILIES, situation_of
    from health_training.etl.questions.computation_wording import SHARES
    from health_training.etl.questions.phrasing import fill

    for family, phrasings in FAMILIES.items():
        if situation_of(family) != "share":
            continue
        for template, _ in phrasings:
            for key, (_, _, part, whole, _, _) in SHARES.items():
                record, expected = SHARE_RECORDS[SHARE_LINES[key][0]], SHARE_LINES[key][1]
                question = fill(template, whole=whole, part=part, when="")
                assert expected in computed_facts(question, record), question


def test_a_judgement_of_a_share_gets_its_verdict_with_the_share():
    record = SHARE_RECORDS["deep"]
    line = computed_facts("Is my share of deep sleep normal?", record)
    assert "17% of sleep was deep sleep: 64 min of 384 min asleep" in line
    assert "deep sleep share 17% is" in line
    # a computation of the share names deep sleep, not the judged share: no verdict
    assert " is " not in computed_facts("What share of my sleep was deep sleep?", record)


CALORIE_RECORD = (
    "Record type: ActiveCaloriesBurnedRecord. Date: 2025-03-01. Total active energy 640 kcal "
    "against a goal of 500 kcal (128% of goal). Peak hour 17:00 with 90 kcal (14% of the day)."
)


def test_calories_burned_written_as_active_calories_are_the_burned_side_of_a_balance():
    """2,350 - 620 = 1,730 by hand; "620 active calories" was read as a bare 620 (no balance)."""
    question = "I ate about 2,350 kcal and burned 620 active calories. What's the difference?"
    assert "intake 2,350 kcal, burned 620 kcal: surplus 1,730 kcal" in computed_facts(question)


@pytest.mark.parametrize("intake", ["2,150 kcal", "2150 cals", "2,150 calories"])
def test_every_energy_balance_phrasing_gets_the_balance_not_a_change(intake):
    """Intake minus burned, signed as the question asks it (2,150 - 640 = 1,510 by hand): as a
    change the line read "640 kcal, down from 2,150 kcal: a drop of 1,510 kcal"."""
    from health_training.etl.questions.computation_phrasings import FAMILIES, situation_of
    from health_training.etl.questions.phrasing import fill

    for family, phrasings in FAMILIES.items():
        if situation_of(family) != "energy_balance":
            continue
        for template, variant in phrasings:
            question = fill(template, intake=intake, burned="640 kcal", when="")
            line = computed_facts(question, CALORIE_RECORD if variant == "record" else "")
            assert "intake 2,150 kcal, burned 640 kcal: surplus 1,510 kcal" in line, question
            assert "change" not in line, question


def test_values_of_one_unit_are_a_change_only_when_the_words_ask_for_one():
    line = computed_facts("CGM report: mean 128 mg/dl, highest 262 mg/dl. How does that look?")
    assert "change" not in line
    line = computed_facts("Steps were 7,500 on Monday and 9,000 on Tuesday, how much more?")
    assert "9,000 steps, up from 7,500 steps: a rise of 1,500 steps (20%)" in line


def test_every_change_phrasing_of_two_stated_values_gets_the_change_and_no_share():
    """By hand: 390 -> 447 min is +57 min, +15 %. Run 13's line read "Express the change from
    390 mins to 447 mins ... as a percentage" as a share ("390 min of 447 min: 87%")."""
    from health_training.etl.questions.computation_phrasings import FAMILIES, situation_of
    from health_training.etl.questions.phrasing import fill

    for family, phrasings in FAMILIES.items():
        if situation_of(family) != "change":
            continue
        for template, variant in phrasings:
            if variant == "record":
                continue
            question = fill(template, what="total sleep", prev="390 mins", now="447 mins", when="")
            line = computed_facts(question)
            assert "447 min, up from 390 min: a rise of 57 min (15%)" in line, question
            assert ": 15%" not in line and "min of " not in line, question  # no share


def test_a_bare_number_beside_one_with_a_unit_is_not_the_measures_value():
    line = computed_facts("I'm training for a 10k. 93% sleep efficiency last night. Am I ok?")
    assert "change" not in line and "sleep efficiency 93%" in line


def test_stated_values_of_different_measures_are_never_a_change():
    line = computed_facts("201 mg/dl on average and a peak of 312 mg/DL yesterday. Is that ok?")
    assert "change" not in line and "312 mg/dL is above 250 mg/dL" in line
