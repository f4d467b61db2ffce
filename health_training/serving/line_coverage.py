"""Which values of the computed line an answer states before it may end: the server withholds
EOS from an answer that has not yet stated one value of each of the line's parts (a judged
value, a computation's result, a look-up), for a bounded number of tokens.

Why: served answers that were right as far as they went ended early. "My average glucose this
week is 132 mg/dL and time in range is 78%. Is that ok?" got one sentence, about the average;
"ran 4 mi in 38min, whats that per mile??" got "4 mi in 38 min is an average pace." though the
line held "pace 9.5 min per mile (9:30 per mile)" (development set I, run 27). The line is the
server's own arithmetic on the question (etl/computed.py), so what each part says is known: a
part's value is the quantity before its verdict ("time in range 78% is at or above ..."), a
computation's the quantities after its colon ("...: pace 9.5 min per mile (9:30 per mile)", any
one of them), a share's its leading percentage too ("19% of ..."), anything else any quantity
of the part ("busiest hour 18:00 with 5,988 steps"). A part without numbers ("no sleep data
given", "a forecast is asked for ...") asks for none.

The model still writes every word: withholding EOS only makes the next most likely token win,
and past `EXTRA_TOKENS` an answer that still lacks a value ends where the model first ended it,
the trial tokens dropped (EOS is never withheld for good, nor does the trial ever reach the
client unless it states the value). Whether it helps is measured (bench/freeform_serve_check.py
reports the answers that had EOS withheld).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Tokens an answer may write after its first withheld EOS before EOS is allowed again: a
# sentence per missing value (~25 tokens each in SmolLM2's tokenizer), two at most.
EXTRA_TOKENS = 56
# The verbs that end a judged value's clause in the line (computed_verdicts.py's wording).
_VERDICT = re.compile(r"\s(?:is|has|counts|was|were)\s")
# Three clock times give two spans, asleep and in bed ("from 22:40 to 05:50: 430 min ...; from
# 22:15 to 05:50: 455 min ..."), of which a question asks one: either states the part. Required
# both, an answer gave the same span two durations (set I).
_SPAN = re.compile(r"from \d\d?:\d\d to \d\d?:\d\d")


@dataclass(frozen=True, slots=True)
class Required:
    """One part's values: stating any one of them states the part."""

    part: str
    values: tuple[tuple[float, str | None], ...]


def required_values(line: str) -> tuple[Required, ...]:
    """The values the answer to a request whose computed line is `line` states, per part."""
    from health_training.etl.computed import line_parts
    from health_training.ml.evaluation.faithfulness import scan_quantities

    out = []
    for part in line_parts(line):
        head, colon, tail = part.partition(": ")
        if colon:
            spans = scan_quantities(tail)
            lead = scan_quantities(head)[:1]
            if lead and lead[0][0] == 0 and lead[0][2].unit == "%":  # "19% of active kcal ...: "
                spans = lead + spans
        else:
            verdict = _VERDICT.search(part)
            spans = scan_quantities(part[: verdict.start()] if verdict else part)
        values = tuple((q.value, q.unit) for _, _, q in spans)
        if values and colon and _SPAN.fullmatch(head) and out and _SPAN.match(out[-1].part):
            out[-1] = Required(f"{out[-1].part}; {part}", out[-1].values + values)
        elif values:
            out.append(Required(part, values))
    return tuple(out)


def last_line(text: str) -> str:
    """The computed line at the end of a request's last user turn, or ""."""
    from health_training.etl.computed import PREFIX

    at = text.rfind(PREFIX)
    return text[at:].split("\n", 1)[0] if at != -1 else ""


def unstated(answer: str, required: tuple[Required, ...]) -> list[Required]:
    """The parts of which `answer` states no value (the evaluation's equality rule)."""
    from health_training.ml.evaluation.freeform_eval import stated_correctly

    return [
        r
        for r in required
        if not any(stated_correctly(answer, {"value": v, "unit": u}) for v, u in r.values)
    ]


class EosGate:
    """One answer's gate: `withholds()` is asked when the answer would end; it says whether EOS
    is withheld this time (a value is unstated and the extra budget is not spent). The tokens
    written after the first withholding are a trial: `pending()` while a value is still unstated
    (the server sends none of them yet), and when the budget is spent without one (`gave_up()`)
    the answer ends where the model first ended it (`first_at` tokens): what it wrote meanwhile
    was filler ("#glycemic_alert #glycoglycolosis", "What's next? Review your sleep, ...": check
    set K, run 31, once the made-up turns were gone), never worse than the answer it had."""

    def __init__(self, required: tuple[Required, ...], text: Callable[[], str]) -> None:
        self.required, self.text = required, text
        self.withheld = 0  # times EOS was withheld
        self.first_at: int | None = None  # tokens written when it first was
        self.made = 0
        self.stated = False  # every part's value written: the trial is kept

    def advance(self) -> None:
        self.made += 1

    def _all_stated(self) -> bool:
        self.stated = self.stated or not unstated(self.text(), self.required)
        return self.stated

    def withholds(self) -> bool:
        if self.first_at is not None and self.made - self.first_at >= EXTRA_TOKENS:
            return False
        if self._all_stated():
            return False
        if self.first_at is None:
            self.first_at = self.made
        self.withheld += 1
        return True

    def pending(self) -> bool:
        """Withheld, and a value is still unstated: the tokens since `first_at` may be dropped."""
        return self.first_at is not None and not self._all_stated()

    def gave_up(self) -> bool:
        """The budget is spent and a value is still unstated: drop the trial."""
        return (
            self.first_at is not None
            and self.made - self.first_at >= EXTRA_TOKENS
            and not self._all_stated()
        )
