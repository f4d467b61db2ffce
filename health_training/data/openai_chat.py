"""Export instruction examples to OpenAI chat fine-tuning JSONL and check them as OpenAI does.

The checks reproduce the OpenAI cookbook notebook "Data preparation and analysis for chat model
fine-tuning" (`examples/Chat_finetuning_data_prep.ipynb`): the seven format-error classes, the
missing system/user warnings, the message and token distributions, the token-limit warning, and
the default-epochs and billed-token estimate, plus a dollar estimate from a dated price table.
Tokens are counted by an injected `count_tokens(text) -> int`: `chat_tokens.tiktoken_counter` builds the exact
cl100k_base one from a local BPE file (never the network), `approximate_counter` is the fallback.

    counter = tiktoken_counter(cache_dir)
    name = "cl100k_base" if counter else "approximate"
    report = analyze(examples, counter or approximate_counter(), tokenizer_name=name)
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from health_training.constants import DEFAULT_OPENAI_MODEL

logger = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are a careful health-data assistant. You explain wearable and clinical measurements "
    "accurately, cite the numbers you were given, and never invent values."
)

FORMAT_ERROR_CLASSES: tuple[str, ...] = (
    "data_type",
    "missing_messages_list",
    "message_missing_key",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
    "example_missing_assistant_message",
)
RECOGNIZED_MESSAGE_KEYS = frozenset({"role", "content", "name", "function_call", "weight"})
RECOGNIZED_ROLES = frozenset({"system", "user", "assistant", "function"})

# The cookbook's constants. 16,385 is the per-example context of current fine-tunable models
# (the notebook used 4,096 in its first version, which is where its published toy stats come from).
DEFAULT_TOKEN_LIMIT = 16385
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

# List prices for training, USD per 1M tokens, as published on the date below. They change without
# notice: update the table and its version together, and treat the estimate as indicative only.
PRICE_TABLE_VERSION = "2024-08-20"
PRICE_TABLE: Mapping[str, Mapping[str, float]] = {
    "gpt-4o-mini-2024-07-18": {"price_per_1m_training_tokens": 3.00},
    "gpt-4o-2024-08-06": {"price_per_1m_training_tokens": 25.00},
    "gpt-3.5-turbo": {"price_per_1m_training_tokens": 8.00},
}


def to_chat_example(
    instruction: str,
    input_: str,
    output: str,
    *,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
) -> dict[str, list[dict[str, str]]]:
    """One instruction example as a chat example: optional system, user, then assistant turn.

    The user turn is the instruction, followed by a blank line and the input when there is one.
    """
    user = f"{instruction}\n\n{input_}" if input_.strip() else instruction
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    return {"messages": messages}


def to_jsonl(examples: Iterable[Mapping[str, Any]]) -> bytes:
    """UTF-8 JSONL, one example per line, each line ending in a newline (what the API uploads)."""
    return b"".join(
        json.dumps(example, ensure_ascii=False).encode("utf-8") + b"\n" for example in examples
    )


def _example_errors(example: object) -> Counter[str]:
    """The cookbook's checks for one example (a message counts once per class it breaks)."""
    errors: Counter[str] = Counter()
    if not isinstance(example, dict):
        errors["data_type"] += 1
        return errors
    messages = example.get("messages")
    # The cookbook tests only truthiness; a non-list would be iterated as if it were one.
    if not messages or not isinstance(messages, list):
        errors["missing_messages_list"] += 1
        return errors
    for message in messages:
        # The cookbook would crash on a non-dict message; it lacks the keys, so say so.
        if not isinstance(message, dict):
            errors["message_missing_key"] += 1
            continue
        if "role" not in message or "content" not in message:
            errors["message_missing_key"] += 1
        if any(key not in RECOGNIZED_MESSAGE_KEYS for key in message):
            errors["message_unrecognized_key"] += 1
        if message.get("role") not in RECOGNIZED_ROLES:
            errors["unrecognized_role"] += 1
        content = message.get("content")
        # Kept verbatim: an empty string counts as missing, and a function_call with
        # content None still fails the isinstance test, as in the notebook.
        if (not content and not message.get("function_call")) or not isinstance(content, str):
            errors["missing_content"] += 1
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        errors["example_missing_assistant_message"] += 1
    return errors


def check_format(examples: Iterable[object]) -> dict[str, int]:
    """Count of each of the seven format-error classes, zeros included, in a fixed order."""
    total: Counter[str] = Counter()
    for example in examples:
        total.update(_example_errors(example))
    return {name: total[name] for name in FORMAT_ERROR_CLASSES}


def num_tokens_from_messages(
    messages: Sequence[Mapping[str, Any]],
    count_tokens: Callable[[str], int],
    *,
    tokens_per_message: int = 3,
    tokens_per_name: int = 1,
) -> int:
    """The cookbook's estimate of one example's tokens: per-message overhead plus every value."""
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            # The notebook encodes every value and so crashes on `weight` (an int) or a
            # function_call object; we count objects as their JSON and skip numbers.
            if isinstance(value, str):
                num_tokens += count_tokens(value)
            elif isinstance(value, dict | list):
                num_tokens += count_tokens(json.dumps(value, ensure_ascii=False))
            if key == "name":
                num_tokens += tokens_per_name
    return num_tokens + 3  # every reply is primed with <|start|>assistant<|message|>


def num_assistant_tokens_from_messages(
    messages: Sequence[Mapping[str, Any]], count_tokens: Callable[[str], int]
) -> int:
    """Tokens in the assistant turns' content: the part the model is trained to produce."""
    return sum(count_tokens(m["content"]) for m in messages if m.get("role") == "assistant")


def default_n_epochs(n_examples: int) -> int:
    """The epochs the fine-tuning API picks by default for a dataset of this size."""
    if n_examples <= 0:
        return 0  # nothing to train on; the notebook would divide by zero here
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted values."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True)
class Distribution:
    """Summary of one per-example quantity; all zeros when there were no examples."""

    count: int
    min: float
    max: float
    mean: float
    median: float
    p5: float
    p95: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(count=0, min=0.0, max=0.0, mean=0.0, median=0.0, p5=0.0, p95=0.0)
        ordered = sorted(float(v) for v in values)
        return cls(
            count=len(ordered),
            min=ordered[0],
            max=ordered[-1],
            mean=sum(ordered) / len(ordered),
            median=_quantile(ordered, 0.5),
            p5=_quantile(ordered, 0.05),
            p95=_quantile(ordered, 0.95),
        )


@dataclass(frozen=True)
class ChatDatasetReport:
    """What the cookbook prints for a dataset, as values; statistics cover well-formed examples."""

    n_examples: int
    n_well_formed: int
    format_errors: dict[str, int]
    missing_system: int
    missing_user: int
    messages_per_example: Distribution
    tokens_per_example: Distribution
    assistant_tokens_per_example: Distribution
    n_too_long: int  # examples over token_limit: the API truncates them
    token_limit: int
    tokenizer: str
    n_epochs: int
    billing_tokens: int  # one epoch, each example capped at token_limit
    training_tokens_charged: int  # n_epochs x billing_tokens
    price_model: str | None
    price_table_version: str
    estimated_cost_usd: float | None

    @property
    def ok(self) -> bool:
        """True when the API would accept the file (no format errors at all)."""
        return not any(self.format_errors.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, nested distributions included."""
        return asdict(self)


def analyze(
    examples: Sequence[object],
    count_tokens: Callable[[str], int],
    *,
    tokenizer_name: str,
    token_limit: int = DEFAULT_TOKEN_LIMIT,
    price_model: str | None = DEFAULT_OPENAI_MODEL,
) -> ChatDatasetReport:
    """Run the cookbook's format checks, warnings, token counts and cost estimate.

    Malformed examples are counted in `format_errors` and left out of the statistics, which the
    notebook would crash on; epochs are chosen from the size of the whole file, as the API sees it.
    """
    if price_model is not None and price_model not in PRICE_TABLE:
        raise ValueError(
            f"price_model {price_model!r} is not in PRICE_TABLE (version {PRICE_TABLE_VERSION}); "
            f"use one of {sorted(PRICE_TABLE)} or None to skip the dollar estimate"
        )
    errors: Counter[str] = Counter()
    well_formed: list[list[dict[str, Any]]] = []
    for example in examples:
        example_errors = _example_errors(example)
        errors.update(example_errors)
        if not example_errors and isinstance(example, dict):
            well_formed.append(example["messages"])

    roles = [{m["role"] for m in messages} for messages in well_formed]
    convo_lens = [num_tokens_from_messages(m, count_tokens) for m in well_formed]
    assistant_lens = [num_assistant_tokens_from_messages(m, count_tokens) for m in well_formed]

    n_epochs = default_n_epochs(len(examples))
    billing_tokens = sum(min(token_limit, length) for length in convo_lens)
    charged = n_epochs * billing_tokens
    cost = None
    if price_model is not None:
        price = PRICE_TABLE[price_model]["price_per_1m_training_tokens"]
        cost = round(charged / 1_000_000 * price, 6)

    return ChatDatasetReport(
        n_examples=len(examples),
        n_well_formed=len(well_formed),
        format_errors={name: errors[name] for name in FORMAT_ERROR_CLASSES},
        missing_system=sum("system" not in r for r in roles),
        missing_user=sum("user" not in r for r in roles),
        messages_per_example=Distribution.of([len(m) for m in well_formed]),
        tokens_per_example=Distribution.of(convo_lens),
        assistant_tokens_per_example=Distribution.of(assistant_lens),
        n_too_long=sum(length > token_limit for length in convo_lens),
        token_limit=token_limit,
        tokenizer=tokenizer_name,
        n_epochs=n_epochs,
        billing_tokens=billing_tokens,
        training_tokens_charged=charged,
        price_model=price_model,
        price_table_version=PRICE_TABLE_VERSION,
        estimated_cost_usd=cost,
    )
