"""GPU leases: a tiny process that holds one `flock` per device while its command runs.

`GpuPoolRunLauncher` (health_training/launcher/gpu_pool.py) wraps every GPU run in this holder; it is
also usable by hand:

    python -m health_training.launcher.leases hold --lease-dir /var/lib/gpu-leases --devices 0,1 \
        [--count 1] [--wait 0] [--run-id ID] [--kill-after 60] -- python train.py

The holder takes an exclusive, non-blocking `flock` on `<lease-dir>/gpu-<device>.lock` for the first
free device(s), writes who holds it into the file, runs the command with `CUDA_VISIBLE_DEVICES` set
and exits with the command's code. The kernel drops the lock when the holder ends, however it ends
(SIGKILL included), so a lease can never outlive its holder. On Linux the command gets SIGKILL when
the holder dies (`PR_SET_PDEATHSIG`), so it cannot keep using a GPU whose lease is gone. With no
free device the holder exits 75 (EX_TEMPFAIL) at once, or after `--wait` seconds (saying on stderr
that it waits). Standard library only, and nothing from health_training: the launcher runs this
file by its path under `python -I`, so it starts in milliseconds and never imports dagster.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

NO_FREE_GPU_EXIT_CODE = 75  # EX_TEMPFAIL from sysexits.h: "try again later"
DEVICE_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")  # indices, GPU-<uuid>, MIG-<uuid>
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Lease:
    """Devices held by this process: the lock files stay open (and locked) until `release`."""

    devices: tuple[str, ...]
    fds: tuple[int, ...]

    @property
    def cuda_visible_devices(self) -> str:
        return ",".join(self.devices)


def lease_path(lease_dir: Path, device: str) -> Path:
    return lease_dir / f"gpu-{device}.lock"


def parse_devices(devices: str | Sequence[str | int]) -> tuple[str, ...]:
    """`"0,1"`, `[0, 1]` or `["GPU-3f2…"]` → `("0", "1")`; rejects names unfit for a file name."""
    items = devices.split(",") if isinstance(devices, str) else devices
    parsed = tuple(str(item).strip() for item in items if str(item).strip())
    if not parsed:
        raise ValueError(f"no GPU devices given ({devices!r}); expected e.g. '0,1'")
    for device in parsed:
        if not DEVICE_PATTERN.match(device):
            raise ValueError(f"GPU device {device!r} may only hold letters, digits, '.', '_', '-'")
    if len(set(parsed)) != len(parsed):
        raise ValueError(f"GPU devices {devices!r} name a device twice")
    return parsed


def _try_lock(path: Path, owner: dict[str, object]) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    # Who holds it is for people and error messages only; the lock is the truth.
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(owner) + "\n").encode(), 0)
    return fd


def try_acquire(
    lease_dir: Path, devices: Sequence[str], count: int = 1, run_id: str | None = None
) -> Lease | None:
    """Lock `count` free devices, all or none; `None` when fewer than `count` are free."""
    lease_dir.mkdir(parents=True, exist_ok=True)
    owner = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname()}
    owner["since"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    held: list[tuple[str, int]] = []
    for device in devices:
        fd = _try_lock(lease_path(lease_dir, device), owner)
        if fd is not None:
            held.append((device, fd))
            if len(held) == count:
                return Lease(tuple(d for d, _ in held), tuple(f for _, f in held))
    for _, fd in held:
        os.close(fd)
    return None


def acquire(
    lease_dir: Path,
    devices: Sequence[str],
    count: int = 1,
    run_id: str | None = None,
    wait_seconds: float = 0.0,
    poll_seconds: float = 0.5,
    on_busy: Callable[[], None] = lambda: None,
) -> Lease | None:
    """`try_acquire`, retried every `poll_seconds` for up to `wait_seconds`; `on_busy` runs once,
    when the first try finds the pool full and there is time left to wait."""
    deadline = time.monotonic() + wait_seconds
    busy_reported = False
    while True:
        lease = try_acquire(lease_dir, devices, count, run_id)
        if lease is not None or time.monotonic() >= deadline:
            return lease
        if not busy_reported:
            busy_reported = True
            on_busy()
        # flock has no "wait for any of these files", so poll; each try costs a few syscalls.
        time.sleep(min(poll_seconds, max(0.0, deadline - time.monotonic())))


def release(lease: Lease) -> None:
    for fd in lease.fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def describe_holders(lease_dir: Path, devices: Sequence[str]) -> str:
    """`gpu 0: run abc (pid 12 on host)` for each device, read from the lock files' contents."""
    parts = []
    for device in devices:
        try:
            owner = json.loads(lease_path(lease_dir, device).read_text() or "{}")
        except (OSError, ValueError):
            owner = {}
        parts.append(
            f"gpu {device}: run {owner.get('run_id')} (pid {owner.get('pid')} on {owner.get('host')})"
        )
    return "; ".join(parts)


def _pdeathsig_setter() -> object:
    """A preexec function making the command die with the holder (Linux; elsewhere a no-op)."""
    holder_pid = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None

    def preexec() -> None:
        # Runs in the child between fork and exec: if the holder dies (even by SIGKILL) the
        # kernel kills the command too, so nothing keeps using a GPU whose lease is free again.
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != holder_pid:  # the holder died before prctl took effect
            os._exit(1)

    return preexec


def run_with_lease(
    lease: Lease,
    command: Sequence[str],
    kill_after: float,
    on_started: Callable[[], None] = lambda: None,
) -> int:
    """Run `command` on the leased devices; return its exit code (128 + N for signal N).

    Raises OSError when the command cannot start; `on_started` runs once it has.
    """
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": lease.cuda_visible_devices}
    children: list[subprocess.Popen] = []
    stop: list[tuple[float, int]] = []  # (when, signal) of the first stop request

    def forward(signum: int, _frame: object) -> None:
        if not stop:
            stop.append((time.monotonic(), signum))
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signum)

    # Handlers go in before the command starts, so a stop request can never kill the holder
    # alone (which would free the lease while the command still starts up).
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    # The command gets its own process group: the holder forwards a stop signal to the whole
    # group exactly once, and can SIGKILL what is left of it without killing itself.
    child = subprocess.Popen(
        list(command), env=env, process_group=0, preexec_fn=_pdeathsig_setter()
    )
    children.append(child)
    on_started()
    if stop:
        forward(stop[0][1], None)
    while True:
        try:
            returncode = child.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if stop and time.monotonic() - stop[0][0] > kill_after:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
    # Leftovers of the run (say, data-loader workers) must not hold GPU memory past the lease.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    return 128 - returncode if returncode < 0 else returncode


def _report(status_fd: int | None, line: str) -> None:
    """One line to whoever started us (the launcher), then close; a gone reader is no error."""
    if status_fd is not None:
        with contextlib.suppress(OSError):
            os.write(status_fd, (line + "\n").encode())
            os.close(status_fd)


def hold(args: argparse.Namespace) -> int:
    status_fd = args.status_fd
    try:
        devices = parse_devices(args.devices)
        if not 1 <= args.count <= len(devices):
            raise ValueError(f"--count {args.count} must be between 1 and {len(devices)}")
        if not args.command:
            raise ValueError("no command given after '--'")
        lease_dir = Path(args.lease_dir)

        def say_busy() -> None:
            # For people reading the daemon's log while a run waits for a device.
            sys.stderr.write(
                f"GPU lease holder: run {args.run_id} waits up to {args.wait:g}s for {args.count} "
                f"of devices {','.join(devices)} ({describe_holders(lease_dir, devices)})\n"
            )
            sys.stderr.flush()

        lease = acquire(lease_dir, devices, args.count, args.run_id, args.wait, on_busy=say_busy)
    except (ValueError, OSError) as exc:
        message = f"GPU lease holder: {exc}"
        sys.stderr.write(message + "\n")
        _report(status_fd, f"error {message}")
        return 2
    if lease is None:
        message = (
            f"no free GPU: needed {args.count} of devices {','.join(devices)} but all are "
            f"leased in {lease_dir} (waited {args.wait:g}s; {describe_holders(lease_dir, devices)})."
            " Keep the tag concurrency limit on GPU runs no larger than the pool."
        )
        sys.stderr.write(message + "\n")
        _report(status_fd, f"error {message}")
        return NO_FREE_GPU_EXIT_CODE
    try:
        return run_with_lease(
            lease,
            args.command,
            args.kill_after,
            on_started=lambda: _report(status_fd, f"leased {lease.cuda_visible_devices}"),
        )
    except OSError as exc:
        message = f"GPU lease holder: cannot start {args.command[0]!r}: {exc}"
        sys.stderr.write(message + "\n")
        _report(status_fd, f"error {message}")
        return 127
    finally:
        release(lease)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m health_training.launcher.leases")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("hold", help="lease GPU(s), run a command on them, release on exit")
    p.add_argument("--lease-dir", required=True, help="local directory of the gpu-<n>.lock files")
    p.add_argument("--devices", required=True, help="the pool, comma-separated: 0,1")
    p.add_argument("--count", type=int, default=1, help="devices this command needs")
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a free device")
    p.add_argument("--run-id", default=None, help="written into the lock file for people")
    p.add_argument("--kill-after", type=float, default=60.0, help="SIGKILL grace after SIGTERM")
    p.add_argument("--status-fd", type=int, default=None, help="fd for one 'leased …' line")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- command and arguments")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    return hold(args)


if __name__ == "__main__":
    sys.exit(main())
