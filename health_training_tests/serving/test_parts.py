"""The server's small parts on their own: keys, the cache, stop sequences, the bind rule, the
guard's wording, and `health-training serve` refusing to listen without keys."""

from __future__ import annotations

import pytest

from health_training.cli import main
from health_training.serving.auth import ANONYMOUS, KeyRing, hash_key
from health_training.serving.cache import CachedAnswer, ResponseCache
from health_training.serving.errors import OpenAIError
from health_training.serving.generation import StopScanner
from health_training.serving.guard import check_numbers
from health_training.serving.settings import check_bind, is_loopback


def test_keyring_compares_hashes_and_separates_admin():
    ring = KeyRing((hash_key("q1"), hash_key("q2")), hash_key("adm"))
    assert ring.check("Bearer q2", admin=False).key_id == hash_key("q2")[:12]
    assert ring.check("Bearer adm", admin=False).admin  # the admin key may query too
    assert ring.check("bearer adm", admin=True).admin
    for header, admin, status in [
        (None, False, 401),
        ("Bearer nope", False, 401),
        ("Basic q1", False, 401),
        ("Bearer q1", True, 403),
        ("Bearer nope", True, 401),
    ]:
        with pytest.raises(OpenAIError) as err:
            ring.check(header, admin=admin)
        assert err.value.status == status
    open_ring = KeyRing((), None)
    assert open_ring.check(None, admin=False).key_id == ANONYMOUS
    with pytest.raises(OpenAIError) as err:
        open_ring.check("Bearer adm", admin=True)
    assert err.value.code == "admin_disabled"


def test_cache_is_bounded_by_size_and_age():
    answer = CachedAnswer("ok", "stop", 3, 1)
    cache = ResponseCache(max_entries=2, ttl_s=600)
    cache.put("a", answer)
    cache.put("b", answer)
    assert cache.get("a") is answer  # "a" is now the most recent
    cache.put("c", answer)  # evicts "b", the least recently used
    assert cache.get("b") is None and cache.get("a") is answer and cache.get("c") is answer
    expired = ResponseCache(max_entries=10, ttl_s=-1)  # every entry is already past its age
    expired.put("a", answer)
    assert expired.get("a") is None and len(expired) == 0
    assert ResponseCache(max_entries=0, ttl_s=600).get("x") is None


@pytest.mark.parametrize(
    ("steps", "stops", "sent", "stopped"),
    [
        (["Hel", "Hello", "Hello wor", "Hello world"], (), "Hello world", False),
        (["Hi\n", "Hi\n\n", "Hi\n\nmore"], ("\n\n",), "Hi", True),
        (["Hi\n", "Hi\nthere"], ("\n\n",), "Hi\nthere", False),  # a partial stop, released
        (["caf\ufffd", "café"], (), "café", False),  # a split UTF-8 character waits
    ],
)
def test_stop_scanner(steps, stops, sent, stopped):
    scanner = StopScanner(stops)
    out = "".join(scanner.feed(text) for text in steps)
    out += scanner.flush(steps[-1])
    assert out == sent and scanner.stopped == stopped


def test_bind_rule():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert "loopback" in check_bind("127.0.0.1", keys_configured=False)
    assert "required" in check_bind("0.0.0.0", keys_configured=True)
    with pytest.raises(PermissionError, match="HEALTH_TRAINING_API_KEYS"):
        check_bind("0.0.0.0", keys_configured=False)


def test_guard_names_unsupported_numbers_as_written():
    source = "Mean glucose 142 mg/dL; slept 384 min of 417 min in bed; bedtime 22:45."
    ok = check_numbers("Glucose averaged 142 mg/dL, 92% sleep efficiency, bed at 22:45.", source)
    assert ok.grounded and ok.numbers == 3
    bad = check_numbers("Glucose was 150 mg/dL and you slept 7.5 h, up at 06:30.", source)
    assert not bad.grounded and bad.unsupported == ("150 mg/dL", "7.5 h", "06:30")


def test_serve_refuses_other_addresses_without_keys(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("HEALTH_TRAINING_API_KEYS", raising=False)
    monkeypatch.setenv("HEALTH_TRAINING_HOME", str(tmp_path))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in capsys.readouterr().err
    assert main(["serve", "--backend", "upstream"]) == 2
    assert "--upstream-url" in capsys.readouterr().err
