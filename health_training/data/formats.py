"""Parse instruction files in the formats we accept and account for every record.

Accepted formats: the ETL engine's JSONL (`instruction`/`input`/`output` + `metadata.record_type`),
Alpaca (a JSON array or JSONL; `question`/`answer` and `prompt`/`response` are read as aliases),
ShareGPT (`conversations` of `from`/`value`) and OpenAI chat (`messages` of `role`/`content`).

`parse_file(name, data)` never raises on bad input: each record is either accepted as a normalized
`Example` or quarantined with its line number and a reason a person understands, and a file that is
not JSON at all (binary junk, a JSON object instead of a list) is reported the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import orjson

from health_training.data.config import Vocabulary, default_vocabulary
from health_training.data.normalize import RecordError, detect_format, normalize_record
from health_training.data.records import Example, IngestResult, Quarantined

FORMATS: tuple[str, ...] = ("etl", "alpaca", "sharegpt", "openai")
RAW_EXCERPT = 500  # characters of a bad line kept in quarantine: enough to debug, never 50 MB
# A record line over this is quarantined unread: no instruction record is 64 MiB, and the bound
# keeps one hostile line from costing minutes of PHI scanning downstream.
MAX_RECORD_BYTES = 64 * 2**20
_BINARY_PROBE = 8192  # bytes looked at for NULs, as git and grep decide "binary"


def _excerpt(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text if len(text) <= RAW_EXCERPT else text[:RAW_EXCERPT] + "…"


def _json_lines(data: bytes, first: int = 1) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers (`first`: the first line's); blank lines are not
    records."""
    for number, line in enumerate(data.split(b"\n"), start=first):
        if line.strip():
            yield number, line.rstrip(b"\r")


def _decode_line(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            raise RecordError("not_utf8", "line is not valid UTF-8 text") from exc
        raise RecordError("invalid_json", f"line is not valid JSON ({exc})") from exc


def _array_records(data: bytes) -> Iterator[tuple[int, object]]:
    """Items of a top-level JSON array with the line each starts on."""
    text = data.decode("utf-8")
    decoder = json.JSONDecoder()
    items = orjson.loads(data)  # raises for malformed files; the caller quarantines the file
    pos = text.index("[") + 1
    line = text.count("\n", 0, pos) + 1
    for item in items:
        while text[pos] in " \t\r\n,":
            if text[pos] == "\n":
                line += 1
            pos += 1
        _, end = decoder.raw_decode(text, pos)
        yield line, item
        line += text.count("\n", pos, end)
        pos = end


def _first_format(data: bytes, is_array: bool) -> str | None:
    if is_array:
        try:
            items = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        candidates = (detect_format(item) for item in items[:50])
    else:

        def decoded() -> Iterator[object]:
            for _, line in _json_lines(data):
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue

        candidates = (detect_format(r) for r in _take(decoded(), 50))
    votes = Counter(c for c in candidates if c)
    return votes.most_common(1)[0][0] if votes else None


def _take(it: Iterator[object], n: int) -> Iterator[object]:
    for i, item in enumerate(it):
        if i >= n:
            return
        yield item


def _is_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _starts_array(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"["


def _is_binary(data: bytes) -> bool:
    """NULs near the start or bytes that are not UTF-8, with no line of JSON among the first 50:
    one unreadable record, not thousands of "lines" that a newline byte happened to cut. A JSONL
    file with one corrupt line stays line by line."""
    if b"\x00" not in data[:_BINARY_PROBE]:
        try:
            data.decode("utf-8")
            return False
        except UnicodeDecodeError:
            pass
    return not any(_is_json(line) for _, line in _take(_json_lines(data), 50))


def parse_file(
    name: str,
    data: bytes,
    fmt: str = "auto",
    vocabulary: Vocabulary | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> IngestResult:
    """Parse one file's bytes. `fmt` is one of FORMATS or "auto" (decided by the records' shape);
    `vocabulary` maps ETL metadata words onto ours (default: the bundled data YAML's)."""
    data, is_array, whole_file = _layout(data, fmt)
    if whole_file is not None:
        # The file as a whole is one unreadable record: it is accounted for, not lost.
        q = Quarantined(name, 1, whole_file.reason, whole_file.detail, _excerpt(data[:RAW_EXCERPT]))
        return IngestResult(fmt if fmt != "auto" else "unknown", 1, (), (q,))
    chosen = fmt if fmt != "auto" else (_first_format(data, is_array) or "unknown")
    records: Iterator[tuple[int, object]] = _array_records(data) if is_array else _json_lines(data)
    return _parse_records(name, records, chosen, vocabulary, max_record_bytes)


def line_format(data: bytes, fmt: str = "auto") -> tuple[str, bytes] | None:
    """(format, body) when `parse_file` reads `data` line by line (JSONL with no verdict on the
    whole file), else None. Each line is then judged alone, so `parse_lines` may parse any run
    of the body's lines apart (in parallel) and the results add up to `parse_file`'s."""
    data, is_array, whole_file = _layout(data, fmt)
    if is_array or whole_file is not None:
        return None
    return (fmt if fmt != "auto" else (_first_format(data, False) or "unknown")), data


def parse_lines(
    name: str,
    lines: bytes,
    chosen: str,
    first_line: int = 1,
    vocabulary: Vocabulary | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> IngestResult:
    """`parse_file` of a run of a body's lines in the format `line_format` chose; `first_line` is
    the file's number of the run's first line."""
    records = _json_lines(lines, first_line)
    return _parse_records(name, records, chosen, vocabulary, max_record_bytes)


def _layout(data: bytes, fmt: str) -> tuple[bytes, bool, RecordError | None]:
    """The body without its BOM, whether it is one JSON array, and a verdict on the whole file
    (binary, not JSON, one object) when it cannot be read record by record."""
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose auto or one of {', '.join(FORMATS)}")
    data = data.removeprefix(b"\xef\xbb\xbf")
    is_array = _starts_array(data)
    whole_file: RecordError | None = None
    if _is_binary(data):
        whole_file = RecordError(
            "binary",
            "file is binary, not JSON or JSONL text (NUL bytes, or no line is UTF-8 JSON): "
            "was it compressed, or written as UTF-16?",
        )
    elif is_array:
        try:
            data.decode("utf-8")
            orjson.loads(data)
        except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
            first = next(_json_lines(data), (0, b""))[1]
            if _is_json(first):
                is_array = False  # JSONL whose first line happens to be an array: judge each line
            elif isinstance(exc, UnicodeDecodeError):
                whole_file = RecordError("not_utf8", "file is not valid UTF-8 text")
            else:
                whole_file = RecordError(
                    "invalid_json", f"file starts like a JSON array but is not valid JSON ({exc})"
                )
    elif data.lstrip()[:1] == b"{":
        stripped = data.strip()
        try:
            obj = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            obj = None  # JSONL (or junk): judged line by line below
        # One object spanning the file: pretty-printed, or keyed by id like PubMedQA.
        if isinstance(obj, dict) and (b"\n" in stripped or detect_format(obj) is None):
            keys = ", ".join(list(map(str, obj))[:3])
            whole_file = RecordError(
                "json_object_file",
                f"file holds one JSON object (keys {keys}…), not a list of records: "
                "give a JSON array or JSONL with one record a line",
            )
    return data, is_array, whole_file


def _parse_records(
    name: str,
    records: Iterator[tuple[int, object]],
    chosen: str,
    vocabulary: Vocabulary | None,
    max_record_bytes: int,
) -> IngestResult:
    vocabulary = vocabulary or default_vocabulary()
    accepted: list[Example] = []
    quarantined: list[Quarantined] = []
    lines = 0
    for number, item in records:
        lines += 1
        raw = item if isinstance(item, bytes) else None
        if raw is not None and len(raw) > max_record_bytes:
            detail = (
                f"line of {len(raw):,} bytes is over the {max_record_bytes:,}-byte record limit"
            )
            quarantined.append(
                Quarantined(name, number, "record_too_large", detail, _excerpt(raw[:RAW_EXCERPT]))
            )
            continue
        try:
            record = _decode_line(item) if raw is not None else item
            # With no recognizable record at all, each record is judged on its own shape.
            target = chosen if chosen != "unknown" else (detect_format(record) or "alpaca")
            example = normalize_record(record, target, vocabulary)
        except RecordError as err:
            excerpt = _excerpt(raw) if raw is not None else _excerpt(orjson.dumps(item))
            quarantined.append(Quarantined(name, number, err.reason, err.detail, excerpt))
            continue
        accepted.append(
            Example(
                example.instruction,
                example.input,
                example.output,
                {**example.metadata, "source_file": name, "source_line": number},
            )
        )
    return IngestResult(chosen, lines, tuple(accepted), tuple(quarantined))
