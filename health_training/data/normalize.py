"""One decoded record of an accepted format (ETL JSONL, Alpaca, ShareGPT, OpenAI chat), checked
and normalized to an `Example`: `detect_format` says which shape a record has, `normalize_record`
validates it against the file's format and raises `RecordError` (a stable reason slug and a
message) when it cannot be accepted. Reading whole files is formats.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from health_training.data.config import Vocabulary, default_vocabulary
from health_training.data.records import Example

_INSTRUCTION_KEYS = ("instruction", "question", "prompt")
_OUTPUT_KEYS = ("output", "answer", "response", "completion")
_HUMAN = {"human", "user"}
_ASSISTANT = {"gpt", "assistant", "chatgpt", "bing", "bard", "model"}
_SYSTEM = {"system"}


class RecordError(ValueError):
    """A record that cannot be accepted; `reason` is a stable slug, the message says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# Metadata fields that mark a record as the ETL engine's (ours, the OLMo spec's, Module 4's).
_ETL_MARKERS = ("record_type", "health_domain")


def detect_format(record: object) -> str | None:
    """The format a decoded record is in, or None when its shape is not one we know."""
    if not isinstance(record, dict):
        return None
    if "messages" in record:
        return "openai"
    if "conversations" in record:
        return "sharegpt"
    if any(k in record for k in _INSTRUCTION_KEYS) or any(k in record for k in _OUTPUT_KEYS):
        meta = record.get("metadata")
        etl = isinstance(meta, dict) and any(k in meta for k in _ETL_MARKERS)
        return "etl" if etl else "alpaca"
    return None


def _text(record: Mapping[str, Any], keys: tuple[str, ...], what: str, *, required: bool) -> str:
    for key in keys:
        if key in record:
            value = record[key]
            if value is None:
                if required:
                    raise RecordError("missing_field", f"field '{key}' is missing (null) ({what})")
                return ""
            if not isinstance(value, str):
                raise RecordError(
                    "wrong_type", f"field '{key}' must be a string, got {_kind(value)}"
                )
            if required and not value.strip():
                raise RecordError("empty_field", f"field '{key}' is empty")
            return value
    if required:
        raise RecordError("missing_field", f"field '{keys[0]}' is missing ({what})")
    return ""


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def _etl_metadata(meta: Mapping[str, Any], vocabulary: Vocabulary) -> dict[str, Any]:
    """The upstream's metadata in our field names and internal values; raises RecordError."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        ours = vocabulary.fields.get(key, key)
        if ours != key and ours in meta and meta[ours] != value:
            raise RecordError(
                "bad_metadata",
                f"metadata.{key} ({value!r}) and metadata.{ours} ({meta[ours]!r}) disagree",
            )
        out[ours] = value
    for key in ("complexity_level", "clinical_relevance"):
        value = out.get(key)
        if value is None:
            continue
        internal = vocabulary.canonical(key, value) if isinstance(value, str) else None
        if internal is None:
            raise RecordError(
                "bad_metadata",
                f"metadata.{key} is {value!r}; expected one of {', '.join(vocabulary.accepted(key))}",
            )
        if internal != value:
            out.setdefault("source_vocabulary", {})[key] = value
        out[key] = internal
    return out


def _normalize_etl(record: Mapping[str, Any], vocabulary: Vocabulary) -> Example:
    instruction = _text(record, ("instruction",), "the task", required=True)
    input_ = _text(record, ("input",), "the context", required=False)
    output = _text(record, ("output",), "the answer", required=True)
    meta = _etl_metadata(record["metadata"], vocabulary)
    quality = meta.get("quality_score")
    if isinstance(quality, bool) or not isinstance(quality, int | float):
        raise RecordError(
            "bad_metadata", f"metadata.quality_score must be a number, got {_kind(quality)}"
        )
    if not 0.0 <= float(quality) <= 1.0:
        raise RecordError("bad_metadata", f"metadata.quality_score {quality} is outside 0..1")
    if not isinstance(meta.get("record_type"), str) or not meta["record_type"]:
        raise RecordError("bad_metadata", "metadata.record_type must be a non-empty string")
    insights = meta.get("clinical_insights")
    if insights is not None and not isinstance(insights, list | dict | str):
        raise RecordError(
            "bad_metadata",
            f"metadata.clinical_insights must be a list, an object or text, got {_kind(insights)}",
        )
    return Example(instruction, input_, output, {**meta, "source_format": "etl"})


def _normalize_alpaca(record: Mapping[str, Any]) -> Example:
    instruction = _text(record, _INSTRUCTION_KEYS, "the task", required=True)
    input_ = _text(record, ("input", "context"), "the context", required=False)
    output = _text(record, _OUTPUT_KEYS, "the answer", required=True)
    meta = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    return Example(instruction, input_, output, {**meta, "source_format": "alpaca"})


def _turns(
    record: Mapping[str, Any], list_key: str, role_key: str, text_key: str
) -> list[tuple[str, str]]:
    turns = record.get(list_key)
    if not isinstance(turns, list) or not turns:
        raise RecordError("missing_field", f"'{list_key}' must be a non-empty array")
    out: list[tuple[str, str]] = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise RecordError("wrong_type", f"{list_key}[{i}] must be an object, got {_kind(turn)}")
        role, text = turn.get(role_key), turn.get(text_key)
        if not isinstance(role, str):
            raise RecordError("missing_field", f"{list_key}[{i}] has no '{role_key}'")
        if not isinstance(text, str):
            raise RecordError("missing_field", f"{list_key}[{i}] has no string '{text_key}'")
        role = role.lower()
        if role in _HUMAN:
            out.append(("user", text))
        elif role in _ASSISTANT:
            out.append(("assistant", text))
        elif role in _SYSTEM:
            out.append(("system", text))
        else:
            raise RecordError("unknown_role", f"{list_key}[{i}] has unknown {role_key} '{role}'")
    return out


def _from_turns(turns: list[tuple[str, str]], source_format: str) -> Example:
    """Final assistant turn → output, the user turn before it → instruction, the rest → input.

    One record stays one example so that accepted + quarantined == records read.
    """
    last_assistant = max((i for i, (r, _) in enumerate(turns) if r == "assistant"), default=None)
    if last_assistant is None:
        raise RecordError("no_assistant_turn", "conversation has no assistant answer to learn from")
    users = [i for i, (r, _) in enumerate(turns[:last_assistant]) if r == "user"]
    if not users:
        raise RecordError(
            "no_user_turn", "conversation has no user turn before the assistant answer"
        )
    output = turns[last_assistant][1]
    instruction = turns[users[-1]][1]
    if not output.strip() or not instruction.strip():
        raise RecordError("empty_field", "the final user turn or assistant answer is empty")
    system = "\n".join(t for r, t in turns if r == "system")
    history = [
        f"{'User' if r == 'user' else 'Assistant'}: {t}"
        for r, t in turns[: users[-1]]
        if r != "system"
    ]
    input_ = "Conversation so far:\n" + "\n".join(history) if history else ""
    meta: dict[str, Any] = {"source_format": source_format, "turns": len(turns)}
    if system:
        meta["system_prompt"] = system
    return Example(instruction, input_, output, meta)


def normalize_record(record: object, fmt: str, vocabulary: Vocabulary | None = None) -> Example:
    """Validate a decoded record against `fmt` and normalize it; raises RecordError.

    `vocabulary` maps the upstream's metadata words onto ours (default: the bundled YAML's)."""
    if not isinstance(record, dict):
        raise RecordError("not_an_object", f"record is {_kind(record)}, expected a JSON object")
    found = detect_format(record)
    if found is None:
        keys = ", ".join(sorted(map(str, record))[:8]) or "none"
        raise RecordError(
            "unrecognized_shape",
            f"record has keys {keys}; expected instruction/output, conversations or messages",
        )
    if found != fmt and not (fmt == "alpaca" and found == "etl"):
        raise RecordError("format_mismatch", f"record looks like {found} but the file is {fmt}")
    if fmt == "etl":
        return _normalize_etl(record, vocabulary or default_vocabulary())
    if fmt == "alpaca":
        return _normalize_alpaca(record)
    if fmt == "sharegpt":
        return _from_turns(_turns(record, "conversations", "from", "value"), "sharegpt")
    return _from_turns(_turns(record, "messages", "role", "content"), "openai")
