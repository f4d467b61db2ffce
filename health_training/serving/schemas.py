"""Request bodies of the OpenAI-compatible endpoints, feedback and admin (pydantic).

Fields the OpenAI API has and we ignore (`stream_options`, `logprobs`=false, `user`, ...) are
accepted; ones that would change the answer in a way we cannot honour (`n` > 1, tools) are
refused with a 400 naming the field. Types are strict: `"max_tokens": "12"` is a 400, not 12.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

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
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    # None: greedy (what the evaluation scored), unlike OpenAI's default of 1.0.
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    stop: str | list[str] | None = None
    seed: StrictInt | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: Annotated[StrictInt, Field(ge=1, le=1)] = 1
    user: str | None = Field(default=None, max_length=200)

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
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
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
    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)]
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
    corrected_answer: str | None = Field(default=None, max_length=20_000)
    user: str | None = Field(
        default=None, max_length=200, description="stored only as a keyed pseudonym"
    )


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=20, pattern=r"^\d+$")
    reason: str = Field(min_length=1, max_length=500)
    approved_by: str | None = Field(default=None, max_length=200)
    force: StrictBool = False


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    requested_by: str | None = Field(default=None, max_length=200)


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested_by: str | None = Field(default=None, max_length=200)


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=20, pattern=r"^\d+$")
    max_examples: Annotated[StrictInt, Field(ge=1, le=5000)] = 200
