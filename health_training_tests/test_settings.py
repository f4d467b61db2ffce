"""One way to read settings: the CLI, the model server and a Dagster run see the same values.

Secrets reach the definitions as `dg.EnvVar`, which only a run resolves; code outside a run gets
its resources from `health_training.resources.*_from_env()`, resolved by Dagster's own config
processing. The bug this guards against: outside a run the bucket was literally
"HEALTH_TRAINING_S3_BUCKET" and pseudonyms were keyed with b"HEALTH_TRAINING_PSEUDONYM_KEY".
"""

from __future__ import annotations

import types
import uuid
from pathlib import Path

import dagster as dg
import pytest

from health_training import cli
from health_training.data.phi import Pseudonymizer
from health_training.resources import PhiResource, phi_from_env, resources_from_env
from health_training.resources.environment import _phi, _storage

KEY = "k3y-" + "x" * 40
USER = "user_0007"


@pytest.fixture
def production_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> str:
    """The compose stack's settings: production, the lake on S3 (moto), a real key. Returns the
    bucket, created empty."""
    import boto3

    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    for name, value in {
        "HEALTH_TRAINING_ENV": "production",
        "HEALTH_TRAINING_HOME": str(tmp_path / "home"),
        "HEALTH_TRAINING_STORAGE": "s3",
        "HEALTH_TRAINING_S3_BUCKET": bucket,
        "HEALTH_TRAINING_S3_PREFIX": "",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "HEALTH_TRAINING_PSEUDONYM_KEY": KEY,
        "HEALTH_TRAINING_FEEDBACK_URL": f"sqlite:///{tmp_path / 'feedback.db'}",
    }.items():
        monkeypatch.setenv(name, value)
    return bucket


def _run_pseudonym() -> str:
    """The pseudonym a Dagster run computes with the definitions' own (EnvVar) resource."""

    @dg.asset
    def pseudonym(phi: PhiResource) -> str:
        return phi.pseudonymizer()(USER)

    result = dg.materialize([pseudonym], resources={"phi": resources_from_env()["phi"]})
    return result.output_for_node("pseudonym")


def _cli_pseudonym(monkeypatch: pytest.MonkeyPatch) -> str:
    """The pseudonym `health-training feedback add --user USER` stores."""
    from health_training.stores import feedback_cli

    seen: dict[str, str] = {}

    def capture(store, pseudonymize, **kwargs):
        seen["pseudonym"] = pseudonymize(kwargs["user_id"])
        return 1

    monkeypatch.setattr(feedback_cli, "add_feedback_cli", capture)
    argv = ["feedback", "add", "--query", "q", "--response", "r", "--rating", "5"]
    assert cli.main([*argv, "--model-version", "1", "--user", USER]) == 0
    return seen["pseudonym"]


def _server_pseudonym(monkeypatch: pytest.MonkeyPatch) -> str:
    """The pseudonymizer `health-training serve` builds its app with."""
    from health_training.serving import server
    from health_training.serving.http import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(app, "create_app", lambda settings, **kw: seen.update(kw))
    server.build_app(types.SimpleNamespace(dagster_host="127.0.0.1", dagster_port=3000))
    return seen["pseudonymize"](USER)  # type: ignore[operator]


def test_cli_server_and_run_pseudonyms_are_equal(production_env, monkeypatch):
    expected = Pseudonymizer(KEY.encode())(USER)
    assert _run_pseudonym() == expected
    assert _cli_pseudonym(monkeypatch) == expected
    assert _server_pseudonym(monkeypatch) == expected
    # The bug's value, for the record: keyed with the variable's name.
    assert expected != Pseudonymizer(b"HEALTH_TRAINING_PSEUDONYM_KEY")(USER)


def test_generate_writes_into_the_configured_bucket(production_env, s3_endpoint):
    import boto3

    argv = ["generate", "--months", "2025-01:2025-01", "--users", "2", "--seed", "1"]
    assert cli.main(argv) == 0
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=production_env).get("Contents", [])]
    assert keys and all(k.endswith(".jsonl") for k in keys), keys


def test_unresolved_values_are_errors_that_name_the_fix(production_env):
    """The definitions' resources used outside a run hold the variables' names: refused."""
    with pytest.raises(ValueError, match="phi_from_env"):
        _phi().pseudonymizer()
    with pytest.raises(ValueError, match="storage_from_env"):
        _storage().exists("x")


def test_an_unset_secret_is_one_line_with_the_fix(production_env, monkeypatch, capsys):
    monkeypatch.delenv("HEALTH_TRAINING_PSEUDONYM_KEY")
    with pytest.raises(ValueError, match="HEALTH_TRAINING_PSEUDONYM_KEY is not set: set it"):
        phi_from_env()
    argv = ["feedback", "add", "--query", "q", "--response", "r", "--rating", "5"]
    assert cli.main([*argv, "--model-version", "1", "--user", USER]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "openssl rand -hex 32" in err
