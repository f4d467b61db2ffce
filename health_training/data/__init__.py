"""Pure data plane: records, formats, validation, PHI, dedup, splits, drift and the fact vocabulary.

Nothing here imports dagster or reads environment variables: functions take plain values and
paths and return frozen dataclasses.
"""
