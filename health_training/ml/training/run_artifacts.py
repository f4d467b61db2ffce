"""A training run's files in the storage resource, with the local disk as a cache.

Adapters, resumable checkpoints, the evaluation and the emissions reports are written to storage
(S3 or MinIO in production) under `models/runs/<identity>/`, so a step running in another pod
with an empty disk finds them: a retried training pod resumes from the newest stored
checkpoint; evaluation and registration download the adapter they were handed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from health_training.data import layout
from health_training.data.blob_storage import BlobStorage

_FINAL = ("adapter", "train_result.json", "emissions_training.json", "loss_curve.png")
# Written after a checkpoint's files: a pod killed mid-upload leaves no marker, and the
# checkpoint without one is never resumed from.
COMPLETE = "UPLOADED"


@dataclass(frozen=True)
class RunArtifacts:
    storage: BlobStorage
    cache: Path  # local folder of run folders (TrainingResource.runs_dir)

    def local(self, identity: str) -> Path:
        return self.cache / identity

    # --- training side --------------------------------------------------------------------

    def restore(self, run_dir: Path) -> None:
        """Before training: a finished run's results, else its newest checkpoint, from storage."""
        identity = run_dir.name
        if self.storage.exists(layout.model_run(identity, "train_result.json")):
            self.fetch(identity)
            return
        stored = self.storage.list_keys(layout.model_run(identity, "checkpoints/"))
        steps = {
            int(k.split("checkpoint-")[1].split("/")[0])
            for k in stored
            if k.endswith(f"/{COMPLETE}")
        }
        if steps:
            name = f"checkpoints/checkpoint-{max(steps)}"
            self.storage.download_dir(layout.model_run(identity, name), run_dir / name)
            (run_dir / name / COMPLETE).unlink(missing_ok=True)

    def save_checkpoint(self, checkpoint: Path) -> None:
        """After each save: the new checkpoint to storage, older stored ones dropped."""
        identity = checkpoint.parent.parent.name
        prefix = layout.model_run(identity, "checkpoints/")
        self.storage.upload_dir(checkpoint, prefix + checkpoint.name)
        self.storage.write_bytes(f"{prefix}{checkpoint.name}/{COMPLETE}", b"")
        for key in self.storage.list_keys(prefix):
            if not key.startswith(prefix + checkpoint.name + "/"):
                self.storage.delete(key)

    def publish(self, run_dir: Path) -> str:
        """The finished run's adapter and results to storage; returns the run's storage prefix."""
        identity = run_dir.name
        for name in _FINAL:
            path = run_dir / name
            if path.is_dir():
                self.storage.upload_dir(path, layout.model_run(identity, name))
            elif path.is_file():
                self.storage.write_bytes(layout.model_run(identity, name), path.read_bytes())
        return layout.model_run(identity)

    # --- evaluation and registration side -------------------------------------------------

    def fetch(self, identity: str) -> Path:
        """The run's adapter and results on local disk (downloaded when the cache lacks them)."""
        run_dir = self.local(identity)
        for name in _FINAL:
            key = layout.model_run(identity, name)
            target = run_dir / name
            if target.exists():
                continue
            if name == "adapter":
                self.storage.download_dir(key, target)
            elif self.storage.exists(key):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.storage.read_bytes(key))
        if not (run_dir / "adapter" / "adapter_config.json").exists():
            raise FileNotFoundError(
                f"{self.storage.uri(layout.model_run(identity))} holds no adapter"
            )
        return run_dir

    def write(self, identity: str, name: str, data: bytes) -> str:
        key = layout.model_run(identity, name)
        self.storage.write_bytes(key, data)
        return key

    def read(self, identity: str, name: str) -> bytes:
        return self.storage.read_bytes(layout.model_run(identity, name))

    def upload_folder(self, identity: str, local: Path, name: str) -> str:
        self.storage.upload_dir(local, layout.model_run(identity, name))
        return layout.model_run(identity, name)

    def fetch_folder(self, identity: str, name: str) -> Path:
        target = self.local(identity) / name
        if target.exists():
            shutil.rmtree(target)
        return self.storage.download_dir(layout.model_run(identity, name), target)
