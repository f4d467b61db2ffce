"""Where the platform keeps its own records (as opposed to the data lake and MLflow).

- `feedback.py`: `FeedbackStore`, ratings of model answers in SQLite or Postgres.
- `feedback_cli.py`: the command line's `feedback add` / `feedback import`, built on the store.
"""
