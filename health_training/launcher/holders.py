"""The launcher's side of a lease holder process: start it, read its status line, watch it.

`GpuPoolRunLauncher` (gpu_pool.py) runs each GPU run's worker under `leases.py hold`. This module
starts that holder for a command, reads the one line it reports ("leased 0" or "error <why>")
through a pipe, tells whether a holder pid is still alive, and signals its process group. No
Dagster here: the launcher turns what these return into run tags, events and health results.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from health_training.launcher import leases


def start_holder(
    command: Sequence[str],
    *,
    lease_dir: Path,
    devices: Sequence[str],
    count: int,
    wait_seconds: float,
    run_id: str,
    kill_after: float,
) -> tuple[subprocess.Popen, int]:
    """Start `command` under a lease holder; the holder and the read end of its status pipe."""
    read_fd, write_fd = os.pipe()
    # `-I` with the file path: the holder imports the standard library only, whatever
    # sys.path or PYTHON* variables this process was started with.
    holder_command = [
        sys.executable,
        "-I",
        leases.__file__,
        "hold",
        f"--lease-dir={lease_dir}",
        f"--devices={','.join(devices)}",
        f"--count={count}",
        f"--wait={wait_seconds}",
        f"--run-id={run_id}",
        f"--kill-after={kill_after}",
        f"--status-fd={write_fd}",
        "--",
        *command,
    ]
    try:
        # A session of its own: stopping the webserver or the daemon (Ctrl-C) leaves a
        # training run alone, and the launcher can signal the holder's whole group.
        holder = subprocess.Popen(
            holder_command,
            stdin=subprocess.DEVNULL,
            pass_fds=(write_fd,),
            start_new_session=True,
        )
    finally:
        os.close(write_fd)
    # Reap it when it exits, so a finished run leaves no zombie and its exit code is known.
    threading.Thread(target=holder.wait, name=f"reap-{holder.pid}", daemon=True).start()
    return holder, read_fd


def read_status(holder: subprocess.Popen, fd: int, timeout: float, run_id: str) -> str:
    """The holder's one status line: 'leased 0' or 'error <why>'. Closes `fd`."""
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                signal_group(holder.pid, signal.SIGKILL)
                return f"error the GPU lease holder for run {run_id} did not report"
            chunk = os.read(fd, 4096)
            if not chunk:
                return (
                    f"error the GPU lease holder for run {run_id} exited with code "
                    f"{holder.wait()} before taking a lease"
                )
            data += chunk
    finally:
        os.close(fd)
    return data.decode(errors="replace").splitlines()[0]


def holder_alive(pid: int, run_id: str) -> bool:
    """Whether `pid` is a live (not zombie) holder of `run_id`; guards against pid reuse."""
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no procfs (macOS): existence is all we can see
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and f"--run-id={run_id}".encode() in cmdline


def signal_group(pid: int, signum: int) -> None:
    """Signal the holder and everything it started (they share its session's process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)
