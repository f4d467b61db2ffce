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

`--overload` measures admission instead (issue 17): one server per admission profile of
configs/serving.yaml (`--profiles`: its `max_batch`, `max_queue`, `batch_window_s`), cache off,
asked by closed-loop clients (in a process of their own) that on a 429 wait what
`retry-after-ms` / `Retry-After` says, as the openai client does, and ask again:

    OMP_NUM_THREADS=1 .venv/bin/python bench/serve_load.py --overload --model smollm2 \
        --requests 24 --idle-requests 4 --rounds 3

Each round runs every phase once, so a drift in the machine's load falls on all alike:
unloaded (one client, `--idle-requests` requests, one at a time, on the first profile's server),
then each profile under 4x the first profile's bound (4 x (max_batch + max_queue) clients; a
profile with a larger bound gets enough clients to fill it), `--requests` requests. Reported per
phase over all rounds: admitted requests' p50/p95 (and how many the number guard decoded twice),
how fast the rest got their 429, requests/s while every client had work, the mean batch, and
admitted p95 / unloaded p95 (goal <= 1.5), pooled and per round.
"""

from __future__ import annotations

import argparse
import math
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
    from health_training.ml.lm.tiny import build_tiny_model

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
    text after the wait it names, so every text is answered in the end."""
    import openai

    work = list(texts)
    lock = threading.Lock()
    admitted: list[float] = []
    done_at: list[float] = []  # when each admitted request ended
    refused: list[float] = []
    errors: list[str] = []
    twice: list[bool] = []
    emptied = [math.inf]  # when the last text was taken: until then every client was busy

    def user() -> None:
        client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=3600)
        text = None
        while True:
            with lock:
                if text is None:
                    if not work:
                        return
                    text = work.pop()
                    if not work:
                        emptied[0] = time.perf_counter()
            t0 = time.perf_counter()
            try:
                r = client.chat.completions.create(
                    model="health-query-olmo",
                    messages=[{"role": "user", "content": text}],
                    max_tokens=max_tokens,
                    temperature=0,
                )
            except openai.RateLimitError as exc:
                refused.append(time.perf_counter() - t0)
                time.sleep(retry_after(exc.response.headers))
                continue
            except openai.OpenAIError as exc:
                errors.append(type(exc).__name__)
            else:
                now = time.perf_counter()
                with lock:
                    admitted.append(now - t0)
                    done_at.append(now)
                    # Decoded twice (the number guard's regenerate): about twice the time.
                    twice.append(r.model_extra["health_training"]["grounding"] == "regenerated")
            text = None

    started = time.perf_counter()
    threads = [threading.Thread(target=user) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy_until = min(emptied[0], max(done_at, default=started))
    return {
        "admitted_s": admitted,
        "refused_s": refused,
        "errors": len(errors),
        "regenerated": sum(twice),
        "seconds": time.perf_counter() - started,
        # Requests answered while every client had work, and for how long that lasted.
        "busy_done": sum(1 for t in done_at if t <= busy_until),
        "busy_s": max(0.0, busy_until - started),
    }


def pooled(parts: list[dict]) -> dict:
    """One phase's rounds together: latencies pooled, counts and times summed."""
    admitted = [x for p in parts for x in p["admitted_s"]]
    refused = [x for p in parts for x in p["refused_s"]]
    busy_s = sum(p["busy_s"] for p in parts)
    return {
        "admitted": len(admitted),
        "refused": len(refused),
        "errors": sum(p["errors"] for p in parts),
        "regenerated": sum(p["regenerated"] for p in parts),
        "per_s": sum(p["busy_done"] for p in parts) / busy_s if busy_s else float("nan"),
        "overall_per_s": len(admitted) / sum(p["seconds"] for p in parts),
        "p50": _quantile(admitted, 0.5),
        "p95": _quantile(admitted, 0.95),
        "refused_p95": _quantile(refused, 0.95),
        "round_p95": [_quantile(p["admitted_s"], 0.95) for p in parts],
    }


def retry_after(headers) -> float:
    """What the openai client waits: retry-after-ms, else Retry-After (seconds)."""
    if headers.get("retry-after-ms"):
        return float(headers["retry-after-ms"]) / 1000
    return float(headers.get("Retry-After", 1))


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def batch_totals(app) -> tuple[float, float]:
    """Rows decoded and batches so far, from the server's own histogram."""
    samples = {s.name: s.value for s in app.state.services.metrics.batch_size.collect()[0].samples}
    return samples["health_serving_batch_size_sum"], samples["health_serving_batch_size_count"]


def overload(app_for, texts: list[str], args: argparse.Namespace) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from contextlib import ExitStack

    from health_training.serving.settings import ADMISSION_FIELDS, load_serving_config
    from health_training_tests.serving.background_server import BackgroundServer

    profiles = args.profiles.split(",")
    configs = {}
    for profile in profiles:
        everything = load_serving_config(admission=profile)
        configs[profile] = {k: everything[k] for k in (*ADMISSION_FIELDS, "retry_after_s")}
    first = configs[profiles[0]]
    four_x = 4 * (first["max_batch"] + first["max_queue"])  # 4x the first profile's bound
    # The same load for all; a profile with a larger bound gets enough clients to fill it.
    clients = {p: max(four_x, c["max_batch"] + c["max_queue"]) for p, c in configs.items()}
    parts: dict[str, list[dict]] = {"unloaded": [], **{p: [] for p in profiles}}
    batches = {p: [0.0, 0.0] for p in profiles}  # rows, batches of the loaded phases
    # The clients run in a process of their own, as real clients do: in the server's process
    # their threads would share its GIL and slow its event loop (and the 429s) down.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool, ExitStack() as stack:

        def ask(url: str, batch: list[str], n: int) -> dict:
            return pool.submit(closed_loop, url, batch, n, args.max_tokens).result()

        apps, urls = {}, {}
        for profile in profiles:
            apps[profile] = app_for(configs[profile])
            urls[profile] = stack.enter_context(BackgroundServer(apps[profile])).url + "/v1"
            ask(urls[profile], texts[:2], 1)  # warm-up
        # Rounds: every phase runs once a round, so a change in the machine's load (others'
        # jobs) falls on all of them alike.
        idle, loaded = args.idle_requests, args.requests
        for r in range(args.rounds):
            part = ask(urls[profiles[0]], texts[r * idle : (r + 1) * idle], 1)
            parts["unloaded"].append(part)
            line = [f"round {r + 1}: unloaded p95 {_quantile(part['admitted_s'], 0.95):.2f} s"]
            for profile in profiles:
                before = batch_totals(apps[profile])
                part = ask(urls[profile], texts[r * loaded : (r + 1) * loaded], clients[profile])
                after = batch_totals(apps[profile])
                batches[profile][0] += after[0] - before[0]
                batches[profile][1] += after[1] - before[1]
                parts[profile].append(part)
                line.append(f"{profile} p95 {_quantile(part['admitted_s'], 0.95):.2f} s")
            print(", ".join(line), f"(load {os.getloadavg()[0]:.1f})", flush=True)
    report(configs, clients, parts, batches, args)


def report(configs, clients, parts, batches, args) -> None:
    print(
        f"\n{args.max_tokens} tokens a request, {args.rounds} rounds; configs/serving.yaml: {configs}"
    )
    print("| phase | admitted (regenerated) | 429s | errors | p50 s | p95 s | 429 p95 s "
          "| requests/s (all busy) | requests/s (phase) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = {name: pooled(p) for name, p in parts.items()}
    for name, r in rows.items():
        title = "unloaded (1 client)" if name == "unloaded" else (
            f"{name}: {clients[name]} clients "
            f"({clients[name] / (configs[name]['max_batch'] + configs[name]['max_queue']):g}x "
            "its bound)")  # fmt: skip
        print(f"| {title} | {r['admitted']} ({r['regenerated']}) | {r['refused']} | "
              f"{r['errors']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['refused_p95']:.3f} | "
              f"{r['per_s']:.3f} | {r['overall_per_s']:.3f} |")  # fmt: skip
    unloaded = rows.pop("unloaded")
    for name, r in rows.items():
        per_round = ", ".join(
            f"{a / b:.2f}" for a, b in zip(r["round_p95"], unloaded["round_p95"], strict=True)
        )
        rows_, count = batches[name]
        print(
            f"{name}: admitted p95 / unloaded p95 = {r['p95'] / unloaded['p95']:.2f} (rounds: "
            f"{per_round}; goal <= 1.5 at 4x the bound); mean batch {rows_ / max(1, count):.2f}; "
            f"{r['per_s']:.3f} requests/s while every client had work, "
            f"{r['overall_per_s']:.3f} over the phases"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("auto", "smollm2", "tiny"), default="auto")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--peer-requests", type=int, default=24, help="prompts in phases 1-2")
    parser.add_argument("--overload", action="store_true", help="measure admission only")
    parser.add_argument(
        "--profiles",
        default="latency,throughput",
        help="admission profiles of configs/serving.yaml for --overload",
    )
    parser.add_argument(
        "--idle-requests", type=int, default=4, help="unloaded requests a round (--overload)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of phases (--overload)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from health_training.data.phi import Pseudonymizer
    from health_training.resources import LocalStorage, MlflowResource
    from health_training.serving.http.app import create_app
    from health_training.serving.settings import ServingSettings
    from health_training.stores.feedback_store import FeedbackStore
    from health_training_tests.serving.background_server import BackgroundServer

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
        n = args.rounds * max(args.requests, args.idle_requests)
        unique, _ = prompts(n, n, seed=11)

        def bounded(admission: dict):
            s = ServingSettings(
                model_name="health-query-olmo", base_model=str(base), models_dir=tmp / "models",
                work_dir=tmp / "serving", max_new_tokens=args.max_tokens, cache_entries=0,
                request_timeout_s=3600, **admission,
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
