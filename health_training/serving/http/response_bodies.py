"""OpenAI response shapes: chat.completion, text_completion and their stream chunks.

Our own fields ride in `health_training` (model version, alias, backend, cache, the number
guard's verdict); OpenAI clients keep unknown fields (`response.model_extra`). The last stream
chunk carries them, since the guard can only read a finished answer.
"""

from __future__ import annotations

import json
from typing import Any


def _usage(answer: Any) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def _head(ctx: Any, chunk: bool) -> dict[str, Any]:
    chat = ctx.prompt.kind == "chat"
    kind = ("chat.completion.chunk" if chunk else "chat.completion") if chat else "text_completion"
    return {
        "id": ctx.response_id,
        "object": kind,
        "created": ctx.created,
        "model": ctx.model_id,
        "system_fingerprint": f"health_training-{ctx.lease.served.label}",
    }


def whole(ctx: Any, answer: Any, extra: dict[str, Any]) -> dict[str, Any]:
    if ctx.prompt.kind == "chat":
        choice = {"index": 0, "message": {"role": "assistant", "content": answer.text}}
    else:
        choice = {"index": 0, "text": answer.text}
    choice |= {"logprobs": None, "finish_reason": answer.finish_reason}
    return _head(ctx, False) | {
        "choices": [choice],
        "usage": _usage(answer),
        "health_training": extra,
    }


def _choice(ctx: Any, text: str | None, finish: str | None, first: bool = False) -> dict:
    if ctx.prompt.kind == "chat":
        delta: dict[str, str] = {"role": "assistant"} if first else {}
        if text is not None:
            delta["content"] = text
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}


def first_chunk(ctx: Any) -> dict[str, Any]:
    return _head(ctx, True) | {"choices": [_choice(ctx, "", None, first=True)]}


def delta_chunk(ctx: Any, text: str) -> dict[str, Any]:
    return _head(ctx, True) | {"choices": [_choice(ctx, text, None)]}


def last_chunk(ctx: Any, answer: Any, extra: dict[str, Any]) -> dict[str, Any]:
    return _head(ctx, True) | {
        "choices": [_choice(ctx, None, answer.finish_reason)],
        "health_training": extra,
    }


def usage_chunk(ctx: Any, answer: Any) -> dict[str, Any]:
    return _head(ctx, True) | {"choices": [], "usage": _usage(answer)}


def sse(doc: dict) -> bytes:
    """One server-sent event carrying `doc`."""
    return b"data: " + json.dumps(doc, ensure_ascii=False).encode() + b"\n\n"
