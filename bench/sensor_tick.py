"""Sensor tick time as history grows: feedback_threshold_sensor and new_data_volume_sensor.

    .venv/bin/python bench/sensor_tick.py                 # 1,000,000 feedback rows, 24 months
    .venv/bin/python bench/sensor_tick.py --rows 100000   # quick

History: `--rows` feedback ratings in a SQLite store and 24 monthly curated_narratives
materializations of 100,000 kept examples each (every month materialized `--rematerialize`
times, as backfills do), plus unrelated events in the same event log. A steady tick (a few new
ratings and one new month since the cursor) is timed before and after history grows by 10 %.
The goal: ≤ 1 s a tick, and flat as history grows (the ratio after / before stays near 1).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from health_training.defs.automation.sensors import (
    feedback_threshold_sensor,
    new_data_volume_sensor,
)
from health_training.resources import FeedbackResource
from health_training.stores.feedback_tables import feedback as feedback_table


def insert_ratings(resource: FeedbackResource, start: int, n: int, seed: int) -> None:
    rng = random.Random(seed)
    store = resource.store()
    now = datetime.now(UTC)
    batch = 50_000
    with store.engine.begin() as conn:
        for lo in range(start, start + n, batch):
            rows = [
                {
                    "created_at": now,
                    "user_pseudonym": f"u_{i % 5000:020x}",
                    "model_version": "3",
                    "rating": rng.choice((1, 2, 3, 4, 4, 5, 5, 5)),
                    "query": f"q{i}",
                    "response": "r",
                    "corrected_response": None,
                    "context": "",
                    "dedup_key": f"{i:064x}",
                }
                for i in range(lo, min(lo + batch, start + n))
            ]
            conn.execute(feedback_table.insert(), rows)


def add_months(instance: dg.DagsterInstance, months: list[str], times: int, noise: int) -> None:
    for _ in range(times):
        for month in months:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "curated_narratives", partition=month, metadata={"kept": 100_000}
                )
            )
    for i in range(noise):
        instance.report_runless_asset_event(dg.AssetMaterialization(f"other_asset_{i % 10}"))


def tick(sensor, instance, cursor, **resources) -> tuple[float, str | None]:
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources or None)
    t0 = time.perf_counter()
    sensor(ctx)
    return time.perf_counter() - t0, ctx.cursor


def steady(sensor, instance, cursor, grow, repeats: int, **resources) -> tuple[float, str | None]:
    """Median of `repeats` ticks, each after a small amount of new activity."""
    times = []
    for _ in range(repeats):
        grow()
        seconds, cursor = tick(sensor, instance, cursor, **resources)
        times.append(seconds)
    return statistics.median(times), cursor


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rematerialize", type=int, default=5)
    parser.add_argument("--noise", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        instance = dg.DagsterInstance.local_temp(tempdir=tmp)
        resource = FeedbackResource(url=f"sqlite:///{Path(tmp) / 'feedback.db'}")
        resource.store()  # creates the table
        t0 = time.perf_counter()
        insert_ratings(resource, 0, args.rows, seed=1)
        months = [f"{2023 + i // 12}-{i % 12 + 1:02d}-01" for i in range(24)]
        add_months(instance, months, args.rematerialize, args.noise)
        print(
            f"history: {args.rows:,} ratings, {24 * args.rematerialize} curated events, "
            f"{args.noise:,} other events ({time.perf_counter() - t0:.0f} s to build)"
        )

        counter = iter(range(args.rows, 10**9))
        extra_month = iter(f"2025-{m:02d}-01" for m in range(1, 13))

        def new_ratings() -> None:
            insert_ratings(resource, next(counter) * 1000, 50, seed=2)

        def new_month() -> None:
            add_months(instance, [next(extra_month)], 1, 0)

        first_fb, fb_cursor = tick(feedback_threshold_sensor, instance, None, feedback=resource)
        first_vol, vol_cursor = tick(new_data_volume_sensor, instance, None)
        fb_before, fb_cursor = steady(
            feedback_threshold_sensor,
            instance,
            fb_cursor,
            new_ratings,
            args.repeats,
            feedback=resource,
        )
        vol_before, vol_cursor = steady(new_data_volume_sensor, instance, vol_cursor, new_month, 3)

        # History grows by 10 %: more ratings, more (re)materializations.
        insert_ratings(resource, 10**12, args.rows // 10, seed=3)
        add_months(
            instance, months[: max(1, len(months) // 10)], args.rematerialize, args.noise // 10
        )
        fb_after, fb_cursor = steady(
            feedback_threshold_sensor,
            instance,
            fb_cursor,
            new_ratings,
            args.repeats,
            feedback=resource,
        )
        vol_after, vol_cursor = steady(new_data_volume_sensor, instance, vol_cursor, new_month, 3)

    print(
        f"{'sensor':<28} {'first tick':>11} {'steady':>9} {'+10% history':>13} {'after/before':>13}"
    )
    for name, first, before, after in (
        ("feedback_threshold_sensor", first_fb, fb_before, fb_after),
        ("new_data_volume_sensor", first_vol, vol_before, vol_after),
    ):
        print(
            f"{name:<28} {first * 1000:>9.1f}ms {before * 1000:>7.1f}ms {after * 1000:>11.1f}ms "
            f"{after / before:>12.2f}x"
        )


if __name__ == "__main__":
    main()
