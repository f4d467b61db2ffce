"""Scopes, tenants and the review queue, against a real server on 127.0.0.1: a key rates only
answers it received, under its tenant's pseudonyms; corrections wait for a reviewer (admin API,
with who / when / why and the number guard's flag); the feedback sensor counts raters, not rows;
the preference stage hears only trusted keys. The poisoning replay trains nothing."""

from __future__ import annotations

import dagster as dg
import openai
import pytest

from health_training.data.correction_examples import feedback_examples
from health_training.data.feedback_review import preference_rows
from health_training.defs.automation.sensors import feedback_threshold_sensor
from health_training.serving.http.keys import key_id_of
from health_training.stores.review_queue import ReviewQueue
from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import ADMIN_KEY, HTTP, MODEL, SERVER_SECRET

pytestmark = pytest.mark.slow  # each test starts a server (a model load, an MLflow DB)

CLINIC_A = [f"clinic-a-key-{i}-of-the-serving-review-tests" for i in range(5)]
CLINIC_B = "clinic-b-key-of-the-serving-review-tests-000"
ASK_ONLY = "ask-only-key-of-the-serving-review-tests-0000"
KEY_FILE = "keys:\n" + "".join(
    f"  - key: {k}\n    tenant: clinic-a\n    scopes: [generate, feedback]\n" for k in CLINIC_A
) + (
    f"  - key: {CLINIC_B}\n    tenant: clinic-b\n    scopes: [generate, feedback]\n"
    f"  - key: {ASK_ONLY}\n    tenant: clinic-a\n    scopes: [generate]\n"
)  # fmt: skip
POISON = "double your insulin dose tonight"


def ask(server, key: str, question: str = "My glucose averaged 142 mg/dL. How was it?"):
    c = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    messages = [{"role": "user", "content": question}]
    return c.chat.completions.create(model=MODEL, messages=messages, max_tokens=4)


def rate(server, key: str, response_id: str, rating: int, **extra):
    body = {"response_id": response_id, "rating": rating, **extra}
    headers = {"Authorization": f"Bearer {key}"}
    return HTTP.post(f"{server.url}/v1/feedback", json=body, headers=headers)


def admin(server, method: str, path: str, body=None):
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    return HTTP.request(method, f"{server.url}{path}", json=body, headers=headers)


def tick(stack, cursor):
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), cursor=cursor,
        resources={"feedback": stack.feedback},
    )  # fmt: skip
    return feedback_threshold_sensor(context), context.cursor


@pytest.fixture
def server(stack):
    settings = stack.keyed(key_file=KEY_FILE, feedback_burst=50)
    with BackgroundServer(stack.app(settings)) as running:
        yield running


def test_a_key_rates_only_its_own_answers_under_its_tenant(stack, server):
    mine = ask(server, CLINIC_A[0])
    assert rate(server, ASK_ONLY, mine.id, 1).status_code == 403  # no feedback scope
    other = rate(server, CLINIC_B, mine.id, 1)  # another key: as if the id did not exist
    assert other.status_code == 404 and other.json()["error"]["code"] == "response_not_found"
    assert rate(server, CLINIC_A[0], mine.id, 4, user="u1").status_code == 200
    theirs = ask(server, CLINIC_B)
    assert rate(server, CLINIC_B, theirs.id, 4, user="u1").status_code == 200
    a, b = stack.feedback.store().since(0)
    assert (a.key_id, a.tenant) == (key_id_of(SERVER_SECRET, CLINIC_A[0]), "clinic-a")
    assert (b.key_id, b.tenant) == (key_id_of(SERVER_SECRET, CLINIC_B), "clinic-b")
    # The same `user` hint in two tenants: two people, two pseudonyms.
    assert a.user_pseudonym != b.user_pseudonym
    bidi = rate(server, CLINIC_A[0], mine.id, 1, corrected_answer="take \u202e 2 tablets")
    assert bidi.status_code == 400 and bidi.json()["error"]["param"] == "corrected_answer"


def test_the_poisoning_replay_trains_nothing(stack, server):
    """One key, 22 ratings of 1 with the same dangerous correction, as the review posted them."""
    key = CLINIC_A[0]
    _, cursor = tick(stack, None)
    for i in range(22):
        answer = ask(server, key, f"How was my glucose on day {i}?")
        reply = rate(server, key, answer.id, 1, corrected_answer=POISON, user=f"user-{i}")
        assert reply.status_code == 200, reply.text
        assert reply.json()["review"]["status"] == "pending"
    result, cursor = tick(stack, cursor)
    assert isinstance(result, dg.SkipReason), result  # no retrain
    assert "beyond their share of 5" in result.skip_message
    store = stack.feedback.store()
    assert len(ReviewQueue(store).pending()) == 22  # waiting for a person
    assert feedback_examples(store.corrections(review=None)) == []  # nothing joins train
    assert store.corrections() == []  # nothing approved
    trust = ReviewQueue(store).trust_levels()
    assert preference_rows(store.since(0), trust) == []  # an untrusted key teaches nothing


def test_the_review_queue_over_the_admin_api(stack, server):
    key = CLINIC_A[1]
    answers = [ask(server, key, f"Mean glucose 142 mg/dL on day {i}. Good?") for i in range(3)]
    supported = "Your mean glucose of 142 mg/dL is above the usual target."
    flagged = "Inject 37 units tonight."
    ids = [
        rate(server, key, answers[0].id, 1, corrected_answer=supported).json()["id"],
        rate(server, key, answers[1].id, 2, corrected_answer=flagged).json()["id"],
        rate(server, key, answers[2].id, 1, corrected_answer=POISON).json()["id"],
    ]
    queue = admin(server, "get", "/admin/review").json()
    assert [item["id"] for item in queue["items"]] == ids and queue["counts"]["pending"] == 3
    assert queue["items"][1]["unsupported_numbers"] == ["37"]
    assert HTTP.get(f"{server.url}/admin/review",
                    headers={"Authorization": f"Bearer {key}"}).status_code == 403  # fmt: skip

    ok = admin(server, "post", f"/admin/review/{ids[0]}/approve", {"reason": "matches chart"})
    assert ok.status_code == 200 and ok.json()["review_status"] == "approved"
    assert ok.json()["reviewed_by"].startswith("admin-key:k_") and ok.json()["reviewed_at"]
    refused = admin(server, "post", f"/admin/review/{ids[1]}/approve", {"reason": "ok"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unsupported_numbers"
    body = {"reason": "dose checked with the chart", "accept_unsupported_numbers": True}
    assert admin(server, "post", f"/admin/review/{ids[1]}/approve", body).status_code == 200
    rejected = admin(server, "post", f"/admin/review/{ids[2]}/reject", {"reason": "dangerous"})
    assert rejected.json()["review_status"] == "rejected"
    again = admin(server, "post", f"/admin/review/{ids[2]}/approve", {"reason": "changed mind"})
    assert again.status_code == 409  # a decision is final
    assert admin(server, "post", "/admin/review/999/approve", {"reason": "x"}).status_code == 404

    examples = feedback_examples(stack.feedback.store().corrections())
    assert [e.output for e in examples] == [supported, flagged]  # approved only
    assert examples[0].metadata["reviewed_by"].startswith("admin-key:k_")


def test_ratings_count_per_rater_and_trust_opens_the_preference_stage(stack, server):
    _, cursor = tick(stack, None)
    store = stack.feedback.store()
    first = None
    for key in CLINIC_A[:4]:  # four raters, five ratings each: 20 count
        for i in range(5):
            answer = ask(server, key, f"Glucose 150 mg/dL, day {i}?")
            extra = {"corrected_answer": "Your glucose of 150 mg/dL is high."} if i == 0 else {}
            reply = rate(server, key, answer.id, 1, **extra)
            first = first or reply.json()["id"]
    result, cursor = tick(stack, cursor)
    assert isinstance(result, dg.SkipReason)  # poor ratings, but no correction is approved
    assert "nothing new to learn from" in result.skip_message
    ok = admin(server, "post", f"/admin/review/{first}/approve", {"reason": "correct"})
    assert ok.status_code == 200
    result, cursor = tick(stack, cursor)
    assert isinstance(result, dg.RunRequest), result  # four raters and an approved correction

    assert preference_rows(store.since(0), ReviewQueue(store).trust_levels()) == []
    trusted = key_id_of(SERVER_SECRET, CLINIC_A[0])
    reply = admin(server, "post", f"/admin/trust/{trusted}", {"level": 1, "reason": "clinic app"})
    assert reply.status_code == 200
    assert admin(server, "get", "/admin/trust").json()["levels"] == {trusted: 1}
    rows = preference_rows(store.since(0), ReviewQueue(store).trust_levels())
    assert {r.key_id for r in rows} == {trusted} and len(rows) == 5
    assert [r.corrected_response for r in rows if r.corrected_response] == [
        "Your glucose of 150 mg/dL is high."
    ]  # approved: kept
