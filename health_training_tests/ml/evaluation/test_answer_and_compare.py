"""The evaluation machinery: paired bootstrap intervals (deterministic, correct direction),
stratified samples, the reference-length cap, and decoding that scores the reference and answers
in one pass exactly as `generate` would (on the tiny model), whatever the batch size, as rows end
at different steps and new prompts take their slots; the repeat and stop-token rules; the template
agrees between training, evaluation and the pyfunc."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from health_training.ml.evaluation.answer_and_compare import (
    REPEAT_STOP,
    decoding_settings,
    encode_for_eval,
    stratified_sample,
)
from health_training.ml.evaluation.bootstrap import compare_groups, paired_interval, ratio
from health_training.ml.evaluation.text_metrics import bleu_statistic, example_stats


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    from health_training.ml.lm.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("m") / "tiny")


@pytest.fixture(scope="module")
def tiny(tiny_folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_folder).eval()
    return model, AutoTokenizer.from_pretrained(tiny_folder)


def plain_greedy(model, prompt, max_new_tokens, eos=()) -> tuple[list[int], bool]:
    """The reference decoder: one row, no cache, the whole sequence through the model per token."""
    import torch

    ids, answer = list(prompt), []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            token = int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
            if token in eos:
                return answer, True
            answer.append(token)
            ids.append(token)
    return answer, False


PROMPTS = (
    "Steps?",
    "How stable was my glucose on 2025-01-03?",
    "Summarize my sleep.",
    "Resting heart rate was 58 bpm, five beats lower than last month. Why?",
    "Blood pressure averaged 128/82 mmHg across 14 readings.",
    "HRV",
    "You walked 9,412 steps and climbed 12 floors on Tuesday; oxygen stayed at 95%.",
)


def test_bootstrap_is_deterministic_and_brackets_the_difference():
    rng = np.random.default_rng(0)
    a = [(float(x), 1.0) for x in rng.normal(0.5, 0.1, 200)]
    b = [(x + 0.1 + float(e), 1.0) for (x, _), e in zip(a, rng.normal(0, 0.02, 200), strict=True)]
    first = paired_interval(a, b)
    assert first == paired_interval(a, b)  # same seed, same interval
    assert first.low < 0.1 < first.high and first.low > 0.09
    assert first.diff == pytest.approx(first.b - first.a)
    # Pairing matters: the paired interval is far narrower than the spread of either model.
    assert first.high - first.low < 0.02
    assert paired_interval(a, b, seed=7) != first  # another seed, another draw


def test_identical_models_give_a_zero_interval_and_ratios_pool():
    stats = [(1.0, 4.0), (0.0, 1.0), (3.0, 5.0)]
    iv = paired_interval(stats, stats, ratio)
    assert iv.a == pytest.approx(0.4) and (iv.diff, iv.low, iv.high) == (0.0, 0.0, 0.0)


def test_compare_groups_shares_one_draw_and_bleu_is_corpus_bleu():
    import sacrebleu

    preds = ["the cat sat on the mat", "a dog ran", "glucose averaged 142 mg/dL"]
    refs = ["the cat sat on a mat", "a dog ran home", "glucose averaged 142 mg/dL"]
    rows = [{"prediction": p, "reference": r} for p, r in zip(preds, refs, strict=True)]
    stats = [s["bleu"] for s in example_stats(rows)]
    expected = sacrebleu.corpus_bleu(preds, [refs]).score
    assert bleu_statistic(np.sum(stats, 0)) == pytest.approx(expected)
    found = compare_groups({"bleu": stats}, {"bleu": stats}, {"bleu": bleu_statistic})
    assert found["bleu"].a == pytest.approx(expected) and found["bleu"].diff == 0.0


def test_stratified_sample_is_balanced_and_stable():
    rows = [{"content_key": f"{i:04d}", "category": c} for c in "abc" for i in range(50)]
    rows += [{"content_key": f"z{i}", "category": "d"} for i in range(3)]
    sample = stratified_sample(rows, 40)
    counts = {c: sum(r["category"] == c for r in sample) for c in "abcd"}
    assert counts == {"a": 13, "b": 12, "c": 12, "d": 3}
    assert stratified_sample(list(reversed(rows)), 40) == sample


def test_cap_comes_from_reference_lengths_and_settings_key_ignores_batch(tiny):
    _, tok = tiny
    rows = [
        {"instruction": "Summarize.", "input": "", "output": "word " * n} for n in range(1, 101)
    ]
    settings = decoding_settings(tok, rows)
    _, refs = encode_for_eval(tok, rows)
    assert settings.max_new_tokens == sorted(map(len, refs))[98] + 16
    assert replace(settings, batch_size=3).key() == settings.key()
    assert replace(settings, max_new_tokens=9).key() != settings.key()
    # The repeat cut ends both models' answers alike; the report and the cache key carry it.
    assert settings.repeat_stop == REPEAT_STOP and f"repeat of {REPEAT_STOP}" in settings.stop
    assert replace(settings, repeat_stop=0).key() != settings.key()
    # bf16 weights change some greedy answers: answers cached in fp32 are not reused for them.
    assert settings.weights == "float32"
    assert replace(settings, weights="bfloat16").key() != settings.key()
    bf16 = replace(settings, weights="bfloat16")
    assert replace(bf16, batch_size=3).key() != bf16.key()  # bf16 answers move with the batch


def test_one_pass_decoding_matches_generate_and_loss(tiny):
    import torch

    from health_training.ml.lm.decoding import decode_all
    from health_training.ml.lm.prompts import encode_example

    model, tok = tiny
    texts = [("How stable was my glucose?", "Mean 142 mg/dL", "Glucose averaged 142 mg/dL.")]
    texts += [("Summarize my sleep.", "", "You slept 6 hours 40 minutes.")] * 2
    texts += [("Steps?", "7,830 steps", "You walked 7,830 steps.")]
    prompts, refs = encode_for_eval(
        tok, [{"instruction": a, "input": b, "output": c} for a, b, c in texts]
    )
    eos = [tok.convert_tokens_to_ids("<|im_end|>")]
    got = decode_all(
        model, prompts, refs, max_new_tokens=12, eos_ids=eos, pad_id=tok.pad_token_id, batch_size=3
    )
    for (a, b, c), prompt, ref, d in zip(texts, prompts, refs, got, strict=True):
        encoded = encode_example(tok, a, b, c)
        assert encoded.input_ids == prompt + ref  # the training template, token for token
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([prompt + ref])).logits[0, len(prompt) - 1 : -1]
            expected = model.generate(
                torch.tensor([prompt]), max_new_tokens=12, do_sample=False, eos_token_id=eos
            )[0, len(prompt) :].tolist()
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(ref), reduction="sum")
        assert d.loss_sum == pytest.approx(float(loss), rel=1e-4) and d.loss_tokens == len(ref)
        assert list(d.answer_ids) == [t for t in expected if t not in eos]
        assert d.ended_by_eos == (eos[0] in expected)


def test_training_labels_end_with_eos(tiny):
    from health_training.ml.lm.prompts import IGNORE_INDEX, encode_example

    _, tok = tiny
    enc = encode_example(tok, "Summarize.", "Mean 142 mg/dL", "Glucose averaged 142 mg/dL.")
    learned = [t for t in enc.labels if t != IGNORE_INDEX]
    assert learned[-1] == tok.eos_token_id and enc.input_ids[-1] == tok.eos_token_id


def test_pyfunc_prompt_is_the_training_prompt(tiny, tmp_path: Path):
    """The served model sees exactly the prompt the adapter was trained on."""
    from health_training.ml.lm.prompts import encode_example, render_prompt

    _, tok = tiny
    row = {"instruction": "Interpret this day.", "input": "Resting heart rate 58 bpm."}
    trained = encode_example(tok, row["instruction"], row["input"], "Resting rate was 58 bpm.")
    prompt = tok(render_prompt(tok, row["instruction"], row["input"]), add_special_tokens=False)
    assert trained.input_ids[: len(prompt["input_ids"])] == prompt["input_ids"]
    # The chat template's own rendering of the full conversation agrees too.
    full = tok.apply_chat_template(
        [
            {"role": "user", "content": f"{row['instruction']}\n\n{row['input']}"},
            {"role": "assistant", "content": "Resting rate was 58 bpm."},
        ],
        tokenize=False,
    )
    assert tok.decode(trained.input_ids) == full.rstrip("\n")


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_decoder_matches_a_plain_loop_as_rows_end_and_new_prompts_take_their_slots(
    tiny_folder, attention
):
    """Seven prompts of different lengths, EOS tokens that end rows at different steps: at
    batch 1, 3 (refilled slots) and 16 every answer is the cache-free single-row loop's."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from health_training.ml.lm.decoding import decode_all

    model = AutoModelForCausalLM.from_pretrained(tiny_folder, attn_implementation=attention)
    tok = AutoTokenizer.from_pretrained(tiny_folder)
    model.eval()
    # The tiny model's small initial weights repeat one token; larger ones vary the answers.
    draw = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in (p for p in model.parameters() if p.ndim == 2):
            weight.copy_(torch.randn(weight.shape, generator=draw) * 0.2)
    prompts = [tok(p, add_special_tokens=False)["input_ids"] for p in PROMPTS]
    free = [plain_greedy(model, p, 10)[0] for p in prompts]
    eos = {free[0][2], free[3][6]}  # tokens the rows write at different steps
    expected = [plain_greedy(model, p, 10, eos) for p in prompts]
    assert len({len(a) for a, _ in expected}) >= 3  # rows end at different steps...
    assert {ended for _, ended in expected} == {True, False}  # ...by EOS and at the cap
    for batch_size in (1, 3, 16):
        got = decode_all(model, prompts, None, max_new_tokens=10, eos_ids=sorted(eos),
                         pad_id=tok.pad_token_id, batch_size=batch_size)  # fmt: skip
        assert [(list(d.answer_ids), d.ended_by_eos) for d in got] == expected, batch_size
        assert not any(d.stopped for d in got)


def test_an_answer_that_repeats_itself_ends_where_the_repeat_begins(tiny):
    """A random model loops under greedy decoding: with repeat_stop=4 each answer is the plain
    answer cut before its first 4-token span that repeats an earlier one; stop tokens end a
    row without being kept or counted as EOS."""
    from health_training.ml.lm.decoding import decode_all

    model, tok = tiny
    prompts = [tok(p, add_special_tokens=False)["input_ids"] for p in PROMPTS]
    free = [plain_greedy(model, p, 40)[0] for p in prompts]

    def cut(answer: list[int]) -> tuple[list[int], bool]:
        seen = set()
        for end in range(4, len(answer) + 1):
            span = tuple(answer[end - 4 : end])
            if span in seen:
                return answer[: end - 4], True
            seen.add(span)
        return answer, False

    expected = [cut(a) for a in free]
    assert sum(looped for _, looped in expected) >= 2
    got = decode_all(model, prompts, None, max_new_tokens=40, eos_ids=[], pad_id=0,
                     batch_size=3, repeat_stop=4)  # fmt: skip
    assert [(list(d.answer_ids), d.stopped) for d in got] == expected
    assert not any(d.ended_by_eos for d in got)

    stop = free[1][5]
    got = decode_all(model, prompts[1:2], None, max_new_tokens=40, eos_ids=[], pad_id=0,
                     stop_ids=[stop])  # fmt: skip
    first = free[1].index(stop)
    assert list(got[0].answer_ids) == free[1][:first] and got[0].stopped
    assert not got[0].ended_by_eos
