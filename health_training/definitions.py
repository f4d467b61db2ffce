"""The one Dagster code location of health_training: the four domains of `defs/` merged, with the
resources the environment chooses (resources/environment.py) and the in-process executor.

    dg dev                 # UI + daemon (make dev)
    dg check defs          # validate
    dg list defs           # what loaded
    dg launch --assets raw_narratives,curated_narratives --partition-range 2025-01...2025-03
"""

import dagster as dg

from health_training.defs import automation, data, registry, training
from health_training.resources import resources_from_env

defs = dg.Definitions.merge(
    data.defs,
    training.defs,
    registry.defs,
    automation.defs,
    dg.Definitions(resources=resources_from_env(), executor=dg.in_process_executor),
)
