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
  raises. A CONTROL_MESSAGE (a subscription health check) gives nothing, silently.
- `unwrap_s3(text, line)`: one S3 export message (the reader cuts the timestamp prefix).
- `fast_lines(pieces)`: for JSONL lines that are all CloudWatch records, `[u.event for u in
  unwrap(...)]` over them, in order; None when a line is not CloudWatch or holds a Damaged event
  (the caller then goes record by record and gets the reasons). A block of event objects is
  decoded for `message` and `timestamp` only (msgspec skips the rest in C); DATA/CONTROL payloads
  and `events[]` documents take a second decoder; any other block is unwrapped line by line.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped
from k8saudit_tui.engine.logs.formats.cloudtext import fast_texts, record_by_record, unwrap_text, unwrap_value
from k8saudit_tui.engine.logs.formats.eks_payloads import decoded_payloads

CLOUDWATCH = "cloudwatch"
INSIGHTS = "cloudwatch-insights"
S3 = "cloudwatch-s3"
SUBSCRIPTION = "cloudwatch-subscription"
FORMAT_NAMES = (CLOUDWATCH, INSIGHTS, S3, SUBSCRIPTION)
"""The FORMATS rows this module reads."""

MESSAGE_TYPES = frozenset({"DATA_MESSAGE", "CONTROL_MESSAGE"})
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
    found = format_of(record)
    if found == SUBSCRIPTION:
        return _subscription(record, line, "", 0)
    if found == CLOUDWATCH:
        if _is_event_object(record):
            return [unwrap_value(record["message"], line, CLOUDWATCH, "message")]
        events = record["events"]
        assert isinstance(events, list)
        return _event_objects(events, line, CLOUDWATCH, "events")
    if found == INSIGHTS:
        return _insights(record, line)
    return [Damaged(line, "", "not a CloudWatch Logs record")]


def unwrap_s3(text: str, line: int) -> Unwrapped | Damaged:
    """One S3 export message (the text after `TIMESTAMP `): the Event, or why it is not one."""
    return unwrap_text(text, line, S3, "message")


def _event_objects(items: list[object], line: int, format: str, where: str) -> Result:
    """The `{timestamp, message, ...}` objects of `events[]` / `logEvents[]`."""
    return [_event_object(item, line, format, f"{where}[{index}]") for index, item in enumerate(items)]


def _event_object(item: object, line: int, format: str, where: str) -> Unwrapped | Damaged:
    """One `{timestamp, message, ...}` of `events[]` / `logEvents[]`."""
    if not isinstance(item, dict):
        return Damaged(line, where, "not a CloudWatch event object")
    return unwrap_value(item.get("message"), line, format, f"{where}.message")


def _subscription(record: Mapping[str, object], line: int, where: str, depth: int) -> Result:
    """DATA_MESSAGE events; nothing for a CONTROL_MESSAGE; encoded payloads decoded first."""
    if _is_payload(record):
        if record["messageType"] == "CONTROL_MESSAGE":
            return []
        events = record["logEvents"]
        assert isinstance(events, list)
        return _event_objects(events, line, SUBSCRIPTION, f"{where}logEvents")
    awslogs = record.get("awslogs")
    if isinstance(awslogs, dict):
        return _encoded(awslogs.get("data"), line, f"{where}awslogs.data", depth)
    records = record.get("records")
    assert isinstance(records, list)
    results: Result = []
    for index, item in enumerate(records):
        field = f"{where}records[{index}].data"
        if not isinstance(item, dict):
            results.append(Damaged(line, field.removesuffix(".data"), "not a Firehose record"))
            continue
        results.extend(_encoded(item.get("data"), line, field, depth))
    return results


def _encoded(data: object, line: int, field: str, depth: int) -> Result:
    """base64(+gzip) subscription payloads, unwrapped; each reason names `field`."""
    payloads = decoded_payloads(data)
    if isinstance(payloads, str):
        return [Damaged(line, field, payloads)]
    results: Result = []
    for index, payload in enumerate(payloads):
        where = f"{field}[{index}]." if len(payloads) > 1 else f"{field}:"
        if not (isinstance(payload, dict) and format_of(payload) == SUBSCRIPTION) or depth >= _MAX_NESTING:
            results.append(Damaged(line, where.rstrip(".:"), "decoded, but not a CloudWatch Logs subscription payload"))
            continue
        results.extend(_subscription(payload, line, where, depth + 1))
    return results


def _insights(record: Mapping[str, object], line: int) -> Result:
    """`get-query-results` rows (lists of `{field, value}`) or one exported row (a dict)."""
    if not _is_results(record):
        return [_insights_row(record, line, "")]
    rows = record["results"]
    assert isinstance(rows, list)
    results: Result = []
    for index, row in enumerate(rows):
        where = f"results[{index}]"
        if not isinstance(row, list):
            results.append(Damaged(line, where, "not a list of {field, value} cells"))
            continue
        cells = {cell["field"]: cell.get("value") for cell in row if isinstance(cell, dict) and "field" in cell}
        results.append(_insights_row(cells, line, f"{where}."))
    return results


def _insights_row(row: Mapping[Any, object], line: int, where: str) -> Unwrapped | Damaged:
    if "@message" not in row:
        return Damaged(line, f"{where}@message", NO_MESSAGE)
    return unwrap_value(row["@message"], line, INSIGHTS, f"{where}@message")


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


_DECODE_OBJECT = msgspec.json.Decoder(_EventObject).decode
_DECODE_LINE = msgspec.json.Decoder(_Line).decode
_MESSAGE = attrgetter("message")


def fast_lines(pieces: list[bytes]) -> list[bytes] | None:
    """The Event texts of JSONL lines that are all CloudWatch records, in order; None when one is
    not, or holds a damaged message. See the module doc."""
    try:
        return fast_texts(list(map(_MESSAGE, map(_DECODE_OBJECT, pieces))))
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass  # not all event objects: the general decoder
    try:
        lines = list(map(_DECODE_LINE, pieces))
    except (msgspec.DecodeError, msgspec.ValidationError):
        return record_by_record(pieces, _unwrap_mine)
    texts: list[str] = []
    for decoded in lines:
        found = _line_texts(decoded)
        if found is None:
            return record_by_record(pieces, _unwrap_mine)
        texts.extend(found)
    return fast_texts(texts)


def _unwrap_mine(record: Mapping[str, object]) -> Result | None:
    return unwrap(record, 0) if recognise(record) else None


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
