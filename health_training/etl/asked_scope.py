"""What a question asks that one record of numbers cannot give: a treatment decision, a trend
over many days, another day, a forecast, a cause, a diagnosis. The computed line says so in
place of verdicts.

Without it the line of "What's my 30-day glucose trend?" under a glucose record held the day's
verdicts, the same line an answerable "how was my glucose?" gets, so refusing or answering was
the model's guess from the wording alone: runs 6 and 11 moved that boundary both ways (answerable
look-ups refused, unanswerable questions answered with the day's numbers). With a marker only the
questions that cannot be answered carry a signal to refuse, in training and in serving alike.

Read from the question only (never the record, whose "linear trend over the day" is a fact), and
only when the asking sentences (those ending in "?", else all) state no measured quantity: "How
does today's 58 bpm compare with last week's 62 bpm?" is a change, not another period. A cause
or a diagnosis stays one beside a single value ("why did my hrv crash to 19 ms?"), a treatment
decision beside any ("should I raise my insulin dose? 240 mg/dl, 35% in range").
"""

from __future__ import annotations

import re

# (situation, the words that ask it, the computed line's part), checked in this order. The
# writer's own phrasings (etl/questions/unanswerable_phrasings.py) all match their situation
# and no answerable example matches any (tests/etl/test_asked_scope.py, over generated data).
SCOPES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        # No writer phrasing asks this (the model has not seen the marker); served set E asked
        # "should I go up on my metformin?" and was told its time in range was on target.
        "treatment",
        re.compile(
            r"\b(?:dos(?:e|es|age|ing)(?! of (?:sleep|exercise|activity|sun))|units? of|bolus\w*"
            r"|medications?|medicines?|meds|pills?|tablets?|prescri\w+|mg of|go (?:up|down) on"
            r"|(?:stop|start|quit) (?:taking|my)"
            r"|come off|cut (?:it|them|my \w+) in half"
            # Set H: "is it time to start metformin?" named the medicine alone.
            r"|\d+\s*units|(?:start|stop|begin|go on|try|switch to|increase|reduce|raise|lower|need)"
            r" (?:on |taking )?(?:metformin|insulin|ozempic|wegovy|semaglutide|mounjaro"
            r"|tirzepatide|statins?|a statin|beta[- ]?blockers?|melatonin|sleeping pills?))\b",
            re.IGNORECASE,
        ),
        "a treatment decision is asked for, which wearable data cannot make",
    ),
    (
        "diagnosis",
        re.compile(
            r"\b(?:diagnos\w*|(?:do|could|might|may) i have|i (?:might|may) have|(?:whether|if) i have"
            r"|mean i(?:'m| am)? (?:have|ill|sick)|am i (?:sick|ill)|proof of|what condition"
            r"|what this shows"
            r"|(?:is|could) (?:this|it|that)(?: \w+){0,3} (?:a-?fib|atrial fibrillation|arrhythmia"
            r"|(?:pre-?)?diabetes|(?:sleep )?apn(?:o)?ea|insomnia|overtraining))\b",
            re.IGNORECASE,
        ),
        "a diagnosis is asked for, which wearable data cannot make",
    ),
    (
        "cause",
        re.compile(
            r"\b(?:why|caus\w*|the reason|because of|blames?|messed up|a?etiology"
            r"|what (?:made|kept|woke|triggered|is behind))\b",
            re.IGNORECASE,
        ),
        "a cause is asked for, which these measurements do not record",
    ),
    (
        "future",
        re.compile(
            r"\b(?:tomorrow|tmrw|tonight|next (?:week|month|year|\w+day)|predict\w*|forecast\w*"
            r"|going to (?:be|look)|will (?:my|it)|by then|for the weekend"
            r"|will i (?:hit|reach|get to|make|be able))\b",
            re.IGNORECASE,
        ),
        "a forecast is asked for, which past data cannot give",
    ),
    (
        "longer_period",
        re.compile(
            r"\b(?:trend\w*|over time|weekly|monthly|long[- ]term|\d+[- ]day|two[- ]week"
            r"|(?:over|in|during|across|for) (?:the )?(?:last|past) (?:\w+ )?(?:days|weeks?|months?|years?)"
            r"|this (?:week|month|year)|getting better|improved"
            r"|(?:over|in|during|across|for) (?:these|recent|several|many|a few) (?:days|weeks|months)"
            r"|since (?:the )?(?:winter|spring|summer|autumn|fall|january|february|march|april|may"
            r"|june|july|august|september|october|november|december|new year)"
            # Set H: "has my activity gone up since I started the new job, or am i moving less
            # than before?"
            r"|since (?:i|we) (?:started|began|switched|changed|got|moved|joined|quit|stopped)"
            r"|than (?:before|i used to|it used to))\b",
            re.IGNORECASE,
        ),
        "more days are asked about than the one given",
    ),
    (
        "other_period",
        re.compile(
            r"\b(?:last (?:week|weekend|month|year|(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
            r"|\w+ (?:weeks?|months?|years?) ago"
            r"|the (?:week|month) before|this time last year"
            r"|(?:over|during|at|for) (?:the )?(?:christmas|thanksgiving|easter|holidays|new year)"
            r"|the (?:night|day) (?:before|after) (?:this|that|last|yesterday)|the day after)\b",
            re.IGNORECASE,
        ),
        "another period is asked about than the one given",
    ),
)
OTHER_PERIOD = next(part for situation, _, part in SCOPES if situation == "other_period")
LONGER_PERIOD = next(part for situation, _, part in SCOPES if situation == "longer_period")
# What a question stating one measurement still asks beyond it; a period is a change asked
# ("how does today's 58 bpm compare with last week?" holds both days).
_ONE_VALUE_LEAVES_OPEN = frozenset({"cause", "diagnosis"})
# No number answers a dose, nor tomorrow ("will I hit 500 kcal tomorrow?" names a target).
_ANY_VALUES_LEAVE_OPEN = frozenset({"treatment", "future"})
# A decimal point ("6.5%") ends no sentence.
_SENTENCE = re.compile(r"(?:[^.?!\n]|\.(?=\d))*[.?!]+|(?:[^.?!\n]|\.(?=\d))+")


# A sentence that asks with no "?", as people text: "resting hr 61 bpm today. how has it
# changed over the last 30 days" (set J, development) asked its trend in the last sentence and
# was judged on the first.
_ASKS_UNMARKED = re.compile(
    r"^(?:(?:please|pls|so|ok|and|but)\s+)?(?:how|what|whats|what's|why|when|which|is|are|was|"
    r"were|do|does|did|can|could|should|will|would|tell me|show me|give me)\b",
    re.IGNORECASE,
)


def asking_sentences(question: str) -> str:
    """The sentences of `question` that ask: those ending in "?", else those opening with a
    question word, else all of it."""
    sentences = [s.strip() for s in _SENTENCE.findall(question)]
    asking = [s for s in sentences if s.endswith("?")] or [
        s for s in sentences if _ASKS_UNMARKED.match(s)
    ]
    return " ".join(asking) if asking else question


def asked_scope(question: str) -> str | None:
    """The computed line's part for what `question` asks beyond its data, or None."""
    from health_training.ml.evaluation.faithfulness import scan_quantities
    from health_training.ml.evaluation.statements import COMPARED_BEFORE

    asking = asking_sentences(question)
    # A threshold the user names ("will my A1c be under 7%?") is no measurement of theirs: the
    # evaluation's words for a reference point.
    measured = [
        q
        for start, _, q in scan_quantities(asking)
        if q.unit and not COMPARED_BEFORE.search(asking[:start])
    ]
    # One measurement does not answer a cause or a diagnosis ("why did my hrv crash to 19 ms?"
    # was judged, and the answer refused for a number); two are a change asked about.
    for situation, words, part in SCOPES:
        if words.search(asking) and (
            situation in _ANY_VALUES_LEAVE_OPEN
            or not measured
            or (len(measured) == 1 and situation in _ONE_VALUE_LEAVES_OPEN)
        ):
            return part
    return None
