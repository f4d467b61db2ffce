"""Values a record states that people ask for by name but no rule judges: the hyperglycemic
events, the minutes in each heart-rate zone and the share of the day's goal.

Set H (development, 24 look-ups of a record by a fresh helper) asked for them ("how many times
was i over 250 for 15+ min", "how many minutes was I in zone 4", "wat % of my step goal did i
hit"); with no name, the computed line held the record's headline verdict and run 25 answered
with it (10 of 24 look-ups addressed). Named, the line states the value as the record holds it.
"""

from __future__ import annotations

from health_training.etl.questions.measure import CALORIES, GLUCOSE, HEART, STEPS, Measure

ZONES = range(1, 6)

LOOKUP_MEASURES: tuple[Measure, ...] = (
    Measure(
        "hyperglycemic_events",
        GLUCOSE,
        "hyperglycemic events",
        ("number of highs", "high episodes", "hyper episodes", "number of hypers"),
        ("number of hyperglycemic events", "hyperglycemic events", "hyperglycemic episodes"),
        ("hypers", "# of highs", "hyper count"),
    ),
    *(
        Measure(
            f"zone{z}_min",
            HEART,
            f"time in zone {z}",
            (f"zone {z}", f"time in zone {z}", f"minutes in zone {z}"),
            (f"heart rate zone {z}", f"time in heart rate zone {z}"),
            (f"z{z}", f"zone{z}", f"mins in zone {z}"),
        )
        for z in ZONES
    ),
    Measure(
        "steps_pct_of_goal",
        STEPS,
        "share of the step goal",
        ("% of my step goal", "percent of my step goal", "share of my step goal"),
        ("percentage of the step goal", "step goal attainment"),
        ("% of step goal", "step goal %", "% of my steps goal"),
    ),
    Measure(
        "kcal_pct_of_goal",
        CALORIES,
        "share of the calorie goal",
        ("% of my calorie goal", "percent of my calorie goal", "share of my calorie goal"),
        ("percentage of the calorie goal", "calorie goal attainment"),
        ("% of calorie goal", "calorie goal %", "% of my cal goal"),
    ),
)
