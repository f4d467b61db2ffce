"""Atomic file writes, shared by storage, reports, histories and stores: a temp file in the same
folder, fsynced, then renamed over the target (atomic on POSIX), so readers see the old file or
the new one and a crash leaves no half-written file behind. `folder_atomic` does the same for a
folder built file by file (a saved model)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def folder_atomic(out_dir: str | Path) -> Iterator[Path]:
    """A fresh folder beside `out_dir` to build in; on success it replaces `out_dir`, on any
    error it is removed, so readers never see half a folder."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield tmp
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.chmod(0o755)  # mkdtemp makes it private
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
