"""Before anything is uploaded: the cookbook's checks on each exported file, and the bill.

The chat JSONL that `openai_chat_dataset` exported is checked again with `openai_chat.analyze`;
any format error, an empty file or a model missing from the price table refuses the job. The
estimate is the billed training tokens (epochs × tokens per epoch) at the table's price.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from health_training.data import openai_chat
from health_training.ml.openai.cost import tokens_cost
from health_training.ml.openai.fine_tune_errors import FineTuneError
from health_training.ml.openai.request import Hyperparameters


@dataclass(frozen=True)
class Preflight:
    """The exported files as the cookbook sees them, and the pre-run bill."""

    train: openai_chat.ChatDatasetReport
    validation: openai_chat.ChatDatasetReport | None
    n_epochs: int  # the configured value, or the API's default for this many examples
    estimated_training_tokens: int
    estimated_cost_usd: float
    system_prompt: str  # the first training example's, reused by the registered pyfunc


def parse_jsonl(data: bytes, name: str) -> list[object]:
    """One JSON value per non-blank line; a line that is not JSON is an error naming it."""
    examples: list[object] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise FineTuneError(f"{name}:{number}: not JSON ({exc.msg}); re-export it") from None
    return examples


def preflight(
    train_jsonl: bytes,
    validation_jsonl: bytes | None,
    *,
    model: str,
    hyperparameters: Hyperparameters,
    count_tokens: Callable[[str], int],
    tokenizer_name: str,
    token_limit: int = openai_chat.DEFAULT_TOKEN_LIMIT,
) -> Preflight:
    """The cookbook's checks on each file; refuses any format error, prices the training file."""
    reports: dict[str, openai_chat.ChatDatasetReport] = {}
    system = ""
    for name, data in (("train.jsonl", train_jsonl), ("validation.jsonl", validation_jsonl)):
        if data is None:
            continue
        examples = parse_jsonl(data, name)
        # analyze refuses a model missing from PRICE_TABLE: no job runs without a price.
        report = openai_chat.analyze(
            examples,
            count_tokens,
            tokenizer_name=tokenizer_name,
            token_limit=token_limit,
            price_model=model,
        )
        if not report.ok:
            errors = {k: v for k, v in report.format_errors.items() if v}
            raise FineTuneError(f"{name}: format errors {errors}: fix the export, nothing uploaded")
        if report.n_examples == 0:
            raise FineTuneError(f"{name}: no examples to upload")
        reports[name] = report
        if name == "train.jsonl":  # well-formed by now: every example has a messages list
            messages = examples[0]["messages"]  # type: ignore[index]
            system = next((m["content"] for m in messages if m["role"] == "system"), "")
    train = reports["train.jsonl"]
    epochs = hyperparameters.n_epochs
    n_epochs = epochs if isinstance(epochs, int) else train.n_epochs
    tokens = n_epochs * train.billing_tokens  # only training tokens are billed
    return Preflight(
        train=train,
        validation=reports.get("validation.jsonl"),
        n_epochs=n_epochs,
        estimated_training_tokens=tokens,
        estimated_cost_usd=tokens_cost(tokens, model),
        system_prompt=system,
    )
