"""The words users put around their own numbers that the writer's measure names lack:
`measured_values.stated_values` binds numbers to them (and `SERVED_TOPICS` says what a
sentence is about). Apart from the writer's vocabulary so that no question template changes;
a training line changes only where a writer's message states a value these words now read
(run 29: 18 of 2,034 question examples of a generated month, each line now holding a value its
answer states, e.g. "resting 54" and "hr hit 95").

Each was found on a served development set (G, I, J, L: messages written by people who had not
seen the parser) and is kept general: a phrasing, not a message.
"""

# Words users put around their numbers that no writer phrasing has (so no training line
# changes): they bind a number with a unit only. "took 45 min to drop off" is a latency; "max
# 171 bpm" a peak heart rate (the unit decides: "max 240 mg/dl" stays the highest glucose);
# "average 61 bpm", "42 ms average" the mean of the unit's measure (the writer's "average"
# names the mean glucose only).
SERVED_WORDS = (
    ("sleep_latency_min", "to drop off"),
    ("sleep_latency_min", "to nod off"),
    ("sleep_latency_min", "to get to sleep"),
    ("mean_hr_bpm", "average"),
    ("mean_hr_bpm", "avg"),
    ("mean_glucose_mg_dl", "average"),  # "my avg is 168 mgdl" (set I)
    ("mean_glucose_mg_dl", "avg"),
    # Typos set I wrote ("sleep effiency was 81%" left "sleep" to take the next number).
    ("sleep_efficiency_pct", "sleep effiency"),
    ("sleep_efficiency_pct", "effiency"),
    ("sleep_efficiency_pct", "eficiency"),  # set M
    ("sleep_latency_min", "to fall alseep"),
    ("asleep_min", "sleeep"),
    ("total_steps", "stepps"),
    ("mean_glucose_mg_dl", "avrage glucose"),
    ("mean_rmssd_ms", "average"),
    ("mean_rmssd_ms", "avg"),
    ("max_hr_bpm", "max"),
    ("max_hr_bpm", "peak"),
    ("max_hr_bpm", "highest"),
    # An extreme with no measure named, which the unit makes one ("lowest 14 ms" after an HRV
    # average, "lowest overnight was 64 mg per dl"): set J, development, left both unread.
    ("max_glucose_mg_dl", "highest"),
    ("max_rmssd_ms", "highest"),
    ("min_glucose_mg_dl", "lowest"),
    ("min_rmssd_ms", "lowest"),
    # "total 6.8 h" in a night's numbers: a duration's total is the sleep ("total burn 2480
    # cal" is no active-calorie total, so no other unit's).
    ("asleep_min", "total"),
    ("steps_pct_of_goal", "steps"),  # "steps 112% of goal": a share of the step goal
    # An average or an extreme with no measure named, which the sentence's measures make one
    # ("Dexcom says avg 178", "hrv lowest 12 highest 35", "mean 122"): set L, development.
    ("mean_glucose_mg_dl", "mean"),
    ("mean_hr_bpm", "mean"),
    ("mean_rmssd_ms", "mean"),
    ("min_glucose_mg_dl", "low"),
    ("min_glucose_mg_dl", "as low as"),
    ("min_rmssd_ms", "as low as"),
    ("max_glucose_mg_dl", "as high as"),
    ("max_glucose_mg_dl", "max"),
    ("max_rmssd_ms", "max"),
    # A count right before the word: "only 1 low", "1 high" (set K; "3 lows" is a name below)
    ("hypoglycemic_events", "low"),
    ("hyperglycemic_events", "high"),
    ("min_glucose_mg_dl", "lower"),  # "the lower was 102 and the higher was 311"
    ("max_glucose_mg_dl", "higher"),
    # A share of a goal after the total it is of ("3 412 steps, which is 34% of my goal",
    # "active 410 kcal (82% of goal)"): the nearest total before says whose (set L).
    ("steps_pct_of_goal", "of my goal"),
    ("kcal_pct_of_goal", "of my goal"),
    ("steps_pct_of_goal", "of goal"),
    ("kcal_pct_of_goal", "of goal"),
    ("steps_pct_of_goal", "of the goal"),
    ("kcal_pct_of_goal", "of the goal"),
    ("steps_pct_of_goal", "percentage of goal"),
    ("kcal_pct_of_goal", "percentage of goal"),
    # Clinical shorthand: total sleep time, sleep efficiency
    ("asleep_min", "tst"),
    ("sleep_efficiency_pct", "se"),
    ("awake_min", "waso"),  # wake after sleep onset (set N)
    ("sleep_latency_min", "sol"),  # sleep onset latency
)
# Words users put before or after a number that name one measure only, so they bind a bare
# number as a measure's own name does ("HR avg 72 bpm, resting 57"; "took 12 min to drift
# off"; "3 lows yesterday"). Found on set J (development), written by someone who had not seen
# the parser; like the words above, no writer phrasing has them.
SERVED_NAMES = (
    ("resting_hr_bpm", "resting"),
    ("resting_hr_bpm", "heart rate in rest"),
    ("resting_hr_bpm", "hr at rest"),
    ("resting_hr_bpm", "pulse at rest"),
    ("resting_hr_bpm", "heart in rest"),
    ("resting_hr_bpm", "heart at rest"),
    ("asleep_min", "sleeping"),  # "my sleeping was 6 hour and 40 minute"
    ("total_active_kcal", "active cal"),  # "active cal 1,420" (set M)
    ("total_active_kcal", "active cals"),
    ("total_active_kcal", "active kcal"),  # "- active kcal 210" (set N)
    ("total_active_kcal", "active kcals"),
    ("sleep_latency_min", "fell asleep in"),
    ("sleep_latency_min", "asleep in"),
    ("sleep_latency_min", "to drift off"),
    ("sleep_latency_min", "to doze off"),
    ("hypoglycemic_events", "lows"),
    ("hyperglycemic_events", "highs"),
    ("hyperglycemic_events", "hypers"),
)
# A count binds only a small whole number: "lows under 70" holds a threshold, not a count.
MAX_COUNT = 50
# Words that say which record type a sentence is about, for a bare number beside a word that
# needs a unit ("my sugar average was 198", "Dexcom says avg 178"): only for that, so a
# question's missing measures (`named_topics.named_topics`) keep the writer's names.
SERVED_TOPICS: dict[str, tuple[str, ...]] = {
    "BloodGlucoseRecord": ("sugar", "bg", "cgm", "dexcom", "libre", "glucose", "sensor"),
    "HeartRateRecord": ("hr", "heart", "pulse", "heart rate"),
    "HeartRateVariabilityRmssdRecord": ("hrv", "rmssd"),
}
