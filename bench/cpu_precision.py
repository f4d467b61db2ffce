"""fp32 against bf16 on this CPU, in one process, alternating: matmul, a LoRA training step, a
batched decode step.

    .venv/bin/python bench/cpu_precision.py                  # SmolLM2-135M, 3 rounds (~3 min)
    .venv/bin/python bench/cpu_precision.py --base tiny-random --rounds 1     # smoke run

Why: ../shared/NOTES.md measured bf16 6-8x slower than fp32 on an earlier machine without
AVX512-BF16. A CPU with AMX-BF16 (`torch.cpu._is_amx_tile_supported()`) runs bf16 matmuls on its
tile units; whether that pays for a whole step (element-wise work, casts) is what this measures.

- matmul: 2048 x 2048 `torch.mm`, GFLOP/s;
- training step: forward + backward of one packed 1,024-token row through the base with the
  cpu_demo LoRA (r 16 on the seven linear layers, dropout 0), fp32 weights; bf16 = the step under
  `torch.autocast("cpu", torch.bfloat16)`, as `TrainingArguments(bf16=True)` runs it on a CPU;
- decode step: one token for each of `--batch` rows with a KV cache of `--context` tokens, the
  model's weights in fp32 or cast to bf16 (what an evaluation would load).
Each figure is the best of `--rounds` alternating rounds (load from other jobs hits both alike).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def best_time(fn, rounds: int) -> float:
    fn()  # warm-up: kernels chosen, caches allocated
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="smollm2-135m", help="catalog name, folder, or tiny-random")
    p.add_argument("--models-dir", type=Path, default=ROOT / "var" / "models")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--context", type=int, default=400)
    args = p.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, AMX tiles "
          f"{torch.cpu._is_amx_tile_supported()}, AVX512-BF16 "
          f"{torch.cpu._is_avx512_bf16_supported()}")  # fmt: skip
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for dtype in (torch.float32, torch.bfloat16, torch.float32, torch.bfloat16):
        x, y = a.to(dtype), b.to(dtype)
        seconds = best_time(lambda x=x, y=y: torch.mm(x, y), args.rounds * 3)
        print(f"matmul {str(dtype)[6:]:8s} {2 * 2048**3 / seconds / 1e9:7.1f} GFLOP/s")

    if args.base == "tiny-random":
        import tempfile

        from health_training.ml.lm.tiny import build_tiny_model

        path = build_tiny_model(Path(tempfile.mkdtemp(prefix="cpu-precision-")) / "tiny")
    else:
        path = args.models_dir / args.base if (args.models_dir / args.base).is_dir() else args.base
    base = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=list(DEMO_MODULES))
    model = get_peft_model(base, lora)
    ids = torch.randint(0, model.config.vocab_size, (1, 1024))
    labels = ids.clone()
    labels[:, :512] = -100  # a prompt half: the loss only on the response, as ours trains

    def train_step(bf16: bool) -> float:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=ids, labels=labels)
        out.loss.backward()
        model.zero_grad(set_to_none=True)
        return out.loss.detach().item()

    times = {}
    for _ in range(args.rounds):
        for bf16 in (False, True):
            seconds = best_time(lambda bf16=bf16: train_step(bf16), 1)
            key = "bf16" if bf16 else "fp32"
            times[key] = min(times.get(key, seconds), seconds)
    losses = {k: train_step(k == "bf16") for k in ("fp32", "bf16")}
    for key in ("fp32", "bf16"):
        print(f"train step {key}: {times[key]:.2f} s, {1024 / times[key]:.0f} tokens/s, "
              f"loss {losses[key]:.4f}")  # fmt: skip
    print(f"train step bf16 vs fp32: {times['fp32'] / times['bf16']:.2f}x")

    merged = model.merge_and_unload().eval()
    context = torch.randint(0, merged.config.vocab_size, (args.batch, args.context))
    step_ids = torch.randint(0, merged.config.vocab_size, (args.batch, 1))
    decode = {}
    for dtype in (torch.float32, torch.bfloat16):
        merged.to(dtype)
        with torch.inference_mode():
            cache = merged(input_ids=context, use_cache=True).past_key_values

            def one_token(cache=cache) -> None:
                merged(input_ids=step_ids, past_key_values=cache, use_cache=True)
                cache.crop(-1)  # drop the token just added: the same length every time

            decode[str(dtype)[6:]] = best_time(one_token, args.rounds * 5)
    for key, seconds in decode.items():
        print(f"decode step {key}, batch {args.batch}, context {args.context}: "
              f"{seconds * 1000:.1f} ms, {args.batch / seconds:.0f} tokens/s")  # fmt: skip
    print(f"decode step bf16 vs fp32: {decode['float32'] / decode['bfloat16']:.2f}x")


if __name__ == "__main__":
    main()
