"""Benchmark: how long the Dagster code location takes to load, against a bare `import dagster`.

    .venv/bin/python bench/load_time.py [--repeat 7]

Each measurement is a fresh interpreter (`python -c ...`), the two commands interleaved so that
machine load hits both alike; the figure is the ratio of their medians. The code location is
loaded the way `dg`/`dagster dev` load it: importing `health_training.definitions` and building
its Definitions (resources chosen from the environment: local storage, no boto3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BARE = "import dagster"
LOCATION = "import health_training.definitions as d; d.defs.get_repository_def()"


def _once(code: str) -> float:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "HEALTH_TRAINING_STORAGE": "local"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    _once(BARE), _once(LOCATION)  # warm the file cache
    bare, location = [], []
    for _ in range(args.repeat):
        bare.append(_once(BARE))
        location.append(_once(LOCATION))
    b, loc = statistics.median(bare), statistics.median(location)
    print(f"import dagster:            median {b:.2f} s  ({', '.join(f'{x:.2f}' for x in bare)})")
    print(
        f"health_training location:  median {loc:.2f} s  ({', '.join(f'{x:.2f}' for x in location)})"
    )
    print(f"ratio {loc / b:.2f}x (goal <= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
