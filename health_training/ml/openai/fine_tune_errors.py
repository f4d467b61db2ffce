"""Why an OpenAI fine-tuning job did not start or did not produce a model.

`DatasheetError` is a `ValueError` (the input is wrong); the others are `FineTuneError`s, which
the asset turns into a Dagster failure. `JobCancelled` covers both a stopped run and a job
cancelled from outside; `JobDeadlineExceeded` is also a `TimeoutError`.
"""

from __future__ import annotations


class FineTuneError(RuntimeError):
    """A fine-tuning job that could not start, or did not produce a model."""


class DatasheetError(ValueError):
    """The datasheet is missing, unreadable, or leaves a required field empty."""


class JobFailed(FineTuneError):
    pass


class JobCancelled(FineTuneError):
    pass


class JobDeadlineExceeded(FineTuneError, TimeoutError):
    pass
