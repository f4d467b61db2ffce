"""The upstream backend: generation on an OpenAI-compatible inference server (vLLM with
`--enable-lora`, LoRAX), while this server keeps auth, guard, cache, feedback and metrics.

Each registered version is a LoRA module upstream named `<model>/<version>`; the bare base is
`upstream_base_model` (default `<model>@base`, vLLM's `--served-model-name`). When the pool
attaches a version, the adapter folder (downloaded here) is announced with vLLM's runtime LoRA
API (`POST /v1/load_lora_adapter`, needs `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`, and the
folder must be readable by the upstream: same machine or a shared volume). An upstream without
that endpoint (LoRAX loads adapters by id on first use; another server of ours follows the same
registry) answers 404, and the name is used as is. Detaching unloads it again.

The upstream samples on its own side, so it cannot take the number constraint (a logits mask of
ours): in regenerate mode an ungrounded answer gets one greedy retry, then a refusal, and
constrain mode is refused at start (grounding_modes.py, docs/grounding.md).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from health_training.serving.backends.generation import DecodingParams, Delta, Finished, Prompt
from health_training.serving.backends.served_model import BASE
from health_training.serving.http.api_errors import OpenAIError

log = logging.getLogger("health_training.serving")


class UpstreamBackend:
    name = "upstream"
    constrains_numbers = False  # vLLM takes no logits mask from us

    def __init__(self, settings: Any, metrics: Any) -> None:
        import openai

        self.settings, self.metrics = settings, metrics
        self.base_url = settings.upstream_url.rstrip("/")
        self.base_model: str | None = None
        self._names: dict[str, str] = {BASE: settings.upstream_base_model or settings.base_id}
        self.client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=settings.upstream_api_key,
            max_retries=0,
            timeout=settings.request_timeout_s,  # the per-request deadline, as in-process
        )
        self._http = httpx.Client(timeout=60.0)
        self._headers = {"Authorization": f"Bearer {settings.upstream_api_key}"}

    def device(self) -> str:
        return f"upstream {self.base_url}"

    def ensure_base(self, base_model: str, bundled: Path | None) -> None:
        # The upstream loaded its own base; we remember which one the versions must share.
        if self.base_model is None:
            self.base_model = base_model
        elif base_model != self.base_model:
            raise ValueError(f"its base {base_model} differs from the served {self.base_model}")

    def _lora_api(self, path: str, body: dict[str, str]) -> bool:
        """True when the upstream did it; False when it has no runtime LoRA API (404/405)."""
        reply = self._http.post(f"{self.base_url}/{path}", json=body, headers=self._headers)
        if reply.status_code in (404, 405):
            return False
        if reply.status_code >= 400 and "already" not in reply.text:
            raise RuntimeError(f"upstream {path}: HTTP {reply.status_code}: {reply.text[:300]}")
        return True

    def attach(self, key: str, adapter_dir: Path) -> None:
        name = f"{self.settings.model_name}/{key.removeprefix('v')}"
        loaded = self._lora_api(
            "load_lora_adapter", {"lora_name": name, "lora_path": str(adapter_dir)}
        )
        log.info("upstream %s: %s", "loaded" if loaded else "expected to serve", name)
        self._names[key] = name

    def detach(self, key: str) -> None:
        name = self._names.pop(key, None)
        if name is not None:
            self._lora_api("unload_lora_adapter", {"lora_name": name})

    async def generate(
        self,
        key: str,
        prompt: Prompt,
        decoding: DecodingParams,
        request_id: str = "-",
        span: Any = None,
    ) -> AsyncIterator[Delta | Finished]:
        import openai

        common: dict[str, Any] = {
            "model": self._names[key],
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if decoding.stops:
            common["stop"] = list(decoding.stops)
        if decoding.seed is not None:
            common["seed"] = decoding.seed
        try:
            if prompt.kind == "chat":
                messages = [{"role": r, "content": c} for r, c in prompt.messages]
                stream = await self.client.chat.completions.create(messages=messages, **common)
            else:
                stream = await self.client.completions.create(prompt=prompt.text, **common)
            reason, usage = "stop", None
            async for chunk in stream:
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    text = choice.delta.content if prompt.kind == "chat" else choice.text
                    if text:
                        yield Delta(text)
                    reason = choice.finish_reason or reason
        except openai.APIStatusError as exc:
            if 400 <= exc.status_code < 500:  # the caller's mistake, said by the upstream
                message = f"upstream: {exc.message}"
                raise OpenAIError(exc.status_code, message, code=exc.code) from None
            raise OpenAIError(502, f"upstream error {exc.status_code}", "server_error") from None
        except openai.APITimeoutError:
            raise OpenAIError(
                504, f"upstream gave no answer within {self.settings.request_timeout_s:g} s",
                "server_error", code="timeout",
            ) from None  # fmt: skip
        except openai.APIConnectionError:
            raise OpenAIError(
                502, f"upstream {self.base_url} is unreachable", "server_error"
            ) from None
        except openai.APIError as exc:  # an error event ended the stream (a server of ours
            # refusing an ungrounded answer sends one)
            status = 422 if exc.code == "ungrounded_answer" else 502
            raise OpenAIError(status, f"upstream: {exc.message}", code=exc.code) from None
        prompt_tokens = usage.prompt_tokens if usage else 0
        completion_tokens = usage.completion_tokens if usage else 0
        self.metrics.generated_tokens.inc(completion_tokens)
        yield Finished(reason, prompt_tokens, completion_tokens)

    def worker_state(self) -> str:
        return "ok"  # generation happens upstream; its failures are answered per request

    def close(self) -> None:
        self._http.close()
