"""Health domains (training categories) and the record types that feed them.

The ETL engine files every example under `training/{domain}/...`. Two naming schemes exist in the
wild: ours (the default below) and the older ETL one (`sleep_wellness`, `general_health` for record
types it does not know). Both are accepted; `canonical_domain` folds aliases onto our names.
"""

from __future__ import annotations

from collections.abc import Mapping

RECORD_TYPES: tuple[str, ...] = (
    "BloodGlucoseRecord",
    "HeartRateRecord",
    "HeartRateVariabilityRmssdRecord",
    "SleepSessionRecord",
    "StepsRecord",
    "ActiveCaloriesBurnedRecord",
)

DEFAULT_CATEGORY_MAP: Mapping[str, str] = {
    "BloodGlucoseRecord": "metabolic_diabetes",
    "HeartRateRecord": "cardiovascular_fitness",
    "HeartRateVariabilityRmssdRecord": "autonomic_health",
    "SleepSessionRecord": "sleep_recovery",
    "StepsRecord": "physical_activity",
    "ActiveCaloriesBurnedRecord": "energy_metabolism",
}

# Unknown record types land here, as the ETL engine does.
FALLBACK_CATEGORY = "general_health"

DEFAULT_ALIASES: Mapping[str, str] = {
    "sleep_wellness": "sleep_recovery",
}

CATEGORIES: tuple[str, ...] = (*dict.fromkeys(DEFAULT_CATEGORY_MAP.values()), FALLBACK_CATEGORY)


def category_for(record_type: str, category_map: Mapping[str, str] | None = None) -> str:
    """The training category for a record type; unknown types fall back to `general_health`."""
    mapping = DEFAULT_CATEGORY_MAP if category_map is None else category_map
    return mapping.get(record_type, FALLBACK_CATEGORY)


def canonical_domain(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Fold an alias (e.g. the ETL's `sleep_wellness`) onto our category name."""
    table = DEFAULT_ALIASES if aliases is None else aliases
    key = name.strip().lower()
    return table.get(key, key)
