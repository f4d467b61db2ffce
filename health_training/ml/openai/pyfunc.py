"""The weightless MLflow pyfunc that serves a fine-tuned OpenAI model, and how it is logged.

`OpenAIChatModel` must subclass `mlflow.pyfunc.PythonModel` when it is defined, so this module
imports MLflow (and pandas) at the top; only `log_openai_model`, called once a job has
succeeded, and unpickling a registered model import it. Unpickling looks the class up by this
module's path, so the serving environment needs this package installed (as for
`ml.registry.adapter_pyfunc.AdapterModel`).

    model = mlflow.pyfunc.load_model("models:/health-query-olmo@staging",
                                     model_config={"api_key": key})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd  # for predict's type hints, which MLflow resolves when it logs the model

from health_training.constants import DEFAULT_MAX_NEW_TOKENS
from health_training.data import openai_chat
from health_training.ml.openai.recording import PROVIDER
from health_training.ml.registry.adapter_pyfunc import rows_of, signature_and_example

if TYPE_CHECKING:
    from health_training.ml.registry.tracking import Registry


class OpenAIChatModel(mlflow.pyfunc.PythonModel):
    """Holds no weights: names a fine-tuned OpenAI model and asks the chat API at predict time.

    model_config: provider, fine_tuned_model, base_url, api_key (logged empty, never stored: pass
    `model_config={"api_key": ...}` at load, or the client falls back to OPENAI_API_KEY where it
    is served), system_prompt (the training one), max_new_tokens, timeout_s, max_retries.
    """

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import openai

        config = context.model_config or {}
        self.fine_tuned_model = config["fine_tuned_model"]
        self.system_prompt = config.get("system_prompt") or None
        self.default_max_new_tokens = int(config.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS))
        self.client = openai.OpenAI(
            base_url=config.get("base_url") or None,
            api_key=config.get("api_key") or None,
            timeout=float(config.get("timeout_s", 60.0)),
            max_retries=int(config.get("max_retries", 2)),
        )

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> list[str]:
        max_new_tokens = int((params or {}).get("max_new_tokens") or self.default_max_new_tokens)
        outputs = []
        for row in rows_of(model_input):
            # The same system and user turns as the training file, minus the answer.
            chat = openai_chat.to_chat_example(
                row["instruction"], row["input"], "", system_prompt=self.system_prompt
            )
            messages = chat["messages"][:-1]
            if row["prompt"]:
                messages = [m for m in messages if m["role"] == "system"]
                messages.append({"role": "user", "content": row["prompt"]})
            response = self.client.chat.completions.create(
                model=self.fine_tuned_model,
                messages=messages,
                max_completion_tokens=max_new_tokens,
                temperature=0,
            )
            outputs.append((response.choices[0].message.content or "").strip())
        return outputs


def log_openai_model(
    registry: Registry,
    run_id: str,
    fine_tuned_model: str,
    *,
    base_model: str,
    job_id: str,
    base_url: str,
    system_prompt: str,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
) -> str:
    """Log the weightless pyfunc to the run; returns its `models:/<model_id>` URI."""
    from importlib.metadata import version

    described = {"provider": PROVIDER, "fine_tuned_model": fine_tuned_model}
    signature, _ = signature_and_example(max_new_tokens)
    with registry.resumed(run_id):
        # No input example: validating it would call the paid API at log time.
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=OpenAIChatModel(),
            model_config={
                **described,
                "base_url": base_url,
                "api_key": "",
                "system_prompt": system_prompt,
                "max_new_tokens": max_new_tokens,
                "timeout_s": 60.0,
                "max_retries": 2,
            },
            metadata={**described, "base_model": base_model, "openai_job_id": job_id},
            signature=signature,
            pip_requirements=[f"{p}=={version(p)}" for p in ("mlflow", "openai", "pandas")],
        )
    return info.model_uri
