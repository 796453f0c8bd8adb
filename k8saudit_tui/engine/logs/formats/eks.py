"""EKS audit events as CloudWatch Logs delivers them (cloud-formats.md §1 and §3): each CloudWatch
event's `message` is one Event line, unchanged, so unwrapping is exact.

Contract (the one of `formats/__init__.py`), for the formats `cloudwatch` (`filter-log-events` /
`get-log-events` documents `{"events": [...]}`, and one CloudWatch event object per line),
`cloudwatch-insights` (`get-query-results` `results[][]`, Insights JSON/CSV export rows),
`cloudwatch-s3` (an export line's message, after the reader cut its `TIMESTAMP ` prefix) and
`cloudwatch-subscription` (DATA_MESSAGE with `logEvents[]`, Lambda `awslogs.data`, Firehose
`records[].data`):
- `format_of(record)` names the format of one decoded JSON record (None: not CloudWatch);
  `recognise(record)` is `format_of(record) is not None`.
- `unwrap(record, line)` gives the record's Events (`Unwrapped`, the message byte for byte) and
  `Damaged` entries (a message cut at CloudWatch's size limit, with auditID, verb and URI
  recovered; klog text; JSON that is not an Event; an Insights row without `@message`); it never
  raises. A CONTROL_MESSAGE (a subscription health check) gives nothing, silently. Messages of
  the log group's other streams (klog text of kube-apiserver, authenticator, ...) give nothing
  either, so they do not flood the problems: `skipped(record)` counts them by stream for the
  caller to report once, and `unwrap_counted(record, line)` gives both.
- `unwrap_s3(text, line)`: one S3 export message (the reader cuts the timestamp prefix).
- `fast_lines(pieces)`: for JSONL lines that are all CloudWatch records, `[u.event for u in
  unwrap(...)]` over them, in order; None when a line is not CloudWatch or holds a Damaged event
  (the caller then goes record by record and gets the reasons). A block of event objects is
  decoded for `message` and `timestamp` only (msgspec skips the rest in C); DATA/CONTROL payloads
  and `events[]` documents take a second decoder; any other block is unwrapped line by line.
  `fast_events(pieces)` also says how many events each line gave: a line may give none
  (CONTROL_MESSAGE) or many (DATA_MESSAGE, a whole CLI page), so a caller that numbers events by
  line uses it rather than assuming one event per line when the counts happen to match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from operator import attrgetter
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped
from k8saudit_tui.engine.logs.formats.cloudtext import (
    Events,
    fast_texts,
    fast_texts_counted,
    record_by_record,
    unwrap_text,
    unwrap_value,
    with_counts,
)
from k8saudit_tui.engine.logs.formats.eks_payloads import decoded_payloads
from k8saudit_tui.engine.logs.formats.whole_range import objects_per_line

CLOUDWATCH = "cloudwatch"
INSIGHTS = "cloudwatch-insights"
S3 = "cloudwatch-s3"
SUBSCRIPTION = "cloudwatch-subscription"
FORMAT_NAMES = (CLOUDWATCH, INSIGHTS, S3, SUBSCRIPTION)
"""The FORMATS rows this module reads."""

MESSAGE_TYPES = frozenset({"DATA_MESSAGE", "CONTROL_MESSAGE"})
AUDIT_STREAM = "kube-apiserver-audit"
"""The log streams of the EKS log group `/aws/eks/CLUSTER/cluster` that hold the audit Events."""
INSIGHTS_FIELDS = ("@logStream", "@log", "@ptr", "@ingestionTime")
"""Logs Insights system fields: with `@timestamp` they mark an exported row that lacks `@message`
(an Elastic document also has `@timestamp`, but none of these)."""
NO_MESSAGE = (
    "the Logs Insights query did not select @message, so there is no Event to read "
    "(add `fields @message` to the query, or export the raw events)"
)
_MAX_NESTING = 2
"""Payload inside payload: Firehose data holds subscription payloads, nothing deeper is real."""

Result = list[Unwrapped | Damaged]


def _is_payload(record: Mapping[str, object]) -> bool:
    """A decoded subscription payload: DATA_MESSAGE or CONTROL_MESSAGE with `logEvents[]`."""
    kind = record.get("messageType")
    return isinstance(kind, str) and kind in MESSAGE_TYPES and isinstance(record.get("logEvents"), list)


def _is_event_object(record: Mapping[str, object]) -> bool:
    """One CloudWatch event (`jq -c '.events[]'`): a `message` with an integer ms `timestamp`."""
    return "message" in record and type(record.get("timestamp")) is int


def _is_results(record: Mapping[str, object]) -> bool:
    """`get-query-results` output: `results` is a list of rows, each a list of `{field, value}`."""
    rows = record.get("results")
    return isinstance(rows, list) and (not rows or isinstance(rows[0], list))


def format_of(record: Mapping[str, object]) -> str | None:
    """Which CloudWatch shape `record` is (the tests of design §1), or None. The shapes exclude
    each other; the one event object is tested first because it is the bulk of big files."""
    if _is_event_object(record):
        return CLOUDWATCH
    if _is_payload(record):
        return SUBSCRIPTION
    awslogs = record.get("awslogs")
    if isinstance(awslogs, dict) and "data" in awslogs:
        return SUBSCRIPTION
    records = record.get("records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "data" in records[0]:
        return SUBSCRIPTION
    if isinstance(record.get("events"), list):
        return CLOUDWATCH
    if _is_results(record):
        return INSIGHTS
    if "@message" in record or ("@timestamp" in record and any(name in record for name in INSIGHTS_FIELDS)):
        return INSIGHTS
    return None


def recognise(record: Mapping[str, object]) -> bool:
    """Is `record` one of CloudWatch's shapes (this module's formats)?"""
    return format_of(record) is not None


def unwrap(record: Mapping[str, object], line: int) -> Result:
    """The Events inside `record` (at its 1-based `line`), and what could not be read."""
    return unwrap_counted(record, line)[0]


def skipped(record: Mapping[str, object]) -> Counter[str]:
    """The messages of other log streams `unwrap` passes over in `record`, by stream."""
    return unwrap_counted(record, 0)[1]


def unwrap_counted(record: Mapping[str, object], line: int) -> tuple[Result, Counter[str]]:
    """`unwrap`, and the messages it passed over, counted by log stream (its id cut off).

    The EKS log group also holds the kube-apiserver, authenticator, scheduler and controller
    manager streams (klog text). A message that is not an Event, from a stream whose name is known
    and is not `kube-apiserver-audit-*`, is such a line: one Damaged each would flood the problems,
    so it is counted here for the caller to report once. (An Event is kept whatever its stream.)"""
    walk = _Walk(line)
    found = format_of(record)
    if found == SUBSCRIPTION:
        walk.subscription(record, "", 0)
    elif found == CLOUDWATCH and _is_event_object(record):
        walk.keep(unwrap_value(record["message"], line, CLOUDWATCH, "message"), record.get("logStreamName"))
    elif found == CLOUDWATCH:
        events = record["events"]
        assert isinstance(events, list)
        walk.event_objects(events, CLOUDWATCH, "events", None)
    elif found == INSIGHTS:
        walk.insights(record)
    else:
        walk.results.append(Damaged(line, "", "not a CloudWatch Logs record"))
    return walk.results, walk.skipped


def unwrap_s3(text: str, line: int) -> Unwrapped | Damaged:
    """One S3 export message (the text after `TIMESTAMP `): the Event, or why it is not one."""
    return unwrap_text(text, line, S3, "message")


def stream_group(stream: str) -> str:
    """A log stream's name without its instance id: `authenticator-1a2b3c4d...` -> `authenticator`."""
    return _STREAM_ID.sub("", stream)


_STREAM_ID = re.compile(r"-[0-9a-f]{8,}$")


class _Walk:
    """One record's unwrapping: the results so far and the passed-over messages by stream."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.results: Result = []
        self.skipped: Counter[str] = Counter()

    def keep(self, result: Unwrapped | Damaged, stream: object) -> None:
        """Add `result`, unless it is a non-Event from another (known) stream: count that."""
        if isinstance(result, Damaged) and isinstance(stream, str) and not stream.startswith(AUDIT_STREAM):
            self.skipped[stream_group(stream)] += 1
        else:
            self.results.append(result)

    def event_objects(self, items: list[object], format: str, where: str, stream: object) -> None:
        """The `{timestamp, message, ...}` objects of `events[]` (each names its stream) or
        `logEvents[]` (the payload names it)."""
        for index, item in enumerate(items):
            field = f"{where}[{index}]"
            if not isinstance(item, dict):
                self.results.append(Damaged(self.line, field, "not a CloudWatch event object"))
                continue
            result = unwrap_value(item.get("message"), self.line, format, f"{field}.message")
            self.keep(result, item.get("logStreamName", stream))

    def subscription(self, record: Mapping[str, object], where: str, depth: int) -> None:
        """DATA_MESSAGE events; nothing for a CONTROL_MESSAGE; encoded payloads decoded first."""
        if _is_payload(record):
            if record["messageType"] != "CONTROL_MESSAGE":
                events = record["logEvents"]
                assert isinstance(events, list)
                self.event_objects(events, SUBSCRIPTION, f"{where}logEvents", record.get("logStream"))
            return
        awslogs = record.get("awslogs")
        if isinstance(awslogs, dict):
            self.encoded(awslogs.get("data"), f"{where}awslogs.data", depth)
            return
        records = record.get("records")
        assert isinstance(records, list)
        for index, item in enumerate(records):
            field = f"{where}records[{index}].data"
            if isinstance(item, dict):
                self.encoded(item.get("data"), field, depth)
            else:
                self.results.append(Damaged(self.line, field.removesuffix(".data"), "not a Firehose record"))

    def encoded(self, data: object, field: str, depth: int) -> None:
        """base64(+gzip) subscription payloads, unwrapped; each reason names `field`."""
        payloads = decoded_payloads(data)
        if isinstance(payloads, str):
            self.results.append(Damaged(self.line, field, payloads))
            return
        for index, payload in enumerate(payloads):
            where = f"{field}[{index}]." if len(payloads) > 1 else f"{field}:"
            if isinstance(payload, dict) and format_of(payload) == SUBSCRIPTION and depth < _MAX_NESTING:
                self.subscription(payload, where, depth + 1)
            else:
                reason = "decoded, but not a CloudWatch Logs subscription payload"
                self.results.append(Damaged(self.line, where.rstrip(".:"), reason))

    def insights(self, record: Mapping[str, object]) -> None:
        """`get-query-results` rows (lists of `{field, value}`) or one exported row (a dict)."""
        if not _is_results(record):
            self.insights_row(record, "")
            return
        rows = record["results"]
        assert isinstance(rows, list)
        for index, row in enumerate(rows):
            where = f"results[{index}]"
            if not isinstance(row, list):
                self.results.append(Damaged(self.line, where, "not a list of {field, value} cells"))
                continue
            cells = {cell["field"]: cell.get("value") for cell in row if isinstance(cell, dict) and "field" in cell}
            self.insights_row(cells, f"{where}.")

    def insights_row(self, row: Mapping[Any, object], where: str) -> None:
        if "@message" not in row:
            self.results.append(Damaged(self.line, f"{where}@message", NO_MESSAGE))
            return
        self.keep(unwrap_value(row["@message"], self.line, INSIGHTS, f"{where}@message"), row.get("@logStream"))


_Millis = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An integer timestamp orjson also reads as one (beyond 64 bits it gives a float: no event
object); the few it reads as int beyond this range are left to the per-record path."""


class _EventObject(msgspec.Struct, gc=False):
    """One CloudWatch event per line: only `message` and `timestamp` are decoded, both required,
    so any other shape fails in C and the block takes the general decoder."""

    message: str
    timestamp: _Millis


class _Message(msgspec.Struct, gc=False):
    """A CloudWatch event inside `logEvents[]` / `events[]`: only its message is decoded."""

    message: str


class _Line(msgspec.Struct, gc=False):
    """One JSONL line of any CloudWatch shape, decoded for `message` and the keys that tell the
    shapes apart (`awslogs`/`records` only for their presence: such lines are unwrapped one by one)."""

    message: str | UnsetType = UNSET
    timestamp: _Millis | UnsetType = UNSET
    messageType: str | UnsetType = UNSET
    logEvents: list[_Message] | UnsetType = UNSET
    events: list[_Message] | UnsetType = UNSET
    awslogs: msgspec.Raw | UnsetType = UNSET
    records: msgspec.Raw | UnsetType = UNSET


_EVENT_OBJECTS = msgspec.json.Decoder(_EventObject)
_DECODE_OBJECT = _EVENT_OBJECTS.decode
_DECODE_LINE = msgspec.json.Decoder(_Line).decode
_MESSAGE = attrgetter("message")


def fast_lines(pieces: list[bytes]) -> list[bytes] | None:
    """The Event texts of JSONL lines that are all CloudWatch records, in order; None when one is
    not, or holds a damaged message. See the module doc."""
    found = fast_events(pieces)
    return None if found is None else found[0]


FAST_RANGE_FORMAT = CLOUDWATCH
"""What `fast_range` reads: one event object a line (`_is_event_object`, so `format_of` says this)."""


def fast_range(data: bytes, start: int, stop: int) -> list[str] | None:
    """The messages of the complete lines [start, stop) of `data` when each line is one CloudWatch
    event object (what `fast_events` reads), else None (`whole_range.py` judges the messages)."""
    objects = objects_per_line(data, start, stop, _EVENT_OBJECTS)
    return None if objects is None else list(map(_MESSAGE, objects))


def fast_events(pieces: list[bytes]) -> Events | None:
    """`fast_lines`, and how many events each line gave (so that each event keeps its line)."""
    try:
        return with_counts(fast_texts(list(map(_MESSAGE, map(_DECODE_OBJECT, pieces)))), len(pieces))
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass  # not all event objects: the general decoder
    try:
        lines = list(map(_DECODE_LINE, pieces))
    except (msgspec.DecodeError, msgspec.ValidationError):
        return record_by_record(pieces, _unwrap_mine)
    texts: list[str] = []
    counts: list[int] = []
    for decoded in lines:
        found = _line_texts(decoded)
        if found is None:
            return record_by_record(pieces, _unwrap_mine)
        texts.extend(found)
        counts.append(len(found))
    return fast_texts_counted(texts, counts)


def _unwrap_mine(record: Mapping[str, object]) -> Result | None:
    """`unwrap`, or None for a record that is not CloudWatch or holds messages of other streams."""
    if not recognise(record):
        return None
    results, passed_over = unwrap_counted(record, 0)
    return None if passed_over else results


def _line_texts(decoded: _Line) -> list[str] | None:
    """The messages of one line, decided as `format_of` + `unwrap` would; None: unwrap the block
    line by line (encoded payloads, unusual shapes)."""
    if decoded.message is not UNSET and decoded.timestamp is not UNSET:
        return [decoded.message]
    if decoded.awslogs is not UNSET or decoded.records is not UNSET:
        return None  # encoded payloads: decoded by `unwrap`
    if decoded.messageType is not UNSET:
        if decoded.messageType not in MESSAGE_TYPES or decoded.logEvents is UNSET:
            return None
        if decoded.messageType == "CONTROL_MESSAGE":
            return []
        return [event.message for event in decoded.logEvents]
    if decoded.events is not UNSET:
        return [event.message for event in decoded.events]
    return None
