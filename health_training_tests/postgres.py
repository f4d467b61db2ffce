"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on 127.0.0.1, trust authentication.

Needs the server binaries (Debian: `apt-get install -y postgresql`, which puts them in
/usr/lib/postgresql/*/bin); `missing_reason()` says what is missing, so a fixture can skip with
it. Postgres refuses to run as root, so under root the cluster runs as the `postgres` (or
`nobody`) user, in a directory that user owns. Tests get one cluster per session through the
`postgres_cluster` fixture (health_training_tests/conftest.py) and make their own databases in it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_AS_CANDIDATES = ("postgres", "nobody")


@dataclass(frozen=True)
class PostgresCluster:
    """A running cluster: connect as `superuser` (no password) to 127.0.0.1:`port`."""

    port: int
    superuser: str
    log: Path

    def url(self, database: str = "postgres", user: str | None = None) -> str:
        """A plain `postgresql://` URL, as users write it (the store maps it to psycopg2)."""
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{database}"


def server_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    for candidate in [
        shutil.which("initdb"),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[::-1],
    ]:
        if candidate and Path(candidate).resolve().with_name("pg_ctl").exists():
            return Path(candidate).resolve().parent
    return None


def _run_as_user() -> str | None:
    for name in RUN_AS_CANDIDATES:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    return None


def missing_reason() -> str | None:
    """Why no cluster can start here, or None when one can."""
    if server_bin() is None:
        return (
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
            "/usr/lib/postgresql/*/bin: install them with `apt-get install -y postgresql`"
        )
    if os.geteuid() == 0 and _run_as_user() is None:
        return "running as root and no 'postgres' or 'nobody' user to run Postgres as"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_cluster(superuser: str = "postgres") -> Iterator[PostgresCluster]:
    """initdb, start (pg_ctl -w returns once the server accepts connections), yield, stop."""
    reason = missing_reason()
    if reason is not None:
        raise RuntimeError(reason)
    bin_dir = server_bin()
    assert bin_dir is not None
    # Not pytest's tmp_path: under root the cluster's user must own the folder and reach it.
    root = Path(tempfile.mkdtemp(prefix="pg-cluster-"))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_run_as_user() or "")
        os.chown(root, entry.pw_uid, entry.pw_gid)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "cwd": root}
    data, port, log = root / "data", free_port(), root / "log"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]

    def pg(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=300, **run_as)

    try:
        pg(str(bin_dir / "initdb"), "-D", str(data), "-U", superuser, "-A", "trust", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        try:
            pg(*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "300", "start")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"pg_ctl start failed:\n{log.read_text(errors='replace')}") from exc
        try:
            yield PostgresCluster(port=port, superuser=superuser, log=log)
        finally:
            subprocess.run(
                [*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=120, **run_as
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
