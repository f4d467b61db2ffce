"""The server's settings: one frozen dataclass, filled by `server.py` (CLI flags, the environment
and configs/serving.yaml: `load_serving_config`) or by tests. Limits are here so the 4xx and 429
messages can name them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from health_training.serving.http.keys import ApiKey

BACKENDS = ("inprocess", "upstream")
GROUNDING_MODES = ("regenerate", "constrain", "refuse", "flag")  # serving/grounding_modes.py
METRICS_ACCESS = ("key", "open", "off")
WEIGHTS = ("auto", "float32", "bfloat16")
SERVING_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "serving.yaml"
ADMISSION_FIELDS = ("max_batch", "max_queue", "batch_window_s")  # what a profile may set


@dataclass(frozen=True, slots=True)
class ServingSettings:
    model_name: str  # the registered model, e.g. health-query-olmo
    base_model: str  # served when no alias exists: a catalog name, folder or hub id
    models_dir: Path  # where catalog models live ($HEALTH_TRAINING_HOME/models)
    work_dir: Path  # downloaded adapters ($HEALTH_TRAINING_HOME/serving)
    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = "inprocess"
    upstream_url: str = ""  # OpenAI-compatible base URL, e.g. http://127.0.0.1:8001/v1
    upstream_api_key: str = "none"  # vLLM without --api-key accepts anything
    upstream_base_model: str = ""  # the upstream's name for the bare base ("" = <model>@base)
    keys: tuple[ApiKey, ...] = ()  # HMACs of the API and admin keys (http/keys.py)
    key_secret: bytes = b""  # the HMAC secret the keys were hashed under
    # Generation limits (4xx above them)
    max_new_tokens: int = 256  # cap on max_tokens; also the default
    max_prompt_chars: int = 16_000
    max_request_bytes: int = 256 * 1024
    # Admission (configs/serving.yaml's profiles: latency-first or throughput-first). These
    # defaults are the throughput profile's, which tests and benches build on.
    max_batch: int = 8  # requests decoded together (in-process)
    batch_window_s: float = 0.005  # how long a new batch waits for companions
    max_queue: int = 8  # requests that may wait while a batch decodes; more get a 429 at once
    # Guard, cache, feedback
    grounding: str = "regenerate"  # what an answer with unsupported numbers gets (a mode above)
    # An answer may not end before it states a value of each part of the computed line, for a
    # few dozen tokens at most (line_coverage.py; in-process backend only).
    withhold_eos: bool = True
    cache_entries: int = 2048
    cache_ttl_s: float = 600.0
    responses_kept: int = 50_000  # response ids that can still be rated
    responses_ttl_s: float = 7 * 24 * 3600.0
    # Registry
    alias_poll_s: float = 10.0  # how often the alias watcher asks MLflow
    dagster_host: str = "127.0.0.1"
    dagster_port: int = 3000
    device: str = field(default="auto")  # auto: cuda when available, else cpu
    # The base's dtype: auto is what the evaluation and the gate decode in (bfloat16 on AMX
    # CPUs and Ampere GPUs, else float32), so the served answers are the evaluated ones.
    weights: str = "auto"
    # Bounds (configs/serving.yaml says why each value)
    retry_after_s: float = 0.5  # the least a 429's retry-after-ms says (Retry-After: 1 s)
    request_timeout_s: float = 120.0
    shutdown_drain_s: float = 20.0
    worker_stall_s: float = 120.0
    supervise_s: float = 1.0
    # Per-key quotas (token buckets; 0 turns one off)
    requests_per_minute: float = 120.0
    request_burst: int = 30
    tokens_per_minute: float = 20_000.0
    feedback_per_minute: float = 20.0
    feedback_burst: int = 10
    # Exposure
    metrics_access: str = "key"  # key (read_stats) | open | off
    docs: bool = False  # /docs and /openapi.json
    otlp_endpoint: str = ""  # OTLP/HTTP traces endpoint; "" = no tracing

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.backend == "upstream" and not self.upstream_url:
            raise ValueError("--backend upstream needs --upstream-url (e.g. http://gpu:8001/v1)")
        if self.grounding not in GROUNDING_MODES:
            raise ValueError(f"grounding must be one of {GROUNDING_MODES}, got {self.grounding!r}")
        if self.grounding == "constrain" and self.backend == "upstream":
            raise ValueError(
                "--grounding constrain needs the in-process backend: an upstream server cannot "
                "take the number constraint; use --grounding regenerate (a greedy retry) or refuse"
            )
        if self.max_batch < 1 or self.max_new_tokens < 1 or self.max_queue < 0:
            raise ValueError("max_batch and max_new_tokens must be at least 1, max_queue 0")
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {self.weights!r}")
        if self.metrics_access not in METRICS_ACCESS:
            raise ValueError(f"metrics_access must be one of {METRICS_ACCESS}")
        if self.keys and not self.key_secret:
            raise ValueError("keys need the secret they were hashed under (key_secret)")

    @property
    def keys_required(self) -> bool:
        return any(not k.admin for k in self.keys)

    @property
    def admin_enabled(self) -> bool:
        return any(k.admin for k in self.keys)

    @property
    def base_id(self) -> str:
        return f"{self.model_name}@base"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; anything else (0.0.0.0 included) is reachable."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys_configured: bool) -> str:
    """What the server says at start about access; raises when it must not bind to `host`."""
    if keys_configured:
        return f"API keys required on {host}"
    if not is_loopback(host):
        raise PermissionError(
            f"refusing to listen on {host} without API keys: set HEALTH_TRAINING_API_KEYS "
            "(comma-separated) or bind to 127.0.0.1"
        )
    return f"no API keys set: answering on the loopback address {host} only, without keys"


def load_serving_config(path: Path | None = None, admission: str | None = None) -> dict[str, Any]:
    """configs/serving.yaml as ServingSettings fields. Its sections are only for people, except
    `admission`, whose `profile` (or the `admission` argument) picks one of its profiles."""
    path = Path(path or SERVING_CONFIG)
    doc = yaml.safe_load(path.read_text()) or {}
    known = set(ServingSettings.__dataclass_fields__)
    out: dict[str, Any] = {}
    for section, fields in doc.items():
        if section == "admission":
            out |= admission_profile(path, fields or {}, admission)
            continue
        for name, value in (fields or {}).items():
            if name not in known:
                raise ValueError(f"{path}: {section}.{name} is not a serving setting")
            out[name] = value
    if admission and "admission" not in doc:
        raise ValueError(f"{path} has no admission profiles; {admission!r} cannot be picked")
    return out


def admission_profile(path: Path, section: dict[str, Any], name: str | None) -> dict[str, Any]:
    """The fields of the admission profile `name` (default: the section's `profile`)."""
    name = name or section.get("profile")
    profiles = sorted(k for k in section if k != "profile")
    if name not in profiles:
        raise ValueError(f"{path}: admission profile {name!r} is not one of {profiles}")
    fields = section[name] or {}
    for field_name in fields:
        if field_name not in ADMISSION_FIELDS:
            raise ValueError(
                f"{path}: admission.{name}.{field_name} is not an admission setting "
                f"(one of {ADMISSION_FIELDS})"
            )
    return dict(fields)
