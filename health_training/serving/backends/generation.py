"""What the routes hand a backend and what comes back: the prompt, the decoding settings, and
a stream of text deltas ending in one `Finished`. Both backends (inprocess.py, upstream.py) speak
this, so the routes do auth, cache, guard and feedback the same way for either."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Prompt:
    """Chat messages (role, text) or, for /v1/completions, one raw text."""

    messages: tuple[tuple[str, str], ...] = ()
    text: str | None = None

    @property
    def kind(self) -> str:
        return "completion" if self.text is not None else "chat"

    def source_text(self) -> str:
        """Everything the caller gave the model: what the number guard checks answers against."""
        if self.text is not None:
            return self.text
        return "\n\n".join(content for _, content in self.messages)

    def question(self) -> str:
        """The question a rating is about: the last user turn (or the raw prompt)."""
        if self.text is not None:
            return self.text
        return next(c for role, c in reversed(self.messages) if role == "user")

    def context(self) -> str:
        """The rest of the conversation (system turns, earlier turns), for feedback records."""
        if self.text is not None:
            return ""
        last_user = max(i for i, (role, _) in enumerate(self.messages) if role == "user")
        rest = [f"{role}: {c}" for i, (role, c) in enumerate(self.messages) if i != last_user]
        return "\n\n".join(rest)

    def with_computed_facts(self) -> Prompt:
        """The last user turn followed by what its numbers imply (etl/computed.py: a pace, a
        change, a time between two clock times), the way the training inputs end: the model
        copies the arithmetic, it never does it. Raw completions are left as they are."""
        from health_training.etl.computed import PREFIX, computed_facts

        if self.text is not None or not any(role == "user" for role, _ in self.messages):
            return self
        last = max(i for i, (role, _) in enumerate(self.messages) if role == "user")
        content = self.messages[last][1]
        if PREFIX in content:  # a training row asked verbatim (the clinic) already has it
            return self
        question, gap, context = content.partition("\n\n")
        line = computed_facts(question, context)
        if not line:
            return self
        turn = ("user", f"{content}\n{line}" if gap else f"{content}\n\n{line}")
        return Prompt((*self.messages[:last], turn, *self.messages[last + 1 :]))

    def canonical(self) -> str:
        return json.dumps({"messages": self.messages, "text": self.text}, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class DecodingParams:
    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stops: tuple[str, ...] = ()
    seed: int | None = None
    constrain_numbers: bool = False  # only allowed numbers may be written (number_mask.py)

    @property
    def deterministic(self) -> bool:
        """Greedy, or seeded sampling: the same request gives the same answer (cacheable)."""
        return self.temperature == 0.0 or self.seed is not None


def cache_key(version_key: str, prompt: Prompt, decoding: DecodingParams) -> str:
    """Model version + prompt + decoding settings: a swap can never hit an old version's entry."""
    doc = json.dumps([version_key, prompt.canonical(), asdict(decoding)], ensure_ascii=False)
    return hashlib.sha256(doc.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Delta:
    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    reason: str  # "stop" (EOS or a stop sequence) or "length"
    prompt_tokens: int
    completion_tokens: int
    eos_withheld: int = 0  # times EOS waited for a value of the computed line (line_coverage.py)


class StopScanner:
    """Turns a growing answer into safe-to-send deltas: holds back an incomplete UTF-8 character
    and any tail that could still become a stop sequence, and cuts the text at a stop."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.sent = 0
        self.stopped = False

    def feed(self, text: str) -> str:
        """The new text that may be sent now, given the whole answer so far."""
        for stop in self.stops:
            at = text.find(stop)
            if at != -1:
                self.stopped = True
                delta = text[self.sent : max(at, self.sent)]
                self.sent = max(at, self.sent)
                return delta
        end = len(text)
        if text.endswith("\ufffd"):  # a multi-byte character split across tokens
            end -= 1
        for stop in self.stops:
            for k in range(min(len(stop) - 1, end), 0, -1):
                if text[end - k : end] == stop[:k]:
                    end -= k
                    break
        if end <= self.sent:
            return ""
        delta, self.sent = text[self.sent : end], end
        return delta

    def flush(self, text: str) -> str:
        """At the end, whatever was held back (a partial stop that never completed)."""
        if self.stopped:
            return ""
        delta, self.sent = text[self.sent :], len(text)
        return delta.rstrip("\ufffd")
