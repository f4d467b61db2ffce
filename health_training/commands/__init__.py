"""The `health-training` subcommands, by area; `health_training.cli` is the entry point and
builds the parser from each module's `add_parser`.

- `data.py`: generate, check-file, scrub (their flags are still declared in cli.py)
- `pipeline_outputs.py`: dataset manifest, report
- `base_models.py`: prepare-model, merge
- `model_registry.py`: registry list|promote|rollback
- `training_runs.py`: train
- `ratings.py`: feedback add|import
- `serve.py`: serve
- `clinic.py`: clinic (the simulated clinic rating a running server)
- `review.py`: review (the queue of corrections, raters' trust)
- `cli_errors.py`: how a command fails (one line, exit 2)
"""
