"""The server's settings: one frozen dataclass, filled by `server.py` (CLI flags + environment)
or by tests. Limits are here so the 4xx messages can name them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("inprocess", "upstream")
GROUNDING_MODES = ("regenerate", "constrain", "refuse", "flag")  # serving/grounding_modes.py


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
    api_key_hashes: tuple[str, ...] = ()  # sha256 hex of each query/feedback key
    admin_key_hash: str | None = None
    # Generation limits (4xx above them)
    max_new_tokens: int = 256  # cap on max_tokens; also the default
    max_prompt_chars: int = 16_000
    max_request_bytes: int = 256 * 1024
    max_batch: int = 8  # requests decoded together (in-process)
    batch_window_s: float = 0.005  # how long a new batch waits for companions
    # Guard, cache, feedback
    grounding: str = "regenerate"  # what an answer with unsupported numbers gets (a mode above)
    cache_entries: int = 2048
    cache_ttl_s: float = 600.0
    responses_kept: int = 50_000  # response ids that can still be rated
    responses_ttl_s: float = 7 * 24 * 3600.0
    # Registry
    alias_poll_s: float = 10.0  # how often the alias watcher asks MLflow
    dagster_host: str = "127.0.0.1"
    dagster_port: int = 3000
    device: str = field(default="auto")  # auto: cuda when available, else cpu

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
        if self.max_batch < 1 or self.max_new_tokens < 1:
            raise ValueError("max_batch and max_new_tokens must be at least 1")

    @property
    def keys_required(self) -> bool:
        return bool(self.api_key_hashes)

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
