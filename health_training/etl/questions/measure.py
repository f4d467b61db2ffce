"""A measure a question can ask about: the fact, its record type, how users name it in each
register ("casual": plain words, "clinical": the textbook term, "texting": abbreviations and
typos) and the answer's noun phrase (`subject`), which carries the cue words of
`ml/evaluation/statements.py` so the evaluation attributes the number that follows to the fact.
"""

from __future__ import annotations

from dataclasses import dataclass

REGISTERS: tuple[str, ...] = ("casual", "clinical", "texting")


@dataclass(frozen=True, slots=True)
class Measure:
    fact: str
    record_type: str
    subject: str  # the answer's name for it, with its statement cue
    casual: tuple[str, ...]
    clinical: tuple[str, ...]
    texting: tuple[str, ...]

    def names(self, register: str) -> tuple[str, ...]:
        return {"casual": self.casual, "clinical": self.clinical, "texting": self.texting}[register]


GLUCOSE, HEART, HRV, SLEEP = (
    "BloodGlucoseRecord",
    "HeartRateRecord",
    "HeartRateVariabilityRmssdRecord",
    "SleepSessionRecord",
)
STEPS, CALORIES = "StepsRecord", "ActiveCaloriesBurnedRecord"
