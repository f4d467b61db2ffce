"""Load on the model server: 200 requests, 8 at a time, over loopback HTTP with the `openai`
client, against a sequential `generate` loop over the same model in the same run.

    nice .venv/bin/python bench/serve_load.py                 # SmolLM2 if prepared, else tiny
    nice .venv/bin/python bench/serve_load.py --model tiny --requests 100

The served model is a registered LoRA adapter (r=16 on q/k/v/o) on the base, loaded from a
throwaway MLflow registry, as `health-training serve` loads production. Three phases, same model:

1. peer: `PeftModel.generate` (greedy, KV cache) one prompt after another, in this process;
2. server, cache off, 8 concurrent: the same prompts: throughput against the peer (goal ≥ 2×);
3. server, cache on, 8 concurrent: `--requests` requests drawn from a pool in which about a
   quarter repeat (users asking the same question): p50/p95 latency, tokens/s, cache hit rate.

Every request is greedy with `max_tokens` = `--max-tokens`; tokens are the completion tokens
the server reports (the peer counts its own the same way: up to and without EOS).

`--overload` runs the bound instead (issue 17): a server with `--queue-bound` requests allowed to
wait (`max_queue`) and batches of `--concurrency`, cache off, asked by closed-loop clients:

    nice .venv/bin/python bench/serve_load.py --overload --model tiny --queue-bound 8

a. idle: one client; b. at the bound: `--queue-bound` clients (all admitted); c. 4x the bound:
admitted requests' p50/p95 and how fast the rest got their 429 (clients wait what `Retry-After`
says, as the openai client does, then ask again); d. the same 4x load on a server without a
bound (max_queue 100,000: what the review measured), where latency grows with the load.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

TEMPLATES = (
    "Summarize my day: glucose averaged {g} mg/dL, {s:,} steps, and I slept {h} h {m} min.",
    "How was my sleep? I slept {h} h {m} min with {d} min of deep sleep.",
    "My resting heart rate was {r} bpm and I walked {s:,} steps. How active was I?",
    "Is a mean glucose of {g} mg/dL with {t}% time in range good?",
)


def prompts(n_unique: int, n_total: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    unique = []
    for i in range(n_unique):
        template = TEMPLATES[i % len(TEMPLATES)]
        unique.append(
            template.format(
                g=rng.randint(90, 190),
                s=rng.randint(2000, 15000),
                h=rng.randint(5, 8),
                m=rng.randint(0, 59),
                d=rng.randint(30, 110),
                r=rng.randint(48, 80),
                t=rng.randint(40, 95),
            )  # fmt: skip
        )
    load = unique + [rng.choice(unique) for _ in range(n_total - n_unique)]
    rng.shuffle(load)
    return unique, load


def base_model(choice: str, tmp: Path) -> Path:
    from health_training.ml.tiny import build_tiny_model

    smol = Path(os.environ.get("HEALTH_TRAINING_HOME", "var")) / "models" / "smollm2-135m"
    if choice in ("auto", "smollm2") and (smol / "config.json").is_file():
        return smol.resolve()
    if choice == "smollm2":
        raise SystemExit(f"{smol} is not prepared: `health-training prepare-model smollm2-135m`")
    return build_tiny_model(tmp / "tiny")


def make_adapter(base: Path, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base)
    lora = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    get_peft_model(model, lora).save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def sequential_peer(base: Path, adapter: Path, texts: list[str], max_tokens: int) -> dict:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(adapter)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter).eval()
    eos = tok.eos_token_id
    tokens, started = 0, 0.0
    for i, text in enumerate([texts[0], *texts]):  # the first one warms up, untimed
        if i == 1:
            tokens, started = 0, time.perf_counter()
        rendered = tok.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        ids = tok(rendered, add_special_tokens=False, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=max_tokens, do_sample=False)
        new = out[0, ids["input_ids"].shape[1] :].tolist()
        tokens += len(new) - int(bool(new) and new[-1] == eos)
    seconds = time.perf_counter() - started
    return {"requests": len(texts), "tokens": tokens, "seconds": seconds}


def load(url: str, texts: list[str], concurrency: int, max_tokens: int) -> dict:
    import openai

    work = list(enumerate(texts))
    lock = threading.Lock()
    results: list[dict] = []
    errors: list[str] = []

    def user() -> None:
        client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=600)
        while True:
            with lock:
                if not work:
                    return
                _, text = work.pop(0)
            t0 = time.perf_counter()
            try:
                r = client.chat.completions.create(
                    model="health-query-olmo",
                    messages=[{"role": "user", "content": text}],
                    max_tokens=max_tokens,
                    temperature=0,
                )
            except openai.OpenAIError as exc:
                errors.append(type(exc).__name__)
                continue
            with lock:
                results.append(
                    {
                        "seconds": time.perf_counter() - t0,
                        "tokens": r.usage.completion_tokens,
                        "cached": r.model_extra["health_training"]["cached"],
                    }
                )

    started = time.perf_counter()
    threads = [threading.Thread(target=user) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies = sorted(r["seconds"] for r in results)
    return {
        "requests": len(texts),
        "ok": len(results),
        "errors": len(errors),
        "seconds": wall,
        "tokens": sum(r["tokens"] for r in results),
        "generated": sum(r["tokens"] for r in results if not r["cached"]),
        "hits": sum(r["cached"] for r in results),
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
    }


def closed_loop(url: str, texts: list[str], clients: int, max_tokens: int) -> dict:
    """`clients` threads send `texts` (each taken once); a 429 is timed and retried with the same
    text after its Retry-After, so every text is answered in the end."""
    import openai

    work = list(texts)
    lock = threading.Lock()
    admitted: list[float] = []
    refused: list[float] = []
    errors: list[str] = []

    def user() -> None:
        client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=600)
        text = None
        while True:
            with lock:
                if text is None:
                    if not work:
                        return
                    text = work.pop()
            t0 = time.perf_counter()
            try:
                client.chat.completions.create(
                    model="health-query-olmo",
                    messages=[{"role": "user", "content": text}],
                    max_tokens=max_tokens,
                    temperature=0,
                )
            except openai.RateLimitError as exc:
                refused.append(time.perf_counter() - t0)
                time.sleep(float(exc.response.headers.get("Retry-After", 1)))  # as clients do
                continue
            except openai.OpenAIError as exc:
                errors.append(type(exc).__name__)
            else:
                admitted.append(time.perf_counter() - t0)
            text = None

    started = time.perf_counter()
    threads = [threading.Thread(target=user) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "clients": clients,
        "admitted": len(admitted),
        "refused": len(refused),
        "errors": len(errors),
        "seconds": time.perf_counter() - started,
        "p50": _quantile(admitted, 0.5),
        "p95": _quantile(admitted, 0.95),
        "refused_p95": _quantile(refused, 0.95),
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def overload(app_for, texts: list[str], args: argparse.Namespace) -> None:
    from health_training.serving.background import BackgroundServer

    bound = args.queue_bound
    rows = []
    with BackgroundServer(app_for(bound)) as server:
        url = f"{server.url}/v1"
        closed_loop(url, texts[:4], 2, args.max_tokens)  # warm-up
        rows.append(("a. idle (1 client)", closed_loop(url, texts[: 2 * bound], 1,
                                                     args.max_tokens)))  # fmt: skip
        rows.append((f"b. at the bound ({bound} clients)",
                     closed_loop(url, texts[: 4 * bound], bound, args.max_tokens)))  # fmt: skip
        rows.append((f"c. 4x the bound ({4 * bound} clients)",
                     closed_loop(url, texts, 4 * bound, args.max_tokens)))  # fmt: skip
    with BackgroundServer(app_for(100_000)) as server:
        rows.append((f"d. 4x, no bound ({4 * bound} clients)",
                     closed_loop(f"{server.url}/v1", texts, 4 * bound, args.max_tokens)))  # fmt: skip
    print(f"\nqueue bound {bound}, batches of {args.concurrency}, {args.max_tokens} tokens each")
    print("| phase | admitted | 429s | errors | p50 s | p95 s | 429 p95 s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['admitted']} | {r['refused']} | {r['errors']} | {r['p50']:.2f} | "
              f"{r['p95']:.2f} | {r['refused_p95']:.3f} |")  # fmt: skip
    idle, at_bound, over, unbounded = (r for _, r in rows)
    print(f"4x vs at the bound, admitted p95: {over['p95'] / at_bound['p95']:.2f}x; vs idle: "
          f"{over['p95'] / idle['p95']:.2f}x; without a bound: "
          f"{unbounded['p95'] / at_bound['p95']:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("auto", "smollm2", "tiny"), default="auto")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--peer-requests", type=int, default=24, help="prompts in phases 1-2")
    parser.add_argument("--overload", action="store_true", help="measure the queue bound only")
    parser.add_argument("--queue-bound", type=int, default=8, help="max_queue for --overload")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from health_training.data.phi import Pseudonymizer
    from health_training.resources import LocalStorage, MlflowResource
    from health_training.serving.app import create_app
    from health_training.serving.background import BackgroundServer
    from health_training.serving.settings import ServingSettings
    from health_training.stores.feedback_store import FeedbackStore

    tmp = Path(tempfile.mkdtemp(prefix="serve-load-"))
    base = base_model(args.model, tmp)
    adapter = make_adapter(base, tmp / "adapter")
    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}", artifact_location=str(tmp / "artifacts")
    )
    registry = mlflow.registry()
    run_id = registry.start_training_run(params={}, tags={"reason": "manual"})
    uri = registry.log_adapter_model(
        run_id, adapter, base_model=str(base), base_revision=None, bundle_base=False
    )
    registry.register(uri)  # staging: what the server will load

    if args.overload:
        unique, _ = prompts(args.requests, args.requests, seed=11)

        def bounded(max_queue: int):
            s = ServingSettings(
                model_name="health-query-olmo", base_model=str(base), models_dir=tmp / "models",
                work_dir=tmp / f"serving-{max_queue}", max_new_tokens=args.max_tokens,
                max_batch=args.concurrency, cache_entries=0, max_queue=max_queue,
                request_timeout_s=3600,
            )  # fmt: skip
            return create_app(
                s, mlflow=mlflow, feedback_store=FeedbackStore(tmp / "feedback.db"),
                pseudonymize=Pseudonymizer(b"bench-key-" * 4), storage=LocalStorage(root=str(tmp)),
            )  # fmt: skip

        print(f"model {base.name}, cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
        overload(bounded, unique, args)
        print(f"load average after {os.getloadavg()[0]:.2f}")
        shutil.rmtree(tmp, ignore_errors=True)
        return

    n_peer = min(args.peer_requests, args.requests)
    unique, mixed = prompts(int(args.requests * 0.75), args.requests, seed=7)
    peer_texts = unique[:n_peer] if n_peer <= len(unique) else unique
    print(f"model {base.name}, {args.max_tokens} new tokens a request, cores {os.cpu_count()}")
    load_before = os.getloadavg()
    peer = sequential_peer(base, adapter, peer_texts, args.max_tokens)

    def settings(cache: int) -> ServingSettings:
        return ServingSettings(
            model_name="health-query-olmo", base_model=str(base), models_dir=tmp / "models",
            work_dir=tmp / f"serving-{cache}", max_new_tokens=args.max_tokens,
            max_batch=args.concurrency, cache_entries=cache,
        )  # fmt: skip

    def app(cache: int):
        return create_app(
            settings(cache), mlflow=mlflow, feedback_store=FeedbackStore(tmp / "feedback.db"),
            pseudonymize=Pseudonymizer(b"bench-key-" * 4), storage=LocalStorage(root=str(tmp)),
        )  # fmt: skip

    with BackgroundServer(app(0)) as server:
        load(f"{server.url}/v1", peer_texts[:4], args.concurrency, args.max_tokens)  # warm-up
        batched = load(f"{server.url}/v1", peer_texts, args.concurrency, args.max_tokens)
    with BackgroundServer(app(4096)) as server:
        full = load(f"{server.url}/v1", mixed, args.concurrency, args.max_tokens)
    load_after = os.getloadavg()

    peer_tps = peer["tokens"] / peer["seconds"]
    batched_tps = batched["tokens"] / batched["seconds"]
    print("\n| phase | requests | errors | tokens | seconds | tokens/s | requests/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in (
        ("1. sequential `generate` (peer)", peer),
        (f"2. server, {args.concurrency} concurrent, cache off", batched),
        (f"3. server, {args.concurrency} concurrent, cache on", full),
    ):
        print(
            f"| {name} | {r['requests']} | {r.get('errors', 0)} | {r['tokens']:,} | "
            f"{r['seconds']:.1f} | {r['tokens'] / r['seconds']:.1f} | "
            f"{r['requests'] / r['seconds']:.2f} |"
        )
    print(f"\nthroughput, server cache off vs peer: **{batched_tps / peer_tps:.2f}×** (goal ≥ 2×)")
    print(
        f"phase 3: p50 {full['p50']:.2f} s, p95 {full['p95']:.2f} s, cache hit rate "
        f"{full['hits'] / max(1, full['ok']):.1%} ({full['hits']}/{full['ok']}), generated "
        f"{full['generated'] / full['seconds']:.1f} tokens/s, served "
        f"{full['tokens'] / full['seconds']:.1f} tokens/s, errors {full['errors']}"
    )
    print(f"phase 2: p50 {batched['p50']:.2f} s, p95 {batched['p95']:.2f} s")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
