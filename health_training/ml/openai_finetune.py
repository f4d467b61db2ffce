"""OpenAI fine-tuning as a trainer: datasheet → cookbook checks → upload → job → poll → MLflow.

The local LoRA trainer's alternative (chosen by config): the chat JSONL that `openai_chat_dataset`
exported is checked again with `openai_chat.analyze` (any format error refuses the job), priced
from the versioned `PRICE_TABLE`, uploaded, and trained by the fine-tuning API. The job is polled
with capped exponential backoff under a hard deadline; a deadline, a `should_stop()` that turns
true, or an interrupt (Ctrl-C, Dagster's run termination) cancels it, because nobody would be left
to record or register what it produces. Events and checkpoint metrics go to one MLflow run, the
billed cost is compared with the estimate, and the resulting model id is registered like a local
adapter: a weightless pyfunc (`OpenAIChatModel`) under the same name with the alias `staging`.

Nothing here reads the environment; the caller builds the clients:

    registry = Registry(tracking_uri, artifact_location)
    client = openai.OpenAI(base_url=base_url or None, api_key=api_key)
    result = fine_tune(client, train_bytes, validation_bytes, load_datasheet("datasheet.yaml"),
                       FineTuneRequest(model="gpt-4o-mini-2024-07-18", base_url=base_url),
                       registry=registry, count_tokens=count, tokenizer_name=name)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import mlflow
import pandas as pd
import yaml

from health_training.data import openai_chat
from health_training.ml.pyfunc import rows_of, signature_and_example
from health_training.ml.registry import DEFAULT_EXPERIMENT, Registry

logger = logging.getLogger(__name__)

PROVIDER = "openai"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
KNOWN_STATUSES = TERMINAL | {"validating_files", "queued", "running"}
DATASHEET_FIELDS = ("source", "license", "redaction", "intended_use")
Auto = Literal["auto"]


class FineTuneError(RuntimeError):
    """A fine-tuning job that could not start, or did not produce a model."""


class DatasheetError(ValueError):
    """The datasheet is missing, unreadable, or leaves a required field empty."""


class JobFailed(FineTuneError):
    pass


class JobCancelled(FineTuneError):
    pass


class JobDeadlineExceeded(FineTuneError, TimeoutError):
    pass


@dataclass(frozen=True)
class Datasheet:
    """Where the training data came from and what it may be used for; every job needs one."""

    source: str  # e.g. "ETL health journals 2025-01..03, dataset version 3f2a…"
    license: str  # terms the data may be used under
    redaction: str  # how PHI was removed (e.g. "HIPAA Safe Harbor scrub + second scan")
    intended_use: str  # what the model is for, and what it is not for
    extra: Mapping[str, str] = field(default_factory=dict)  # any further documented fields

    def __post_init__(self) -> None:
        empty = [name for name in DATASHEET_FIELDS if not str(getattr(self, name) or "").strip()]
        if empty:
            raise DatasheetError(f"datasheet field(s) {empty} are empty: describe each of them")

    def to_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DATASHEET_FIELDS} | dict(self.extra)

    def tags(self) -> dict[str, str]:
        # MLflow caps tag values (8,000 characters); the full text is logged as datasheet.json.
        return {f"datasheet.{k}": str(v)[:5000] for k, v in self.to_dict().items()}


def load_datasheet(path: str | Path) -> Datasheet:
    """A YAML or JSON mapping with (at least) source, license, redaction and intended_use."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, yaml.YAMLError) as exc:
        raise DatasheetError(f"{path}: cannot read the datasheet ({exc})") from exc
    if not isinstance(raw, dict):
        raise DatasheetError(f"{path}: a datasheet is a mapping with keys {list(DATASHEET_FIELDS)}")
    missing = [name for name in DATASHEET_FIELDS if name not in raw]
    empty = [name for name in DATASHEET_FIELDS if name in raw and not str(raw[name] or "").strip()]
    if missing or empty:
        raise DatasheetError(
            f"{path}: datasheet field(s) missing {missing}, empty {empty}; every job needs "
            f"{list(DATASHEET_FIELDS)} filled in (how PHI was removed goes under 'redaction')"
        )
    extra = {str(k): str(v) for k, v in raw.items() if k not in DATASHEET_FIELDS}
    return Datasheet(**{name: str(raw[name]).strip() for name in DATASHEET_FIELDS}, extra=extra)


@dataclass(frozen=True)
class Hyperparameters:
    """The supervised method's hyper-parameters; "auto" lets the API choose."""

    n_epochs: int | Auto = "auto"
    batch_size: int | Auto = "auto"
    learning_rate_multiplier: float | Auto = "auto"

    def method(self) -> dict[str, Any]:
        # The client marks the top-level `hyperparameters` argument deprecated in favour of this.
        return {"type": "supervised", "supervised": {"hyperparameters": asdict(self)}}


@dataclass(frozen=True)
class PollPolicy:
    """First wait, growth factor and cap between status polls, and the hard deadline (seconds)."""

    interval_s: float = 15.0
    max_interval_s: float = 120.0
    backoff: float = 2.0
    deadline_s: float = 8 * 3600.0

    def intervals(self) -> Iterator[float]:
        interval = self.interval_s
        while True:
            yield interval
            interval = min(self.max_interval_s, interval * self.backoff)


@dataclass(frozen=True)
class Preflight:
    """The exported files as the cookbook sees them, and the pre-run bill."""

    train: openai_chat.ChatDatasetReport
    validation: openai_chat.ChatDatasetReport | None
    n_epochs: int  # the configured value, or the API's default for this many examples
    estimated_training_tokens: int
    estimated_cost_usd: float
    system_prompt: str  # the first training example's, reused by the registered pyfunc


@dataclass(frozen=True)
class Cost:
    model: str
    price_table_version: str
    price_per_1m_training_tokens: float
    trained_tokens: int
    actual_usd: float
    estimated_usd: float
    difference_usd: float  # actual - estimated
    ratio: float | None  # actual / estimated; None when nothing was estimated


@dataclass(frozen=True)
class FineTuneRequest:
    model: str = "gpt-4o-mini-2024-07-18"
    hyperparameters: Hyperparameters = Hyperparameters()
    suffix: str | None = "health-query"
    seed: int | None = None
    poll: PollPolicy = PollPolicy()
    token_limit: int = openai_chat.DEFAULT_TOKEN_LIMIT
    experiment: str = DEFAULT_EXPERIMENT
    base_url: str = ""  # recorded in the pyfunc so predict calls the same endpoint
    tags: Mapping[str, str] = field(default_factory=dict)  # dagster run, dataset version, reason

    def __post_init__(self) -> None:
        if self.suffix and len(self.suffix) > 64:
            raise ValueError(f"suffix {self.suffix!r} is over the API's 64 characters")


@dataclass(frozen=True)
class FineTuneResult:
    job_id: str
    fine_tuned_model: str
    preflight: Preflight
    cost: Cost
    run_id: str
    model_uri: str
    version: str
    checkpoints: list[dict[str, Any]]
    n_events: int


def parse_jsonl(data: bytes, name: str) -> list[object]:
    """One JSON value per non-blank line; a line that is not JSON is an error naming it."""
    examples: list[object] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise FineTuneError(f"{name}:{number}: not JSON ({exc.msg}); re-export it") from None
    return examples


def preflight(
    train_jsonl: bytes,
    validation_jsonl: bytes | None,
    *,
    model: str,
    hyperparameters: Hyperparameters,
    count_tokens: Callable[[str], int],
    tokenizer_name: str,
    token_limit: int = openai_chat.DEFAULT_TOKEN_LIMIT,
) -> Preflight:
    """The cookbook's checks on each file; refuses any format error, prices the training file."""
    reports: dict[str, openai_chat.ChatDatasetReport] = {}
    system = ""
    for name, data in (("train.jsonl", train_jsonl), ("validation.jsonl", validation_jsonl)):
        if data is None:
            continue
        examples = parse_jsonl(data, name)
        # analyze refuses a model missing from PRICE_TABLE: no job runs without a price.
        report = openai_chat.analyze(
            examples,
            count_tokens,
            tokenizer_name=tokenizer_name,
            token_limit=token_limit,
            price_model=model,
        )
        if not report.ok:
            errors = {k: v for k, v in report.format_errors.items() if v}
            raise FineTuneError(f"{name}: format errors {errors}: fix the export, nothing uploaded")
        if report.n_examples == 0:
            raise FineTuneError(f"{name}: no examples to upload")
        reports[name] = report
        if name == "train.jsonl":  # well-formed by now: every example has a messages list
            messages = examples[0]["messages"]  # type: ignore[index]
            system = next((m["content"] for m in messages if m["role"] == "system"), "")
    train = reports["train.jsonl"]
    epochs = hyperparameters.n_epochs
    n_epochs = epochs if isinstance(epochs, int) else train.n_epochs
    tokens = n_epochs * train.billing_tokens  # only training tokens are billed
    price = openai_chat.PRICE_TABLE[model]["price_per_1m_training_tokens"]
    return Preflight(
        train=train,
        validation=reports.get("validation.jsonl"),
        n_epochs=n_epochs,
        estimated_training_tokens=tokens,
        estimated_cost_usd=round(tokens / 1_000_000 * price, 6),
        system_prompt=system,
    )


def actual_cost(trained_tokens: int, model: str, estimated_usd: float) -> Cost:
    price = openai_chat.PRICE_TABLE[model]["price_per_1m_training_tokens"]
    actual = round(trained_tokens / 1_000_000 * price, 6)
    return Cost(
        model=model,
        price_table_version=openai_chat.PRICE_TABLE_VERSION,
        price_per_1m_training_tokens=price,
        trained_tokens=trained_tokens,
        actual_usd=actual,
        estimated_usd=estimated_usd,
        difference_usd=round(actual - estimated_usd, 6),
        ratio=actual / estimated_usd if estimated_usd > 0 else None,
    )


def _cancel(client: Any, job_id: str, log: Callable[[str], None]) -> bool:
    """Best effort: a cancel that fails must not hide why we were cancelling."""
    try:
        client.fine_tuning.jobs.cancel(job_id)
    except Exception as exc:
        log(f"could not cancel OpenAI fine-tuning job {job_id}: {type(exc).__name__}: {exc}")
        return False
    log(f"cancelled OpenAI fine-tuning job {job_id}")
    return True


def _upload(client: Any, name: str, data: bytes) -> str:
    return client.files.create(file=(name, data, "application/jsonl"), purpose="fine-tune").id


def _transient_errors() -> tuple[type[BaseException], ...]:
    import openai

    # The client has already retried these; the job itself is fine, so keep watching it.
    return (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


def _api_error() -> type[BaseException]:
    import openai

    return openai.OpenAIError


def wait_for_job(
    client: Any,
    job_id: str,
    poll: PollPolicy,
    *,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] = logger.info,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Poll until succeeded, failed or cancelled and return the job; any other status, known or
    not, means "not yet". The deadline or `should_stop()` cancels the job and raises; so does any
    exception (KeyboardInterrupt, DagsterExecutionInterruptedError) that escapes the loop."""
    transient = _transient_errors()
    deadline = clock() + poll.deadline_s
    status, settled = "", False
    seen_events: set[str] = set()
    try:
        for interval in poll.intervals():
            if should_stop is not None and should_stop():
                _cancel(client, job_id, log)
                settled = True
                raise JobCancelled(
                    f"OpenAI fine-tuning job {job_id} cancelled: the run was stopped"
                )
            try:
                job = client.fine_tuning.jobs.retrieve(job_id)
            except transient as exc:
                log(f"job {job_id}: poll failed ({type(exc).__name__}: {exc}); still waiting")
            else:
                if str(job.status) != status:
                    status = str(job.status)
                    unknown = "" if status in KNOWN_STATUSES else " (unknown status, still waiting)"
                    log(f"job {job_id}: {status}{unknown}")
                _log_new_events(client, job_id, seen_events, log)
                if status in TERMINAL:
                    settled = True
                    return job
            remaining = deadline - clock()
            if remaining <= 0:
                _cancel(client, job_id, log)
                settled = True
                raise JobDeadlineExceeded(
                    f"OpenAI fine-tuning job {job_id} did not finish within {poll.deadline_s:g} s "
                    f"(last status: {status or 'unknown'}); it was cancelled. Raise the deadline "
                    "(OpenAIResource.deadline_s) if jobs of this size take longer."
                )
            sleep(min(interval, remaining))
    except BaseException:
        if not settled:
            _cancel(client, job_id, log)
        raise
    raise AssertionError("unreachable: intervals() never ends")


def _log_new_events(client: Any, job_id: str, seen: set[str], log: Callable[[str], None]) -> None:
    """Progress for the run log; events are informative, so failing to list them is not fatal."""
    try:
        page = client.fine_tuning.jobs.list_events(job_id, limit=50)
    except _api_error() as exc:
        log(f"job {job_id}: could not list events ({type(exc).__name__}: {exc})")
        return
    for event in reversed(page.data):  # newest first on the wire
        if event.id not in seen:
            seen.add(event.id)
            if event.type != "metrics":  # per-step metrics go to MLflow, not the run log
                log(f"job {job_id} [{event.level}] {event.message}")


def _raise_unless_succeeded(job: Any) -> None:
    if job.status == "cancelled":
        raise JobCancelled(f"OpenAI fine-tuning job {job.id} was cancelled (outside this run)")
    if job.status != "succeeded":
        error = job.error
        detail = f"{error.code}: {error.message}" if error else "no error given"
        param = f" (param: {error.param})" if error and error.param else ""
        raise JobFailed(f"OpenAI fine-tuning job {job.id} {job.status}: {detail}{param}")
    if not job.fine_tuned_model:
        raise JobFailed(f"OpenAI fine-tuning job {job.id} succeeded but names no fine_tuned_model")


def record_job(
    client: Any, registry: Registry, run_id: str, job_id: str
) -> tuple[int, list[dict[str, Any]]]:
    """Every event (an artifact; metric events as step metrics) and checkpoint metrics (step
    metrics named `checkpoint.<metric>`) to the MLflow run; returns (events, checkpoints)."""
    events = [e.model_dump(mode="json") for e in client.fine_tuning.jobs.list_events(job_id)]
    events.sort(key=lambda e: (e["created_at"], e["id"]))
    for event in events:
        data = event.get("data") or {}
        if event.get("type") == "metrics" and "step" in data:
            values = {k: v for k, v in data.items() if k != "step" and _is_number(v)}
            if values:
                registry.log_step_metrics(run_id, values, int(data["step"]))
    checkpoints = [
        c.model_dump(mode="json") for c in client.fine_tuning.jobs.checkpoints.list(job_id)
    ]
    checkpoints.sort(key=lambda c: c["step_number"])
    for ckpt in checkpoints:
        values = {
            f"checkpoint.{k}": v
            for k, v in (ckpt.get("metrics") or {}).items()
            if k != "step" and _is_number(v)
        }
        if values:
            registry.log_step_metrics(run_id, values, int(ckpt["step_number"]))
    mlflow_client = registry.client
    mlflow_client.log_text(
        run_id, "".join(json.dumps(e) + "\n" for e in events), "openai/events.jsonl"
    )
    mlflow_client.log_dict(run_id, checkpoints, "openai/checkpoints.json")
    return len(events), checkpoints


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
        self.default_max_new_tokens = int(config.get("max_new_tokens", 128))
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
    max_new_tokens: int = 128,
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


def fine_tune(
    client: Any,
    train_jsonl: bytes,
    validation_jsonl: bytes | None,
    datasheet: Datasheet | None,
    request: FineTuneRequest,
    *,
    registry: Registry,
    count_tokens: Callable[[str], int],
    tokenizer_name: str,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] = logger.info,
    sleep: Callable[[float], None] = time.sleep,
) -> FineTuneResult:
    """The whole job, in order; refuses to start without a datasheet or with a bad export."""
    if datasheet is None:
        raise DatasheetError(
            "no datasheet: a fine-tuning job needs one naming the data's source, license, "
            "redaction (how PHI was removed) and intended use"
        )
    check = preflight(
        train_jsonl,
        validation_jsonl,
        model=request.model,
        hyperparameters=request.hyperparameters,
        count_tokens=count_tokens,
        tokenizer_name=tokenizer_name,
        token_limit=request.token_limit,
    )
    log(
        f"preflight: {check.train.n_examples} train examples, {check.train.billing_tokens} tokens "
        f"per epoch ({tokenizer_name}), {check.n_epochs} epochs, estimated "
        f"${check.estimated_cost_usd:.4f} (prices of {openai_chat.PRICE_TABLE_VERSION})"
    )
    if check.train.n_too_long:
        log(
            f"{check.train.n_too_long} train examples exceed {request.token_limit} tokens: truncated"
        )
    tags = {"provider": PROVIDER, "openai.model": request.model, **datasheet.tags(), **request.tags}
    run_id = registry.start_training_run(
        experiment=request.experiment,
        params={
            "model": request.model,
            **{f"hp.{k}": v for k, v in asdict(request.hyperparameters).items()},
            "suffix": request.suffix,
            "seed": request.seed,
            "train_examples": check.train.n_examples,
            "validation_examples": check.validation.n_examples if check.validation else 0,
            "tokenizer": tokenizer_name,
            "token_limit": request.token_limit,
            "price_table_version": openai_chat.PRICE_TABLE_VERSION,
            "deadline_s": request.poll.deadline_s,
        },
        tags=tags,
        run_name=f"openai-{request.suffix or request.model}",
    )
    registry.log_step_metrics(
        run_id,
        {
            "estimated_training_tokens": check.estimated_training_tokens,
            "estimated_cost_usd": check.estimated_cost_usd,
        },
        0,
    )
    mlflow_client, status, started = registry.client, "FAILED", time.monotonic()
    mlflow_client.log_dict(run_id, datasheet.to_dict(), "datasheet.json")
    unwatched = None  # a created job that no poll loop is yet responsible for cancelling
    try:
        files = {"training_file": _upload(client, "train.jsonl", train_jsonl)}
        if validation_jsonl is not None:
            files["validation_file"] = _upload(client, "validation.jsonl", validation_jsonl)
        options = {"suffix": request.suffix} if request.suffix else {}
        if request.seed is not None:
            options["seed"] = request.seed
        job = client.fine_tuning.jobs.create(
            model=request.model, method=request.hyperparameters.method(), **files, **options
        )
        unwatched = job.id
        mlflow_client.set_tag(run_id, "openai.job_id", job.id)
        for key, file_id in files.items():
            mlflow_client.set_tag(run_id, f"openai.{key}", file_id)
        log(f"created OpenAI fine-tuning job {job.id} on {request.model}")
        unwatched = None  # from here wait_for_job cancels the job on its own way out
        job = wait_for_job(
            client, job.id, request.poll, should_stop=should_stop, log=log, sleep=sleep
        )
        try:
            n_events, checkpoints = record_job(client, registry, run_id, job.id)
        except _api_error() as exc:
            # A trained (and billed) model is registered even if its history cannot be read.
            log(f"job {job.id}: events/checkpoints not recorded ({type(exc).__name__}: {exc})")
            n_events, checkpoints = 0, []
        mlflow_client.set_tag(run_id, "openai.status", str(job.status))
        _raise_unless_succeeded(job)
        cost = actual_cost(job.trained_tokens or 0, request.model, check.estimated_cost_usd)
        final = {
            "trained_tokens": cost.trained_tokens,
            "cost_usd": cost.actual_usd,
            "cost_difference_usd": cost.difference_usd,
            "duration_s": time.monotonic() - started,
        }
        if cost.ratio is not None:
            final["cost_ratio"] = cost.ratio
        registry.log_step_metrics(
            run_id, final, checkpoints[-1]["step_number"] if checkpoints else 0
        )
        mlflow_client.set_tag(run_id, "openai.fine_tuned_model", job.fine_tuned_model)
        model_uri = log_openai_model(
            registry,
            run_id,
            job.fine_tuned_model,
            base_model=request.model,
            job_id=job.id,
            base_url=request.base_url,
            system_prompt=check.system_prompt,
        )
        status = "FINISHED"
    except BaseException as exc:
        if unwatched is not None:
            _cancel(client, unwatched, log)
        # An interrupt ends the run as KILLED (the job is cancelled by now).
        stopped = isinstance(exc, JobCancelled) or not isinstance(exc, Exception)
        status = "KILLED" if stopped else "FAILED"
        mlflow_client.set_tag(run_id, "error", f"{type(exc).__name__}: {exc}"[:5000])
        raise
    finally:
        registry.finish_run(run_id, status)
    version = registry.register(
        model_uri,
        tags={
            **request.tags,
            "provider": PROVIDER,
            "openai.job_id": job.id,
            "openai.model": request.model,
            "openai.fine_tuned_model": job.fine_tuned_model,
        },
    )
    return FineTuneResult(
        job_id=job.id,
        fine_tuned_model=job.fine_tuned_model,
        preflight=check,
        cost=cost,
        run_id=run_id,
        model_uri=model_uri,
        version=version,
        checkpoints=checkpoints,
        n_events=n_events,
    )
