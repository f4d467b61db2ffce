"""What a question asks for in words set apart from any measure's name: "the lowest my hrv got",
"how much time was I below 70", "how many times over 250", "% of my step goal", and "whats the
lowest i got to" under one record (`measured_values.named_facts` puts these before the names
inside them).
"""

from __future__ import annotations

import re

# A question's extreme apart from its measure: "the lowest my hrv got", "how high did my sugar
# go", "my glucose at its highest" (the writer's names put them together: "lowest HRV"). Run
# 19's line answered "whats the lowest my hrv got" with the average HRV's verdict. Measures
# with an extreme in the records, each (lowest, highest) fact; "average", "resting" and the like
# between the two make the measure that one, not its extreme.
_EXTREME_OF = (
    (r"hrv|rmssd|heart rate variability", ("min_rmssd_ms", "max_rmssd_ms")),
    (r"glucose|blood sugar|sugar|bg|cgm", ("min_glucose_mg_dl", "max_glucose_mg_dl")),
    (r"heart ?rate|hr|pulse", (None, "max_hr_bpm")),
)
_GAP = r"(?:\s+(?!(?:average|avg|mean|resting|typical)\b)[a-z']+){0,3}?\s+"
_LOW, _HIGH = r"lowest|minimum|how low", r"highest|maximum|how high|peak(?:ed)?"
_LOWEST = re.compile(rf"(?:{_LOW}|low point)$", re.IGNORECASE)
_EXTREMES = tuple(
    (
        re.compile(
            rf"\b(?:(?P<before>{_LOW}|{_HIGH}){_GAP}(?:{words})"
            rf"|(?:{words}){_GAP}(?:at its |its )?(?P<after>{_LOW}|{_HIGH}|low point|high point))\b",
            re.IGNORECASE,
        ),
        facts,
    )
    for words, facts in _EXTREME_OF
)
# "how much time was I below 70", "% under 70 mg/dl": the time below range, though no name of it.
_BELOW_70 = re.compile(r"\b(?:below|under)\s*70\b(?:\s*mg\s*/?\s*dl\b)?|<\s*70\b", re.I)
# What a look-up asks in words no measure's name holds (set H, development: each got the
# record's headline verdict from run 25's line), checked before "below 70": a count of times
# below 70 is the hypoglycemic events, not the time below range.
_ASKED_IN_WORDS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), facts)
    for pattern, facts in (
        (
            r"\b(?:how many|number of)\b[^.?!]{0,40}?\b(?:over|above)\s*250\b",
            ("hyperglycemic_events",),
        ),
        (
            r"\b(?:how many|number of)\b[^.?!]{0,40}?\b(?:below|under)\s*70\b",
            ("hypoglycemic_events",),
        ),
        # "how many lows did she have", "number of hypos" (set K, development)
        (r"\b(?:how many|number of)\s+(?:\w+\s+)?(?:lows|hypos)\b", ("hypoglycemic_events",)),
        (r"\b(?:how many|number of)\s+(?:\w+\s+)?(?:highs|hypers)\b", ("hyperglycemic_events",)),
        # "how many times did she go low", "how often did I go high" (set M, development)
        (
            r"\b(?:how many|how often|number of)\b[^.?!]{0,30}?\b(?:go(?:ne)?|went|dip(?:ped)?)"
            r"\s+low\b",
            ("hypoglycemic_events",),
        ),
        (
            r"\b(?:how many|how often|number of)\b[^.?!]{0,30}?\b(?:go(?:ne)?|went|spike[ds]?)"
            r"\s+(?:high|over 250)\b",
            ("hyperglycemic_events",),
        ),
        (r"\b(?:above|over)\s*180\b(?:\s*mg\s*/?\s*dl\b)?|>\s*180\b", ("time_above_range_pct",)),
        (
            r"\b(?:took|take|takes|taking|long|time)\b[^.?!]{0,25}?\b(?:fall(?:ing)? asleep"
            r"|(?:drop|nod)(?:ping|ding)? off|get(?:ting)? to sleep)",
            ("sleep_latency_min",),
        ),
        (r"\b(?:time|long|minutes|mins|hours)\b[^.?!]{0,20}?\bawake\b", ("awake_min",)),
        (
            # "what % of the active calorie goal" (set M) has 23 characters between
            r"(?:%|\b(?:percent(?:age)?|share|proportion))[^.?!]{0,30}?\bgoal\b",
            ("steps_pct_of_goal", "kcal_pct_of_goal"),
        ),
        (
            r"\b(?:busiest|top|best|biggest|most active)\s+(?:hour|hr)\b|\bpeak\s+hour\b",
            ("peak_hour_steps", "peak_hour_kcal"),
        ),
    )
)
# An extreme with no measure named ("whats the lowest i got to all day?") under one record type
# is that record's: set H's got the day's time-in-range verdict from run 25's line.
_BARE_EXTREME = re.compile(rf"\b(?:{_LOW}|{_HIGH}|low point|high point)\b", re.IGNORECASE)
_RECORD_EXTREMES = {
    "BloodGlucoseRecord": ("min_glucose_mg_dl", "max_glucose_mg_dl"),
    "HeartRateRecord": (None, "max_hr_bpm"),
    "HeartRateVariabilityRmssdRecord": ("min_rmssd_ms", "max_rmssd_ms"),
}


def record_extreme(question: str, types: set[str]) -> list[str]:
    """The extreme a question asks for without naming its measure, of the one record type of
    `types` (the records' types; none under several)."""
    found = _BARE_EXTREME.search(question)
    if len(types) != 1 or not found or next(iter(types)) not in _RECORD_EXTREMES:
        return []
    lowest, highest = _RECORD_EXTREMES[next(iter(types))]
    fact = lowest if _LOWEST.match(found[0]) else highest
    return [fact] if fact else []


def asked_in_words(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, facts) of each span of `text` that asks for a fact in words of its own."""
    asked = [
        (m.start(), m.end(), facts)
        for words, facts in _ASKED_IN_WORDS
        for m in words.finditer(text)
    ]
    asked += [
        (m.start(), m.end(), ("time_below_range_pct",))
        for m in _BELOW_70.finditer(text)
        if not any(a < m.end() and m.start() < b for a, b, _ in asked)
    ]
    for extreme, (lowest, highest) in _EXTREMES:  # HRV first: "highest heart rate variability"
        for m in extreme.finditer(text):
            fact = lowest if _LOWEST.match(m["before"] or m["after"]) else highest
            if fact and not any(a < m.end() and m.start() < b for a, b, _ in asked):
                asked.append((m.start(), m.end(), (fact,)))
    return asked
