"""The question templates of the computation kind, per family, and the shares it can compute.

Each phrasing is (template, variant): "stated" when the message holds every number the
computation needs (the example has no input), "record" when some come from the record (the input
is the record's). Slots: `{d}` distance and `{t}` duration as typed; `{intake}`, `{burned}` kcal;
`{bed}`, `{wake}` clock times; `{what}` a measure's name, `{prev}` the previous value, `{now}` the
current one; `{part}`, `{whole}` a share's parts; `{when}` a time word.
"""

from __future__ import annotations

FAMILIES: dict[str, tuple[tuple[str, str], ...]] = {
    "computation.pace_casual": (
        ("I ran {d} in {t}{when}. What was my pace?", "stated"),
        ("What pace is {d} in {t}?", "stated"),
        ("Did {d} in {t}{when}, how fast per km is that?", "stated"),
        ("If I walked {d} in {t}, what's my pace per kilometre?", "stated"),
        ("Just finished {d} in {t}. Pace?", "stated"),
        ("My run{when}: {d}, {t}. What pace does that work out to?", "stated"),
    ),
    "computation.pace_texting": (
        ("ran {d} in {t}{when} wats my pace", "stated"),
        ("{d} {t} pace?", "stated"),
        ("pace for {d} in {t} pls", "stated"),
        ("hw fast is {d} in {t} per km", "stated"),
        ("did {d} in {t} whats that per km", "stated"),
        ("{d} in {t}, min per km?", "stated"),
    ),
    "computation.speed": (
        ("I cycled {d} in {t}{when}. What was my average speed?", "stated"),
        ("What's the average speed for {d} in {t}?", "stated"),
        ("{d} in {t}: how many km per hour is that?", "stated"),
        ("Walked {d} in {t}{when}, what speed is that in km/h?", "stated"),
        ("avg speed for {d} in {t}?", "stated"),
        ("Please compute the mean speed for {d} covered in {t}.", "stated"),
    ),
    "computation.energy_balance": (
        (
            "I ate {intake} and burned {burned} in workouts{when}. What's my energy balance?",
            "stated",
        ),
        ("Intake {intake}, active burn {burned}. Surplus or deficit?", "stated"),
        ("ate {intake} burned {burned}{when} am i in a deficit", "stated"),
        ("If I eat {intake} and my watch says I burned {burned}, what's the difference?", "stated"),
        (
            "I ate about {intake}{when}. How does that compare with the active calories I burned?",
            "record",
        ),
        (
            "My food log says {intake}{when}. What's my balance against my active calories?",
            "record",
        ),
        ("Ate {intake}{when}. Minus what I burned, where am I?", "record"),
    ),
    "computation.sleep_clock": (
        ("I went to bed at {bed} and woke up at {wake}. How long was I in bed?", "stated"),
        ("bed at {bed}, up at {wake}, how much time is that", "stated"),
        ("Lights out {bed}, alarm {wake}. How many hours is that?", "stated"),
        ("If I sleep from {bed} to {wake}, how long is that?", "stated"),
        ("in bed {bed} to {wake}{when} hw many hrs", "stated"),
        ("How long was it from my bedtime to my wake-up time{when}?", "record"),
        ("Work out the time between going to bed and waking up{when}.", "record"),
    ),
    "computation.change_casual": (
        ("My {what} was {prev} the day before. How much did it change?", "record"),
        ("Compared with {prev} the day before, how did my {what} change?", "record"),
        ("How does my {what} here compare with {prev} the previous day?", "record"),
        ("My {what} went from {prev} to {now}. How big a change is that?", "stated"),
        ("{what} was {prev} last week and {now} now, what's the % change?", "stated"),
        ("went from {prev} to {now} for {what}, is that a big jump?", "stated"),
    ),
    "computation.change_clinical": (
        ("Calculate the change in {what} from {prev} to {now}.", "stated"),
        (
            "Quantify the difference between a prior {what} of {prev} and the value recorded here.",
            "record",
        ),
        (
            "What is the absolute and relative change in {what} from {prev} on the previous day?",
            "record",
        ),
        ("Express the change from {prev} to {now} in {what} as a percentage.", "stated"),
        ("Compute the day-over-day change in {what}, given {prev} on the prior day.", "record"),
        ("Given a baseline {what} of {prev}, what is the change to {now}?", "stated"),
    ),
    "computation.share": (
        ("What share of my {whole}{when} {part}?", "record"),
        ("What percentage of my {whole} {part}?", "record"),
        ("how much of my {whole} {part}, in %?", "record"),
        ("Of my {whole}{when}, what fraction {part}?", "record"),
        ("Roughly what percent of my {whole} {part}?", "record"),
        ("Can you work out what proportion of my {whole} {part}?", "record"),
    ),
}

# The subject of a change answer, before its colon.
CHANGE_WHAT: dict[str, str] = {
    "mean_glucose_mg_dl": "average glucose",
    "resting_hr_bpm": "resting heart rate",
    "mean_rmssd_ms": "average HRV",
    "asleep_min": "total sleep",
    "total_steps": "steps",
    "total_active_kcal": "active calories",
}

# key -> (part fact, whole fact, the part in a question, the whole in a question, the computed
# fact's name, the answer). The answer names part and whole with their statement cues.
SHARES: dict[str, tuple[str, str, str, str, str, str]] = {
    "deep": (
        "deep_min",
        "asleep_min",
        "was deep sleep",
        "sleep",
        "share_deep_of_asleep_pct",
        "Deep sleep was {deep_min} of {asleep_min__n} min asleep, which is {share}.",
    ),
    "rem": (
        "rem_min",
        "asleep_min",
        "was REM sleep",
        "sleep",
        "share_rem_of_asleep_pct",
        "REM sleep was {rem_min} of {asleep_min__n} min asleep, which is {share}.",
    ),
    "asleep": (
        "asleep_min",
        "time_in_bed_min",
        "was spent actually asleep",
        "time in bed",
        "share_asleep_of_in_bed_pct",
        "You were asleep {asleep_min__n} min of {time_in_bed_min__n} min in bed, which is {share}.",
    ),
    "steps_peak": (
        "peak_hour_steps",
        "total_steps",
        "came in my busiest hour",
        "steps",
        "share_peak_hour_steps_pct",
        "Your busiest hour, {peak_hour}, had {peak_hour_steps} of your {total_steps}, which is "
        "{share}.",
    ),
    "kcal_peak": (
        "peak_hour_kcal",
        "total_active_kcal",
        "came in my most active hour",
        "active calories",
        "share_peak_hour_kcal_pct",
        "Your most active hour, {peak_hour}, had {peak_hour_kcal} of your {total_active_kcal}, "
        "which is {share}.",
    ),
}
