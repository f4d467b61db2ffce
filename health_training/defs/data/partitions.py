"""The monthly partitions of the data plane: one partition per ETL month, from January 2025."""

import dagster as dg

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2025-01-01")


def month_of(partition_key: str) -> str:
    """`2025-03-01` → `2025-03`, the form used in storage paths."""
    return partition_key[:7]
