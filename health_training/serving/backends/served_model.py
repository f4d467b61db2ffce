"""What the pool serves and what a backend must do: a `ServedModel` (a registered version's adapter,
or the bare base), the `Lease` a request holds on it, and the `Backend` protocol both backends
(inprocess.py, upstream.py) implement."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

BASE = "base"


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A registered version's adapter (key `v<N>`) or the bare base (key `base`)."""

    key: str
    version: str | None
    base_model: str
    adapter_dir: Path | None = None
    run_id: str | None = None

    @property
    def label(self) -> str:
        return self.version or BASE

    def model_id(self, model_name: str) -> str:
        return f"{model_name}/{self.version}" if self.version else f"{model_name}@{BASE}"


@dataclass(frozen=True, slots=True)
class Lease:
    served: ServedModel
    alias: str  # how the request reached it: production, staging, base or pinned


class Backend(Protocol):
    name: str

    def ensure_base(self, base_model: str, bundled: Path | None) -> None: ...
    def attach(self, key: str, adapter_dir: Path) -> None: ...
    def detach(self, key: str) -> None: ...
    def device(self) -> str: ...
