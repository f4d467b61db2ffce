"""The in-process backend: transformers + PEFT, adapters on one base, dynamic batching.

One worker thread owns the model (work_queue.py: bounded, supervised, drained on shutdown).
Requests queue up; the worker takes the oldest, waits `batch_window_s` for companions, and
decodes up to `max_batch` requests for the same adapter together (batch_decode.py: left padding,
a KV cache, rows leave as they finish). Tokens reach each request's asyncio queue as they are
made, so streaming costs nothing extra. A request decoded under the number constraint
(grounding_modes.py) carries its allowed numbers into its row's mask (number_mask.py), one table
of digit tokens serving all requests. Attaching and detaching adapters are commands the worker
runs *between* batches, so the model never changes under a forward pass; a request resolved to
an adapter keeps it (see adapter_pool.py's leases).

Failures stay with the request that caused them: a row whose sampling fails leaves the batch
with a 500 of its own; when a forward pass fails, every unfinished row is retried in a batch of
its own, continuing from the tokens it already has, and only a row that fails alone gets a 500.
Each request has a deadline (`request_timeout_s`): past it, a 504 and its row is freed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from health_training.ml.evaluation.grounding import allowed_numbers
from health_training.ml.lm.models import same_base_model, weights_present
from health_training.serving.backends.batch_decode import Row, decode_rows
from health_training.serving.backends.generation import (
    DecodingParams,
    Delta,
    Finished,
    Prompt,
    StopScanner,
)
from health_training.serving.backends.number_mask import NumberConstraint, NumberTokens
from health_training.serving.backends.queued_job import Job, fail_unfinished
from health_training.serving.backends.served_model import BASE
from health_training.serving.backends.work_queue import WorkQueue
from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.tracing import batch_spans, record_span
from health_training.serving.line_coverage import EosGate, last_line, required_values

log = logging.getLogger("health_training.serving")


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
        self.tracer: Any = None  # set by the app (http/tracing.py); None: no spans
        self.work = WorkQueue(self._run, settings, metrics)

    # --- the model ------------------------------------------------------------------------

    def device(self) -> str:
        return str(next(self.model.parameters()).device) if self.model is not None else "none"

    def ensure_base(self, base_model: str, bundled: Path | None) -> None:
        from health_training.ml.lm.models import BaseModelUnavailable, resolve_base_model

        if self.model is not None:
            if not same_base_model(base_model, self.base_model or "", self.settings.models_dir):
                raise ValueError(
                    f"its base {base_model} differs from the loaded base {self.base_model}; "
                    "restart the server to serve another base"
                )
            return
        import torch

        from health_training.ml.lm.models import load_model_and_tokenizer

        spec = resolve_base_model(str(bundled or base_model), self.settings.models_dir)
        if spec.local and spec.prepare and not weights_present(Path(spec.source)):
            # Said without the path: /health and the 503s repeat this message to anyone.
            raise BaseModelUnavailable(
                f"no base model: run `health-training prepare-model {spec.name}`; the server "
                "picks it up when it appears, without a restart"
            )
        from health_training.ml.training.run_record import inference_dtype

        weights = inference_dtype() if self.settings.weights == "auto" else self.settings.weights
        model, tokenizer = load_model_and_tokenizer(
            spec, dtype=weights, gradient_checkpointing=False
        )
        device = self.settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model, self.tokenizer = model.to(device).eval(), tokenizer
        self.number_tokens = NumberTokens(tokenizer)
        self.base_model = base_model
        log.info("base %s loaded on %s in %s", spec.name, device, weights)

    def attach(self, key: str, adapter_dir: Path) -> None:
        self.work.command(lambda: self._attach(key, adapter_dir))

    def detach(self, key: str) -> None:
        self.work.command(lambda: self.model.delete_adapter(key))

    def _attach(self, key: str, adapter_dir: Path) -> None:
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(adapter_dir), adapter_name=key)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(adapter_dir), adapter_name=key)
        self.model.eval()

    # --- requests -------------------------------------------------------------------------

    def encode(self, prompt: Prompt) -> list[int]:
        from health_training.ml.lm.prompts import prompt_format

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
        self,
        key: str,
        prompt: Prompt,
        decoding: DecodingParams,
        request_id: str = "-",
        span: Any = None,
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
        required: tuple = ()
        if self.settings.withhold_eos and prompt.kind == "chat":
            required = await asyncio.to_thread(required_values, last_line(prompt.question()))
        job = Job(key, ids, decoding, asyncio.get_running_loop(), asyncio.Queue(),
                   request_id=request_id, allowed=allowed, required=required,
                   span=span)  # fmt: skip
        self.work.submit(job)  # a 429 when the queue is full
        deadline = time.monotonic() + self.settings.request_timeout_s
        try:
            while True:
                try:
                    item = await asyncio.wait_for(job.events.get(), deadline - time.monotonic())
                except TimeoutError:
                    raise OpenAIError(
                        504,
                        f"no answer within {self.settings.request_timeout_s:g} s (request "
                        f"{request_id}); retry later",
                        "server_error",
                        code="timeout",
                    ) from None
                if isinstance(item, Exception):
                    raise item
                yield item
                if isinstance(item, Finished):
                    return
        finally:
            job.cancelled.set()  # a client that went away (or timed out) frees its row

    # --- the worker -----------------------------------------------------------------------

    def _row(self, job: Job) -> Row:
        """A job's decoding row: its prompt plus any tokens it already has (a retry continues
        where the failed batch left it)."""
        import torch

        d = job.decoding
        generator = None
        if d.temperature > 0:
            generator = torch.Generator(device=self.device())
            seed = d.seed if d.seed is not None else secrets.randbits(63)
            generator.manual_seed((seed + len(job.tokens)) & (2**63 - 1))  # schemas bound it too
        numbers = None
        if job.allowed is not None:
            numbers = NumberConstraint(self.number_tokens, job.allowed)
            for token in job.tokens:  # a retry: the constraint resumes mid-number
                numbers.advance(token)
        if job.scanner is None:
            job.scanner = StopScanner(d.stops)
        if job.required and job.gate is None:
            job.gate = EosGate(job.required, lambda: self._text(job.tokens))
        left = d.max_new_tokens - len(job.tokens)
        ids = [*job.prompt_ids, *job.tokens]
        return Row(ids, left, d.temperature, d.top_p, generator, numbers, job.gate)

    def _text(self, tokens: list[int]) -> str:
        with self._tok_lock:
            return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def _run(self, batch: list[Job]) -> None:
        tok = self.tokenizer
        ready, rows = [], []
        for job in batch:
            try:
                rows.append(self._row(job))
                ready.append(job)
            except Exception as exc:  # this request alone fails
                log.exception("request %s: its decoding row cannot be built", job.request_id)
                _fail(job, exc)
        batch = ready
        if not batch:
            return

        def finish(i: int, reason: str) -> None:
            job = batch[i]
            with self._tok_lock:
                text = tok.decode(job.tokens, skip_special_tokens=True)
            tail = job.scanner.flush(text) if reason != "stop-seq" else ""
            if tail:
                job.send(Delta(tail))
            reason = "stop" if reason == "stop-seq" else reason
            withheld = job.gate.withheld if job.gate is not None else 0
            job.send(Finished(reason, len(job.prompt_ids), len(job.tokens), withheld))

        def emit(i: int, token: int | None) -> bool:
            job = batch[i]
            self.work.touch()
            if token is None:
                if job.gate is not None and job.gate.pending():  # EOS the mask left as the only one
                    del job.tokens[job.gate.first_at :]
                finish(i, "stop")
                return False
            job.tokens.append(token)
            gate = job.gate
            if gate is not None and gate.pending():
                # The tokens after a withheld EOS reach the client only once they state the
                # missing value; spent without it, the answer ends where the model ended it.
                if gate.gave_up() or len(job.tokens) >= job.decoding.max_new_tokens:
                    del job.tokens[gate.first_at :]
                    finish(i, "stop")
                    return False
                return not job.cancelled.is_set()
            with self._tok_lock:
                text = tok.decode(job.tokens, skip_special_tokens=True)
            delta = job.scanner.feed(text)
            if delta:
                job.send(Delta(delta))
            if job.scanner.stopped:
                finish(i, "stop-seq")
                return False
            if job.cancelled.is_set():
                return False
            if len(job.tokens) >= job.decoding.max_new_tokens:
                finish(i, "length")
                return False
            return True

        def fail(i: int, exc: Exception) -> None:
            log.error("request %s: sampling failed: %s", batch[i].request_id, exc)
            _fail(batch[i], exc)

        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        started = time.monotonic()
        now = time.time_ns()
        for job in batch:  # queue wait: from submit to this batch
            record_span(self.tracer, "queue_wait", job.span, start=job.queued_at, end=now,
                        **{"request.id": job.request_id})  # fmt: skip
        try:
            parents = [job.span for job in batch]
            with self._adapter(batch[0].key), batch_spans(self.tracer, parents):
                generated = decode_rows(
                    self.model,
                    rows,
                    eos_ids=answer_end_ids(self.model, tok),
                    pad_id=pad,
                    emit=emit,
                    fail=fail,
                )
        except Exception as exc:  # the forward pass failed: find which row, not the batch
            unfinished = [j for j in batch if not j.done and not j.cancelled.is_set()]
            if len(batch) > 1 and unfinished:
                log.warning(
                    "a batch of %d failed (%s); retrying %d rows alone",
                    len(batch), type(exc).__name__, len(unfinished),
                )  # fmt: skip
                self.work.requeue_alone(unfinished)
            else:
                log.exception("request %s: generation failed", batch[0].request_id)
                for job in unfinished:
                    _fail(job, exc)
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

    def check_capacity(self) -> None:
        self.work.check_room()

    def worker_state(self) -> str:
        return self.work.state()  # the supervisor thread restarts a dead worker

    def close(self) -> None:
        self.work.close(self.settings.shutdown_drain_s)


def answer_end_ids(model: Any, tokenizer: Any) -> list[int]:
    """The tokens that end an answer: EOS and every other special token. An answer's text holds
    none (they are decoded away), and a model that writes one has begun another turn: while the
    EOS gate held EOS back, run 31 wrote "<|im_start|>user" and a made-up user turn into 7 of
    the 9 held-out answers it held (line_coverage.py), so the gate withholds these too."""
    from health_training.ml.evaluation.answer_and_compare import eos_token_ids

    return sorted(set(eos_token_ids(model, tokenizer)) | set(tokenizer.all_special_ids))


def _fail(job: Job, exc: BaseException) -> None:
    fail_unfinished([job], exc)
