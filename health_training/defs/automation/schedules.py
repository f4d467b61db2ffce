"""`monthly_retrain_schedule`: 02:00 on the 1st, materialize last month's data partition; the
`monthly_retrain_sensor` then retrains on it once that run succeeds."""

import datetime as dt

import dagster as dg

from health_training.constants import TRIGGER_TAG
from health_training.defs.automation.jobs import monthly_data_job


@dg.schedule(
    default_status=dg.DefaultScheduleStatus.RUNNING,
    cron_schedule="0 2 1 * *",
    job=monthly_data_job,
    execution_timezone="UTC",
    description="02:00 UTC on the 1st: ingest and curate last month, then retrain.",
)
def monthly_retrain_schedule(context: dg.ScheduleEvaluationContext):
    month_start = context.scheduled_execution_time.replace(day=1)
    last_month = (month_start - dt.timedelta(days=1)).strftime("%Y-%m")
    return dg.RunRequest(
        run_key=f"monthly-{last_month}", partition_key=last_month, tags={TRIGGER_TAG: "monthly"}
    )
