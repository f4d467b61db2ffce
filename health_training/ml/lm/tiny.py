"""A tiny random Llama model with a real ChatML tokenizer, for tests and CI.

`build_tiny_model(out_dir)` writes a normal Hugging Face folder (config, safetensors, tokenizer,
chat template) in well under a second: a byte-level BPE trained in-process on a few
health-narrative sentences, and a 2-layer Llama with random weights. It exercises every code path
(LoRA, 4-bit, merge, generation) without downloading anything; its outputs are noise.
"""

from __future__ import annotations

import json
from pathlib import Path

from health_training.files import folder_atomic

TINY_VERSION = 1  # bump when the recipe changes, so old folders are rebuilt
MARKER = "TINY.json"
IM_START, IM_END, PAD = "<|im_start|>", "<|im_end|>", "<|pad|>"
VOCAB_SIZE = 512

# The same ChatML layout as SmolLM2 (without its default system prompt).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = (
    "Your glucose averaged 142 mg/dL with 71% of readings in the 70-180 mg/dL range.",
    "How stable was my glucose on 2025-01-03?",
    "Resting heart rate was 58 bpm, five beats lower than last month.",
    "You slept 6 hours 40 minutes with 1 hour 12 minutes of deep sleep.",
    "Heart rate variability rose to 48 ms, a sign of good recovery.",
    "You walked 9,412 steps and climbed 12 floors on Tuesday.",
    "Active energy burned was 612 kcal; basal energy was 1,580 kcal.",
    "Blood pressure averaged 128/82 mmHg across 14 readings.",
    "Oxygen saturation stayed between 95% and 98% overnight.",
    "Record type: SleepSessionRecord. Date: 2025-02-11. Stages: light, deep, REM, awake.",
    "Record type: HeartRateRecord. Date: 2025-03-02. Samples: 1,440 per day.",
    "Record type: StepsRecord. Date: 2025-01-19. Count: 7,830.",
    "Time in range improved after evening walks; post-meal spikes were smaller.",
    "Your sleep efficiency was 91%, above the 85% target.",
    "Consider discussing the elevated readings with your care team.",
    "Exercise sessions lasted 34 minutes on average at moderate intensity.",
    "Respiratory rate was steady at 14 breaths per minute during sleep.",
    "Weekly trends show fewer nocturnal awakenings and a later bedtime.",
    "What does my heart rate variability say about recovery this week?",
    "Summarize my physical activity for the month of March.",
)


def _corpus() -> list[str]:
    # Chat-formatted copies teach the merges around the role markers the model actually sees.
    chat = [
        f"{IM_START}user\n{a}{IM_END}\n{IM_START}assistant\n{b}{IM_END}\n"
        for a, b in zip(_CORPUS, _CORPUS[1:], strict=False)
    ]
    return list(_CORPUS) + chat


def _build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[PAD, IM_START, IM_END],  # ids 0, 1, 2
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # any text encodes: no unknowns
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=IM_START,
        eos_token=IM_END,
        pad_token=PAD,
        model_max_length=512,
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _is_complete(out_dir: Path, seed: int) -> bool:
    marker = out_dir / MARKER
    if not (marker.is_file() and (out_dir / "config.json").is_file()):
        return False
    if not (out_dir / "model.safetensors").is_file() or not (out_dir / "tokenizer.json").is_file():
        return False
    try:
        info = json.loads(marker.read_text())
    except ValueError:
        return False
    return info.get("seed") == seed and info.get("version") == TINY_VERSION


def build_tiny_model(out_dir: Path, *, seed: int = 0) -> Path:
    """Write the tiny model to `out_dir` (idempotent, atomic) and return `out_dir`.

    The same seed gives the same weights and tokenizer. An existing folder built with the same seed
    and recipe version is returned as is; anything else there is replaced.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    if _is_complete(out_dir, seed):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)

    tokenizer = _build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    # fork_rng: seeding must not disturb the caller's random stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id

    with folder_atomic(out_dir) as tmp:  # a crash never leaves a half-written model behind
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / MARKER).write_text(json.dumps({"seed": seed, "version": TINY_VERSION}) + "\n")
    return out_dir
