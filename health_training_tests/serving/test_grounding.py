"""Grounding through a real server on 127.0.0.1 and the `openai` client: the tiny random model
invents numbers freely, and in the default mode (regenerate) no answer leaves the server with a
number the request does not support: it is grounded as generated, regenerated under the number
constraint, or refused with 422 `ungrounded_answer`. Streams are constrained from the first
token; constrain mode always is; an upstream backend retries greedy; `--refuse-ungrounded` is
`--grounding refuse`."""

from __future__ import annotations

import dataclasses

import openai
import pytest

from health_training.ml.evaluation.grounding import check_grounding
from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import HTTP, MODEL

pytestmark = pytest.mark.slow  # each test starts a server (a model load, an MLflow DB)

# Raw completions the tiny model continues with noise digits (flag mode flags most of them).
PROMPTS = [f"Glucose {n} mg/dL on day {n}" for n in range(140, 150)]
CGM = "my cgm avg was 163 mg/dl and 62% in range, is that bad?"


def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="anything", max_retries=0)


def complete(c: openai.OpenAI, prompt: str, **kwargs) -> tuple[str, str | None]:
    """(outcome, text); a refusal must be the documented 422."""
    try:
        answer = c.completions.create(model=MODEL, prompt=prompt, max_tokens=8, **kwargs)
    except openai.UnprocessableEntityError as err:
        assert err.body["code"] == "ungrounded_answer"
        assert "does not support" in err.message
        return "refused", None
    extra = answer.model_extra["health_training"]
    text = answer.choices[0].text
    assert extra["grounded"] and extra["unsupported_numbers"] == []
    assert check_grounding(text, prompt).hallucinated == 0, (prompt, text)
    return extra["grounding"], text


def streamed(c: openai.OpenAI, prompt: str) -> tuple[str, str | None]:
    try:
        chunks = list(c.completions.create(model=MODEL, prompt=prompt, max_tokens=8, stream=True))
    except openai.APIError as err:  # an error event instead of the last chunk
        assert err.body["code"] == "ungrounded_answer"
        return "refused", None
    text = "".join(ch.choices[0].text for ch in chunks if ch.choices)
    assert check_grounding(text, prompt).hallucinated == 0, (prompt, text)
    return chunks[-1].model_extra["health_training"]["grounding"], text


def guard_counts(server) -> dict[str, float]:
    counts = {}
    for line in HTTP.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith("health_serving_guard_flags_total{"):
            counts[line.split('action="')[1].split('"')[0]] = float(line.split()[-1])
    return counts


def test_default_mode_regenerates_or_refuses_invented_numbers(stack):
    with BackgroundServer(stack.app()) as server:  # the default settings: regenerate
        assert HTTP.get(f"{server.url}/health").json()["grounding"] == "regenerate"
        c = client(server)
        whole = [complete(c, p) for p in PROMPTS]
        outcomes = [o for o, _ in whole]
        assert set(outcomes) <= {"as_generated", "regenerated", "refused"}
        # Flag mode flags most of these answers (test_api): regenerate caught them.
        assert outcomes.count("regenerated") + outcomes.count("refused") >= 3, outcomes

        # The cache holds the final answer: a regenerated one comes back as it was.
        again = [complete(c, p) for p, (o, _) in zip(PROMPTS, whole, strict=True) if o != "refused"]
        assert again == [w for w in whole if w[0] != "refused"]

        # A stream cannot take text back: it is constrained from its first token.
        streams = [streamed(c, p) for p in PROMPTS[:5]]
        assert {o for o, _ in streams} <= {"constrained", "refused"}

        # Sampled chat answers to a real question: grounded or refused, never anything else.
        for seed in range(4):
            try:
                chat = c.chat.completions.create(
                    model=MODEL,
                    messages=[{"role": "user", "content": CGM}],
                    max_tokens=16,
                    temperature=1.0,
                    seed=seed,
                )
            except openai.UnprocessableEntityError as err:
                assert err.body["code"] == "ungrounded_answer"
                continue
            text = chat.choices[0].message.content
            assert check_grounding(text, CGM).hallucinated == 0, text
            assert chat.model_extra["health_training"]["grounding"] in (
                "as_generated",
                "regenerated",
            )

        # Every answer counted by outcome (the chat answers add to these, hence >=).
        counts = guard_counts(server)
        every = outcomes + [o for o in outcomes if o != "refused"] + [o for o, _ in streams]
        for outcome in set(every):
            assert counts[outcome] >= every.count(outcome)


def test_constrain_mode_decodes_every_answer_under_the_constraint(stack):
    with BackgroundServer(stack.app(stack.settings(grounding="constrain"))) as server:
        c = client(server)
        outcomes = [complete(c, p, temperature=0.9)[0] for p in PROMPTS]
        assert set(outcomes) <= {"constrained", "refused"} and "constrained" in outcomes
        assert HTTP.get(f"{server.url}/health").json()["grounding"] == "constrain"


def test_upstream_regenerate_is_one_greedy_retry(stack):
    with BackgroundServer(stack.app(stack.settings(grounding="flag"))) as gpu:
        settings = stack.settings(
            backend="upstream", upstream_url=f"{gpu.url}/v1", work_dir=stack.root / "front"
        )
        with BackgroundServer(stack.app(settings)) as front:
            direct, c = client(gpu), client(front)
            greedy = [
                direct.completions.create(model=MODEL, prompt=p, max_tokens=8) for p in PROMPTS
            ]
            invented = [
                p
                for p, a in zip(PROMPTS, greedy, strict=True)
                if not a.model_extra["health_training"]["grounded"]
            ]
            assert invented
            # Greedy already: a retry would repeat the answer, so it is refused at once.
            assert complete(c, invented[0])[0] == "refused"
            # Sampled: an ungrounded sample is retried greedy; the greedy answer is ungrounded
            # too, so it ends refused; a grounded sample passes as generated.
            for seed in range(3):
                outcome, _ = complete(c, invented[0], temperature=1.0, seed=seed)
                assert outcome in ("as_generated", "refused")
            grounded = next(p for p in PROMPTS if p not in invented)
            assert complete(c, grounded, temperature=1.0, seed=0)[0] in (
                "as_generated",
                "regenerated",
            )
    with pytest.raises(ValueError, match="in-process backend"):
        dataclasses.replace(settings, grounding="constrain")


def test_refuse_ungrounded_is_an_alias_of_grounding_refuse(monkeypatch, tmp_path):
    from health_training import cli
    from health_training.serving import server

    monkeypatch.setenv("HEALTH_TRAINING_HOME", str(tmp_path))
    monkeypatch.delenv("HEALTH_TRAINING_API_KEYS", raising=False)
    started = []
    monkeypatch.setattr(server, "run_server", started.append)
    assert cli.main(["serve", "--refuse-ungrounded"]) == 0
    assert cli.main(["serve", "--grounding", "flag"]) == 0
    assert cli.main(["serve"]) == 0
    assert [s.grounding for s in started] == ["refuse", "flag", "regenerate"]
