"""The server's small parts on their own: keys, the cache, stop sequences, the bind rule, the
guard's wording, and `health-training serve` refusing to listen without keys."""

from __future__ import annotations

import itertools
import threading
import time
from types import SimpleNamespace

import pytest

from health_training.cli import main
from health_training.serving.backends.generation import StopScanner
from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.auth import ANONYMOUS, KeyRing
from health_training.serving.http.keys import KeyConfigError, key_id_of, keys_from_config
from health_training.serving.number_guard import check_numbers
from health_training.serving.response_cache import CachedAnswer, ResponseCache
from health_training.serving.settings import check_bind, is_loopback
from health_training_tests.events import DEADLINE, wait_until

SECRET = b"s" * 32
Q1, Q2, ADM = ("q1" * 16, "q2" * 16, "adm" * 11)  # 32-33 characters


def test_keyring_checks_hmacs_scopes_and_separates_admin():
    keys = keys_from_config(SECRET, plain=[Q1, Q2], admin=ADM)
    ring = KeyRing(keys, SECRET)
    q2 = ring.check(f"Bearer {Q2}", "generate")
    assert q2.key_id == key_id_of(SECRET, Q2) and q2.tenant == "default" and not q2.admin
    assert q2.key_id.startswith("k_") and len(q2.key_id) == 18
    assert ring.check(f"Bearer {ADM}", "generate").admin  # the admin key may query too
    assert ring.check(f"bearer {ADM}", "admin").admin
    for header, scope, status in [
        (None, "generate", 401),
        ("Bearer nope", "generate", 401),
        (f"Basic {Q1}", "generate", 401),
        (f"Bearer {Q1}", "admin", 403),
        ("Bearer nope", "admin", 401),
    ]:
        with pytest.raises(OpenAIError) as err:
            ring.check(header, scope)
        assert err.value.status == status, (header, scope)
    open_ring = KeyRing((), b"")
    assert open_ring.check(None, "generate").key_id == ANONYMOUS
    with pytest.raises(OpenAIError) as err:
        open_ring.check(f"Bearer {ADM}", "admin")
    assert err.value.code == "admin_disabled"


def test_key_ids_depend_on_the_secret_and_short_keys_are_refused():
    # An unsalted hash of a short key could be recovered by guessing; an HMAC needs the secret.
    assert key_id_of(SECRET, Q1) != key_id_of(b"t" * 32, Q1)
    with pytest.raises(KeyConfigError, match="at least 32"):
        keys_from_config(SECRET, plain=["k1"])
    with pytest.raises(KeyConfigError, match="secret"):
        keys_from_config(b"short", plain=[Q1])
    text = f"keys:\n  - key: {Q1}\n    tenant: clinic-a\n    scopes: [generate]\n"
    (key,) = keys_from_config(SECRET, key_file_text=text)
    assert key.tenant == "clinic-a" and key.scopes == {"generate"}
    ring = KeyRing((key,), SECRET)
    with pytest.raises(OpenAIError) as err:
        ring.check(f"Bearer {Q1}", "feedback")
    assert err.value.status == 403 and err.value.code == "missing_scope"
    with pytest.raises(KeyConfigError, match="scopes"):
        keys_from_config(SECRET, key_file_text=f"keys:\n  - key: {Q1}\n    scopes: [root]\n")


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


def test_guard_refuses_a_comparison_its_own_numbers_contradict():
    """Both numbers are the request's or the reference table's, so the number rule passes; the
    verdict between them is false, and that makes the answer ungrounded too."""
    source = "I walked 6,800 steps today. Did I reach the goal?"
    wrong = check_numbers("Your 6,800 steps are at or above the 10,000 steps daily target.", source)
    assert wrong.unsupported == () and wrong.contradicted == (
        "6,800 steps are at or above the 10,000 steps",
    )
    assert not wrong.grounded
    assert wrong.as_dict()["contradicted_comparisons"] == list(wrong.contradicted)
    right = check_numbers("Your 6,800 steps are short of the 10,000 steps daily target.", source)
    assert right.grounded and right.contradicted == ()


def test_serve_refuses_other_addresses_without_keys(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("HEALTH_TRAINING_API_KEYS", raising=False)
    monkeypatch.setenv("HEALTH_TRAINING_HOME", str(tmp_path))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in capsys.readouterr().err
    assert main(["serve", "--backend", "upstream"]) == 2
    assert "--upstream-url" in capsys.readouterr().err


def test_serve_refuses_short_keys_at_start(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HEALTH_TRAINING_HOME", str(tmp_path))
    monkeypatch.setenv("HEALTH_TRAINING_API_KEYS", "k1")
    monkeypatch.delenv("HEALTH_TRAINING_SERVER_SECRET", raising=False)
    assert main(["serve"]) == 2
    assert "at least 32" in capsys.readouterr().err


def test_the_server_secret_is_made_once_and_kept(monkeypatch, tmp_path):
    from health_training.serving.server import server_secret

    monkeypatch.delenv("HEALTH_TRAINING_SERVER_SECRET", raising=False)
    first = server_secret(tmp_path)
    assert len(first) >= 32 and server_secret(tmp_path) == first  # key ids survive restarts
    assert (tmp_path / "server_secret").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("HEALTH_TRAINING_SERVER_SECRET", "short")
    with pytest.raises(ValueError, match="at least 32"):
        server_secret(tmp_path)


class _Job:
    """What the work queue needs of a request."""

    key, alone, done = "base", False, False
    ids = itertools.count()

    def __init__(self, request_id: str | None = None):
        self.cancelled, self.errors = threading.Event(), []
        self.request_id = request_id or f"r{next(self.ids)}"

    def fail(self, error):
        self.errors.append(error)


def _work_queue(run_batch, clock=time.monotonic, **settings):
    from health_training.serving.backends.work_queue import WorkQueue
    from health_training.serving.http.prometheus import ServingMetrics

    fields = dict(max_queue=4, retry_after_s=0.5, batch_window_s=0.0, max_batch=1,
                  worker_stall_s=60.0, supervise_s=3600.0) | settings  # fmt: skip
    return WorkQueue(run_batch, SimpleNamespace(**fields), ServingMetrics(), clock=clock)


def test_a_queue_that_closes_fails_what_is_left_with_a_503():
    """Shutdown drains with a deadline: requests still queued when it passes get a 503."""
    release = threading.Event()
    queue = _work_queue(lambda batch: release.wait())
    jobs = [_Job() for _ in range(3)]
    for job in jobs:
        queue.submit(job)
    closing = threading.Thread(target=queue.close, args=(0.0,))
    closing.start()
    closing.join(timeout=5)  # a deadline of 0 s: it does not wait for the held batch
    release.set()
    assert [e.status for job in jobs for e in job.errors] == [503, 503, 503]
    with pytest.raises(OpenAIError) as err:
        queue.submit(_Job())
    assert err.value.status == 503


def test_latency_first_admits_only_into_a_batch_that_has_not_started():
    """max_queue 0: while a batch decodes, nothing waits for it (429 at once); Retry-After says
    when the batch should end (the last batch took 30 s on the test's clock); no batch ever
    holds more than max_batch."""
    now = [0.0]
    started, release, batches = threading.Event(), threading.Event(), []

    def run_batch(batch):
        batches.append(len(batch))
        started.set()
        release.wait()
        release.clear()
        now[0] += 30.0  # the batch "takes" 30 s

    # A long window: the batch starts when its two rows are there, not when time runs out.
    queue = _work_queue(run_batch, clock=lambda: now[0], max_queue=0, max_batch=2,
                        batch_window_s=DEADLINE)  # fmt: skip
    first = _Job()
    queue.submit(first)
    queue.submit(_Job())
    with pytest.raises(OpenAIError) as err:  # forming: the batch is full, nobody may wait
        queue.submit(_Job())
    started.wait()
    with pytest.raises(OpenAIError) as err:  # decoding: refused, told the floor (no estimate)
        queue.submit(_Job())
    assert err.value.status == 429 and err.value.code == "queue_full"
    assert err.value.headers == {"Retry-After": "1", "retry-after-ms": "500"}
    queue.submit(_Job(first.request_id))  # its second decode (regenerate) is not refused
    started.clear()
    release.set()

    def admitted(job):
        try:
            queue.submit(job)
        except OpenAIError:
            return False
        return True

    wait_until(lambda: admitted(_Job()), "the batch to end and a request to be admitted")
    started.wait()  # the retry and that request
    now[0] += 10.0  # 10 s into a batch expected to take 30 s
    with pytest.raises(OpenAIError) as err:
        queue.submit(_Job())
    assert err.value.headers == {"Retry-After": "20", "retry-after-ms": "20000"}
    release.set()
    wait_until(lambda: len(batches) == 2 and admitted(_Job()), "the second batch to end")
    assert batches == [2, 2]
    queue.close(0.0)


def test_a_batch_whose_rows_are_all_answered_no_longer_holds_the_model():
    """A client that got its answer may ask again before the worker marks its batch finished;
    the latency profile admits it (a 429 there made an idle server refuse its one client)."""
    answered, release = threading.Event(), threading.Event()

    def run_batch(batch):
        for job in batch:
            job.done = True  # the answer is sent: the client has it
        answered.set()
        release.wait()  # the worker has not yet come back for the next batch

    queue = _work_queue(run_batch, max_queue=0, max_batch=1)
    queue.submit(_Job())
    answered.wait()
    queue.submit(_Job())  # admitted: no 429
    with pytest.raises(OpenAIError):  # the model is still one batch at a time
        queue.submit(_Job())
    release.set()
    queue.close(DEADLINE)


def test_a_throughput_queue_lets_max_queue_wait_behind_the_batch():
    started, release = threading.Event(), threading.Event()
    queue = _work_queue(lambda batch: (started.set(), release.wait()), max_queue=2, max_batch=2,
                        batch_window_s=DEADLINE)  # fmt: skip
    queue.submit(_Job())
    queue.submit(_Job())
    started.wait()
    queue.submit(_Job())
    queue.submit(_Job())  # two wait while the batch decodes
    with pytest.raises(OpenAIError) as err:
        queue.submit(_Job())
    assert err.value.status == 429 and "at most 2 wait" in err.value.message
    release.set()
    queue.close(DEADLINE)


def test_quota_buckets_refill_at_their_rate():
    from health_training.serving.http.prometheus import ServingMetrics
    from health_training.serving.http.quotas import Quotas

    now = [0.0]
    settings = SimpleNamespace(requests_per_minute=60, request_burst=2, tokens_per_minute=600,
                               feedback_per_minute=0, feedback_burst=0)  # fmt: skip
    quotas = Quotas(settings, ServingMetrics(), clock=lambda: now[0])
    quotas.admit("requests", "k_a")
    quotas.admit("requests", "k_a")
    with pytest.raises(OpenAIError) as err:
        quotas.admit("requests", "k_a")
    assert err.value.status == 429 and err.value.headers == {"Retry-After": "1"}
    quotas.admit("requests", "k_b")  # another key has its own bucket
    now[0] = 1.0  # one request a second comes back
    quotas.admit("requests", "k_a")
    quotas.charge_tokens("k_a", 1200)  # 600 in debt at t=1: 60 s of refill, 31 s left at t=30
    now[0] = 30.0
    with pytest.raises(OpenAIError) as err:
        quotas.admit("requests", "k_a")
    assert "tokens quota" in err.value.message and err.value.headers["Retry-After"] == "31"
    for _ in range(5):
        quotas.admit("feedback", "k_a")  # a rate of 0 turns the kind off


def test_serving_yaml_fills_the_settings(tmp_path):
    from pathlib import Path

    from health_training.serving.settings import ServingSettings, load_serving_config

    config = load_serving_config()
    settings = ServingSettings("m", "b", Path("models"), Path("work"), **config)
    assert settings.max_queue == config["max_queue"] and settings.metrics_access == "key"
    bad = tmp_path / "serving.yaml"
    bad.write_text("bounds:\n  max_qeue: 3\n")
    with pytest.raises(ValueError, match="bounds.max_qeue is not a serving setting"):
        load_serving_config(bad)


def test_the_admission_profile_is_picked_from_serving_yaml(tmp_path):
    from health_training.serving.settings import load_serving_config

    latency, throughput = (
        load_serving_config(admission=name) for name in ("latency", "throughput")
    )
    assert load_serving_config() == latency  # the shipped default is latency-first
    assert latency["max_queue"] == 0 and throughput["max_queue"] > 0
    assert latency["max_batch"] < throughput["max_batch"]
    with pytest.raises(ValueError, match="admission profile 'fast' is not one of"):
        load_serving_config(admission="fast")
    bad = tmp_path / "serving.yaml"
    bad.write_text("admission:\n  profile: mine\n  mine:\n    retry_after_s: 3\n")
    with pytest.raises(ValueError, match="admission.mine.retry_after_s is not an admission"):
        load_serving_config(bad)
