"""The question and answer templates of the unanswerable kind, and the words they draw on.

Each family's phrasings share one tuple of answers; every answer matches the evaluation's regex
(`unanswerable.CANNOT_ANSWER`, checked by a test) and holds no digit that its question lacks
(period phrases carry the same number on both sides: "30-day" and "the last 30 days").
"""

from __future__ import annotations

_TREND = (
    "I can't work that out from a single {day}: this record holds {holds}. I'd need {topic} "
    "data from {period_noun} as well.",
    "There's not enough data for that. Only one {day} of {topic} is here, and looking at "
    "{period_noun} needs the other days too.",
    "I can't answer that from this record, which covers just one {day}; share {period_noun} of "
    "readings and I can compare them.",
)
_MISSING = (
    "This record doesn't include {measure_answer}: it holds {holds} only.",
    "I can't say: there's no data on {measure_answer} here, only {holds}.",
    "No measurements of {measure_answer} are in this data, which is {holds}, so I can't tell "
    "what it was.",
)
_FUTURE = (
    "I can't predict that: this record describes one past {day}, and what comes next depends "
    "on things it doesn't show, like food, activity, sleep and stress.",
    "There's not enough information to forecast your {topic}; the data covers only one {day}.",
    "I can't tell what your {topic} will do next. I'd need a much longer history, and even "
    "then a forecast would be rough.",
)
_CAUSE = (
    "The data doesn't show why: it records your {topic} but not meals, medication, stress or "
    "what you were doing. A note about the day would help.",
    "I can't tell the cause from this record alone; it holds {holds}, with nothing about food, "
    "caffeine, stress or exercise.",
    "This record doesn't include what happened around the readings, so I can't say what caused "
    "them.",
)
_OTHER = (
    "There's no data for {other} here: the record covers a single {day}, so I can't compare.",
    "I'd need your readings from {other} to answer that; this record holds {holds} only.",
    "This record doesn't include {other}: it is {holds}.",
)
_DIAGNOSIS = (
    "I can't answer that: {condition} is diagnosed by a clinician with proper tests, and one "
    "{day} of wearable {topic} data doesn't show it either way.",
    "Wearable data can't determine that. A diagnosis needs a clinical assessment; if you're "
    "concerned, see your doctor.",
    "This record doesn't say whether you have {condition}; it holds {holds}. I'd need far "
    "more than that, starting with a clinical assessment.",
)
_NO_DATA = (
    "I can't see any of your readings: no data came with the question. I'd need your {what} "
    "from your device or app.",
    "There's no data about your {what} here. Share the number or the readings and I can go "
    "through it.",
    "I'd need the numbers first: nothing about your {topic} was shared.",
)
_UNUSABLE = (
    "None of the readings passed the plausibility checks, so I can't tell your {what}. Check "
    "the sensor and look at the next {day}'s data.",
    "There's not enough data: no usable reading remained after removing implausible ones, so "
    "nothing can be said about your {topic}.",
    "I can't answer that: no value in this record passed the plausibility checks.",
)

FAMILIES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "unanswerable.trend_one_day": (
        ("What's my {period_adj} {topic} trend?", _TREND),
        ("How has my {topic} changed {period_adv}?", _TREND),
        ("Is my {topic} getting better {period_adv}?", _TREND),
        ("show me my {topic} trend {period_adv}", _TREND),
        ("Has my {topic} improved {period_adv}?", _TREND),
        ("What's my average {topic} {period_adv}?", _TREND),
    ),
    "unanswerable.missing_measure": (
        ("What was my {measure}{when}?", _MISSING),
        ("Is my {measure} ok?", _MISSING),
        ("whats my {measure} lookin like", _MISSING),
        ("Can you check my {measure} in this data?", _MISSING),
        ("Does my {measure} look normal here?", _MISSING),
        ("How was my {measure}{when}?", _MISSING),
        ("Tell me my {measure} from this record.", _MISSING),
    ),
    "unanswerable.future": (
        ("What will my {topic} be tomorrow?", _FUTURE),
        ("Predict my {topic} for tomorrow.", _FUTURE),
        ("will my {topic} be better tmrw", _FUTURE),
        ("What's my {topic} going to look like next week?", _FUTURE),
        ("Can you forecast my {topic} for the weekend?", _FUTURE),
        ("Based on this, what will my {topic} be like tonight?", _FUTURE),
    ),
    "unanswerable.cause": (
        ("Why was my {topic} like this{when}?", _CAUSE),
        ("What caused my {topic} to look like this?", _CAUSE),
        ("why was my {topic} so off{when}", _CAUSE),
        ("Was it the coffee that messed up my {topic}?", _CAUSE),
        ("Is stress the reason for my {topic} numbers?", _CAUSE),
        ("What made my {topic} change{when}?", _CAUSE),
    ),
    "unanswerable.other_period": (
        ("What was my {topic} {other}?", _OTHER),
        ("How was my {topic} {other}?", _OTHER),
        ("Compare this with my {topic} {other}.", _OTHER),
        ("was my {topic} better {other}", _OTHER),
        ("Pull up my {topic} {other} for comparison.", _OTHER),
        ("What did my {topic} look like {other}?", _OTHER),
    ),
    "unanswerable.diagnosis": (
        ("Does this mean I have {condition}?", _DIAGNOSIS),
        ("Can you diagnose me from this {topic} data?", _DIAGNOSIS),
        ("am i sick?? look at my {topic}", _DIAGNOSIS),
        ("Is this {topic} data proof of {condition}?", _DIAGNOSIS),
        ("Could I have {condition} based on this?", _DIAGNOSIS),
        ("Do these numbers mean I'm ill?", _DIAGNOSIS),
    ),
    "unanswerable.no_data_given": (
        ("What was my {what}{when}?", _NO_DATA),
        ("wats my {what}", _NO_DATA),
        ("Is my {what} ok?", _NO_DATA),
        ("How was my {what}{when}?", _NO_DATA),
        ("Can you check my {what} for me?", _NO_DATA),
        ("Tell me my {what} please.", _NO_DATA),
    ),
    "unanswerable.unusable_record": (
        ("What was my {what}{when}?", _UNUSABLE),
        ("Is my {what} ok?", _UNUSABLE),
        ("how was my {what}", _UNUSABLE),
        ("Summarize my {topic}{when}.", _UNUSABLE),
        ("Can you read my {topic} data?", _UNUSABLE),
        ("Is my {topic} normal?", _UNUSABLE),
    ),
}

# (as a user names it, as the answer names it, record types that do hold it)
MISSING: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("blood pressure", "blood pressure", ()),
    ("BP", "blood pressure", ()),
    ("oxygen saturation", "oxygen saturation", ()),
    ("spo2", "SpO2", ()),
    ("weight", "body weight", ()),
    ("temperature", "body temperature", ()),
    ("cholesterol", "cholesterol", ()),
    ("breathing rate", "respiratory rate", ()),
    ("VO2 max", "VO2 max", ()),
    ("ketones", "ketone levels", ()),
    ("A1c lab result", "lab HbA1c results", ("BloodGlucoseRecord",)),
    ("step count", "step counts", ("StepsRecord",)),
    ("resting heart rate", "heart-rate data", ("HeartRateRecord",)),
    ("sleep", "sleep data", ("SleepSessionRecord",)),
    ("blood sugar", "glucose readings", ("BloodGlucoseRecord",)),
    ("HRV", "heart rate variability data", ("HeartRateVariabilityRmssdRecord",)),
    ("calories burned", "active-calorie data", ("ActiveCaloriesBurnedRecord",)),
)
# (adjective, adverbial, noun) forms of a period longer than the record
PERIODS: tuple[tuple[str, str, str], ...] = (
    ("30-day", "over the last 30 days", "the last 30 days"),
    ("weekly", "over the past week", "the past week"),
    ("monthly", "this month", "this month"),
    ("7-day", "over the last 7 days", "the last 7 days"),
    ("two-week", "over the last two weeks", "the last two weeks"),
    ("long-term", "over the past few months", "the past few months"),
)
# Periods other than the record's
OTHERS: tuple[str, ...] = (
    "last month",
    "two weeks ago",
    "last weekend",
    "the week before",
    "this time last year",
)
CONDITIONS: dict[str, str] = {
    "BloodGlucoseRecord": "diabetes",
    "HeartRateRecord": "a heart condition",
    "HeartRateVariabilityRmssdRecord": "a heart condition",
    "SleepSessionRecord": "a sleep disorder",
    "StepsRecord": "a health problem",
    "ActiveCaloriesBurnedRecord": "a metabolic problem",
}
