"""`health-training clinic`: the simulated clinic asks a running server about train-split rows
and rates the answers through `POST /v1/feedback`, the path people's ratings take.

    health-training clinic --server http://127.0.0.1:8000 --prompts 300 --profile cpu_demo

The questions are the newest training dataset's train rows that the `--profile`'s capped sample
does not train on (`ml/training/sample.py`): half of them question examples of every kind (an
equal share per question kind: look-ups, judgements, computations, the user's own numbers,
unanswerable questions, day summaries), half narratives (an equal share per health domain),
sent with the `openai` client, `--concurrency` at a time. `ml/preference/simulated_clinic.py` rates each
answer from its facts; the feedback sensor counts the ratings on its next tick. Only counts are
printed: no question or answer text.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from health_training.constants import DEFAULT_MODEL_NAME


def ask(client: Any, model: str, row: dict[str, Any]) -> Any:
    """One question to the server; the served answer with its response id, or (None, None)
    when the server refused an answer it could not ground (422): there is nothing to rate."""
    import openai

    from health_training.ml.lm.prompts import user_message
    from health_training.ml.preference.feedback_client import ServedAnswer

    message = user_message(str(row["instruction"]), str(row.get("input") or ""))
    try:
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": message}]
        )
    except openai.UnprocessableEntityError:
        return None, None
    return ServedAnswer(reply.id, reply.choices[0].message.content or "", row), reply.model_extra


def clinic_rows(version: str | None, prompts: int, profile: str) -> tuple[str, list[dict]]:
    """(dataset version, its train rows the clinic asks about)."""
    from health_training.data.dataset_repository import DatasetRepository
    from health_training.resources import storage_from_env

    repo = DatasetRepository(storage_from_env())
    version = version or (repo.versions() or [None])[-1]
    if version is None:
        raise SystemExit("no training dataset yet: run `make demo` or pass --dataset VERSION")
    rows = repo.split_rows(str(version), "train")
    return str(version), untrained_rows(rows, prompts, profile)


def untrained_rows(rows: list[dict[str, Any]], prompts: int, profile: str) -> list[dict]:
    """`prompts` rows the profile's sample leaves out: half questions (by kind), half
    narratives (by domain); all narratives when the dataset has no questions."""
    from health_training.ml.evaluation.answer_and_compare import stratified_sample
    from health_training.ml.training.config import load_train_config
    from health_training.ml.training.sample import kind_of, training_sample

    config = load_train_config(profile)
    trained = training_sample(
        rows,
        max_narratives=config.max_train_examples,
        max_questions=config.max_question_examples,
        stratify=config.stratify_sample,
        question_kind_limits=config.question_kind_limits,
    ).rows
    taken = {r["content_key"] for r in trained}
    rest = [r for r in rows if r["content_key"] not in taken and kind_of(r) != "correction"]
    questions = [r for r in rest if kind_of(r) == "question"]
    picked = list(stratified_sample(questions, prompts // 2, by="question_kind"))
    narratives = [r for r in rest if kind_of(r) == "narrative"]
    picked += stratified_sample(narratives, prompts - len(picked))
    return [dict(r) for r in picked]


def run_clinic(
    server: str,
    rows: list[dict[str, Any]],
    *,
    model: str = DEFAULT_MODEL_NAME,
    api_key: str | None = None,
    concurrency: int = 8,
    corrections: bool = False,
) -> dict[str, Any]:
    """Ask `server` about every row, rate each answer and post the rating; counts only."""
    import openai

    from health_training.ml.preference.feedback_client import FeedbackClient, rate_served
    from health_training.ml.preference.simulated_clinic import SimulatedClinic

    base = server.rstrip("/")
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=api_key or "none", timeout=600)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        replies = list(pool.map(lambda row: ask(client, model, row), rows))
    asked_s = time.monotonic() - started
    with FeedbackClient(base, api_key=api_key) as feedback:
        served = (answer for answer, _ in replies if answer is not None)
        ratings = rate_served(feedback, SimulatedClinic(corrects=corrections), served)
    versions = Counter(
        str((extra or {}).get("health_training", {}).get("model_version"))
        for answer, extra in replies
        if answer is not None
    )
    return {
        "asked": len(rows),
        "refused_ungrounded": sum(answer is None for answer, _ in replies),
        "model_versions": dict(versions),
        "ratings": dict(sorted(Counter(r.rating for r in ratings).items())),
        "corrections": sum(r.corrected_response is not None for r in ratings),
        "mean_rating": round(sum(r.rating for r in ratings) / max(1, len(ratings)), 3),
        "answer_seconds": round(asked_s, 1),
    }


def cmd_clinic(args: argparse.Namespace) -> int:
    version, rows = clinic_rows(args.dataset, args.prompts, args.profile)
    if not rows:
        raise SystemExit(f"dataset {version} has no train rows that {args.profile} leaves out")
    summary = run_clinic(
        args.server,
        rows,
        model=args.model,
        api_key=args.api_key,
        concurrency=args.concurrency,
        corrections=args.corrections,
    )
    print(json.dumps({"dataset_version": version, **summary}, indent=2))
    return 0


def add_parser(sub: Any) -> None:
    cl = sub.add_parser(
        "clinic", help="the simulated clinic: ask a server, rate its answers via /v1/feedback"
    )
    cl.add_argument("--server", default="http://127.0.0.1:8000", help="health-training serve URL")
    cl.add_argument("--api-key", help="a key of HEALTH_TRAINING_API_KEYS (none on loopback)")
    cl.add_argument("--model", default=DEFAULT_MODEL_NAME, help="the model id to ask")
    cl.add_argument("--dataset", help="training dataset version (default: the newest)")
    cl.add_argument("--prompts", type=int, default=300, help="train-split rows to ask about")
    cl.add_argument(
        "--profile",
        default="cpu_demo",
        help="ask only rows this training profile's capped sample does not train on",
    )
    cl.add_argument("--concurrency", type=int, default=8, help="questions in flight")
    cl.add_argument(
        "--corrections", action="store_true", help="write the reference under ratings <= 2"
    )
    cl.set_defaults(func=cmd_clinic)
