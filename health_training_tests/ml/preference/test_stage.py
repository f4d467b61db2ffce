"""The preference stage on the tiny random model: KTO and DPO passes that move the loss, save the
adapter, stay no-ops for a finished identity, skip (and say why) without enough data, and run from
`python -m health_training.ml.train` without Dagster."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from health_training.data.dataset import read_parquet_rows
from health_training.data.feedback import FeedbackRecord, StoredFeedback
from health_training.data.phi import Pseudonymizer
from health_training.ml.preference.config import PreferenceSettings
from health_training.ml.preference.examples import build_preference_dataset
from health_training.ml.preference.stage import preference_identity, train_with_preference
from health_training.ml.preference.store import held_out_of_folder, split_policy_of
from health_training.ml.train import main
from health_training.ml.training.config import TrainConfig
from health_training.ml.training.sft import train
from health_training_tests.tiny_training import glucose_examples, tiny_models_dir, write_dataset_dir

pytestmark = pytest.mark.slow

KTO = PreferenceSettings(
    method="kto",
    learning_rate=5e-3,
    max_steps=4,
    batch_size=4,
    warmup_ratio=0.0,
    lr_scheduler="constant",
    min_examples=8,
    save_steps=2,
    seed=0,
)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return tiny_models_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return write_dataset_dir(tmp_path_factory.mktemp("dataset"), glucose_examples(80))


def _records(dataset_dir: Path, n: int = 24) -> list[FeedbackRecord]:
    """The right answer rated 5 and one with a wrong number rated 1, for n train prompts."""
    rows = read_parquet_rows((dataset_dir / "train.parquet").read_bytes())[:n]
    out = []
    for r in rows:
        wrong = r["output"].replace("mg/dL", "0 mg/dL", 1)
        for answer, rating in ((r["output"], 5), (wrong, 1)):
            out.append(FeedbackRecord(r["instruction"], answer, rating, "1", context=r["input"]))
    return out


def _preference_data(dataset_dir: Path, n: int = 24):
    stored = [
        StoredFeedback(i, datetime(2025, 3, 1, tzinfo=UTC), None, "1", rec.rating, rec.query,
                       rec.response, None, rec.context)
        for i, rec in enumerate(_records(dataset_dir, n), start=1)
    ]  # fmt: skip
    ratios, salt = split_policy_of(json.loads((dataset_dir / "manifest.json").read_text()))
    return build_preference_dataset(
        stored, ratios=ratios, salt=salt, held_out=held_out_of_folder(dataset_dir)
    )


def _config(**preference) -> TrainConfig:
    return TrainConfig(
        base_model="tiny-random",
        epochs=1,
        max_steps=2,
        batch_size=2,
        grad_accum=1,
        learning_rate=5e-3,
        max_length=128,
        eval_steps=2,
        save_steps=2,
        gradient_checkpointing=False,
        max_eval_examples=4,
        early_stopping_patience=0,
        preference=replace(KTO, **preference),
    )


def _weights(adapter: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(adapter / "adapter_model.safetensors")


def test_kto_moves_the_loss_saves_the_adapter_and_is_a_no_op_when_finished(
    models_dir, dataset_dir, tmp_path
):
    data = _preference_data(dataset_dir)
    assert len(data.train()) >= KTO.min_examples
    events: list[dict] = []
    kw = dict(models_dir=models_dir, dataset_version="v1", progress=events.append)
    result = train_with_preference(_config(), dataset_dir, tmp_path, preference_data=data, **kw)
    sft = json.loads(
        (tmp_path / result.preference["sft_identity"] / "train_result.json").read_text()
    )
    assert result.identity == preference_identity(sft["identity"], data.version, KTO)
    assert result.identity != sft["identity"] and result.steps == KTO.max_steps
    assert result.preference["data_version"] == data.version
    assert result.preference["desirable"] > 0 and result.preference["undesirable"] > 0

    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == KTO.max_steps and losses[-1] < losses[0]
    margins = [h["rewards/margins"] for h in result.log_history if "rewards/margins" in h]
    assert margins[-1] > 0  # desirable answers gained on undesirable ones against the reference

    adapter = result.adapter_dir
    assert (adapter / "adapter_config.json").exists() and not (adapter / "ref").exists()
    tuned, start = _weights(adapter), _weights(Path(result.preference["sft_run_dir"]) / "adapter")
    assert tuned.keys() == start.keys()
    assert any(not (tuned[k] == start[k]).all() for k in tuned)
    assert any("preference plan: kto" in e.get("message", "") for e in events)

    events.clear()
    again = train_with_preference(_config(), dataset_dir, tmp_path, preference_data=data, **kw)
    assert again.identity == result.identity and again.steps == result.steps
    assert any("already finished" in e.get("message", "") for e in events)
    assert not any("loss" in e for e in events)  # nothing trained: neither SFT nor preference


def test_an_interrupted_preference_run_resumes_from_its_checkpoint(
    models_dir, dataset_dir, tmp_path
):
    import shutil

    data = _preference_data(dataset_dir)
    kw = dict(models_dir=models_dir, dataset_version="v1", preference_data=data)
    first = train_with_preference(_config(), dataset_dir, tmp_path, **kw)
    # as a run killed after its step-2 checkpoint leaves it: no adapter, no result, no step 4
    for name in ("adapter", "train_result.json", "checkpoints/checkpoint-4"):
        path = first.run_dir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    events: list[dict] = []
    resumed = train_with_preference(_config(), dataset_dir, tmp_path, progress=events.append, **kw)
    assert resumed.identity == first.identity and resumed.resumed_from == "checkpoint-2"
    assert resumed.steps == KTO.max_steps
    assert [e["step"] for e in events if "loss" in e] == [3, 4]  # only the missing steps ran
    assert (resumed.adapter_dir / "adapter_model.safetensors").exists()


def test_the_run_identity_holds_the_preference_data_version_and_settings():
    same = preference_identity("sft", "data1", KTO)
    assert preference_identity("sft", "data1", KTO) == same
    assert preference_identity("sft", "data2", KTO) != same
    assert preference_identity("sft2", "data1", KTO) != same
    assert preference_identity("sft", "data1", replace(KTO, beta=0.2)) != same


def test_dpo_trains_on_pairs(models_dir, dataset_dir, tmp_path):
    data = _preference_data(dataset_dir)
    result = train_with_preference(
        _config(method="dpo", max_steps=2, min_examples=4),
        dataset_dir,
        tmp_path,
        preference_data=data,
        models_dir=models_dir,
        dataset_version="v1",
    )
    assert result.preference["method"] == "dpo" and result.preference["pairs"] > 0
    assert result.steps == 2 and (result.adapter_dir / "adapter_model.safetensors").exists()
    assert [h["step"] for h in result.log_history if "loss" in h] == [1, 2]


def test_too_few_examples_skip_the_stage_and_say_why(models_dir, dataset_dir, tmp_path):
    data = _preference_data(dataset_dir, n=3)
    kw = dict(models_dir=models_dir, dataset_version="v1")
    sft = train(_config(), dataset_dir, tmp_path, **kw)
    result = train_with_preference(_config(), dataset_dir, tmp_path, preference_data=data, **kw)
    assert result.identity == sft.identity and result.adapter_dir == sft.adapter_dir
    assert "fewer than preference.min_examples=8" in result.preference["skipped"]
    # a profile without the section, or with it disabled, never runs the stage
    off = train_with_preference(
        replace(_config(), preference=replace(KTO, enabled=False)),
        dataset_dir,
        tmp_path,
        preference_data=data,
        **kw,
    )
    assert off.identity == sft.identity and off.preference is None


def test_the_command_line_runs_sft_then_the_preference_stage(
    models_dir, dataset_dir, tmp_path, capsys
):
    from health_training.stores.feedback_store import FeedbackStore

    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = FeedbackStore(url)
    store.add_many(_records(dataset_dir), Pseudonymizer(b"k" * 32))
    store.dispose()
    profile = tmp_path / "tiny.yaml"
    profile.write_text(
        "base_model: tiny-random\nmax_steps: 2\nbatch_size: 2\ngrad_accum: 1\nmax_length: 128\n"
        "eval_steps: 2\nsave_steps: 2\nmax_eval_examples: 4\nearly_stopping_patience: 0\n"
        "gradient_checkpointing: false\n"
        "preference: {method: kto, max_steps: 2, batch_size: 4, min_examples: 8, seed: 0}\n"
    )
    code = main(
        [str(profile), "--dataset", str(dataset_dir), "--output", str(tmp_path / "runs"),
         "--models-dir", str(models_dir), "--feedback", url]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr()
    summary = json.loads(printed.out[printed.out.index("{\n") :])  # the summary, indented
    assert summary["preference"]["method"] == "kto" and summary["steps"] == 2
    assert Path(summary["adapter_dir"]).parent.name == summary["identity"]
    assert "preference plan: kto" in printed.out
