"""The registry domain: registration with the promotion gate, and the promotion and rollback
jobs."""

import dagster as dg

from health_training.defs.registry.assets import registered_model
from health_training.defs.registry.jobs import promote_model, rollback_model

defs = dg.Definitions(assets=[registered_model], jobs=[promote_model, rollback_model])
