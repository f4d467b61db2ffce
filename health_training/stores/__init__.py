"""Where the platform keeps its own records (as opposed to the data lake and MLflow).

- `feedback_store.py`: `FeedbackStore`, ratings of model answers in SQLite or Postgres.
- `review_queue.py`: `ReviewQueue`, the review of corrections and the raters' trust levels.
- `feedback_cli.py`: the command line's `feedback add` / `feedback import`, built on the store.
"""
