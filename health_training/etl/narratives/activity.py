"""The activity narrative: a day's steps or active calories against the daily goal."""

from __future__ import annotations

from health_training.etl.clinical_types import DailyTotalStats
from health_training.etl.derived import share_pct
from health_training.etl.narratives.wording import NarrativeParts


def daily_total_narrative(s: DailyTotalStats, codes: set[str], steps: bool) -> NarrativeParts:
    # The peak hour's share of the day is written by the writer, like every other derived value:
    # asked for it, the model otherwise divided by itself ("36 of 314 kcal, which is 63%").
    of_day = f" ({share_pct(s.peak_value, s.total)}% of the day)" if s.total > 0 else ""
    if steps:
        total, goal, peak = f"{s.total:,} steps", f"{s.goal:,} steps", f"{s.peak_value:,} steps"
        facts = [
            f"Total {total} against a goal of {goal} ({s.percent_of_goal}% of goal).",
            f"Most active hour {s.peak_hour:02d}:00 with {peak}{of_day}; {s.active_hours} hours with "
            "250 or more steps.",
            "Reference: under 2,500 steps a day is very low, under 5,000 sedentary, under "
            "7,500 low.",
        ]
    else:
        total, goal, peak = f"{s.total} kcal", f"{s.goal} kcal", f"{s.peak_value} kcal"
        facts = [
            f"Total active energy {total} against a goal of {goal} ({s.percent_of_goal}% of goal).",
            f"Peak hour {s.peak_hour:02d}:00 with {peak}{of_day}; {s.active_hours} hours with 30 kcal "
            "or more.",
            "Reference: under 40% of goal is low; above 300% of goal is very high.",
        ]
    judged = {
        "very_sedentary": "This is a very low activity level (fewer than 2,500 steps), which, if "
        "habitual, is linked to cardiometabolic risk and deconditioning.",
        "sedentary": "This is in the sedentary range (fewer than 5,000 steps a day).",
        "low_active": "This is in the low-active range (under 7,500 steps a day); more daily "
        "movement lowers cardiometabolic risk.",
        "low_expenditure": "This is low (under 40% of goal), consistent with a mostly sedentary "
        "day or missing wear time.",
        "very_high_expenditure": "Expenditure above 300% of goal suggests prolonged endurance "
        "work; energy and fluid intake should match it.",
        "goal_met": "The daily goal was met, reflecting a physically active day.",
    }
    key = next((c for c in judged if c in codes), "")
    active = "250 or more steps" if steps else "30 kcal or more"
    say = [
        (0, f"The day's total was {total}, {s.percent_of_goal}% of the {goal} goal."),
        (1, judged.get(key, "Activity was moderate but short of the goal.")),
        (
            1,
            f"Activity peaked at {s.peak_hour:02d}:00 with {peak}, and {s.active_hours} hours "
            f"reached {active}"
            + (", so most of the day was spent sitting." if "few_active_hours" in codes else "."),
        ),
    ]
    if codes & {"very_sedentary", "sedentary", "low_active", "low_expenditure"}:
        rec = (
            "Short walks after meals and breaking up sitting time every hour are easy ways to "
            "raise daily activity."
        )
    elif "very_high_expenditure" in codes:
        rec = "Plan recovery, carbohydrate and fluid intake around long training days."
    elif "goal_met" in codes:
        rec = "Keep the habit and vary intensity across the week."
    else:
        rec = "A daily brisk walk would close much of the gap to the goal."
    return facts, [*say, (0, rec)], "Activity within expected range"
