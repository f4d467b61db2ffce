"""OpenAI fine-tuning as a trainer: datasheet → cookbook checks → upload → job → poll → MLflow.

The local LoRA trainer's alternative (chosen by config): the chat JSONL that `openai_chat_dataset`
exported is checked again with `openai_chat.analyze` (any format error refuses the job), priced
from the versioned `PRICE_TABLE`, uploaded, and trained by the fine-tuning API. The job is polled
with capped exponential backoff under a hard deadline; a deadline, a `should_stop()` that turns
true, or an interrupt cancels it. Events and checkpoint metrics go to one MLflow run, the billed
cost is compared with the estimate, and the resulting model id is registered like a local
adapter: a weightless pyfunc (`OpenAIChatModel`) under the same name with the alias `staging`.

One module per step: datasheet, request (dataclasses), preflight, cost, job (upload, create,
poll, cancel), recording (MLflow), pyfunc (the served model; the only one importing MLflow, and
only once a job has succeeded), provider (`fine_tune`). Nothing here reads the environment; the
caller builds the clients:

    from health_training.ml import openai as oft

    registry = Registry(tracking_uri, artifact_location)
    client = openai.OpenAI(base_url=base_url or None, api_key=api_key)
    result = oft.fine_tune(client, train_bytes, validation_bytes,
                           oft.load_datasheet("datasheet.yaml"),
                           oft.FineTuneRequest(model="gpt-4o-mini-2024-07-18", base_url=base_url),
                           registry=registry, count_tokens=count, tokenizer_name=name)

Inside this package `import openai` is the client library: imports are absolute.
"""

from __future__ import annotations

from typing import Any

from health_training.ml.openai.cost import Cost, actual_cost
from health_training.ml.openai.datasheet import DATASHEET_FIELDS, Datasheet, load_datasheet
from health_training.ml.openai.fine_tune_errors import (
    DatasheetError,
    FineTuneError,
    JobCancelled,
    JobDeadlineExceeded,
    JobFailed,
)
from health_training.ml.openai.job import KNOWN_STATUSES, TERMINAL, wait_for_job
from health_training.ml.openai.preflight import Preflight, parse_jsonl, preflight
from health_training.ml.openai.provider import FineTuneResult, fine_tune
from health_training.ml.openai.recording import PROVIDER, record_job
from health_training.ml.openai.request import (
    Auto,
    FineTuneRequest,
    Hyperparameters,
    PollPolicy,
)

__all__ = [
    "DATASHEET_FIELDS",
    "KNOWN_STATUSES",
    "PROVIDER",
    "TERMINAL",
    "Auto",
    "Cost",
    "Datasheet",
    "DatasheetError",
    "FineTuneError",
    "FineTuneRequest",
    "FineTuneResult",
    "Hyperparameters",
    "JobCancelled",
    "JobDeadlineExceeded",
    "JobFailed",
    "OpenAIChatModel",
    "PollPolicy",
    "Preflight",
    "actual_cost",
    "fine_tune",
    "load_datasheet",
    "log_openai_model",
    "parse_jsonl",
    "preflight",
    "record_job",
    "wait_for_job",
]

_PYFUNC = ("OpenAIChatModel", "log_openai_model")


def __getattr__(name: str) -> Any:
    # The pyfunc module imports MLflow (about a second): load it only when asked for.
    if name in _PYFUNC:
        from health_training.ml.openai import pyfunc

        return getattr(pyfunc, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
