"""Every input format, on real third-party files, and the quarantine accounting."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health_training.data.formats import parse_file
from health_training.data.normalize import detect_format
from health_training_tests.conftest import shared_file


def test_alpaca_json_array_from_axolotl():
    path = shared_file("axolotl_alpaca_fixture.json")
    result = parse_file(path.name, path.read_bytes())
    assert result.format == "alpaca"
    assert (result.lines_read, len(result.accepted), len(result.quarantined)) == (2, 2, 0)
    first = result.accepted[0]
    assert first.instruction.startswith("You will be given a series of words")
    assert first.input == "Words: ['Hello', 'world']."
    assert first.output == "['world', 'Hello']"
    # line numbers point at where each record starts in the pretty-printed array
    assert [ex.metadata["source_line"] for ex in result.accepted] == [2, 7]


def test_sharegpt_from_fastchat():
    path = shared_file("fastchat_dummy_conversation_sharegpt.json")
    result = parse_file(path.name, path.read_bytes())
    assert result.format == "sharegpt"
    assert result.lines_read == 500 and result.balanced
    assert len(result.accepted) == 500
    first = result.accepted[0]
    # the final assistant turn is the output, the user turn before it the instruction
    assert first.instruction == "Have a nice day!"
    assert first.output == "You too!"
    assert first.input.startswith("Conversation so far:\nUser: Who are you?")


def test_openai_chat_from_cookbook_toy_file():
    path = shared_file("openai_toy_chat_fine_tuning.jsonl")
    result = parse_file(path.name, path.read_bytes())
    assert result.format == "openai"
    assert result.lines_read == 5 and result.balanced
    # one example has no user turn: it cannot become an instruction example
    assert result.quarantine_reasons == {"no_user_turn": 1}
    assert result.quarantined[0].line == 4
    assert result.accepted[0].metadata["system_prompt"].startswith("You are a happy assistant")


def test_medquad_question_answer_read_as_alpaca_aliases():
    path = shared_file("medquad_sample_300.jsonl")
    result = parse_file(path.name, path.read_bytes())
    assert result.format == "alpaca"
    assert (result.lines_read, len(result.accepted)) == (300, 300)
    assert result.accepted[0].instruction.startswith("What is (are) Adult Acute")


def test_pubmedqa_object_file_is_quarantined_whole_with_a_clear_reason():
    path = shared_file("pubmedqa_sample_100.json")
    result = parse_file(path.name, path.read_bytes())
    assert result.lines_read == 1 and not result.accepted
    (q,) = result.quarantined
    assert q.reason == "json_object_file"
    assert "JSON" in q.detail or "keys" in q.detail


def _etl(**over):
    record = {
        "instruction": "Summarize my glucose day.",
        "input": "Mean 142 mg/dL.",
        "output": "Your mean glucose was 142 mg/dL.",
        "metadata": {
            "record_type": "BloodGlucoseRecord",
            "quality_score": 0.9,
            "complexity_level": "moderate",
            "clinical_relevance": "elevated",
        },
    }
    record.update(over)
    return orjson.dumps(record)


@pytest.mark.parametrize(
    ("line", "reason", "needle"),
    [
        (b'{"instruction": "x", "output": ', "invalid_json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not_utf8", "UTF-8"),
        (b"[1, 2, 3]", "not_an_object", "an array"),
        (_etl(output=None), "missing_field", "'output' is missing"),
        (_etl(instruction="   "), "empty_field", "'instruction' is empty"),
        (_etl(output=42), "wrong_type", "must be a string"),
        (
            orjson.dumps(
                {
                    "instruction": "x",
                    "output": "y",
                    "metadata": {"record_type": "X", "quality_score": "high"},
                }
            ),
            "bad_metadata",
            "quality_score must be a number",
        ),
        (orjson.dumps({"question_text": "x"}), "unrecognized_shape", "keys question_text"),
        (
            orjson.dumps(
                {
                    "messages": [
                        {"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "yo"},
                    ]
                }
            ),
            "format_mismatch",
            "looks like openai",
        ),
    ],
)
def test_bad_lines_are_quarantined_with_line_number_and_reason(line, reason, needle):
    data = _etl() + b"\n\n" + line + b"\n" + _etl(input="other") + b"\n"
    result = parse_file("training/metabolic_diabetes/2025/01/x.jsonl", data)
    assert result.format == "etl"
    assert result.lines_read == 3 and len(result.accepted) == 2 and result.balanced
    (q,) = result.quarantined
    assert (q.line, q.reason) == (3, reason)
    assert needle in q.detail
    assert q.message().startswith("training/metabolic_diabetes/2025/01/x.jsonl:3: ")


def test_forced_format_quarantines_other_shapes():
    path = shared_file("axolotl_alpaca_fixture.json")
    result = parse_file(path.name, path.read_bytes(), "sharegpt")
    assert result.quarantine_reasons == {"format_mismatch": 2}


def test_huge_line_is_quarantined_with_a_short_excerpt():
    line = b'{"instruction": "' + b"a" * 5_000_000 + b'"'  # truncated, never closed
    result = parse_file("big.jsonl", line)
    assert result.quarantine_reasons == {"invalid_json": 1}
    assert len(result.quarantined[0].raw) < 1000


def test_detect_format():
    assert detect_format({"messages": []}) == "openai"
    assert detect_format({"conversations": []}) == "sharegpt"
    assert detect_format({"instruction": "a", "output": "b"}) == "alpaca"
    assert detect_format(json.loads(_etl())) == "etl"
    assert detect_format([1]) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_and_counts_add_up(data):
    result = parse_file("fuzz.jsonl", data)
    assert result.balanced


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80).filter(lambda b: b"\n" not in b),
            st.builds(lambda s: _etl(output=s), st.text(max_size=40)),
            st.just(b'[{"instruction": "a", "output": "b"}]'),
        ),
        max_size=30,
    )
)
def test_mixed_lines_are_all_accounted_for(lines):
    result = parse_file("mixed.jsonl", b"\n".join(lines))
    assert result.balanced
    if (
        result.lines_read == 1
        and result.quarantined
        and result.quarantined[0].detail.startswith("file ")
    ):
        return  # a file that cannot be split into records is one quarantined record
    # A UTF-8 byte order mark opening the file is not part of any record.
    counted = [lines[0].removeprefix(b"\xef\xbb\xbf"), *lines[1:]] if lines else []
    assert result.lines_read == sum(1 for line in counted if line.strip())
