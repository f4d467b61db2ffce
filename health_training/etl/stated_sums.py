"""Two computations of the computed line that read which number is which from the words next to
it: an energy balance (intake against calories burned) and a share of two stated numbers.

As a plain change, "I ate 2,400 kcal and burned 2,900" gave the model "2,400 kcal to 2,900 kcal:
change +500 kcal", the opposite sign of the deficit asked for; run 12's served answer read it as
"2,400 kcal, up from 2,900 kcal" and was refused. "I slept 420 minutes and 84 of them were deep"
got no line at all (shares were only read from records).
"""

from __future__ import annotations

import re

from health_training.etl import derived

# The words that say a kcal number was eaten or burned (the writer's energy-balance phrasings,
# etl/questions/computation_phrasings.py, and what users write).
# "in"/"out" only right after a number ("2,400 in, 600 out"): "640 kcal in workouts" is burned.
_INTAKE = re.compile(r"\b(?:ate|eat\w*|intake|food|consumed|had)\b|^ in\b(?=\s*[,;.]|$)", re.I)
_BURNED = re.compile(r"\b(?:burn\w*|expend\w*|expenditure|active)\b|^ out\b", re.I)
_NEAR = 30  # characters between a number and the word that says what it is
# Before the number, its whole clause up to this: "total energy expenditure according to my
# wearable was 2,710 kcal" (set I) names it 41 characters before.
_NEAR_BEFORE = 60
_TAILS = ("in", "out")
_CLAUSE_END = re.compile(r"[,;.?!]|\b(?:and|but|versus|vs|minus|while)\b", re.I)
_AFTER = 2  # a word before the number names it more often than one after ("burned 640 kcal")
# The words that ask for a share of the question's own numbers ("%" alone is a stated value).
# (computed.py's record shares take these words too, and a bare "%".)
ASKS_SHARE_WORDS = r"\b(?:share|proportion|fraction|percent(?:age)?|what part|how much of)"
_ASKS_SHARE = re.compile(ASKS_SHARE_WORDS + r"|\bwhat %", re.I)
_SHARE_NAMES = (
    (re.compile(r"\bdeep\b", re.I), "deep sleep"),
    (re.compile(r"\brem\b", re.I), "REM sleep"),
    (re.compile(r"\b(?:light)\b", re.I), "light sleep"),
    (re.compile(r"\basleep\b", re.I), "asleep"),
)


def number_text(x: float) -> str:
    """A number as the computed line writes it: "2,400", "5.5"."""
    return f"{x:,.1f}".rstrip("0").rstrip(".") if x != int(x) else f"{int(x):,}"


def paired_unit(unit: str | None) -> str | None:
    """Hours are compared as minutes."""
    return "min" if unit == "h" else unit


def with_unit(x: float, unit: str) -> str:
    return f"{number_text(x)}%" if unit == "%" else f"{number_text(x)} {unit}"


def role_of(question: str, start: int, end: int) -> str | None:
    """ "intake" or "burned": the role word nearest to the number at start:end, if any."""
    best: tuple[int, str] | None = None
    # Within the number's clause: "2,150 kcal consumed, 640 kcal expended" names each by the
    # word after it, which the comma keeps from the other number (so do "and", "versus").
    before = _CLAUSE_END.split(question[max(0, start - _NEAR_BEFORE) : start])[-1]
    after = _CLAUSE_END.split(question[end : end + _NEAR])[0]
    # "640 kcal of active energy": the word after "of" names the number as well as one before.
    penalty = 0 if re.match(r"\s*of\b", after) else _AFTER
    for role, words in (("intake", _INTAKE), ("burned", _BURNED)):
        gaps = [len(before) - m.end() for m in words.finditer(before) if m[0].strip() not in _TAILS]
        gaps += [m.start() + penalty * (m[0].strip() not in _TAILS) for m in words.finditer(after)]
        for gap in gaps:
            if best is None or gap < best[0]:
                best = (gap, role)
    return best[1] if best else None


_ROLES = {"intake": "burned", "burned": "intake"}  # each role's other side
_LEAST_KCAL = 100  # a bare number below it beside "ate" or "burned" counts something else


def energy_balance(question: str, spans: list, burned_recorded: float | None) -> str | None:
    """ "intake 2,400 kcal, burned 2,900 kcal: deficit 500 kcal" for a question stating an intake
    and calories burned (or the record's active kcal), from `spans`: (start, end, quantity)."""
    from health_training.etl.measured_values import unit_written_after

    kcal = []
    for s, e, q in spans:
        written = unit_written_after(question, e) if q.unit is None else None
        if q.unit == "kcal" or (written and written[0] == "kcal"):  # "2150 cals"
            kcal.append((s, written[2] if written else e, q.value))
    roles = {role_of(question, s, e): v for s, e, v in kcal}
    if len(kcal) == 1 and (role := next(iter(roles))) in _ROLES:
        # The other side's number with its unit left off: "ate 1,890 cals today, watch says i
        # burned 1640 total" (set K; the line was empty).
        other = [
            q.value
            for s, e, q in spans
            if q.unit is None
            and q.value >= _LEAST_KCAL  # "ate 3 meals" is no intake of 3 kcal
            and role_of(question, s, e) == _ROLES[role]
        ]
        roles |= {_ROLES[role]: other[0]} if len(other) == 1 else {}
    intake, burned = roles.get("intake"), roles.get("burned", burned_recorded)
    if intake is None or burned is None or len(kcal) > 2:
        return None
    balance = derived.energy_balance(intake, burned)
    result = "surplus" if balance > 0 else "deficit" if balance < 0 else "balance"
    return (
        f"intake {number_text(intake)} kcal, burned {number_text(burned)} kcal: "
        f"{result} {number_text(abs(balance))} kcal"
    )


def stated_share(question: str, spans: list) -> str | None:
    """ "deep sleep 84 min of 420 min: 20%" for a share asked of the question's two numbers."""
    if not _ASKS_SHARE.search(question) or len(spans) != 2:
        return None
    (_, _, a), (_, _, b) = spans
    units = {a.unit, b.unit} - {None}
    # Two percentages are two shares, no part and whole: "time in range 64 percent, below 70 was
    # 6%" (set M) was handed "6% of 64%: 9%", its "percent" read as asking for a share.
    if len(units) > 1 or units == {"%"} or min(a.value, b.value) < 0 or max(a.value, b.value) <= 0:
        return None
    part, whole = sorted((a.value, b.value))
    unit = next(iter(units), None)
    name = next((n for words, n in _SHARE_NAMES if words.search(question)), None)
    said = (lambda x: with_unit(x, unit)) if unit else number_text
    line = f"{name} " if name else ""
    return f"{line}{said(part)} of {said(whole)}: {derived.share_pct(part, whole)}%"


# "how many more do i need to hit 10k" (set N: its line judged the 6,740 steps and the answer
# never said 3,260): the steps left to a goal the user states.
_ASKS_TO_GO = re.compile(
    r"\b(?:how many more|to go|left|remaining|still need|short of|away from)\b", re.I
)
_GOAL_BEFORE = re.compile(
    r"\b(?:hit|reach|get to|make|goal|target|to)(?:\s+(?:is|of))?\s*$", re.IGNORECASE
)
_THOUSAND_AFTER = re.compile(r"k\b", re.I)


def steps_to_goal(question: str, spans: list) -> str | None:
    """ "goal 10,000 steps, 6,740 steps done: 3,260 steps to go" for a question asking what is
    left of a step goal it states (the last number after a goal word: "i hit 8000 steps, how
    many more to 10k"), else None."""
    if not _ASKS_TO_GO.search(question):
        return None
    goals = [
        (i, q.value * (1000 if _THOUSAND_AFTER.match(question, end) else 1))
        for i, (start, end, q) in enumerate(spans)
        if q.unit in (None, "steps") and _GOAL_BEFORE.search(question, 0, start)
    ]
    if not goals:
        return None
    at, goal = goals[-1]
    done = next(
        (q.value for i, (_, _, q) in enumerate(spans) if q.unit == "steps" and i != at), None
    )
    if done is None or goal <= done:
        return None
    return (
        f"goal {number_text(goal)} steps, {number_text(done)} steps done: "
        f"{number_text(goal - done)} steps to go"
    )
