"""The question templates of the computation kind, per family (the answers' wording tables are in
`computation_wording.py`).

Each phrasing is (template, variant): "stated" when the message holds every number the
computation needs (the example has no input), "record" when some come from the record (the input
is the record's). Slots: `{d}` distance and `{t}` duration as typed; `{intake}`, `{burned}` kcal;
`{bed}`, `{wake}` clock times; `{what}` a measure's name, `{prev}` the previous value, `{now}` the
current one; `{part}`, `{whole}` a share's parts; `{when}` a time word.
"""

from __future__ import annotations

# Families are situations in registers: "computation.{situation}_{register}". Every situation is
# trained in three registers and every register with several situations, so that the held-out
# families (`families.HELD_OUT_FAMILIES`: pace in texting, change in clinical wording, sleep times
# in a request, a share in formal wording) combine a known situation with a known register in
# phrasings never trained. Before, each situation came in about one register and the speed family
# held the terse, texting-like phrasings, so "hw fast is 12 km in 63 min per km" read as a speed
# question. The unit asked ("per km", "km/h") tells pace from speed in every register.
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
    "computation.pace_formal": (
        ("Calculate the average pace per kilometre for {d} completed in {t}.", "stated"),
        ("Determine the running pace for a distance of {d} and a time of {t}.", "stated"),
        ("What was the mean pace, in minutes per kilometre, of {d} covered in {t}?", "stated"),
        ("Report the pace per km for {d} in {t}{when}.", "stated"),
        ("Compute the minutes per kilometre for {d} run in {t}.", "stated"),
        ("State the pace per kilometre corresponding to {d} in {t}.", "stated"),
    ),
    "computation.pace_request": (
        ("Can you work out my pace? I did {d} in {t}{when}.", "stated"),
        ("Could you tell me my minutes per km for {d} that took {t}?", "stated"),
        ("Help me figure out how fast I went per kilometre: {d}, {t}.", "stated"),
        ("I'd like to know my pace per km for {d} in {t}, please.", "stated"),
        ("Would you calculate my pace per km? {d} in {t}{when}.", "stated"),
        ("Please tell me the pace for my {d} in {t}.", "stated"),
    ),
    "computation.speed_casual": (
        ("I cycled {d} in {t}{when}. What was my average speed?", "stated"),
        ("What's the average speed for {d} in {t}?", "stated"),
        ("{d} in {t}: how many km per hour is that?", "stated"),
        ("Walked {d} in {t}{when}, what speed is that in km/h?", "stated"),
        ("Rode {d} in {t}{when}. How fast was that on average?", "stated"),
        ("So {d} took me {t}. What's that in km/h?", "stated"),
    ),
    "computation.speed_texting": (
        ("avg speed for {d} in {t}?", "stated"),
        ("{d} in {t} wats that in kmh", "stated"),
        ("speed? {d} {t}", "stated"),
        ("how many km/h is {d} in {t} lol", "stated"),
        ("kmh for {d} {t}{when}?", "stated"),
        ("biked {d} in {t} wats my avg speed", "stated"),
    ),
    "computation.speed_formal": (
        ("Please compute the mean speed for {d} covered in {t}.", "stated"),
        ("Determine the average speed in km/h over {d} completed in {t}.", "stated"),
        ("Calculate the average speed, in kilometres per hour, for {d} in {t}{when}.", "stated"),
        ("State the average speed for a distance of {d} and a duration of {t}.", "stated"),
        ("Compute kilometres per hour for {d} travelled in {t}.", "stated"),
        ("Report the mean speed of {d} in {t} in km/h.", "stated"),
    ),
    "computation.speed_request": (
        ("Can you tell me my average speed? {d} in {t}{when}.", "stated"),
        ("Could you work out how fast that was in km/h: {d} in {t}?", "stated"),
        ("Help me get my speed in km per hour for {d} in {t}, please.", "stated"),
        ("Would you calculate my average speed for {d} in {t}?", "stated"),
        ("Please tell me my km/h: I covered {d} in {t}{when}.", "stated"),
        ("I'd like my average speed for {d} in {t}, please.", "stated"),
    ),
    "computation.energy_balance_casual": (
        (
            "I ate {intake} and burned {burned} in workouts{when}. What's my energy balance?",
            "stated",
        ),
        ("If I eat {intake} and my watch says I burned {burned}, what's the difference?", "stated"),
        (
            "I ate about {intake}{when}. How does that compare with the active calories I burned?",
            "record",
        ),
        (
            "My food log says {intake}{when}. What's my balance against my active calories?",
            "record",
        ),
        ("So I had {intake} of food and burned {burned}{when}. Am I under or over?", "stated"),
        ("Had {intake}{when}. Did I eat more than I burned being active?", "record"),
    ),
    "computation.energy_balance_texting": (
        ("ate {intake} burned {burned}{when} am i in a deficit", "stated"),
        ("Intake {intake}, active burn {burned}. Surplus or deficit?", "stated"),
        ("Ate {intake}{when}. Minus what I burned, where am I?", "record"),
        ("ate {intake}{when} vs what i burned?? deficit or not", "record"),
        ("{intake} in, {burned} out, net?", "stated"),
        ("food {intake} burn {burned}{when} surplus??", "stated"),
    ),
    "computation.energy_balance_formal": (
        (
            "Calculate the energy balance for an intake of {intake} and an active expenditure "
            "of {burned}.",
            "stated",
        ),
        (
            "Determine whether an intake of {intake}{when} is a surplus or a deficit against "
            "the active energy recorded.",
            "record",
        ),
        ("Please compute net energy: {intake} consumed, {burned} expended in activity.", "stated"),
        (
            "Compute the difference between {intake} of intake and {burned} of active energy.",
            "stated",
        ),
        (
            "State the net energy for {intake} consumed{when} against the recorded active expenditure.",
            "record",
        ),
        (
            "Report the surplus or deficit of {intake} eaten versus {burned} burned in activity.",
            "stated",
        ),
    ),
    "computation.energy_balance_request": (
        ("Can you tell me if I'm in a surplus? I ate {intake} and burned {burned}.", "stated"),
        (
            "Could you compare the {intake} I ate{when} with the active calories I burned?",
            "record",
        ),
        ("Help me work out my calorie balance: ate {intake}, burned {burned}.", "stated"),
        (
            "Would you check my balance? {intake} eaten{when}, against the active calories here.",
            "record",
        ),
        ("Please tell me the difference between {intake} eaten and {burned} burned.", "stated"),
        (
            "I'd like to know whether {intake} of food{when} covers my active burn, please.",
            "record",
        ),
    ),
    "computation.sleep_clock_casual": (
        ("I went to bed at {bed} and woke up at {wake}. How long was I in bed?", "stated"),
        ("Lights out {bed}, alarm {wake}. How many hours is that?", "stated"),
        ("If I sleep from {bed} to {wake}, how long is that?", "stated"),
        ("How long was it from my bedtime to my wake-up time{when}?", "record"),
        ("Went to sleep at {bed}, got up at {wake}. That's how many hours?", "stated"),
        ("So how much time did I spend in bed{when}?", "record"),
    ),
    "computation.sleep_clock_texting": (
        ("bed at {bed}, up at {wake}, how much time is that", "stated"),
        ("in bed {bed} to {wake}{when} hw many hrs", "stated"),
        ("slept {bed} til {wake} how long", "stated"),
        ("how long was i in bed{when}", "record"),
        ("{bed} to {wake} = how many hrs", "stated"),
        ("hrs in bed{when}??", "record"),
    ),
    "computation.sleep_clock_formal": (
        ("Work out the time between going to bed and waking up{when}.", "record"),
        ("Calculate the duration from a bedtime of {bed} to a wake time of {wake}.", "stated"),
        ("Determine the time in bed between {bed} and {wake}.", "stated"),
        ("Report the interval from bedtime to final awakening{when}.", "record"),
        ("Compute the time elapsed between {bed} and {wake}.", "stated"),
        ("State the total time in bed{when}, from bedtime to wake time.", "record"),
    ),
    "computation.sleep_clock_request": (
        ("Can you tell me how long I was in bed? I went at {bed} and got up at {wake}.", "stated"),
        ("Could you work out my time in bed{when}?", "record"),
        ("Help me count the hours from {bed} to {wake}, please.", "stated"),
        ("Would you calculate the time between my bedtime and wake time{when}?", "record"),
        ("Please tell me how long {bed} to {wake} is.", "stated"),
        ("I'd like to know my hours in bed if I sleep at {bed} and wake at {wake}.", "stated"),
    ),
    "computation.change_casual": (
        ("My {what} was {prev} the day before. How much did it change?", "record"),
        ("Compared with {prev} the day before, how did my {what} change?", "record"),
        ("How does my {what} here compare with {prev} the previous day?", "record"),
        ("My {what} went from {prev} to {now}. How big a change is that?", "stated"),
        ("{what} was {prev} last week and {now} now, what's the % change?", "stated"),
        ("went from {prev} to {now} for {what}, is that a big jump?", "stated"),
    ),
    "computation.change_texting": (
        ("{what} was {prev} yday, hows it changed", "record"),
        ("{what} {prev} then {now} now, diff?", "stated"),
        ("how much did my {what} move from {prev}", "record"),
        ("{what} up or down from {prev}? by how much", "record"),
        ("my {what} {prev} b4, now {now}. change?", "stated"),
        ("{what} vs {prev} yday??", "record"),
    ),
    "computation.change_request": (
        ("Can you tell me how much my {what} changed? It was {prev} the day before.", "record"),
        ("Could you work out the change in my {what} from {prev} to {now}?", "stated"),
        ("Help me compare my {what} with {prev} the previous day, please.", "record"),
        ("I'd like to know how my {what} moved from {prev} to {now}, in % too.", "stated"),
        ("Would you calculate the change in my {what} against {prev} the day before?", "record"),
        ("Please tell me the difference between my {what} of {prev} and {now}.", "stated"),
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
    "computation.share_casual": (
        ("What share of my {whole}{when} {part}?", "record"),
        ("What percentage of my {whole} {part}?", "record"),
        ("Of my {whole}{when}, what fraction {part}?", "record"),
        ("Roughly what percent of my {whole} {part}?", "record"),
        ("So how much of my {whole}{when} {part}?", "record"),
        ("I'm curious, what part of my {whole} {part}?", "record"),
    ),
    "computation.share_texting": (
        ("how much of my {whole} {part}, in %?", "record"),
        ("% of my {whole} that {part}?", "record"),
        ("wat fraction of my {whole}{when} {part}", "record"),
        ("wat % of {whole} {part}", "record"),
        ("{whole}{when}: how much {part}? %", "record"),
        ("share of my {whole} that {part}??", "record"),
    ),
    "computation.share_formal": (
        ("Calculate the proportion of {whole} that {part}{when}.", "record"),
        ("Determine the percentage of total {whole} that {part}.", "record"),
        ("Report what fraction of the {whole} {part}.", "record"),
        ("Compute the share of {whole} that {part}.", "record"),
        ("State the percentage of the {whole}{when} that {part}.", "record"),
        ("Express as a percentage how much of the {whole} {part}.", "record"),
    ),
    "computation.share_request": (
        ("Can you work out what proportion of my {whole} {part}?", "record"),
        ("Could you tell me what percent of my {whole} {part}?", "record"),
        ("Help me see how much of my {whole} {part}, as a percentage.", "record"),
        ("Would you calculate how much of my {whole} {part}?", "record"),
        ("Please tell me the percentage of my {whole}{when} that {part}.", "record"),
        ("I'd like to know what share of my {whole} {part}, please.", "record"),
    ),
}


def situation_of(family: str) -> str:
    """ "computation.energy_balance_texting" -> "energy_balance"."""
    return family.removeprefix("computation.").rsplit("_", 1)[0]
