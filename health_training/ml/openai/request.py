"""What to fine-tune and how: the method's hyper-parameters, the polling policy, the request.

Frozen dataclasses the asset builds from its config and resource; `fine_tune` takes a
`FineTuneRequest` and nothing else decides how the job runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from health_training.constants import (
    DEFAULT_EXPERIMENT,
    DEFAULT_OPENAI_MODEL,
    DEFAULT_OPENAI_SUFFIX,
)
from health_training.data import openai_chat

Auto = Literal["auto"]


@dataclass(frozen=True)
class Hyperparameters:
    """The supervised method's hyper-parameters; "auto" lets the API choose."""

    n_epochs: int | Auto = "auto"
    batch_size: int | Auto = "auto"
    learning_rate_multiplier: float | Auto = "auto"

    def method(self) -> dict[str, Any]:
        # The client marks the top-level `hyperparameters` argument deprecated in favour of this.
        return {"type": "supervised", "supervised": {"hyperparameters": asdict(self)}}


@dataclass(frozen=True)
class PollPolicy:
    """First wait, growth factor and cap between status polls, and the hard deadline (seconds)."""

    interval_s: float = 15.0
    max_interval_s: float = 120.0
    backoff: float = 2.0
    deadline_s: float = 8 * 3600.0

    def intervals(self) -> Iterator[float]:
        interval = self.interval_s
        while True:
            yield interval
            interval = min(self.max_interval_s, interval * self.backoff)


@dataclass(frozen=True)
class FineTuneRequest:
    model: str = DEFAULT_OPENAI_MODEL
    hyperparameters: Hyperparameters = Hyperparameters()
    suffix: str | None = DEFAULT_OPENAI_SUFFIX
    seed: int | None = None
    poll: PollPolicy = PollPolicy()
    token_limit: int = openai_chat.DEFAULT_TOKEN_LIMIT
    experiment: str = DEFAULT_EXPERIMENT
    base_url: str = ""  # recorded in the pyfunc so predict calls the same endpoint
    tags: Mapping[str, str] = field(default_factory=dict)  # dagster run, dataset version, reason

    def __post_init__(self) -> None:
        if self.suffix and len(self.suffix) > 64:
            raise ValueError(f"suffix {self.suffix!r} is over the API's 64 characters")
