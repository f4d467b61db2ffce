"""Request bodies of the OpenAI-compatible endpoints, feedback and admin (pydantic).

Fields the OpenAI API has and we ignore (`stream_options`, `logprobs`=false, `user`, ...) are
accepted; ones that would change the answer in a way we cannot honour (`n` > 1, tools) are
refused with a 400 naming the field. Types are strict: `"max_tokens": "12"` is a 400, not 12.
Every number is bounded (a seed that overflows a 64-bit generator, or a temperature so small that
sampling divides by zero, is a 400, never a failed batch) and every text refuses lone surrogates,
control characters and bidi overrides (U+202A-E, U+2066-9), which would otherwise reach logs,
the feedback store and training data.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from health_training.serving.backends.generation import DecodingParams
from health_training.serving.http.api_errors import OpenAIError

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit value
MIN_TEMPERATURE = 0.01  # below this, logits / temperature overflows to inf and NaN
_BAD_TEXT = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _clean_text(value: str) -> str:
    found = _BAD_TEXT.search(value)
    if found is not None:
        char = found.group()
        kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else f"U+{ord(char):04X}"
        raise ValueError(
            f"text holds {kind} at character {found.start()}: control characters, bidi "
            "overrides and unpaired surrogates are not accepted"
        )
    return value


Text = Annotated[str, AfterValidator(_clean_text)]


class TextPart(BaseModel):
    type: Literal["text"]
    text: Text


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[TextPart]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    include_usage: StrictBool = False


class Decoding(BaseModel):
    """What every generation request shares."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    max_tokens: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    # None: greedy (what the evaluation scored), unlike OpenAI's default of 1.0.
    temperature: Annotated[float, Field(ge=0.0, le=2.0, allow_inf_nan=False)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] | None = None
    stop: Text | list[Text] | None = None
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: Annotated[StrictInt, Field(ge=1, le=1)] = 1
    user: Text | None = Field(default=None, max_length=200)

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, value: float | None) -> float | None:
        if value is not None and 0.0 < value < MIN_TEMPERATURE:
            raise ValueError(f"temperature must be 0 (greedy) or at least {MIN_TEMPERATURE}")
        return value

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None:
            return None
        stops = [value] if isinstance(value, str) else value
        if len(stops) > 4 or any(not s or len(s) > 64 for s in stops):
            raise ValueError("at most 4 stop sequences of 1-64 characters")
        return stops

    def stops(self) -> tuple[str, ...]:
        return tuple(self.stop or ())  # the validator made it a list


class ChatCompletionRequest(Decoding):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    tools: None = Field(default=None, description="tool calls are not supported")

    @field_validator("messages")
    @classmethod
    def _last_is_user(cls, value: list[ChatMessage]) -> list[ChatMessage]:
        if value[-1].role != "user":
            raise ValueError("the last message must be the user's question")
        return value

    def wanted_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(Decoding):
    prompt: Text | Annotated[list[Text], Field(min_length=1, max_length=1)]
    echo: Literal[False] = False
    suffix: None = None

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def wanted_tokens(self) -> int | None:
        return self.max_tokens


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response_id: str = Field(min_length=1, max_length=100)
    rating: Annotated[StrictInt, Field(ge=1, le=5)]
    corrected_answer: Text | None = Field(default=None, max_length=20_000)
    user: Text | None = Field(
        default=None,
        max_length=200,
        description="a hint within the key's tenant, stored only as a server-derived pseudonym",
    )


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=20, pattern=r"^\d+$")
    reason: Text = Field(min_length=1, max_length=500)
    approved_by: Text | None = Field(default=None, max_length=200)
    force: StrictBool = False


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500)
    requested_by: Text | None = Field(default=None, max_length=200)


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested_by: Text | None = Field(default=None, max_length=200)


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=20, pattern=r"^\d+$")
    max_examples: Annotated[StrictInt, Field(ge=1, le=5000)] = 200


class ReviewDecision(BaseModel):
    """Approve or reject a correction in the review queue; the admin key is who decided."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500)
    accept_unsupported_numbers: StrictBool = False  # approve despite the number guard's flag


class TrustRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Annotated[StrictInt, Field(ge=0, le=2)]  # 0: untrusted, 1: trusted, 2: clinician
    reason: Text = Field(min_length=1, max_length=500)


def decoding_params(body: Any, settings: Any) -> DecodingParams:
    """The decoding a completion request asks for, within the server's limits (a 400 above)."""
    wanted = body.wanted_tokens()
    if wanted is not None and wanted > settings.max_new_tokens:
        raise OpenAIError(
            400,
            f"max_tokens is {wanted}; this server generates at most {settings.max_new_tokens}",
            param="max_tokens",
            code="invalid_value",
        )
    return DecodingParams(
        max_new_tokens=wanted or settings.max_new_tokens,
        temperature=body.temperature if body.temperature is not None else 0.0,
        top_p=body.top_p if body.top_p is not None else 1.0,
        stops=body.stops(),
        seed=body.seed,
    )
