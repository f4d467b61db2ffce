"""Storage: the same behaviour on a local folder and on a real S3 endpoint (moto's server)."""

from __future__ import annotations

import pytest

from health_training.resources import PhiResource


@pytest.fixture(params=["local", "s3"])
def storage(request):
    return request.getfixturevalue(f"{request.param}_storage")


def test_write_read_list_delete(storage):
    storage.write_bytes("training/sleep_recovery/2025/01/a.jsonl", b"one\n")
    storage.write_bytes("training/sleep_recovery/2025/02/b.jsonl", b"two\n")
    storage.write_bytes("stage/x.json", b"{}")
    assert storage.read_bytes("training/sleep_recovery/2025/01/a.jsonl") == b"one\n"
    assert storage.list_keys("training/") == [
        "training/sleep_recovery/2025/01/a.jsonl",
        "training/sleep_recovery/2025/02/b.jsonl",
    ]
    assert storage.exists("stage/x.json") and not storage.exists("stage/y.json")
    storage.write_bytes("stage/x.json", b'{"v": 2}')  # overwrite replaces whole
    assert storage.read_bytes("stage/x.json") == b'{"v": 2}'
    storage.delete("stage/x.json")
    assert not storage.exists("stage/x.json")
    assert storage.read_optional("stage/x.json") is None
    with pytest.raises(FileNotFoundError, match="does not exist"):
        storage.read_bytes("stage/x.json")


def test_local_write_is_atomic_and_leaves_no_temp_files(local_storage, monkeypatch):
    import os

    local_storage.write_bytes("a/b.txt", b"old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        local_storage.write_bytes("a/b.txt", b"new")
    monkeypatch.undo()
    assert local_storage.read_bytes("a/b.txt") == b"old"
    assert local_storage.list_keys("a/") == ["a/b.txt"]
    assert not [
        p
        for p in (local_storage.uri("a/b.txt").rsplit("/", 1)[0],)
        if any(n.endswith(".tmp") for n in os.listdir(p))
    ]


def test_local_keys_cannot_escape_the_root(local_storage):
    with pytest.raises(ValueError, match="escapes"):
        local_storage.write_bytes("../outside.txt", b"x")


def test_s3_uri_names_bucket_and_prefix(s3_storage):
    assert s3_storage.uri("training/x.jsonl") == f"s3://{s3_storage.bucket}/health/training/x.jsonl"


def test_folders_round_trip_through_storage(storage, tmp_path):
    src = tmp_path / "adapter"
    (src / "sub").mkdir(parents=True)
    (src / "adapter_config.json").write_text("{}")
    (src / "sub" / "w.bin").write_bytes(b"\x00\x01")
    keys = storage.upload_dir(src, "models/runs/abc/adapter")
    assert keys == [
        "models/runs/abc/adapter/adapter_config.json",
        "models/runs/abc/adapter/sub/w.bin",
    ]
    out = storage.download_dir("models/runs/abc/adapter", tmp_path / "copy")
    assert (out / "sub" / "w.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(FileNotFoundError, match="holds nothing"):
        storage.download_dir("models/runs/missing", tmp_path / "none")


def test_production_needs_an_explicit_pseudonym_key(tmp_path):
    with pytest.raises(ValueError, match="HEALTH_TRAINING_PSEUDONYM_KEY is not set"):
        PhiResource(environment="production", key_file=str(tmp_path / "k")).pseudonymizer()
    assert not (tmp_path / "k").exists()  # production never falls back to a generated key
    keyed = PhiResource(environment="production", pseudonym_key="k" * 32).pseudonymizer()
    assert keyed("user_0001").startswith("u_")


def test_a_fresh_home_gets_its_own_private_key_and_keeps_it(tmp_path):
    key_file = tmp_path / "secrets" / "pseudonym.key"
    first = PhiResource(key_file=str(key_file))
    pseudonym = first.pseudonymizer()("user_0001")
    assert key_file.stat().st_mode & 0o777 == 0o600
    # The same installation later: the same pseudonym, so datasets stay consistent.
    assert PhiResource(key_file=str(key_file)).pseudonymizer()("user_0001") == pseudonym
    # Another installation: another key, another pseudonym, another fingerprint.
    other = PhiResource(key_file=str(tmp_path / "other" / "pseudonym.key"))
    assert other.pseudonymizer()("user_0001") != pseudonym
    assert other.fingerprint() != first.fingerprint()
    key_file.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        first.pseudonymizer()


def test_no_constant_key_is_left_in_the_package():
    from pathlib import Path

    import health_training

    root = Path(health_training.__file__).parent
    sources = [p.read_text() for p in root.rglob("*.py")]
    assert not any("development-pseudonym-key" in s for s in sources)
    assert not any('Pseudonymizer(b"' in s for s in sources)
