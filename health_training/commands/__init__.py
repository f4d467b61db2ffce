"""The `health-training` subcommands, by area; `health_training.cli` is the entry point."""
