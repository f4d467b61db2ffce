"""What building the computed line costs on hostile messages, against an ordinary question, in
one run: the server builds it for every chat request before the model sees it.

    .venv/bin/python bench/computed_line_cost.py

Each message is at most the server's prompt limit (16,000 characters; a longer one is refused
before the line is built). Reported: seconds per call and the ratio to the ordinary question.
Before the parser looked only at the names near each number, the 16,000-character message of
names and numbers took 45 s (every name against every number); see the commit that bounded it.
"""

from __future__ import annotations

import random
import time

LIMIT = 16_000
NAMES = ("resting hr", "hrv", "time in range", "steps", "avg glucose", "deep sleep", "slept",
         "sleep efficiency", "tbr")  # fmt: skip
UNITS = ("bpm", "ms", "%", "steps", "mg/dL", "min", "kcal")


def messages(seed: int = 0) -> dict[str, str]:
    rng = random.Random(seed)
    return {
        "ordinary question": "My resting HR was 62 bpm last week and 58 bpm now, is that better?",
        "names and numbers with units": (
            "is this ok? "
            + " ".join(
                f"{rng.choice(NAMES)} {rng.randint(1, 3000)} {rng.choice(UNITS)};"
                for _ in range(1200)
            )
        )[:LIMIT],
        "names and bare numbers": (
            "is this ok? "
            + " ".join(
                f"{rng.choice(NAMES)} {rng.choice(NAMES)} {rng.randint(1, 3000)}"
                for _ in range(1200)
            )
        )[:LIMIT],
        "numbers of one unit, a change asked": (
            "how much did it change? " + " ".join(f"{100 + i} bpm" for i in range(2000))
        )[:LIMIT],
    }


def main() -> None:
    from health_training.etl.computed import computed_facts

    timings = {}
    for name, text in messages().items():
        computed_facts(text)  # warm the name patterns
        runs, start = 0, time.perf_counter()
        while runs < 3 or time.perf_counter() - start < 1.0:
            computed_facts(text)
            runs += 1
        timings[name] = (time.perf_counter() - start) / runs
    base = timings["ordinary question"]
    for name, seconds in timings.items():
        print(f"{name:40s} {seconds * 1000:9.2f} ms  {seconds / base:8.1f}x")


if __name__ == "__main__":
    main()
