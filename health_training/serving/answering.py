"""One answer, from a validated request to the response: take from the key's quota, lease the
model, look in the cache, generate (whole or streamed), run the number guard and the grounding
mode (grounding_modes.py: decode again under the number constraint, or refuse), remember the
response id (and the key it answered) for feedback, charge its tokens, count it, log it by
hashes. Chat and legacy completions share all of it; only shapes differ (http/response_bodies.py). The cache
holds the final answer: after a regeneration, the regenerated one."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse, StreamingResponse

from health_training.serving import grounding_modes
from health_training.serving.backends.generation import (
    DecodingParams,
    Delta,
    Finished,
    Prompt,
    cache_key,
)
from health_training.serving.http import request_bodies, response_bodies
from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.tracing import child
from health_training.serving.number_guard import GuardResult, check_numbers
from health_training.serving.response_cache import CachedAnswer
from health_training.serving.response_log import AnsweredRequest, ResponseLog

log = logging.getLogger("health_training.serving")
# Logs carry keyed hashes: equal prompts correlate within one process, and nothing can be looked
# up in a dictionary of likely prompts.
_HASH_KEY = secrets.token_bytes(16)


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), key=_HASH_KEY, digest_size=8).hexdigest()


def _check_length(prompt: Prompt, limit: int) -> None:
    if len(prompt.source_text()) > limit:
        raise OpenAIError(
            400,
            f"the prompt has {len(prompt.source_text()):,} characters; the limit is {limit:,}",
            param="messages" if prompt.kind == "chat" else "prompt",
            code="context_length_exceeded",
        )


class Answerer:
    """The per-request flow; one per app (holds the services, no per-request state)."""

    def __init__(self, services: Any) -> None:
        self.s = services

    async def respond(self, caller: Any, body: Any, prompt: Prompt, request: Any) -> Any:
        settings = self.s.settings
        self.s.quotas.admit("requests", caller.key_id)
        # Measured before the computed line is (its parsing grows with the text) and after (the
        # line counts toward the model's context too).
        _check_length(prompt, settings.max_prompt_chars)
        # Off the event loop: parsing is bounded but not free, and other requests stream meanwhile.
        prompt = await asyncio.to_thread(prompt.with_computed_facts)
        _check_length(prompt, settings.max_prompt_chars)
        decoding = grounding_modes.first_decoding(
            settings.grounding,
            request_bodies.decoding_params(body, settings),
            stream=bool(body.stream),
            can_constrain=self.s.backend.constrains_numbers,
        )
        check_capacity = getattr(self.s.backend, "check_capacity", None)
        if check_capacity is not None:  # a 429 now, before a stream's 200 goes out
            check_capacity()
        lease_cm = self.s.pool.lease(body.model)
        lease = lease_cm.__enter__()  # held until the answer (or the stream) ends
        ctx = _Context(
            response_id=ResponseLog.new_id(prompt.kind),
            caller=caller,
            prompt=prompt,
            decoding=decoding,
            lease=lease,
            model_id=lease.served.model_id(settings.model_name),
            created=int(time.time()),
            started=time.monotonic(),
            span=getattr(request.state, "span", None),
        )
        request.state.request_id = ctx.response_id  # 500s and logs name the response id
        if ctx.span is not None:
            ctx.span.set_attribute("request.id", ctx.response_id)
            ctx.span.set_attribute("model.version", lease.served.label)
        headers = {
            "X-Request-Id": ctx.response_id,
            "X-Model-Version": lease.served.label,
            "X-Model-Alias": lease.alias,
        }
        try:
            if body.stream:
                usage = bool(body.stream_options and body.stream_options.include_usage)
                stream = self._stream(ctx, usage, lease_cm)
                lease_cm = None  # the stream releases it
                return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
            answer = await self._answer(ctx)
            if ctx.grounding == "refused":
                raise grounding_modes.refusal(ctx.guard)
            self._remember(ctx, answer)
            body_doc = response_bodies.whole(ctx, answer, self._extra(ctx))
            return JSONResponse(body_doc, headers=headers)
        finally:
            if lease_cm is not None:
                lease_cm.__exit__(None, None, None)

    def _cached(self, ctx: _Context) -> CachedAnswer | None:
        """A final answer from the cache, judged again (the outcome is the one it had)."""
        if not ctx.decoding.deterministic:
            return None
        hit = self.s.cache.get(ctx.cache_key)
        self.s.metrics.cache.labels(result="hit" if hit else "miss").inc()
        ctx.cached = hit is not None
        if hit is not None:
            ctx.eos_withheld = hit.eos_withheld
            self._judged(ctx, check_numbers(hit.text, ctx.prompt.source_text()), hit.grounding)
        return hit

    async def _generate(
        self, ctx: _Context, decoding: DecodingParams
    ) -> AsyncIterator[Delta | CachedAnswer]:
        """The backend's deltas, then the whole answer."""
        parts, finished = [], None
        events = self.s.backend.generate(
            ctx.lease.served.key, ctx.prompt, decoding, request_id=ctx.response_id, span=ctx.span
        )
        async for event in events:
            if isinstance(event, Delta):
                parts.append(event.text)
                yield event
            elif isinstance(event, Finished):
                finished = event
        if finished is None:
            raise OpenAIError(502, "the backend ended without finishing the answer", "server_error")
        yield CachedAnswer(
            "".join(parts),
            finished.reason,
            finished.prompt_tokens,
            finished.completion_tokens,
            eos_withheld=finished.eos_withheld,
        )

    async def _whole(self, ctx: _Context, decoding: DecodingParams) -> CachedAnswer:
        async for event in self._generate(ctx, decoding):
            if isinstance(event, CachedAnswer):
                return event
        raise AssertionError("unreachable: _generate ends with the answer")

    async def _answer(self, ctx: _Context) -> CachedAnswer:
        hit = self._cached(ctx)
        if hit is not None:
            return hit
        return await self._settle(ctx, await self._whole(ctx, ctx.decoding))

    async def _settle(self, ctx: _Context, answer: CachedAnswer) -> CachedAnswer:
        """Guard the first answer, decode again if the mode says so, and cache the final one
        (a refusal is not cached: the next ask tries again)."""
        mode, source = self.s.settings.grounding, ctx.prompt.source_text()
        with child(self.s.tracer, "guard", ctx.span):
            guard = check_numbers(answer.text, source)
        retry = None
        if not guard.grounded:
            can_constrain = self.s.backend.constrains_numbers
            retry = grounding_modes.retry_decoding(mode, ctx.decoding, can_constrain=can_constrain)
        if retry is not None:
            answer = await self._whole(ctx, retry)
            guard = check_numbers(answer.text, source)
        outcome = grounding_modes.outcome(
            mode, guard.grounded, ctx.decoding, retried=retry is not None
        )
        answer = replace(answer, grounding=outcome)
        ctx.eos_withheld = answer.eos_withheld
        if outcome != "refused" and ctx.decoding.deterministic:
            self.s.cache.put(ctx.cache_key, answer)
        self._judged(ctx, guard, outcome)
        return answer

    async def _stream(self, ctx: _Context, usage: bool, lease_cm: Any) -> AsyncIterator[bytes]:
        # Deltas go out as they come, unless the answer may still be refused or replaced before
        # anyone reads it (grounding_modes.holds_stream): then they wait for the guard. Sent text
        # cannot be taken back, so in regenerate mode the in-process backend decodes a stream
        # under the number constraint from its first token (first_decoding); should the guard
        # still find an unsupported number, the stream ends in an `ungrounded_answer` error
        # event instead of its last chunk, and the client must drop what it has shown.
        hold = grounding_modes.holds_stream(
            self.s.settings.grounding, can_constrain=self.s.backend.constrains_numbers
        )
        held: list[str] = []
        try:
            yield response_bodies.sse(response_bodies.first_chunk(ctx))
            answer = self._cached(ctx)
            if answer is not None:
                held.append(answer.text)
            else:
                async for event in self._generate(ctx, ctx.decoding):
                    if isinstance(event, CachedAnswer):
                        answer = event
                    elif hold:
                        held.append(event.text)
                    else:
                        yield response_bodies.sse(response_bodies.delta_chunk(ctx, event.text))
                assert answer is not None
                answer = await self._settle(ctx, answer)
                if ctx.grounding == "regenerated":  # only a held stream is regenerated
                    held = [answer.text]
            if ctx.grounding == "refused":
                yield response_bodies.sse(grounding_modes.refusal(ctx.guard).body())
                self._finish(ctx, answer, "refused")
                return
            for text in held:
                yield response_bodies.sse(response_bodies.delta_chunk(ctx, text))
            self._remember(ctx, answer)
            yield response_bodies.sse(response_bodies.last_chunk(ctx, answer, self._extra(ctx)))
            if usage:
                yield response_bodies.sse(response_bodies.usage_chunk(ctx, answer))
            yield b"data: [DONE]\n\n"
        except OpenAIError as exc:  # after the 200 went out: an error event, as OpenAI sends
            yield response_bodies.sse(exc.body())
            self._finish(ctx, None, f"error {exc.status}")
        finally:
            lease_cm.__exit__(None, None, None)

    def _judged(self, ctx: _Context, guard: GuardResult, outcome: str) -> None:
        ctx.guard, ctx.grounding = guard, outcome
        self.s.metrics.guard.labels(action=outcome).inc()

    def _extra(self, ctx: _Context) -> dict:
        assert ctx.guard is not None
        return {
            "model_version": ctx.lease.served.label,
            "alias": ctx.lease.alias,
            "backend": self.s.backend.name,
            "cached": ctx.cached,
            "grounding": ctx.grounding,
            "eos_withheld": ctx.eos_withheld,
            **ctx.guard.as_dict(),
        }

    def _remember(self, ctx: _Context, answer: CachedAnswer) -> None:
        self.s.responses.record(
            ctx.response_id,
            AnsweredRequest(
                key_id=ctx.caller.key_id,
                tenant=ctx.caller.tenant,
                model_version=ctx.lease.served.label,
                alias=ctx.lease.alias,
                question=ctx.prompt.question(),
                context=ctx.prompt.context(),
                answer=answer.text,
                answered_at=datetime.now(UTC),
            ),
        )
        self._finish(ctx, answer, "ok")

    def _finish(self, ctx: _Context, answer: CachedAnswer | None, status: str) -> None:
        seconds = time.monotonic() - ctx.started
        if answer is not None and not ctx.cached:
            self.s.quotas.charge_tokens(
                ctx.caller.key_id, answer.prompt_tokens + answer.completion_tokens
            )
        self.s.metrics.latency.labels(route=f"/v1/{ctx.prompt.kind}").observe(seconds)
        log.info(
            "request %s caller=%s model=%s alias=%s prompt=%s answer=%s tokens=%s/%s cached=%s "
            "grounding=%s status=%s",
            ctx.response_id,
            ctx.caller.key_id,
            ctx.model_id,
            ctx.lease.alias,
            text_hash(ctx.prompt.canonical()),
            text_hash(answer.text) if answer else "-",
            answer.prompt_tokens if answer else "-",
            answer.completion_tokens if answer else "-",
            ctx.cached,
            ctx.grounding or "-",
            status,
        )


class _Context:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)
        self.cached = False
        self.guard: GuardResult | None = None
        self.grounding: str | None = None  # the outcome (grounding_modes.OUTCOMES)
        self.eos_withheld = 0  # of the final answer (line_coverage.py)
        self.cache_key = cache_key(self.lease.served.key, self.prompt, self.decoding)
