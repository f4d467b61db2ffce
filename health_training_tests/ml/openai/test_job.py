"""`wait_for_job`: backoff, unknown states and server errors, the deadline, stops, interrupts."""

from __future__ import annotations

import dagster as dg
import pytest

from health_training.ml import openai as oft
from health_training_tests.ml.openai.fake_openai import FakeOpenAI
from health_training_tests.ml.openai.support import FAST, HAPPY, client, create_job


def test_poll_intervals_back_off_exponentially_up_to_the_cap() -> None:
    intervals = oft.PollPolicy(interval_s=1, max_interval_s=5, backoff=2).intervals()
    assert [next(intervals) for _ in range(5)] == [1, 2, 4, 5, 5]


def test_unknown_states_and_server_errors_mean_keep_polling() -> None:
    logs: list[str] = []
    with FakeOpenAI(HAPPY, fail_gets=2) as api:
        job = oft.wait_for_job(client(api), create_job(api), FAST, log=logs.append)
    assert job.status == "succeeded" and api.cancelled == []
    assert "job ftjob-1: paused_for_review (unknown status, still waiting)" in logs
    assert sum("poll failed (InternalServerError" in line for line in logs) == 2
    assert "job ftjob-1 [info] Fine-tuning job started" in logs


def test_deadline_cancels_the_job_and_says_so() -> None:
    with FakeOpenAI(["running"]) as api:
        job_id = create_job(api)
        with pytest.raises(oft.JobDeadlineExceeded) as info:
            oft.wait_for_job(
                client(api), job_id, oft.PollPolicy(0.005, 0.02, deadline_s=0.2), log=[].append
            )
        assert api.cancelled == [job_id]
    assert str(info.value).startswith(
        "OpenAI fine-tuning job ftjob-1 did not finish within 0.2 s (last status: running); "
        "it was cancelled."
    )


def test_a_stopped_run_cancels_the_job() -> None:
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with FakeOpenAI(["running"]) as api:
        job_id = create_job(api)
        with pytest.raises(oft.JobCancelled, match="ftjob-1 cancelled: the run was stopped"):
            oft.wait_for_job(client(api), job_id, FAST, should_stop=should_stop, log=[].append)
        assert api.cancelled == [job_id] and api.polls == 3


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, dg.DagsterExecutionInterruptedError])
@pytest.mark.parametrize("where", ["should_stop", "sleep"])
def test_an_interrupt_cancels_the_job_and_propagates(
    interrupt: type[BaseException], where: str
) -> None:
    """Dagster turns run termination into DagsterExecutionInterruptedError inside the step."""
    polls: list[int] = []

    def after_two(*_: object) -> bool:
        polls.append(1)
        if len(polls) > 2:
            raise interrupt()
        return False

    hooks = {"should_stop": after_two} if where == "should_stop" else {"sleep": after_two}
    with FakeOpenAI(["running"]) as api:
        job_id = create_job(api)
        with pytest.raises(interrupt):
            oft.wait_for_job(client(api), job_id, FAST, log=[].append, **hooks)
        assert api.cancelled == [job_id]
