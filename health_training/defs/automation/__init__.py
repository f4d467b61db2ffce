"""The automation domain: the jobs, the retrain sensors and the monthly schedule."""

import dagster as dg

from health_training.defs.automation.jobs import dataset_job, monthly_data_job, training_job
from health_training.defs.automation.schedules import monthly_retrain_schedule
from health_training.defs.automation.sensors import (
    drift_sensor,
    feedback_threshold_sensor,
    monthly_retrain_sensor,
    new_data_volume_sensor,
)

defs = dg.Definitions(
    jobs=[monthly_data_job, dataset_job, training_job],
    sensors=[
        feedback_threshold_sensor,
        new_data_volume_sensor,
        drift_sensor,
        monthly_retrain_sensor,
    ],
    schedules=[monthly_retrain_schedule],
)
