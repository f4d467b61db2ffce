"""The training bill: the price per token from the versioned `openai_chat.PRICE_TABLE`, and the
billed cost (the job's `trained_tokens`) against the pre-run estimate."""

from __future__ import annotations

from dataclasses import dataclass

from health_training.data import openai_chat


@dataclass(frozen=True)
class Cost:
    model: str
    price_table_version: str
    price_per_1m_training_tokens: float
    trained_tokens: int
    actual_usd: float
    estimated_usd: float
    difference_usd: float  # actual - estimated
    ratio: float | None  # actual / estimated; None when nothing was estimated


def training_price(model: str) -> float:
    """USD per million training tokens; only training tokens are billed."""
    return openai_chat.PRICE_TABLE[model]["price_per_1m_training_tokens"]


def tokens_cost(tokens: int, model: str) -> float:
    return round(tokens / 1_000_000 * training_price(model), 6)


def actual_cost(trained_tokens: int, model: str, estimated_usd: float) -> Cost:
    actual = tokens_cost(trained_tokens, model)
    return Cost(
        model=model,
        price_table_version=openai_chat.PRICE_TABLE_VERSION,
        price_per_1m_training_tokens=training_price(model),
        trained_tokens=trained_tokens,
        actual_usd=actual,
        estimated_usd=estimated_usd,
        difference_usd=round(actual - estimated_usd, 6),
        ratio=actual / estimated_usd if estimated_usd > 0 else None,
    )
