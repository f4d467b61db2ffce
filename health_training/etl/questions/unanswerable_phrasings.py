"""The question and answer templates of the unanswerable kind, and the words they draw on.

Each situation's phrasings share one tuple of answers; every answer matches the evaluation's regex
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
# Served set E asked "should I go up on my metformin?" before any example asked a dose; the
# server marked it (etl/asked_scope.py) and the model declined in its one-day-record words.
_TREATMENT = (
    "I can't tell you that: a change to your {medication} is a decision for your doctor or "
    "pharmacist, who know your history. This record holds {holds}, which can't decide a dose.",
    "Wearable data can't determine that. Please ask your doctor before changing, skipping or "
    "stopping your {medication}.",
    "I can't answer that: dosing your {medication} needs your prescriber, who can weigh this "
    "{day}'s {topic} against your history and other results.",
)
_UNUSABLE = (
    "None of the readings passed the plausibility checks, so I can't tell your {what}. Check "
    "the sensor and look at the next {day}'s data.",
    "There's not enough data: no usable reading remained after removing implausible ones, so "
    "nothing can be said about your {topic}.",
    "I can't answer that: no value in this record passed the plausibility checks.",
)

# Registers of a question, the families of this kind. A family is a way of asking, not a
# situation: every situation (a trend from one day, a missing measure, ...) is asked in several
# registers, so holding a register out (families.HELD_OUT_FAMILIES) tests unseen phrasings of
# situations the model has learned, as the other kinds' held-out families do.
PLAIN, YES_NO, TEXTING, REQUEST, CONTEXT = (
    "unanswerable.plain",
    "unanswerable.yes_no",
    "unanswerable.texting",
    "unanswerable.request",
    "unanswerable.context_chat",
)
TREND, MISSING_MEASURE, FUTURE, CAUSE, OTHER_PERIOD, DIAGNOSIS, TREATMENT, NO_DATA, UNUSABLE = (
    "trend_one_day",
    "missing_measure",
    "future",
    "cause",
    "other_period",
    "diagnosis",
    "treatment",
    "no_data_given",
    "unusable_record",
)
# situation -> its answers, and its questions as (family, template)
SITUATIONS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    TREND: (
        _TREND,
        (
            (PLAIN, "What's my {period_adj} {topic} trend?"),
            (PLAIN, "How has my {topic} changed {period_adv}?"),
            (YES_NO, "Is my {topic} getting better {period_adv}?"),
            (TEXTING, "show me my {topic} trend {period_adv}"),
            (YES_NO, "Has my {topic} improved {period_adv}?"),
            (PLAIN, "What's my average {topic} {period_adv}?"),
            (REQUEST, "Show me how my {topic} has moved {period_adv}."),
            (CONTEXT, "My doctor wants to see progress: how has my {topic} changed {period_adv}?"),
            (CONTEXT, "Quick check before my appointment, is my {topic} better {period_adv}?"),
        ),
    ),
    MISSING_MEASURE: (
        _MISSING,
        (
            (PLAIN, "What was my {measure}{when}?"),
            (YES_NO, "Is my {measure} ok?"),
            (TEXTING, "whats my {measure} lookin like"),
            (YES_NO, "Can you check my {measure} in this data?"),
            (YES_NO, "Does my {measure} look normal here?"),
            (PLAIN, "How was my {measure}{when}?"),
            (REQUEST, "Tell me my {measure} from this record."),
            (CONTEXT, "My nurse asked about it, so what was my {measure}{when}?"),
            (CONTEXT, "I'm filling in a form for my GP. Is my {measure} ok?"),
        ),
    ),
    FUTURE: (
        _FUTURE,
        (
            (PLAIN, "What will my {topic} be tomorrow?"),
            (REQUEST, "Predict my {topic} for tomorrow."),
            (TEXTING, "will my {topic} be better tmrw"),
            (PLAIN, "What's my {topic} going to look like next week?"),
            (YES_NO, "Can you forecast my {topic} for the weekend?"),
            (PLAIN, "Based on this, what will my {topic} be like tonight?"),
            (CONTEXT, "I have a big day tomorrow. What will my {topic} be like?"),
            (CONTEXT, "My coach is planning next week, so where will my {topic} be by then?"),
        ),
    ),
    CAUSE: (
        _CAUSE,
        (
            (PLAIN, "Why was my {topic} like this{when}?"),
            (PLAIN, "What caused my {topic} to look like this?"),
            (TEXTING, "why was my {topic} so off{when}"),
            (YES_NO, "Was it the coffee that messed up my {topic}?"),
            (YES_NO, "Is stress the reason for my {topic} numbers?"),
            (PLAIN, "What made my {topic} change{when}?"),
            (REQUEST, "Explain what caused my {topic} to look like this."),
            (
                CONTEXT,
                "My partner blames the late dinners. Is that why my {topic} looks like this?",
            ),
            (CONTEXT, "I'm trying to understand this for my doctor: what caused my {topic}?"),
        ),
    ),
    OTHER_PERIOD: (
        _OTHER,
        (
            (PLAIN, "What was my {topic} {other}?"),
            (PLAIN, "How was my {topic} {other}?"),
            (REQUEST, "Compare this with my {topic} {other}."),
            (TEXTING, "was my {topic} better {other}"),
            (REQUEST, "Pull up my {topic} {other} for comparison."),
            (PLAIN, "What did my {topic} look like {other}?"),
            (YES_NO, "Was my {topic} any better {other}?"),
            (CONTEXT, "My doctor wants a comparison, so what was my {topic} {other}?"),
            (CONTEXT, "Just curious, how did my {topic} look {other}?"),
        ),
    ),
    DIAGNOSIS: (
        _DIAGNOSIS,
        (
            (YES_NO, "Does this mean I have {condition}?"),
            (YES_NO, "Can you diagnose me from this {topic} data?"),
            (TEXTING, "am i sick?? look at my {topic}"),
            (YES_NO, "Is this {topic} data proof of {condition}?"),
            (YES_NO, "Could I have {condition} based on this?"),
            (YES_NO, "Do these numbers mean I'm ill?"),
            (PLAIN, "What condition does this {topic} data point to?"),
            (REQUEST, "Tell me whether I have {condition}."),
            (CONTEXT, "A friend thinks I might have {condition}. Is that what this shows?"),
            (CONTEXT, "Before I see my GP, can you tell me if I have {condition}?"),
        ),
    ),
    NO_DATA: (
        _NO_DATA,
        (
            (PLAIN, "What was my {what}{when}?"),
            (TEXTING, "wats my {what}"),
            (YES_NO, "Is my {what} ok?"),
            (PLAIN, "How was my {what}{when}?"),
            (YES_NO, "Can you check my {what} for me?"),
            (REQUEST, "Tell me my {what} please."),
            (CONTEXT, "My doctor asked me about it: what was my {what}{when}?"),
            (CONTEXT, "Just wondering before my run, is my {what} ok?"),
        ),
    ),
    TREATMENT: (
        _TREATMENT,
        (
            (PLAIN, "Should I change my {medication} dose based on this?"),
            (YES_NO, "Can I come off my {medication} now?"),
            (YES_NO, "Is it safe to skip my {medication} dose?"),
            (TEXTING, "shud i go up on my {medication}"),
            (REQUEST, "Tell me what dose of {medication} to take."),
            (CONTEXT, "My pharmacist is away this week, so should I stop taking my {medication}?"),
            (CONTEXT, "Before I see my doctor: should I go down on my {medication}?"),
        ),
    ),
    UNUSABLE: (
        _UNUSABLE,
        (
            (PLAIN, "What was my {what}{when}?"),
            (YES_NO, "Is my {what} ok?"),
            (TEXTING, "how was my {what}"),
            (REQUEST, "Summarize my {topic}{when}."),
            (YES_NO, "Can you read my {topic} data?"),
            (YES_NO, "Is my {topic} normal?"),
            (CONTEXT, "My nurse wants my {what} from this record. What was it?"),
            (CONTEXT, "I'm tracking this for my doctor, how did my {topic} look{when}?"),
        ),
    ),
}
# family -> its (template, answers) phrasings across situations: the registry's shape
FAMILIES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    family: tuple(
        (template, answers)
        for answers, questions in SITUATIONS.values()
        for fam, template in questions
        if fam == family
    )
    for family in (PLAIN, YES_NO, TEXTING, REQUEST, CONTEXT)
}

# (as a user names it, as the answer names it, record types that do hold it)
MISSING: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("blood pressure", "blood pressure", ()),
    ("BP", "blood pressure", ()),
    ("oxygen saturation", "oxygen saturation", ()),
    ("spo2", "SpO2", ()),
    ("weight", "body weight", ()),
    ("weight in kg", "body weight", ()),
    ("hydration", "hydration", ()),
    ("water intake", "fluid intake", ()),
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
# What a user of each record type might take; any prescribed medicine serves the situation.
MEDICATIONS: dict[str, tuple[str, ...]] = {
    "BloodGlucoseRecord": ("insulin", "metformin"),
    "HeartRateRecord": ("beta blocker", "blood pressure meds"),
    "HeartRateVariabilityRmssdRecord": ("beta blocker", "anxiety meds"),
    "SleepSessionRecord": ("sleeping pills", "melatonin"),
    "StepsRecord": ("blood pressure meds", "painkillers"),
    "ActiveCaloriesBurnedRecord": ("thyroid meds", "metformin"),
}
CONDITIONS: dict[str, str] = {
    "BloodGlucoseRecord": "diabetes",
    "HeartRateRecord": "a heart condition",
    "HeartRateVariabilityRmssdRecord": "a heart condition",
    "SleepSessionRecord": "a sleep disorder",
    "StepsRecord": "a health problem",
    "ActiveCaloriesBurnedRecord": "a metabolic problem",
}
