"""Dagster definitions, one folder per domain: data, training, registry, automation."""
