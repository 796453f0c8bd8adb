"""Splitting a file's text into records, each with the 1-based line where it starts.

What a cloud or a shipper hands over is not always one JSON object per line: `aws logs
filter-log-events` redirected page after page is several pretty JSON documents back to back, a
Firehose object is JSON values with no newline between them, `gcloud logging read` prints YAML
documents, Logs Insights exports CSV, and CRI logs and CloudWatch S3 exports put text before the
JSON. `mode(head, forced)` tells from a file's first non-blank line which of these it is (or
"raw": an Event-lines file the line parser reads as it always did); `records(data, mode)` yields
its records. A JSON array (top level, or one line of a JSON-lines file) gives its elements.

Records are `Record`s (a decoded value, or the Event text of a text-prefixed line) or `Damaged`
(the text that could not be split: invalid JSON or YAML, a line of the wrong shape); splitting
resumes after a bad part, so the records around it are kept. Nothing here raises for bad data.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import yaml

from k8saudit_tui.engine.logs.formats import Damaged
from k8saudit_tui.engine.logs.formats.shippers import CRI_HEAD, cri_records
from k8saudit_tui.engine.logs.formats.yaml_records import load_documents

Mode = Literal["raw", "lines", "stream", "yaml", "csv", "cri", "cloudwatch-s3"]
LINE_MODES: frozenset[str] = frozenset({"lines", "cri", "cloudwatch-s3"})
"""Modes whose records never span a newline (CRI pieces are joined within a range): a file of
these can be cut at any line boundary and its ranges read in parallel (cri at an `F` line)."""

S3_LINE = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)", re.DOTALL)
"""A CloudWatch S3 export line: the event's time (ms, Z), one space, the message."""
_PREFIXED = re.compile(rb"[A-Za-z0-9.:_-]+ \{")
"""`hostname {json}` (OpenShift node-logs): today's line parser strips the prefix."""
_YAML_HEAD = re.compile(rb"(---|#|[A-Za-z_@][\w@.-]*:(\s|$))")
_EVENT_KIND = re.compile(rb'"kind"\s*:\s*"Event(List)?"')
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Record:
    """One record at 1-based `line`: a decoded JSON `value` (with `text`, the line itself, when it
    was one line: a raw Event inside keeps its bytes), or, with `format` set, the Event `text` a
    text-prefixed line carried (`cri`, `cloudwatch-s3`)."""

    line: int
    value: Any = None
    text: bytes = b""
    format: str = ""


def mode(head: bytes, forced: str | None = None) -> Mode:
    """How to split a file whose first bytes are `head` (`forced`: the format named by --format)."""
    if forced in ("raw", "openshift"):
        return "raw"
    if forced in ("cri", "cloudwatch-s3"):
        return forced  # type: ignore[return-value]
    found = _sniff(head)
    if forced is not None and found in ("raw", "cri", "cloudwatch-s3"):
        return "lines"  # a forced JSON format: its records are read whatever the first line looks like
    return found


def _sniff(head: bytes) -> Mode:
    head = head.removeprefix(_BOM)
    stripped = head.lstrip()
    if not stripped:
        return "raw"
    end = stripped.find(b"\n")
    line = (stripped if end < 0 else stripped[:end]).rstrip(b"\r")
    if CRI_HEAD.match(line):
        return "cri"
    if S3_LINE.fullmatch(line):
        return "cloudwatch-s3"
    if line.startswith(b"["):
        return "stream"
    if line.startswith(b"{"):
        return _sniff_json(line, stripped)
    if b"@message" in line and b"," in line:
        return "csv"
    if _PREFIXED.match(line):
        return "raw"
    if _YAML_HEAD.match(line):
        return "yaml"
    return "raw"  # the line parser says what is wrong with it


def _sniff_json(line: bytes, head: bytes) -> Mode:
    """A first line that opens a JSON object: raw Events (or an EventList line) are read as today;
    another record on one line is JSON lines; a value spread over lines or values back to back
    are a stream. A first line that is no JSON value and does not start one (a cut Event) is left
    to the line parser, which says what is wrong with it."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        if _EVENT_KIND.search(line, 0, 4096):  # escaped inside a string (`{"log": "{\\"kind\\"...`) it does not match
            return "raw"  # a damaged or very long Event line
        if line.strip() == b"{":
            return "stream"
        try:
            _DECODER.raw_decode(head.decode("utf-8", "replace"))
        except ValueError:
            return "raw"
        return "stream"
    if isinstance(value, dict) and (value.get("kind") == "EventList" or is_event(value)):
        return "raw"
    return "lines"


def is_event(value: Any) -> bool:
    """A decoded Event (kind Event, or no kind but an auditID and a stage, as some logs write)."""
    if not isinstance(value, dict):
        return False
    kind = value.get("kind")
    return kind == "Event" or (kind is None and "auditID" in value and "stage" in value)


def records(data: bytes, how: Mode, first_line: int = 1) -> Iterator[Record | Damaged]:
    """The records of `data` (a whole file, or a range of whole lines starting at `first_line`)."""
    if how == "lines":
        yield from _json_lines(data, first_line)
    elif how == "cri":
        for found in cri_records(_numbered(data, first_line)):
            yield found if isinstance(found, Damaged) else Record(found[0], text=found[1], format="cri")
    elif how == "cloudwatch-s3":
        yield from _s3_lines(data, first_line)
    else:
        text = data.removeprefix(_BOM).decode("utf-8", "replace")
        if how == "yaml":
            yield from _yaml(text)
        elif how == "csv":
            yield from _csv(text)
        else:
            yield from _stream(text)


def _numbered(data: bytes, first_line: int) -> Iterator[tuple[int, bytes]]:
    return enumerate(data.split(b"\n"), first_line)


def _json_lines(data: bytes, first_line: int) -> Iterator[Record | Damaged]:
    pieces = _numbered(data.removeprefix(_BOM) if first_line == 1 else data, first_line)
    for number, line in pieces:
        yield from json_line(number, line)


def json_line(number: int, line: bytes) -> list[Record | Damaged]:
    """The records of one line of a JSON-lines file (none for a blank line; an array's elements)."""
    line = line.rstrip(b"\r")
    if not line.strip():
        return []
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return [Damaged(number, "", f"invalid JSON: {error}")]
    if isinstance(value, list):
        return [Record(number, item) for item in value]
    return [Record(number, value, line)]


def _s3_lines(data: bytes, first_line: int) -> Iterator[Record | Damaged]:
    for number, line in _numbered(data, first_line):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        match = S3_LINE.fullmatch(line.removeprefix(_BOM))
        if match is None:
            yield Damaged(number, "", "not a CloudWatch S3 export line (TIMESTAMP {json})")
        else:
            yield Record(number, text=match.group(2), format="cloudwatch-s3")


_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\r\n,]*")
_RESYNC = re.compile(r"\n[ \t]*[\[{]")


def _stream(text: str) -> Iterator[Record | Damaged]:
    """JSON values back to back (newlines or not between them); a top-level array's elements are
    records of their own, each at its own line. A bad value is reported and skipped: reading goes
    on at the next line that opens an object or an array."""
    position, line, counted = 0, 1, 0
    depth_open = False  # inside a top-level array
    while True:
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
        if position >= len(text):
            return
        line += text.count("\n", counted, position)
        counted = position
        if not depth_open and text[position] == "[":
            depth_open, position = True, position + 1
            continue
        if depth_open and text[position] == "]":
            depth_open, position = False, position + 1
            continue
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            where = line + text.count("\n", position, error.pos)
            yield Damaged(where, "", f"invalid JSON: {error.msg}")
            found = _RESYNC.search(text, max(error.pos, position + 1))
            if found is None:
                return
            position, depth_open = found.start() + 1, False
            continue
        if isinstance(value, list):
            yield from (Record(line, item) for item in value)
        else:
            yield Record(line, value)
        position = end


_YAML_SEPARATOR = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:#.*)?$", re.MULTILINE)


def _yaml(text: str) -> Iterator[Record | Damaged]:
    """YAML documents, each loaded on its own so that a bad one does not lose the others."""
    starts = [0] + [match.start() for match in _YAML_SEPARATOR.finditer(text)]
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        part = text[start:end]
        base = text.count("\n", 0, start)
        try:
            documents = load_documents(part)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
            line = base + (mark.line + 1 if mark is not None else 1)
            yield Damaged(line, "", f"invalid YAML: {getattr(error, 'problem', None) or error}")
            continue
        for line, value in documents:
            if isinstance(value, list):
                yield from (Record(base + line, item) for item in value)
            else:
                yield Record(base + line, value)


def _csv(text: str) -> Iterator[Record | Damaged]:
    """A CSV export with a header (Logs Insights: `@logStream,@timestamp,@message`): one dict per row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Damaged(line, "", f"invalid CSV: {error}")
            line = reader.line_num + 1
            continue
        if any(cell.strip() for cell in row):
            if len(row) != len(header):
                yield Damaged(line, "", f"{len(row)} CSV fields where the header names {len(header)}")
            else:
                yield Record(line, dict(zip(header, row, strict=True)))
        line = reader.line_num + 1
