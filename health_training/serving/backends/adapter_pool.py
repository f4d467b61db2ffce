"""The served models: production and staging adapters on one base, chosen per request, swapped
when an alias moves.

The registry is asked for `production` and `staging` at start and then every `alias_poll_s`
(MLflow has no push notifications). A moved alias makes the pool download the new version
(outside any lock, while requests keep flowing), attach it to the backend, and only then point
the alias at it. Each request takes a *lease* on the model it resolved, atomically with the
resolution; an adapter no alias points at any more is detached only when its last lease ends,
so a request in flight finishes on the version it started with.

With no base model on disk (an empty home) the server still starts: `missing` says what is
missing and how to fix it, /health and every /v1 answer say it with a 503, and the alias watcher
tries again at each poll, so the model is picked up when it appears, without a restart.

Model ids a request may name: `<model>` (production, else staging, else the base),
`<model>@production`, `<model>@staging`, `<model>@base`, and `<model>/<version>` for a version
that is loaded (e.g. for an A/B comparison or an upstream server's LoRA name).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from health_training.constants import ALIASES
from health_training.serving.backends.served_model import BASE, Backend, Lease, ServedModel
from health_training.serving.http.api_errors import OpenAIError

log = logging.getLogger("health_training.serving")


class ModelPool:
    def __init__(self, registry: Any, backend: Backend, settings: Any, metrics: Any) -> None:
        self.registry, self.backend, self.settings, self.metrics = (
            registry,
            backend,
            settings,
            metrics,
        )
        self._lock = threading.Lock()
        self._aliases: dict[str, ServedModel] = {}
        self._loaded: dict[str, ServedModel] = {}
        self._leases: Counter[str] = Counter()
        self._base: ServedModel | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refreshing = threading.Lock()  # one refresh at a time (watcher or admin)
        self.registry_error: str | None = None
        self.load_errors: dict[str, str] = {}
        self._failed: dict[str, str] = {}  # alias -> version that failed to load (not retried)
        self.swaps = 0
        self.missing: str | None = None  # why nothing can be served yet, and the fix

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Load what the aliases name (the base when none) and start watching them. A registry
        that cannot be reached at start leaves the base serving (said in /health) until it can."""
        try:
            self.refresh()
        except Exception as exc:  # MLflow down: serve the base, keep asking
            self.registry_error = f"{type(exc).__name__}: {exc}"
            log.warning("registry unreachable at start, serving the base: %s", self.registry_error)
        self._ensure_bare_base()
        self._thread = threading.Thread(target=self._watch, name="alias-watcher", daemon=True)
        self._thread.start()

    def _ensure_bare_base(self) -> None:
        """No version anywhere: the configured base, bare; when it is not on disk, say so and
        let the watcher try again."""
        if self._base is not None:
            return
        from health_training.ml.lm.models import BaseModelUnavailable

        try:
            self.backend.ensure_base(self.settings.base_model, None)
        except BaseModelUnavailable as exc:
            self.missing = str(exc)
            return
        except Exception as exc:  # files there but unreadable (or half written): the log says
            log.error("the base model cannot be loaded: %s", exc)
            self.missing = f"the base model cannot be loaded ({type(exc).__name__}): see the log"
            return
        with self._lock:
            self._base = ServedModel(BASE, None, self.settings.base_model)
        if self.missing:
            log.info("base model %s found and loaded", self.settings.base_model)
        self.missing = None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.alias_poll_s):
            try:
                self.refresh()
            except Exception as exc:  # keep serving what is loaded; /health shows the error
                self.registry_error = f"{type(exc).__name__}: {exc}"
                log.warning("alias refresh failed: %s", self.registry_error)
            if self._base is None and not self._aliases:
                self._ensure_bare_base()

    # --- alias tracking -----------------------------------------------------------------

    def refresh(self) -> list[str]:
        """Follow the registry's aliases; the aliases that moved."""
        moved = []
        with self._refreshing:
            wanted: dict[str, str | None] = {}
            for alias in ALIASES:
                mv = self.registry.version_by_alias(alias)
                wanted[alias] = str(mv.version) if mv is not None else None
            self.registry_error = None
            for alias, version in wanted.items():
                current = self._aliases.get(alias)
                if (current.version if current else None) == version:
                    continue
                if version is not None and self._failed.get(alias) == version:
                    continue  # said once in the log and in /health; retried when the alias moves
                served = None
                if version is not None:
                    try:
                        served = self._loaded.get(f"v{version}") or self._load(version)
                    except Exception as exc:  # a bad version must not take the server down
                        self.load_errors[alias] = f"v{version}: {type(exc).__name__}: {exc}"
                        self._failed[alias] = version
                        log.error("cannot serve %s v%s: %s", alias, version, exc)
                        continue
                self.load_errors.pop(alias, None)
                self._failed.pop(alias, None)
                with self._lock:
                    old = self._aliases.pop(alias, None)
                    if served is not None:
                        self._aliases[alias] = served
                    retired = self._retired_locked(old)
                self.swaps += 1
                self.metrics.swaps.labels(alias=alias).inc()
                moved.append(alias)
                log.info(
                    "alias %s: %s -> %s",
                    alias,
                    old.label if old else "none",
                    served.label if served else "none",
                )
                if retired is not None:
                    self._detach(retired)
        return moved

    def _load(self, version: str) -> ServedModel:
        folder = Path(self.settings.work_dir) / "adapters" / self.settings.model_name / version
        if not folder.is_dir():  # versions are immutable: a finished download is reused
            partial = folder.with_name(f"{version}.partial")
            shutil.rmtree(partial, ignore_errors=True)
            # download_adapter expects artifacts/adapter; _local_model reads where it really is.
            with suppress(FileNotFoundError):
                self.registry.download_adapter(version, partial)
            partial.rename(folder)  # only a complete download gets the version's name
        adapter, bundled, meta = _local_model(folder)
        base_model = str(meta.get("base_model") or self.settings.base_model)
        self.backend.ensure_base(base_model, bundled)
        if self._base is None:
            self._base = ServedModel(BASE, None, base_model)
            self.missing = None
        mv = self.registry.version(version)
        served = ServedModel(f"v{version}", version, base_model, adapter, mv.run_id)
        self.backend.attach(served.key, adapter)
        with self._lock:
            self._loaded[served.key] = served
        return served

    def _retired_locked(self, old: ServedModel | None) -> ServedModel | None:
        """`old` when nothing points at it and no request holds it (the caller detaches it)."""
        if old is None or old in self._aliases.values() or self._leases[old.key]:
            return None
        self._loaded.pop(old.key, None)
        return old

    def _detach(self, served: ServedModel) -> None:
        self.backend.detach(served.key)
        log.info("detached v%s (no alias, no request holds it)", served.version)

    # --- requests -----------------------------------------------------------------------

    def _resolve_locked(self, model_id: str) -> Lease:
        name = self.settings.model_name
        if model_id == name:
            for alias in ALIASES:
                if alias in self._aliases:
                    return Lease(self._aliases[alias], alias)
            return Lease(self._require_base(), BASE)
        if model_id.startswith(f"{name}@"):
            alias = model_id[len(name) + 1 :]
            if alias == BASE:
                return Lease(self._require_base(), BASE)
            if alias in ALIASES:
                if alias not in self._aliases:
                    raise OpenAIError(
                        404,
                        f"model '{model_id}' does not exist: the registry has no '{alias}' version",
                        code="model_not_found",
                        param="model",
                    )
                return Lease(self._aliases[alias], alias)
        if model_id.startswith(f"{name}/") and f"v{model_id[len(name) + 1 :]}" in self._loaded:
            return Lease(self._loaded[f"v{model_id[len(name) + 1 :]}"], "pinned")
        raise OpenAIError(
            404,
            f"model '{model_id}' does not exist; available: {', '.join(self.model_ids())}",
            code="model_not_found",
            param="model",
        )

    def _require_base(self) -> ServedModel:
        if self._base is None:
            if self.missing:
                raise OpenAIError(503, self.missing, "server_error", code="no_base_model")
            raise OpenAIError(503, "the model is still loading", "server_error", code="loading")
        return self._base

    @contextmanager
    def lease(self, model_id: str) -> Iterator[Lease]:
        with self._lock:
            lease = self._resolve_locked(model_id)
            self._leases[lease.served.key] += 1
        try:
            yield lease
        finally:
            with self._lock:
                self._leases[lease.served.key] -= 1
                retired = None
                if lease.served.version is not None and lease.served.key in self._loaded:
                    retired = self._retired_locked(lease.served)
            if retired is not None:
                self._detach(retired)

    # --- descriptions -------------------------------------------------------------------

    def model_ids(self) -> list[str]:
        name = self.settings.model_name
        ids = [name, *(f"{name}@{a}" for a in ALIASES if a in self._aliases), f"{name}@{BASE}"]
        return ids + sorted(s.model_id(name) for s in self._loaded.values())

    def default(self) -> Lease | None:
        with self._lock:
            try:
                return self._resolve_locked(self.settings.model_name)
            except OpenAIError:
                return None

    def aliases(self) -> dict[str, ServedModel]:
        with self._lock:
            return dict(self._aliases)

    def base(self) -> ServedModel | None:
        return self._base

    def loaded(self) -> list[ServedModel]:
        with self._lock:
            return list(self._loaded.values())


def _local_model(folder: Path) -> tuple[Path, Path | None, dict[str, Any]]:
    """(adapter folder, bundled base folder or None, metadata) of a downloaded pyfunc model:
    MLflow names artifact folders after their source folders, so the MLmodel file says which
    is which."""
    import yaml

    doc = yaml.safe_load((folder / "MLmodel").read_text())
    artifacts = doc["flavors"]["python_function"].get("artifacts") or {}
    if "adapter" not in artifacts:
        raise FileNotFoundError(f"{folder}/MLmodel names no 'adapter' artifact")
    adapter = folder / artifacts["adapter"]["path"]
    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter}: no adapter_config.json (not a PEFT adapter)")
    base = folder / artifacts["base"]["path"] if "base" in artifacts else None
    return adapter, base, dict(doc.get("metadata") or {})
