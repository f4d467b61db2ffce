"""User-stated questions: no record in the input; the user types one to four numbers in the
message ("my cgm avg was 163 mg/dl yesterday and 62% in range, is that bad?"), as a model server
receives most requests. The values come from the record's statistics, so they are realistic; the
answer restates each with its canonical unit and judges it against the reference values
(`verdicts.judge`). `metadata.facts` holds the stated values under `facts_of`'s names.

`STATED` says how a user names a value in each register ("{v}" is the value as typed);
`FAMILIES` holds the message templates, `{values}` being the stated values joined.
"""

from __future__ import annotations

from random import Random

from health_training.etl.computed_verdicts import UNJUDGED
from health_training.etl.questions.example import Asked, Draft, Record
from health_training.etl.questions.measures import MEASURE, RECORD_TOPIC
from health_training.etl.questions.phrasing import cap, fill, join_all, judged_sentence, when
from health_training.etl.questions.quantities import say, unit_of, user_says
from health_training.etl.questions.verdicts import JUDGED_FACTS, judge

# fact -> (casual, clinical, texting) ways of stating it
STATED: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "mean_glucose_mg_dl": (
        ("an average of {v}", "average glucose {v}", "{v} on average"),
        ("mean glucose {v}", "a mean glucose of {v}", "mean {v}"),
        ("avg {v}", "cgm avg {v}", "{v} avg"),
    ),
    "time_in_range_pct": (
        ("{v} time in range", "{v} in range"),
        ("time in range {v}", "TIR {v}"),
        ("{v} in range", "tir {v}"),
    ),
    "time_below_range_pct": (
        ("{v} of the time low", "{v} below range", "{v} of the day below 70"),
        ("time below range {v}", "TBR {v}"),
        ("{v} low", "tbr {v}", "{v} below 70"),
    ),
    "time_above_range_pct": (
        ("{v} of the time high", "{v} above range", "{v} of the day above 180"),
        ("time above range {v}", "TAR {v}"),
        ("{v} high", "tar {v}", "{v} above 180"),
    ),
    "glucose_cv_pct": (
        ("a CV of {v}", "glucose variability of {v}"),
        ("CV {v}", "coefficient of variation {v}"),
        ("cv {v}",),
    ),
    "gmi_pct": (
        ("a GMI of {v}", "estimated A1c {v}"),
        ("GMI {v}", "glucose management indicator {v}"),
        ("gmi {v}", "est a1c {v}"),
    ),
    "max_glucose_mg_dl": (
        ("a high of {v}", "a peak of {v}", "highest {v}", "peaked at {v}"),
        ("maximum glucose {v}",),
        ("max {v}", "spike to {v}"),
    ),
    "min_glucose_mg_dl": (
        ("a low of {v}", "a lowest reading of {v}"),
        ("minimum glucose {v}",),
        ("min {v}", "lowest {v}"),
    ),
    "resting_hr_bpm": (
        ("a resting heart rate of {v}", "resting pulse {v}"),
        ("resting HR {v}", "resting heart rate {v}"),
        ("rhr {v}", "resting hr {v}", "resting {v}"),
    ),
    "mean_hr_bpm": (
        ("an average heart rate of {v}", "average pulse {v}"),
        ("mean heart rate {v}", "mean HR {v}"),
        ("avg hr {v}", "avg pulse {v}"),
    ),
    "max_hr_bpm": (
        (
            "a max heart rate of {v}",
            "a peak heart rate of {v}",
            "heart rate hit {v}",
            "heart rate peaked at {v}",
        ),
        ("peak heart rate {v}", "maximum HR {v}"),
        ("max hr {v}", "peak hr {v}", "hr hit {v}"),
    ),
    "mean_rmssd_ms": (
        ("an HRV of {v}", "average HRV {v}"),
        ("mean RMSSD {v}",),
        ("hrv {v}", "avg hrv {v}"),
    ),
    "asleep_min": (
        ("{v} of sleep", "{v} asleep", "slept {v}"),
        ("total sleep time {v}",),
        ("{v} sleep", "{v} of sleep", "slept {v}"),
    ),
    "sleep_efficiency_pct": (
        ("{v} sleep efficiency", "a sleep efficiency of {v}"),
        ("sleep efficiency {v}",),
        ("eff {v}", "{v} efficiency"),
    ),
    "sleep_latency_min": (
        ("{v} to fall asleep",),
        ("sleep latency {v}", "sleep onset latency {v}"),
        ("{v} to fall asleep", "latency {v}"),
    ),
    "awake_min": (
        ("awake for {v}", "{v} awake"),
        ("wake time in bed {v}", "time awake {v}"),
        ("awake {v}", "{v} awake"),
    ),
    "deep_pct": (("{v} deep sleep",), ("deep sleep {v}",), ("deep {v}",)),
    "rem_pct": (("{v} REM sleep",), ("REM sleep {v}",), ("rem {v}",)),
    "total_steps": (
        ("{v}", "a step count of {v}"),
        ("daily step count {v}",),
        ("{v}", "did {v}"),
    ),
    "total_active_kcal": (
        ("{v} of active calories", "{v} burned"),
        ("active energy expenditure {v}",),
        ("{v} burned", "{v} active"),
    ),
}
REGISTERS = ("casual", "clinical", "texting")
# How many values one message states (at most the record type's): one to six, a sixth each.
# Until run 22 it was one to three (4 % three), and served messages with four values were
# answered with one or two of them; until run 24 one to four, and served reports of five or six
# glucose or sleep values (set G: "average, GMI, time in range, above 180, below 70, CV") were
# the weakest kind of held-out set F.
VALUE_COUNTS = (1, 2, 3, 4, 5, 6)

FAMILIES: dict[str, tuple[str, ...]] = {
    "user_stated.casual_question": (
        "I had {values}{when}. Is that bad?",
        "My {topic}{when}: {values}. Is that ok?",
        "Got {values}{when}, is that normal?",
        "So {values}{when}. Good or bad?",
        "My app shows {values}{when}. What do you think?",
        "{Values}{when}. Should I be happy with that?",
    ),
    "user_stated.texting": (
        "my {topic}{when} was {values} is that bad",
        "{values}{when} ok??",
        "{values} wat does that mean",
        "got {values}{when} shud i worry",
        "{values}, normal?",
        "hey so {values}{when}, thoughts?",
        "is {values} good or nah",
    ),
    "user_stated.clinical_report": (
        "Patient-reported values{when}: {values}. Please interpret.",
        "For context, my readings were {values}. Are these within reference ranges?",
        "Please evaluate the following values: {values}.",
        "Recorded values{when}: {values}. Any clinical concern?",
        "Can you interpret {values} against standard targets?",
        "How do {values} compare with the guidelines?",
    ),
    "user_stated.worried": (
        "I'm a bit worried. I had {values}{when}. Is that dangerous?",
        "Should I call my doctor? I had {values}{when}.",
        "Freaking out a little: {values}{when}. Is that normal?",
        "Is it bad that I had {values}{when}?",
        "My {topic} has me nervous: {values}{when}. Is that a problem?",
        "Not sure if I should worry. {Values}{when}.",
    ),
    "user_stated.device_readout": (
        "My watch says {values}{when}. What does that mean?",
        "According to my tracker, {values}{when}. Is that ok?",
        "The app gave me {values}{when}. How am I doing?",
        "My wearable reported {values}{when}. Can you explain?",
        "Tracker readout{when}: {values}. Good?",
        "Synced my device{when}: {values}. Is this normal for an adult?",
    ),
    "user_stated.context_note": (
        "My doctor asked me to keep an eye on this. {Values}{when}. Is that ok?",
        "Writing this down for my check-up: {values}{when}. Anything unusual?",
        "I've had a stressful week. {Values}{when}. Should I be concerned?",
        "My mum keeps asking about my health. {Values}{when}. What do I tell her?",
        "New to wearables, so bear with me: {values}{when}. Normal?",
        "I'm on holiday and noticed {values}{when}. Is that fine?",
    ),
    "user_stated.coach": (
        "I'm training for a 10k. {Values}{when}. Am I ok?",
        "Trying to get fitter: {values}{when}. How does that look?",
        "Coach me: {values}{when}. Anything to work on?",
        "I've started eating better. {Values}{when}. Is that good?",
        "Give me your honest read on {values}.",
        "What should I make of {values}{when}?",
    ),
}
_REGISTER = {
    "user_stated.casual_question": "casual",
    "user_stated.texting": "texting",
    "user_stated.clinical_report": "clinical",
    "user_stated.worried": "casual",
    "user_stated.device_readout": "casual",
    "user_stated.coach": "casual",
    "user_stated.context_note": "casual",
}
# Six judged values run to ~700 characters (~190 tokens, under the server's 256); until run 22
# a limit of 350 dropped the fourth, and served four-value messages were answered with two or
# three (development set C).
MAX_ANSWER_CHARS = 760
# A value the reference table does not judge (GMI, the average heart rate, time awake) is
# restated with the computed line's words for it. Until run 24 no user-stated message held one,
# and served messages that did were answered without it, or with the next value's verdict
# ("average heart rate of 88 bpm is at or below the 190 bpm reference maximum", set G); run 24
# restated them plainly ("Your average heart rate was 88 bpm.") and still gave the next verdict
# in freeform_test, where its answers then repeated a clause and were cut (EOS 94 %).
_RESTATED = (
    "Your {subject} of {value} " + UNJUDGED + ".",
    "Your {subject} was {value}, which " + UNJUDGED + ".",
)


def answer(stated: dict[str, float], rng: Random) -> str:
    """One judged sentence per stated value (a value with no reference is restated as given); a
    summary only when the values disagree."""
    verdicts = {f: judge(f, v) for f, v in stated.items() if f in JUDGED_FACTS}
    sentences = [
        judged_sentence(MEASURE[f].subject, say(f, v), verdicts[f], rng)
        if f in verdicts
        else rng.choice(_RESTATED).format(subject=MEASURE[f].subject, value=say(f, v))
        for f, v in stated.items()
    ]
    flagged = [v for v in verdicts.values() if v.flagged]
    if len(stated) > 1 and not flagged and rng.random() < 0.6:
        sentences.append(rng.choice(("All of these look fine.", "Nothing here is out of range.")))
    elif flagged and rng.random() < 0.5:
        urgent = max(v.severity for v in flagged) >= 2
        sentences.append(
            rng.choice(
                ("If this repeats, talk to your doctor.", "Worth raising with your care team.")
                if urgent
                else (
                    "Worth watching over the next few days.",
                    "One day alone is no cause for alarm.",
                )
            )
        )
    text = " ".join(sentences)
    # Long clauses can run past the limit: drop the closer first, then the last value.
    while len(text) > MAX_ANSWER_CHARS and len(sentences) > 1:
        sentences.pop()
        text = " ".join(sentences)
    return text


def stated_options(record: Record) -> list[str]:
    """The facts of `record` a user could type, in `STATED`'s order (mean before range)."""
    return [
        f
        for f in STATED
        if f in record.facts and MEASURE[f].record_type == record.batch.record_type
    ]


def flagged_options(record: Record, options: list[str]) -> list[str]:
    """The options whose recorded value is outside its reference."""
    return [f for f in options if f in JUDGED_FACTS and judge(f, record.facts[f]).flagged]


def draft(record: Record, rng: Random) -> Draft | None:
    record_type = record.batch.record_type
    options = stated_options(record)
    if not options:
        return None
    family = rng.choice(sorted(FAMILIES))
    register = _REGISTER[family]
    chosen = rng.sample(options, k=min(len(options), rng.choice(VALUE_COUNTS)))
    # As in judgement: an abnormal value, when the day has one, is stated half the time; and a
    # message asks about at least one value the references judge.
    flagged = flagged_options(record, options)
    if flagged and rng.random() < 0.5 and not set(flagged) & set(chosen):
        chosen[0] = rng.choice(flagged)
    if not set(chosen) & set(JUDGED_FACTS):
        chosen[0] = rng.choice([f for f in options if f in JUDGED_FACTS])
    chosen.sort(key=options.index)  # the record's order reads naturally: mean before range
    phrases, stated = stated_values([(f, record.facts[f]) for f in chosen], register, rng)
    return stated_draft(
        family,
        rng.choice(FAMILIES[family]),
        phrases,
        stated,
        rng,
        texting=register == "texting",
        topic=rng.choice(RECORD_TOPIC[record_type]),
        when=when(record_type, rng),
    )


def stated_values(
    facts: list[tuple[str, float]], register: str, rng: Random
) -> tuple[list[str], dict[str, float]]:
    """How a user of `register` types each (fact, value), and the values those texts state."""
    phrases, stated = [], {}
    for fact, recorded in facts:
        text, value = user_says(fact, recorded, rng)
        ways = STATED[fact][REGISTERS.index(register)]
        phrases.append(rng.choice(ways).format(v=text))
        stated[fact] = value
    return phrases, stated


def stated_draft(
    family: str,
    template: str,
    phrases: list[str],
    stated: dict[str, float],
    rng: Random,
    *,
    texting: bool,
    **slots: str,
) -> Draft:
    """The message (`template` with the phrases joined as `{values}`) and its judged answer."""
    output = answer(stated, rng)
    # A sentence dropped for length drops its value from what the answer states.
    kept = {f: v for f, v in stated.items() if say(f, v) in output}
    values = join_all(phrases, rng, texting=texting)
    question = fill(template, values=values, Values=cap(values), **slots)
    asked = tuple(Asked(f, v, unit_of(f)) for f, v in kept.items())
    return Draft(family, question, "", output, dict(stated), asked)
