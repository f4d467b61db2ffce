"""`POST /v1/feedback`: a rating tied to the answer's model version, question and answer, stored
PHI-scrubbed and pseudonymized through the feedback store, and counted by the feedback sensor's
next tick (evaluated with dagster's build_sensor_context) as one rater's share. Keys, tenants,
the review queue and the poisoning replay: test_review.py."""

from __future__ import annotations

import json

import dagster as dg
import openai
import pytest

from health_training.data.phi import scrub_phi
from health_training.defs.automation.sensors import feedback_threshold_sensor
from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import HTTP, MODEL

pytestmark = pytest.mark.slow  # each test starts a server (a model load, an MLflow DB)

PHI_QUESTION = "Call Dr. Alice Morgan at 555-123-4567: was my glucose of 142 mg/dL on day {n} ok?"


@pytest.fixture
def server(stack):
    with BackgroundServer(stack.app()) as running:
        yield running


def _tick(stack, cursor):
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        resources={"feedback": stack.feedback},
    )
    return feedback_threshold_sensor(context), context.cursor


def test_ratings_are_stored_scrubbed_and_counted_by_the_next_tick(stack, server):
    c = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
    first, cursor = _tick(stack, None)
    assert isinstance(first, dg.SkipReason) and "no ratings yet" in first.skip_message
    answers = [
        c.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": PHI_QUESTION.format(n=n)}],
            max_tokens=8,
        )
        for n in range(20)
    ]
    ids = []
    for a in answers:
        reply = HTTP.post(
            f"{server.url}/v1/feedback",
            json={
                "response_id": a.id,
                "rating": 1,
                "corrected_answer": "Your glucose averaged 142 mg/dL; call Alice Morgan.",
                "user": "user_0042",
            },
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["model_version"] == "base"
        ids.append(reply.json()["id"])
    assert len(set(ids)) == 20

    rows = stack.feedback.store().since(0)
    assert [r.id for r in rows] == ids
    row = rows[0]
    assert row.model_version == "base" and row.rating == 1
    given = answers[0].choices[0].message.content
    assert row.response == scrub_phi(given if given.strip() else "(empty answer)").text
    for text in (row.query, row.corrected_response):
        assert "Alice Morgan" not in text and "555-123-4567" not in text  # scrubbed
        assert "142 mg/dL" in text  # the measurement is kept
    assert row.user_pseudonym.startswith("u_") and "0042" not in row.user_pseudonym
    assert row.key_id == "loopback-anonymous" and row.tenant == "local"
    assert row.review_status == "pending"  # a correction waits for a reviewer

    result, cursor = _tick(stack, cursor)
    # 20 ratings of 1 from one key: 5 count (its share), the rest are ignored, and the
    # corrections are unreviewed: no retrain, and the skip reason says why.
    assert isinstance(result, dg.SkipReason), result
    assert "ignored 15 ratings from 1 rater(s) beyond their share of 5" in result.skip_message
    assert json.loads(cursor)["last_id"] == ids[-1]


def test_feedback_requests_are_validated(stack, server):
    c = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
    a = c.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "How did I sleep?"}], max_tokens=4
    )
    url = f"{server.url}/v1/feedback"
    for body, status, param in [
        ({"response_id": "chatcmpl-unknown", "rating": 3}, 404, "response_id"),
        ({"response_id": a.id, "rating": 6}, 400, "rating"),
        ({"response_id": a.id, "rating": "5"}, 400, "rating"),
        ({"response_id": a.id}, 400, "rating"),
        ({"response_id": a.id, "rating": 2, "corrected_answer": "a\x00b"}, 400, "corrected_answer"),
        ({"response_id": a.id, "rating": 2, "mood": "bad"}, 400, "mood"),
    ]:
        reply = HTTP.post(url, json=body)
        assert reply.status_code == status, (body, reply.text)
        assert reply.json()["error"]["param"] == param
    assert stack.feedback.store().max_id() == 0  # nothing bad was stored
    once = HTTP.post(url, json={"response_id": a.id, "rating": 4}).json()
    again = HTTP.post(url, json={"response_id": a.id, "rating": 4}).json()
    assert once["id"] == again["id"]  # a client's retry stores the rating once
    assert 'health_serving_feedback_total{rating="4"} 2.0' in HTTP.get(f"{server.url}/metrics").text


def test_the_clinic_command_asks_the_server_and_rates_through_feedback(stack, server):
    """`health-training clinic`'s loop: questions over the OpenAI API, `concurrency` at a time,
    every answer rated by the simulated clinic and stored through POST /v1/feedback."""
    from health_training.commands.clinic import run_clinic
    from health_training.ml.preference.simulated_clinic import SimulatedClinic

    rows = [
        {
            "instruction": "Summarize my glucose day.",
            "input": f"Mean {120 + i} mg/dL over 96 readings.",
            "output": f"Your mean glucose was {120 + i} mg/dL over 96 readings.",
            "facts": {"mean_glucose_mg_dl": 120 + i},
        }
        for i in range(6)
    ]
    summary = run_clinic(server.url, rows, concurrency=3, corrections=True)
    assert summary["asked"] == 6 and summary["model_versions"] == {"base": 6}
    assert sum(summary["ratings"].values()) == 6
    stored = stack.feedback.store().since(0)
    assert len(stored) == 6 and {r.model_version for r in stored} == {"base"}
    by_input = {r.query: r for r in stored}
    assert len(by_input) == 6  # one rating per question, none lost to concurrency
    for row in rows:
        got = next(r for q, r in by_input.items() if row["input"] in q)
        expected = SimulatedClinic(corrects=True).rate_row(row, got.response)
        assert got.rating == expected.rating
        assert got.corrected_response == (row["output"] if got.rating <= 2 else None)
    assert summary["corrections"] == sum(r.rating <= 2 for r in stored)
