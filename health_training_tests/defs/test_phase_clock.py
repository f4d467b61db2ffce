"""The phase clock on real Dagster runs: the second run of the same phases logs each phase ahead
with what it took the first time, and the run gets its expected-end tag."""

import dagster as dg

from health_training.constants import EXPECTED_END_TAG
from health_training.defs.phase_clock import PhaseTime, announce_phase, phase_message


@dg.asset
def first_phase(context: dg.AssetExecutionContext) -> None:
    announce_phase(context)


@dg.asset(deps=[first_phase])
def second_phase(context: dg.AssetExecutionContext) -> None:
    announce_phase(context)


def _messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.all_logs(run_id)
    return [r.user_message for r in records if r.user_message.startswith("phase ")]


def test_a_second_run_knows_each_phase_and_the_runs_end():
    with dg.instance_for_test() as instance:
        first = dg.materialize([first_phase, second_phase], instance=instance)
        assert first.success
        said = _messages(instance, first.run_id)
        assert said[0].startswith("phase 1 of 2: first_phase (no earlier run to estimate from)")
        assert "second_phase ?" in said[0] and "never run before" in said[0]
        assert said[1].startswith("phase 2 of 2: second_phase (no earlier run")
        assert EXPECTED_END_TAG not in instance.get_run_by_id(first.run_id).tags

        second = dg.materialize([first_phase, second_phase], instance=instance)
        said = _messages(instance, second.run_id)
        assert said[0].startswith("phase 1 of 2: first_phase, ")
        assert f"last time (run {first.run_id[:8]})" in said[0]
        assert "then second_phase " in said[0] and "the run should end about" in said[0]
        assert "never run before" not in said[0]
        assert said[1].endswith("the run's last phase")
        assert instance.get_run_by_id(second.run_id).tags[EXPECTED_END_TAG].endswith("UTC")


def test_the_message_adds_known_times_and_names_unknown_phases():
    past = [PhaseTime("train", 600.0, "abcdef1234"), PhaseTime("evaluate", 300.0, "abcdef1234"),
            PhaseTime("register", None, None)]  # fmt: skip
    said = phase_message(past, position=2, total=4, now=0.0)
    assert said.startswith("phase 2 of 4: train, 10.0 min last time (run abcdef12)")
    assert "then evaluate 5.0 min, register ?" in said
    assert "about 00:15 UTC (15.0 min from now), later by what register take" in said
