"""Which answer a response id names: model version, alias, question, context and answer, so a
rating posted later (`POST /v1/feedback`) is tied to exactly what was rated.

Kept in memory only, bounded by count and age (oldest dropped first): the raw question and answer
may hold PHI, and only the feedback store's writes scrub it. An id that aged out (or a server
restart) makes its rating a clear 404 instead of a guess. Each id also records the key that
received the answer: another key's rating of it is the same 404 (nothing says the id exists).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AnsweredRequest:
    key_id: str  # who received it: only this key may rate it
    tenant: str
    model_version: str  # "3", or "base"
    alias: str
    question: str
    context: str
    answer: str
    answered_at: datetime  # UTC


class ResponseLog:
    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries, self.ttl_s = max_entries, ttl_s
        self._entries: OrderedDict[str, tuple[float, AnsweredRequest]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def new_id(kind: str) -> str:
        prefix = "chatcmpl" if kind == "chat" else "cmpl"
        return f"{prefix}-{secrets.token_hex(12)}"

    def record(self, response_id: str, answered: AnsweredRequest) -> None:
        with self._lock:
            self._entries[response_id] = (time.monotonic() + self.ttl_s, answered)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get(self, response_id: str) -> AnsweredRequest | None:
        with self._lock:
            found = self._entries.get(response_id)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._entries[response_id]
                return None
            return found[1]
