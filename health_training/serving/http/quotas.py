"""Per-key quotas: token buckets for requests, generated tokens and ratings (configs/serving.yaml,
shown in /metrics). A bucket holds up to its burst and refills at its rate; a call that finds it
empty gets a 429 with `Retry-After` saying when one unit will be back.

Tokens are charged after an answer (prompt + completion, as the usage block counts them); a key
whose token bucket is empty is refused its next request, so one key cannot monopolise the model
with long answers. Ratings have their own, much smaller bucket: a burst of ratings from one key
is refused here before the sensors ever see it. The keyless loopback server's one caller (the
operator on that machine) has no quota: the queue bound still holds there.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.auth import ANONYMOUS

KINDS = ("requests", "tokens", "feedback")
MAX_KEYS = 100_000  # buckets kept; the oldest idle ones are dropped beyond it


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate_per_s, burst
        self.level, self.at = burst, now

    def _refill(self, now: float) -> None:
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now

    def take(self, amount: float, now: float) -> float:
        """0 when taken, else the seconds until `amount` would be there (nothing taken)."""
        self._refill(now)
        if self.level >= amount:
            self.level -= amount
            return 0.0
        return (amount - self.level) / self.rate if self.rate > 0 else math.inf

    def charge(self, amount: float, now: float) -> None:
        """Take `amount` even into debt (tokens are known only after the answer)."""
        self._refill(now)
        self.level -= amount


class Quotas:
    def __init__(self, settings: Any, metrics: Any, clock: Callable[[], float] = time.monotonic):
        s = settings
        # (rate per second, burst) per kind; a rate of 0 turns the kind off.
        self.limits = {
            "requests": (s.requests_per_minute / 60, s.request_burst),
            "tokens": (s.tokens_per_minute / 60, s.tokens_per_minute),  # a minute's worth
            "feedback": (s.feedback_per_minute / 60, s.feedback_burst),
        }
        self.metrics, self.clock = metrics, clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()
        for kind, (rate, burst) in self.limits.items():
            metrics.quota_rate.labels(kind=kind).set(rate * 60)
            metrics.quota_burst.labels(kind=kind).set(burst)

    def _bucket(self, kind: str, key_id: str, now: float) -> TokenBucket | None:
        rate, burst = self.limits[kind]
        if rate <= 0 or key_id == ANONYMOUS:
            return None
        bucket = self._buckets.get((kind, key_id))
        if bucket is None:
            if len(self._buckets) >= MAX_KEYS:  # idle buckets are full anyway: dropping is free
                self._buckets.pop(next(iter(self._buckets)))
            bucket = self._buckets[(kind, key_id)] = TokenBucket(rate, burst, now)
        return bucket

    def admit(self, kind: str, key_id: str) -> None:
        """Take one request (or rating) from the key's bucket, or raise a 429. A request also
        needs the key's token bucket not to be in debt."""
        with self._lock:
            now = self.clock()
            wait, over = 0.0, kind
            if kind == "requests":  # a key in token debt waits until the debt is paid
                tokens = self._bucket("tokens", key_id, now)
                wait, over = (tokens.take(0, now) if tokens else 0.0), "tokens"
            bucket = self._bucket(kind, key_id, now)
            if wait <= 0 and bucket is not None:
                wait, over = bucket.take(1, now), kind
        if wait > 0:
            kind = over
            self.metrics.rejected.labels(reason=f"quota_{kind}").inc()
            seconds = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
            raise OpenAIError(
                429,
                f"this key is over its {kind} quota ({self._described(kind)}); retry in "
                f"{seconds} s",
                "rate_limit_error",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(seconds)},
            )

    def charge_tokens(self, key_id: str, tokens: int) -> None:
        with self._lock:
            now = self.clock()
            bucket = self._bucket("tokens", key_id, now)
            if bucket is not None:
                bucket.charge(tokens, now)

    def _described(self, kind: str) -> str:
        rate, burst = self.limits[kind]
        unit = "tokens" if kind == "tokens" else kind
        return f"{rate * 60:g} {unit} a minute, bursts of {burst:g}"
