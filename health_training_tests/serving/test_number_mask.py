"""The number constraint on real tokenizers: random and adversarial logits (pushed hard toward
invented numbers) still write only allowed numbers, step after step, on the tiny test model's BPE
(multi-digit and space-digit tokens) and, when it is on disk, SmolLM2's (one digit per token)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from health_training.ml.evaluation.faithfulness import Quantity
from health_training.ml.evaluation.grounding import allowed_numbers, check_grounding
from health_training.serving.backends.number_mask import NumberConstraint, NumberTokens

REQUEST = "I ran 5 km in 27 min. My cgm avg was 163 mg/dl and 62% in range; bed 23:40, up 07:10."
INVENTED = ("412", " 2025", "830", "9", " 9", "6", " 7", "1", "02", "4", "8")


def _written(q: Quantity) -> str:
    if q.unit == "time":
        return f"{int(q.value) // 60:02d}:{int(q.value) % 60:02d}"
    return f"{q.value:.{q.decimals}f}"


def _unit_free(text: str) -> list[Quantity]:
    """The answer's numbers the rule rejects even without their units: the constraint writes
    only allowed values, and a value allowed with one unit may still be followed by another."""
    score = check_grounding(text, REQUEST)
    return [
        q for q in score.hallucinated_values if check_grounding(_written(q), REQUEST).hallucinated
    ]


def _decode(tokenizer, steps: int, seed: int, push: float) -> str:
    import torch

    table = NumberTokens(tokenizer)
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    favoured = [i for i, t in enumerate(table.texts) if t in INVENTED or t.strip().isdigit()]
    constraint = NumberConstraint(table, allowed_numbers(REQUEST))
    ids = []
    size = len(tokenizer) + 7  # an embedding padded past the tokenizer, as real models have
    for step in range(steps):
        logits = torch.randn(size, generator=generator) * 3
        for i in rng.sample(favoured, min(6, len(favoured))):
            logits[i] += push * rng.random()
        constraint.apply(logits, left=steps - step - 1)
        token = int(logits.argmax())
        if token < len(tokenizer):
            ids.append(token)
        constraint.advance(token)
    return tokenizer.decode(ids, skip_special_tokens=True)


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_base):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base)


def test_tiny_tokenizer_has_the_hard_cases(tiny_tokenizer):
    texts = NumberTokens(tiny_tokenizer).texts
    assert " 2025" in texts and "412" in texts and "." in texts  # multi-digit, leading space


@pytest.mark.parametrize("push", [0.0, 8.0, 30.0])
def test_only_allowed_numbers_on_the_tiny_tokenizer(tiny_tokenizer, push):
    texts = [_decode(tiny_tokenizer, 60, seed, push) for seed in range(40)]
    written = sum(check_grounding(t, REQUEST).numbers_in_answer for t in texts)
    assert written > (20 if push == 0 else 200)  # the constraint had numbers to judge
    bad = {t: _unit_free(t) for t in texts if _unit_free(t)}
    assert not bad


def test_a_constraint_never_bans_everything(tiny_tokenizer):
    import torch

    table = NumberTokens(tiny_tokenizer)
    constraint = NumberConstraint(table, allowed_numbers("nothing numeric"))
    for text in ("1", "0", "."):  # into a number, then at its separator
        logits = torch.zeros(len(tiny_tokenizer))
        constraint.apply(logits)
        assert torch.isfinite(logits).any()
        constraint.advance(table.texts.index(text))


def _smollm2() -> Path | None:
    from health_training.resources.environment import home

    folder = home() / "models" / "smollm2-135m"
    return folder if (folder / "tokenizer.json").is_file() else None


@pytest.mark.skipif(_smollm2() is None, reason="SmolLM2 is not under $HEALTH_TRAINING_HOME/models")
def test_only_allowed_numbers_on_smollm2():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_smollm2())
    texts = [_decode(tokenizer, 60, seed, 30.0) for seed in range(10)]
    assert not {t: _unit_free(t) for t in texts if _unit_free(t)}


def test_decode_rows_masks_only_the_constrained_rows(tiny_base, tiny_tokenizer):
    """A batch mixing constrained and free rows of different lengths: the free row decodes as
    it does alone, the constrained ones write only allowed numbers up to their length cut."""
    import torch
    from transformers import AutoModelForCausalLM

    from health_training.serving.backends.batch_decode import Row, decode_rows

    model = AutoModelForCausalLM.from_pretrained(tiny_base).eval()
    table, allowed = NumberTokens(tiny_tokenizer), allowed_numbers(REQUEST)
    prompt = tiny_tokenizer("Glucose 142 mg/dL on day 142", add_special_tokens=False)["input_ids"]

    def decode(rows: list[Row]) -> list[str]:
        tokens: list[list[int]] = [[] for _ in rows]

        def emit(row: int, token: int | None) -> bool:
            if token is not None:
                tokens[row].append(token)
            return token is not None

        decode_rows(model, rows, eos_ids=[tiny_tokenizer.eos_token_id], pad_id=0, emit=emit)
        return [tiny_tokenizer.decode(t, skip_special_tokens=True) for t in tokens]

    alone = decode([Row(prompt, 12)])[0]
    sampled = torch.Generator().manual_seed(3)
    rows = [
        Row(prompt, 12),
        Row(prompt, 9, constraint=NumberConstraint(table, allowed)),
        Row(
            prompt,
            12,
            temperature=1.0,
            generator=sampled,
            constraint=NumberConstraint(table, allowed),
        ),
    ]
    free, greedy, sample = decode(rows)
    assert free == alone
    assert check_grounding(alone, REQUEST).hallucinated  # the model does invent numbers here
    for text in (greedy, sample):
        assert not _unit_free(text), text
