"""The in-process backend: transformers + PEFT, adapters on one base, dynamic batching.

One worker thread owns the model. Requests queue up; the worker takes the oldest, waits
`batch_window_s` for companions, and decodes up to `max_batch` requests for the same adapter
together (batch_decode.py: left padding, a KV cache, rows leave as they finish). Tokens reach
each request's asyncio queue as they are made, so streaming costs nothing extra. A request decoded
under the number constraint (grounding_modes.py) carries its allowed numbers into its row's mask
(number_mask.py), one table of digit tokens serving all requests. Attaching and
detaching adapters are commands the worker runs *between* batches, so the model never changes
under a forward pass; a request resolved to an adapter keeps it (see pool.py's leases).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from health_training.ml.grounding import allowed_numbers
from health_training.serving.batch_decode import Row, decode_rows
from health_training.serving.errors import OpenAIError
from health_training.serving.generation import (
    DecodingParams,
    Delta,
    Finished,
    Prompt,
    StopScanner,
)
from health_training.serving.number_mask import NumberConstraint, NumberTokens
from health_training.serving.pool import BASE

log = logging.getLogger("health_training.serving")


@dataclass(eq=False)
class _Job:
    key: str
    prompt_ids: list[int]
    decoding: DecodingParams
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue
    cancelled: threading.Event = field(default_factory=threading.Event)
    tokens: list[int] = field(default_factory=list)
    allowed: Any = None  # grounding.AllowedNumbers when decoded under the number constraint

    def send(self, item: object) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, item)


class InProcessEngine:
    name = "inprocess"
    constrains_numbers = True  # can decode under the number constraint

    def __init__(self, settings: Any, metrics: Any) -> None:
        self.settings, self.metrics = settings, metrics
        self.model: Any = None
        self.tokenizer: Any = None
        self.base_model: str | None = None
        self.number_tokens: NumberTokens | None = None  # the tokenizer's digit tokens
        self._tok_lock = threading.Lock()  # the Rust tokenizer is not re-entrant across threads
        self._cond = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._commands: deque[tuple[Callable[[], None], Future]] = deque()
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="generation-worker", daemon=True)
        self._thread.start()

    # --- the model ------------------------------------------------------------------------

    def device(self) -> str:
        return str(next(self.model.parameters()).device) if self.model is not None else "none"

    def ensure_base(self, base_model: str, bundled: Path | None) -> None:
        from health_training.ml.models import resolve_base_model

        if self.model is not None:
            if not _same_base(base_model, self.base_model or "", self.settings.models_dir):
                raise ValueError(
                    f"its base {base_model} differs from the loaded base {self.base_model}; "
                    "restart the server to serve another base"
                )
            return
        import torch

        from health_training.ml.models import load_model_and_tokenizer

        spec = resolve_base_model(str(bundled or base_model), self.settings.models_dir)
        model, tokenizer = load_model_and_tokenizer(spec, gradient_checkpointing=False)
        device = self.settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model, self.tokenizer = model.to(device).eval(), tokenizer
        self.number_tokens = NumberTokens(tokenizer)
        self.base_model = base_model
        log.info("base %s loaded on %s", spec.name, device)

    def attach(self, key: str, adapter_dir: Path) -> None:
        self._command(lambda: self._attach(key, adapter_dir))

    def detach(self, key: str) -> None:
        self._command(lambda: self.model.delete_adapter(key))

    def _attach(self, key: str, adapter_dir: Path) -> None:
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(adapter_dir), adapter_name=key)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(adapter_dir), adapter_name=key)
        self.model.eval()

    def _command(self, fn: Callable[[], None]) -> None:
        done: Future = Future()
        with self._cond:
            self._commands.append((fn, done))
            self._cond.notify()
        done.result()  # raises what the worker raised

    # --- requests -------------------------------------------------------------------------

    def encode(self, prompt: Prompt) -> list[int]:
        from health_training.ml.prompts import prompt_format

        with self._tok_lock:
            tok = self.tokenizer
            if prompt.text is not None:
                text = prompt.text
            elif prompt_format(tok) == "chat-template-v1":
                messages = [{"role": r, "content": c} for r, c in prompt.messages]
                text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            else:  # the OLMo spec's plain format (prompts.render_prompt) for every turn
                text = "".join(f"<|{r}|>\n{c}\n" for r, c in prompt.messages) + "<|assistant|>\n"
            return list(tok(text, add_special_tokens=False)["input_ids"])

    async def generate(
        self, key: str, prompt: Prompt, decoding: DecodingParams
    ) -> AsyncIterator[Delta | Finished]:
        ids = await asyncio.to_thread(self.encode, prompt)
        limit = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        if limit and len(ids) + decoding.max_new_tokens > limit:
            raise OpenAIError(
                400,
                f"the prompt has {len(ids)} tokens and max_tokens is {decoding.max_new_tokens}: "
                f"together more than the model's {limit}-token context; shorten the prompt",
                param="messages" if prompt.kind == "chat" else "prompt",
                code="context_length_exceeded",
            )
        allowed = None
        if decoding.constrain_numbers:
            allowed = await asyncio.to_thread(allowed_numbers, prompt.source_text())
        job = _Job(key, ids, decoding, asyncio.get_running_loop(), asyncio.Queue(), allowed=allowed)
        with self._cond:
            self._queue.append(job)
            self.metrics.queue_depth.set(len(self._queue))
            self._cond.notify()
        try:
            while True:
                item = await job.events.get()
                if isinstance(item, Exception):
                    raise item
                yield item
                if isinstance(item, Finished):
                    return
        finally:
            job.cancelled.set()  # a client that went away frees its row at the next step

    # --- the worker -----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not (self._queue or self._commands or self._stopped):
                    self._cond.wait()
                if self._stopped:
                    return
                commands = list(self._commands)
                self._commands.clear()
            for fn, done in commands:
                try:
                    fn()
                    done.set_result(None)
                except Exception as exc:  # handed to the caller of attach/detach
                    done.set_exception(exc)
            batch = self._take_batch()
            if batch:
                self._run(batch)

    def _take_batch(self) -> list[_Job]:
        with self._cond:
            if not self._queue:
                return []
            deadline = time.monotonic() + self.settings.batch_window_s
            while len(self._queue) < self.settings.max_batch and not self._commands:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            key = self._queue[0].key
            batch = [j for j in self._queue if j.key == key][: self.settings.max_batch]
            for job in batch:
                self._queue.remove(job)
            self.metrics.queue_depth.set(len(self._queue))
        return [j for j in batch if not j.cancelled.is_set()]

    def _run(self, batch: list[_Job]) -> None:
        import torch

        from health_training.ml.evaluation import eos_token_ids

        tok = self.tokenizer
        scanners = [StopScanner(j.decoding.stops) for j in batch]
        rows = []
        for job in batch:
            generator = None
            if job.decoding.temperature > 0:
                generator = torch.Generator(device=self.device())
                seed = job.decoding.seed
                generator.manual_seed(seed if seed is not None else secrets.randbits(63))
            d, tokens = job.decoding, self.number_tokens
            numbers = None if job.allowed is None else NumberConstraint(tokens, job.allowed)
            rows.append(
                Row(job.prompt_ids, d.max_new_tokens, d.temperature, d.top_p, generator, numbers)
            )

        def finish(i: int, reason: str) -> None:
            job = batch[i]
            with self._tok_lock:
                text = tok.decode(job.tokens, skip_special_tokens=True)
            tail = scanners[i].flush(text) if reason != "stop-seq" else ""
            if tail:
                job.send(Delta(tail))
            reason = "stop" if reason == "stop-seq" else reason
            job.send(Finished(reason, len(job.prompt_ids), len(job.tokens)))

        def emit(i: int, token: int | None) -> bool:
            job = batch[i]
            if token is None:
                finish(i, "stop")
                return False
            job.tokens.append(token)
            with self._tok_lock:
                text = tok.decode(job.tokens, skip_special_tokens=True)
            delta = scanners[i].feed(text)
            if delta:
                job.send(Delta(delta))
            if scanners[i].stopped:
                finish(i, "stop-seq")
                return False
            if job.cancelled.is_set():
                return False
            if len(job.tokens) >= job.decoding.max_new_tokens:
                finish(i, "length")
                return False
            return True

        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        started = time.monotonic()
        try:
            with self._adapter(batch[0].key):
                generated = decode_rows(
                    self.model,
                    rows,
                    eos_ids=eos_token_ids(self.model, tok),
                    pad_id=pad,
                    emit=emit,
                )
        except Exception as exc:  # the batch's requests get a 500; the worker goes on
            log.exception("generation failed for a batch of %d", len(batch))
            error = OpenAIError(500, f"generation failed: {type(exc).__name__}", "server_error")
            for job in batch:
                job.send(error)
            return
        seconds = time.monotonic() - started
        self.metrics.generated_tokens.inc(generated)
        self.metrics.batch_size.observe(len(batch))
        if seconds > 0:
            self.metrics.tokens_per_second.set(generated / seconds)

    def _adapter(self, key: str) -> Any:
        from peft import PeftModel

        if not isinstance(self.model, PeftModel):
            return nullcontext()
        if key == BASE:
            return self.model.disable_adapter()
        self.model.set_adapter(key)
        return nullcontext()

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=30)


def _same_base(a: str, b: str, models_dir: Path) -> bool:
    """Two names for one base: equal text, or the same folder / hub id once resolved."""
    if a == b:
        return True
    from health_training.ml.models import BaseModelUnavailable, resolve_base_model

    try:
        return resolve_base_model(a, models_dir).source == resolve_base_model(b, models_dir).source
    except BaseModelUnavailable:
        return False
