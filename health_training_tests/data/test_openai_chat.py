"""Tests for the OpenAI chat export and the cookbook's data-preparation checks.

The toy file and the cl100k_base BPE file come from ../shared/data (public, read-only fixtures).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from health_training.data.chat_tokens import approximate_counter, select_counter, tiktoken_counter
from health_training.data.openai_chat import (
    DEFAULT_SYSTEM_PROMPT,
    FORMAT_ERROR_CLASSES,
    PRICE_TABLE,
    Distribution,
    analyze,
    check_format,
    default_n_epochs,
    num_tokens_from_messages,
    to_chat_example,
    to_jsonl,
)
from health_training_tests.network import refuse_network

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
TOY_FILE = SHARED_DATA / "openai_toy_chat_fine_tuning.jsonl"
TIKTOKEN_DIR = SHARED_DATA / "tiktoken"

GOOD = {
    "messages": [
        {"role": "system", "content": "Be precise."},
        {"role": "user", "content": "Resting heart rate 58 bpm: normal?"},
        {"role": "assistant", "content": "Yes, 58 bpm is within the usual adult range."},
    ]
}


def _need_shared() -> None:
    if not TOY_FILE.exists() or not TIKTOKEN_DIR.exists():
        pytest.skip(f"{SHARED_DATA} is not present (the shared data folder sits beside the repo)")


@pytest.fixture(scope="module")
def toy() -> list[dict]:
    _need_shared()
    return [json.loads(line) for line in TOY_FILE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def cl100k():
    _need_shared()
    counter = tiktoken_counter(TIKTOKEN_DIR)
    assert counter is not None, f"cl100k_base should load from {TIKTOKEN_DIR}"
    return counter


def test_toy_file_matches_the_cookbooks_published_stats(toy, cl100k) -> None:
    report = analyze(toy, cl100k, tokenizer_name="cl100k_base", token_limit=4096)
    assert report.n_examples == 5
    assert report.ok and set(report.format_errors) == set(FORMAT_ERROR_CLASSES)
    assert report.missing_system == 1
    assert report.missing_user == 1
    assert report.n_too_long == 1
    # The notebook's printed distributions (min / max / mean / median).
    assert (report.messages_per_example.min, report.messages_per_example.max) == (2, 9)
    assert report.messages_per_example.mean == pytest.approx(3.8)
    tokens = report.tokens_per_example
    assert (tokens.min, tokens.max, tokens.median) == (26, 8032, 45)
    assert tokens.mean == pytest.approx(1648.4)
    assistant = report.assistant_tokens_per_example
    assert (assistant.min, assistant.max, assistant.median) == (4, 8000, 10)
    assert assistant.mean == pytest.approx(1610.2)
    # "~4306 tokens charged", "20 epochs", "~86120 tokens".
    assert report.billing_tokens == 4306
    assert report.n_epochs == 20
    assert report.training_tokens_charged == 86120
    assert report.tokenizer == "cl100k_base"


def test_default_limit_and_cost_estimate(toy, cl100k) -> None:
    report = analyze(toy, cl100k, tokenizer_name="cl100k_base")
    assert report.token_limit == 16385 and report.n_too_long == 0
    assert report.billing_tokens == 8242  # 5 x 1648.4, nothing capped
    price = PRICE_TABLE["gpt-4o-mini-2024-07-18"]["price_per_1m_training_tokens"]
    assert report.estimated_cost_usd == pytest.approx(20 * 8242 / 1e6 * price)
    json.dumps(report.to_dict())  # JSON-ready for asset metadata


def test_no_price_model_skips_the_dollar_estimate(toy, cl100k) -> None:
    report = analyze(toy, cl100k, tokenizer_name="cl100k_base", price_model=None)
    assert report.estimated_cost_usd is None


def test_unknown_price_model_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="gpt-4o-mini-2024-07-18"):
        analyze([GOOD], len, tokenizer_name="chars", price_model="gpt-9")


def _with_messages(*messages: object) -> dict:
    return {"messages": list(messages)}


USER = {"role": "user", "content": "hi"}
ASSISTANT = {"role": "assistant", "content": "hello"}


ERROR_CASES: list[tuple[object, str]] = [
    (["not", "a", "dict"], "data_type"),
    ({"conversation": [USER, ASSISTANT]}, "missing_messages_list"),
    ({"messages": []}, "missing_messages_list"),
    ({"messages": "hi"}, "missing_messages_list"),
    (_with_messages({"role": "user"}, ASSISTANT), "message_missing_key"),
    (_with_messages({**USER, "tone": "calm"}, ASSISTANT), "message_unrecognized_key"),
    (_with_messages({"role": "doctor", "content": "hi"}, ASSISTANT), "unrecognized_role"),
    (_with_messages({"role": "user", "content": ""}, ASSISTANT), "missing_content"),
    (_with_messages({"role": "user", "content": 42}, ASSISTANT), "missing_content"),
    (_with_messages(USER), "example_missing_assistant_message"),
]


@pytest.mark.parametrize(("example", "error"), ERROR_CASES)
def test_each_error_class_is_detected(example: object, error: str) -> None:
    errors = check_format([GOOD, example])
    assert errors[error] == 1
    assert list(errors) == list(FORMAT_ERROR_CLASSES)


def test_every_error_class_has_a_case() -> None:
    # Guards the parametrization above against a class being added without a crafted example.
    assert {error for _, error in ERROR_CASES} == set(FORMAT_ERROR_CLASSES)
    assert len(FORMAT_ERROR_CLASSES) == 7


def test_message_missing_role_also_counts_as_unrecognized_role() -> None:
    # As in the notebook: a message without a role breaks both checks.
    errors = check_format([_with_messages({"content": "hi"}, ASSISTANT)])
    assert errors["message_missing_key"] == 1 and errors["unrecognized_role"] == 1


def test_malformed_examples_are_left_out_of_the_statistics() -> None:
    report = analyze([GOOD, "junk", {"messages": []}], len, tokenizer_name="chars")
    assert report.n_examples == 3 and report.n_well_formed == 1
    assert report.format_errors["data_type"] == 1 and not report.ok
    assert report.messages_per_example.count == 1
    assert report.n_epochs == default_n_epochs(3)  # the API trains on the whole file


@pytest.mark.parametrize(
    ("n_examples", "epochs"),
    [
        (0, 0),
        (1, 25),  # 100 // 1 = 100, capped at MAX_DEFAULT_EPOCHS
        (4, 25),
        (5, 20),  # the cookbook's toy file
        (20, 5),
        (33, 3),  # 99 < 100 target examples, 100 // 33 = 3
        (34, 3),
        (50, 3),  # 150 >= 100: the target of 3 epochs stands
        (8333, 3),  # 24,999 <= 25,000
        (8334, 2),  # 25,002 > 25,000: 25,000 // 8,334 = 2
        (10_000, 2),
        (12_501, 1),
        (30_000, 1),  # 25,000 // 30,000 = 0, floored at MIN_DEFAULT_EPOCHS
    ],
)
def test_default_epochs_follow_the_cookbook_rule(n_examples: int, epochs: int) -> None:
    assert default_n_epochs(n_examples) == epochs


def test_token_count_follows_the_cookbook_formula() -> None:
    messages = [
        {"role": "user", "content": "abcd", "name": "ann"},
        {"role": "assistant", "content": "xy", "weight": 1},
    ]
    # 2 x 3 per message + len of each string value + 1 for the name + 3 for the reply priming;
    # the integer weight is not text and counts nothing.
    expected = 2 * 3 + (4 + 4 + 3) + 1 + (9 + 2) + 3
    assert num_tokens_from_messages(messages, len) == expected


def test_to_chat_example_joins_instruction_and_input() -> None:
    example = to_chat_example(
        "Summarize the night.", "Slept 6.5 h, 3 wakings.", "Short, broken sleep."
    )
    assert example["messages"] == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "Summarize the night.\n\nSlept 6.5 h, 3 wakings."},
        {"role": "assistant", "content": "Short, broken sleep."},
    ]


def test_to_chat_example_without_input_or_system_prompt() -> None:
    example = to_chat_example("What is HRV?", "  ", "Beat-to-beat variation.", system_prompt=None)
    assert [m["role"] for m in example["messages"]] == ["user", "assistant"]
    assert example["messages"][0]["content"] == "What is HRV?"


def test_jsonl_round_trip_is_valid_for_the_api() -> None:
    examples = [
        to_chat_example("Explain the reading.", "Glucose 5.4 mmol/L — fasting", "Normal (<5.6)."),
        to_chat_example("Explain SpO₂.", "", "Blood oxygen saturation."),
    ]
    payload = to_jsonl(examples)
    lines = payload.decode("utf-8").splitlines()
    assert payload.endswith(b"\n") and len(lines) == 2
    assert "—" in lines[0]  # UTF-8 kept as is, not \u-escaped
    parsed = [json.loads(line) for line in lines]
    assert parsed == examples
    assert not any(check_format(parsed).values())


def test_to_jsonl_of_nothing_is_empty() -> None:
    assert to_jsonl([]) == b""


def test_approximate_counter_is_close_to_cl100k_on_the_toy_file(toy, cl100k) -> None:
    exact = analyze(toy, cl100k, tokenizer_name="cl100k_base")
    approx = analyze(toy, approximate_counter(), tokenizer_name="approximate")
    ratio = approx.billing_tokens / exact.billing_tokens
    assert 1 / 1.5 <= ratio <= 1.5
    assert approx.tokenizer == "approximate"


def test_tiktoken_counter_counts_like_cl100k(cl100k) -> None:
    assert cl100k("hello world") == 2
    assert cl100k("") == 0
    # Special-token text inside a narrative is ordinary text, not a reason to raise.
    assert cl100k("<|endoftext|>") > 1


def test_tiktoken_counter_tries_no_download_without_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken
    import tiktoken.load
    import tiktoken.registry

    fetched: list[str] = []

    def record(name: str):
        def fetch(*args, **kwargs):
            fetched.append(name)
            raise AssertionError(f"tiktoken.{name} was called: that path downloads")

        return fetch

    # Each tiktoken entry point that can download, and the sockets under them all.
    for module, name in [(tiktoken.load, "read_file"), (tiktoken.load, "read_file_cached"),
                         (tiktoken.load, "load_tiktoken_bpe"), (tiktoken, "get_encoding"),
                         (tiktoken.registry, "get_encoding")]:  # fmt: skip
        monkeypatch.setattr(module, name, record(name))
    connections = refuse_network(monkeypatch)
    assert tiktoken_counter(tmp_path / "absent") is None
    assert select_counter(tmp_path / "absent")[0] == "approximate"
    assert fetched == [] and connections == []


def test_tiktoken_counter_refuses_a_file_with_the_wrong_hash(tmp_path: Path) -> None:
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"IQ== 0\n")
    assert tiktoken_counter(tmp_path) is None


def test_select_counter_prefers_cl100k() -> None:
    _need_shared()
    name, count = select_counter(TIKTOKEN_DIR)
    assert name == "cl100k_base" and count("hello world") == 2


def test_distribution_uses_true_percentiles() -> None:
    dist = Distribution.of(list(range(101)))
    assert (dist.p5, dist.median, dist.p95) == (5, 50, 95)
    assert Distribution.of([]).count == 0
