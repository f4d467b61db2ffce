"""Device leases and the lease holder (`python -m health_training.launcher.leases hold`).

CPU only: the pool is two fake devices, "0" and "1". A held command proves where it runs by
printing its CUDA_VISIBLE_DEVICES; it then blocks on its stdin, so it holds its lease until the
test closes that pipe. Which holders run at the same time is therefore arranged, not raced.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from health_training.launcher import leases
from health_training_tests.events import DEADLINE, read_line, read_to_eof, wait_until

POOL = ("0", "1")
# Prints its device, then holds it until its stdin (the holder's, which it inherits) is closed.
HOLD_UNTIL_RELEASED = ("sh", "-c", 'echo "device=$CUDA_VISIBLE_DEVICES"; exec cat >/dev/null')


def start_holder(
    lease_dir: Path, *command: str, wait: float = 0, run_id: str = "r"
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "health_training.launcher.leases", "hold"]
        + ["--lease-dir", str(lease_dir), "--devices", ",".join(POOL), "--wait", str(wait)]
        + ["--run-id", run_id, "--", *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # read_line reads the pipes as the holder writes them
    )


def release(holder: subprocess.Popen) -> tuple[str, str]:
    """End a HOLD_UNTIL_RELEASED command; the rest of the holder's stdout and stderr."""
    out, err = holder.communicate(timeout=DEADLINE)  # closes stdin first: the command's EOF
    return out.decode(), err.decode()


def is_free(lease_dir: Path, device: str) -> bool:
    lease = leases.try_acquire(lease_dir, [device], run_id="probe")
    if lease is not None:
        leases.release(lease)
    return lease is not None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_three_holders_on_two_devices_third_fails_at_once(tmp_path: Path) -> None:
    first, second = (start_holder(tmp_path, *HOLD_UNTIL_RELEASED, run_id=r) for r in "ab")
    devices = [
        read_line(h.stdout, f"holder {r}'s device") for h, r in ((first, "a"), (second, "b"))
    ]
    assert sorted(devices) == ["device=0", "device=1"]

    third = start_holder(tmp_path, *HOLD_UNTIL_RELEASED, run_id="c")
    _, err = third.communicate(timeout=DEADLINE)
    assert third.returncode == leases.NO_FREE_GPU_EXIT_CODE
    assert "no free GPU" in err.decode() and "run a" in err.decode() and "run b" in err.decode()
    # "At once", without a clock: the third gave up while the holders it lost to were still
    # running, and they cannot finish before the test releases them.
    assert first.poll() is None and second.poll() is None
    for holder in (first, second):
        release(holder)
        assert holder.returncode == 0


def test_waiting_holder_gets_the_device_of_the_one_that_finished(tmp_path: Path) -> None:
    holders = {r: start_holder(tmp_path, *HOLD_UNTIL_RELEASED, run_id=r) for r in "ab"}
    device_of = {r: read_line(h.stdout, f"holder {r}'s device") for r, h in holders.items()}
    # --wait well past the test's deadline: the waiter gets a device only because one frees.
    waiter = start_holder(tmp_path, "sh", "-c", 'echo "device=$CUDA_VISIBLE_DEVICES"', wait=1e6)
    busy = read_line(waiter.stderr, "the waiter saying it waits")
    assert "waits up to" in busy and "run a" in busy and "run b" in busy

    release(holders["a"])
    out, err = waiter.communicate(timeout=DEADLINE)
    assert waiter.returncode == 0, err
    assert out.decode().strip() == device_of["a"]
    release(holders["b"])


def test_sigkill_of_the_holder_frees_the_device_and_kills_the_command(tmp_path: Path) -> None:
    holder = start_holder(
        tmp_path, "sh", "-c", 'echo "$$ $CUDA_VISIBLE_DEVICES"; exec sleep 3600', run_id="victim"
    )
    pid, device = read_line(holder.stdout, "the command's pid and device").split()
    assert not is_free(tmp_path, device)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=DEADLINE)
    assert is_free(tmp_path, device)  # the kernel released the flock with the holder
    # PR_SET_PDEATHSIG: the command died with its holder. Its stdout (inherited from the holder)
    # reaches end of file only once the command has exited too.
    read_to_eof(holder.stdout, "the command to exit after its holder")
    wait_until(lambda: not alive(int(pid)), f"command {pid} to be a zombie or gone")
    holder.communicate(timeout=DEADLINE)


def test_sigterm_is_forwarded_and_the_exit_code_kept(tmp_path: Path) -> None:
    # `ready` is printed once the trap is set, so the SIGTERM cannot arrive before it.
    script = "trap 'exit 3' TERM; echo ready; sleep 3600 & wait $!"
    holder = start_holder(tmp_path, "sh", "-c", script, run_id="t")
    assert read_line(holder.stdout, "the command's trap") == "ready"
    (device,) = [d for d in POOL if not is_free(tmp_path, d)]
    holder.send_signal(signal.SIGTERM)
    holder.communicate(timeout=DEADLINE)
    assert holder.returncode == 3
    assert is_free(tmp_path, device)


def test_no_command_or_bad_pool_is_refused_before_any_lease(tmp_path: Path) -> None:
    holder = subprocess.run(
        [sys.executable, "-m", "health_training.launcher.leases", "hold"]
        + ["--lease-dir", str(tmp_path), "--devices", "0,0", "--", "true"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert holder.returncode == 2 and "name a device twice" in holder.stderr
    assert not list(tmp_path.iterdir())


def test_parse_devices_rejects_bad_pools() -> None:
    assert leases.parse_devices("0, 1") == ("0", "1")
    assert leases.parse_devices([0, "GPU-3f2a"]) == ("0", "GPU-3f2a")
    for bad in ("", "0,0", "../x"):
        with pytest.raises(ValueError):
            leases.parse_devices(bad)


def test_count_takes_all_or_nothing(tmp_path: Path) -> None:
    one = leases.try_acquire(tmp_path, POOL, count=1, run_id="one")
    assert one is not None
    assert leases.try_acquire(tmp_path, POOL, count=2, run_id="two") is None
    assert is_free(tmp_path, "1")  # the failed 2-device attempt gave back what it took
    leases.release(one)
    both = leases.try_acquire(tmp_path, POOL, count=2, run_id="two")
    assert both is not None and both.cuda_visible_devices == "0,1"
    leases.release(both)


def test_acquire_reports_busy_once_then_takes_the_freed_device(tmp_path: Path) -> None:
    held = leases.try_acquire(tmp_path, POOL, count=2, run_id="held")
    assert held is not None
    calls: list[str] = []

    def on_busy() -> None:  # runs in acquire's loop: free the pool once it has seen it full
        calls.append("busy")
        leases.release(held)

    lease = leases.acquire(tmp_path, POOL, 1, "waiter", wait_seconds=DEADLINE, on_busy=on_busy)
    assert calls == ["busy"] and lease is not None and lease.devices == ("0",)
    leases.release(lease)
    # No time to wait: no busy report, just None.
    again = leases.try_acquire(tmp_path, POOL, count=2, run_id="held")
    assert again is not None
    assert leases.acquire(tmp_path, POOL, 1, "w", on_busy=lambda: calls.append("x")) is None
    assert calls == ["busy"]
    leases.release(again)
