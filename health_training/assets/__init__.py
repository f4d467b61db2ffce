"""Dagster glue, one module per stage: each asset reads its inputs, calls one pure function,
stores the result through a resource and returns a MaterializeResult with metadata for people."""
