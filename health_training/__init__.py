"""health_training: a Dagster asset graph from monthly clinical-narrative data to fine-tuned LLMs."""

__version__ = "0.1.0"
