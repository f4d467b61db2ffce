"""The monthly partitions of the data plane: one partition per ETL month, from January 2025.

Keys are `2025-03`, the way people name a month (and the form storage paths use)."""

import dagster as dg

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2025-01", fmt="%Y-%m")
