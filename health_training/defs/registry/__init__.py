"""The registry domain: registration with the promotion gate, the promotion and rollback jobs,
and the evaluation of a registered version."""

import dagster as dg

from health_training.defs.registry.assets import registered_model
from health_training.defs.registry.jobs import evaluate_version_job, promote_model, rollback_model

defs = dg.Definitions(
    assets=[registered_model], jobs=[promote_model, rollback_model, evaluate_version_job]
)
