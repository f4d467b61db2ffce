"""Exact-match response cache: model version + prompt + decoding settings -> the answer.

Only deterministic requests are cached (greedy, or sampled with a seed): a sampled answer without
a seed is meant to vary. The key holds the version's adapter key, so after a swap an old
version's entries are never hit again (they age out by TTL or by size, least recently used
first). Thread-safe; entries hold the answer, never the prompt (the key is a hash).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    grounding: str = "as_generated"  # how the final answer came about (grounding_modes.py)
    eos_withheld: int = 0  # times EOS waited for a value of the computed line (line_coverage.py)


class ResponseCache:
    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries, self.ttl_s = max_entries, ttl_s
        self._entries: OrderedDict[str, tuple[float, CachedAnswer]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> CachedAnswer | None:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] < now:
                if found is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: str, answer: CachedAnswer) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl_s, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
