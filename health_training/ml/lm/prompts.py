"""Prompt formatting shared by training, evaluation and serving.

The prompt uses the tokenizer's chat template when it has one; otherwise the OLMo spec's plain
format `<|user|>\\n{prompt}\\n<|assistant|>\\n{response}`. Training computes the loss on the
response tokens only, so `encode_example` returns labels of -100 over the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IGNORE_INDEX = -100
PLAIN_FORMAT = "plain-olmo-v1"
CHAT_FORMAT = "chat-template-v1"


def user_message(instruction: str, input_: str) -> str:
    """The user turn: the instruction, then the input (the measured facts) when there is one."""
    return f"{instruction}\n\n{input_}" if input_.strip() else instruction


def prompt_format(tokenizer: Any) -> str:
    """Which format this tokenizer gets; part of a run's identity (see train.run_identity)."""
    return CHAT_FORMAT if getattr(tokenizer, "chat_template", None) else PLAIN_FORMAT


def render_prompt(tokenizer: Any, instruction: str, input_: str) -> str:
    """The text a model sees before it answers (generation prompt included)."""
    user = user_message(instruction, input_)
    if prompt_format(tokenizer) == CHAT_FORMAT:
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
        )
    return f"<|user|>\n{user}\n<|assistant|>\n"


@dataclass(frozen=True, slots=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX over the prompt: loss on the response only

    @property
    def response_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


def encode_example(tokenizer: Any, instruction: str, input_: str, output: str) -> Encoded:
    """Token ids of prompt + response + EOS, and labels that mask the prompt."""
    prompt = render_prompt(tokenizer, instruction, input_)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(output, add_special_tokens=False)["input_ids"]
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    ids = list(prompt_ids) + list(response_ids) + eos
    labels = [IGNORE_INDEX] * len(prompt_ids) + list(response_ids) + eos
    return Encoded(ids, labels)
