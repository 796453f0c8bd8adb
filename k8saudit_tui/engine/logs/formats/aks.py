"""AKS audit events as Azure Monitor delivers them (cloud-formats.md §1 and §4).

Contract (the one of `formats/__init__.py`), for the formats `aks-diagnostic` (diagnostic-setting
records `{category, properties: {log}}` as a storage blob writes them one per line, and Event Hub
batches `{"records": [...]}`), `aks-loganalytics` (`AKSAudit` / `AKSAuditAdmin` rows, see
`aks_rows`) and `aks-azurediagnostics` (`AzureDiagnostics` rows, the Event in `log_s`):
- `format_of(record)` names the format of one decoded JSON record (None: not AKS);
  `recognise(record)` is `format_of(record) is not None`.
- `unwrap(record, line)` gives the Events (`properties.log` and `log_s` byte for byte, trailing
  newline removed; a `properties.log` object serialised with orjson) and `Damaged` entries; it
  never raises. Records of the non-audit categories that share a destination (kube-apiserver,
  guard, cluster-autoscaler: klog text) are not events and give nothing, so they do not flood the
  problems: `skipped(record)` counts them by category for the caller to report once, and
  `unwrap_counted(record, line)` gives both (the same pair `eks` gives).
- `fast_lines(pieces)`: for JSONL lines that are all AKS records of audit categories, the Event
  texts in order, as `unwrap` gives them; None when a line is not AKS, holds a record of another
  category (so that the per-record path counts it) or a damaged one. Diagnostic records and Event
  Hub batches with `properties.log` strings are decoded for `category` and `properties.log` only
  (msgspec skips the rest in C); a block holding any other line is unwrapped line by line.
  `fast_events(pieces)` also says how many events each line gave (a batch line gives several).

`"skipped-too-big-size-object"` in `requestObject` / `responseObject` is what AKS writes for a
body it dropped; the event is kept as is (bodies are not evaluated).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from operator import attrgetter
from typing import Annotated, Literal, get_args

import msgspec
from msgspec import UNSET, UnsetType

from k8saudit_tui.engine.logs.event import EventError, decode_event
from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped
from k8saudit_tui.engine.logs.formats.aks_rows import unwrap_row
from k8saudit_tui.engine.logs.formats.cloudtext import (
    Events,
    fast_texts_counted,
    record_by_record,
    strip_newline,
    unwrap_value,
    with_ids,
)
from k8saudit_tui.engine.logs.formats.whole_range import objects_per_line

DIAGNOSTIC = "aks-diagnostic"
LOG_ANALYTICS = "aks-loganalytics"
AZURE_DIAGNOSTICS = "aks-azurediagnostics"
FORMAT_NAMES = (DIAGNOSTIC, LOG_ANALYTICS, AZURE_DIAGNOSTICS)
"""The FORMATS rows this module reads."""

AuditCategory = Literal["kube-audit", "kube-audit-admin"]
AUDIT_CATEGORIES = frozenset(get_args(AuditCategory))
ROW_TYPES = frozenset({"AKSAudit", "AKSAuditAdmin"})
LOG_S_LIMIT = 32_766
"""AzureDiagnostics trims a field to this many bytes (Azure/AKS#3316): a longer Event is cut."""
CUT_BY_LOG_ANALYTICS = "cut by Log Analytics at 32,766 bytes (AzureDiagnostics trims longer fields)"

Result = list[Unwrapped | Damaged]


def format_of(record: Mapping[str, object]) -> str | None:
    """Which Azure Monitor shape `record` is (the tests of design §1), or None. The shapes exclude
    each other; the one diagnostic record is tested first because it is the bulk of big files."""
    if _is_diagnostic(record) or _is_batch(record):
        return DIAGNOSTIC
    kind = record.get("Type")
    if (isinstance(kind, str) and kind in ROW_TYPES) or all(
        column in record for column in ("AuditId", "RequestUri", "Verb")
    ):
        return LOG_ANALYTICS
    if "log_s" in record and isinstance(record.get("Category"), str):
        return AZURE_DIAGNOSTICS
    return None


def _is_batch(record: Mapping[str, object]) -> bool:
    """An Event Hub body: `records[]` whose first element is a diagnostic record."""
    records = record.get("records")
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], dict)
        and "category" in records[0]
        and "properties" in records[0]
    )


def _is_diagnostic(record: Mapping[str, object]) -> bool:
    """A diagnostic record: an audit category, or any category with `properties.log` (the
    container-log records of the other control-plane components that share the destination)."""
    category = record.get("category")
    properties = record.get("properties")
    if not (isinstance(category, str) and isinstance(properties, dict)):
        return False
    return category in AUDIT_CATEGORIES or "log" in properties


def recognise(record: Mapping[str, object]) -> bool:
    """Is `record` one of Azure Monitor's shapes (this module's formats)?"""
    return format_of(record) is not None


def unwrap(record: Mapping[str, object], line: int) -> Result:
    """The Events inside `record` (at its 1-based `line`), and what could not be read."""
    found = format_of(record)
    if found == DIAGNOSTIC:
        if not _is_diagnostic(record):
            records = record["records"]
            assert isinstance(records, list)
            results: Result = []
            for index, item in enumerate(records):
                results.extend(_diagnostic(item, line, f"records[{index}]."))
            return results
        return _diagnostic(record, line, "")
    if found == LOG_ANALYTICS:
        return [unwrap_row(record, line, LOG_ANALYTICS)]
    if found == AZURE_DIAGNOSTICS:
        return _azure_diagnostics(record, line)
    return [Damaged(line, "", "not an Azure Monitor record")]


def skipped(record: Mapping[str, object]) -> Counter[str]:
    """The records of non-audit categories `unwrap` passes over in `record`, by category."""
    found = format_of(record)
    counts: Counter[str] = Counter()
    if found == DIAGNOSTIC:
        items = [record] if _is_diagnostic(record) else record["records"]
        assert isinstance(items, list)
        for item in items:
            if isinstance(item, dict) and _is_diagnostic(item) and item["category"] not in AUDIT_CATEGORIES:
                counts[str(item["category"])] += 1
    elif found == AZURE_DIAGNOSTICS and record["Category"] not in AUDIT_CATEGORIES:
        counts[str(record["Category"])] += 1
    return counts


def unwrap_counted(record: Mapping[str, object], line: int) -> tuple[Result, Counter[str]]:
    """`unwrap`, and the records of other categories it passed over (`skipped`)."""
    return unwrap(record, line), skipped(record)


def _diagnostic(item: object, line: int, where: str) -> Result:
    """One diagnostic record: its `properties.log`; nothing for another category's record."""
    if not (isinstance(item, dict) and _is_diagnostic(item)):
        return [Damaged(line, where.rstrip("."), "not an AKS diagnostic record (category, properties.log)")]
    if item["category"] not in AUDIT_CATEGORIES:
        return []
    properties = item["properties"]
    return [unwrap_value(properties.get("log"), line, DIAGNOSTIC, f"{where}properties.log")]


def _azure_diagnostics(record: Mapping[str, object], line: int) -> Result:
    """An AzureDiagnostics row: `log_s` is the Event text, cut at 32,766 bytes when longer."""
    if record["Category"] not in AUDIT_CATEGORIES:
        return []
    value = record.get("log_s")
    if isinstance(value, str) and len(value) * 4 >= LOG_S_LIMIT - 3:
        text = strip_newline(value)
        try:
            cut = len(text.encode("utf-8")) >= LOG_S_LIMIT - 3  # a cut may drop a partial character
        except UnicodeEncodeError:
            cut = False
        if cut:
            try:
                decode_event(text)
            except EventError as error:
                if not error.field:  # not JSON any more (a JSON non-Event is reported as such below)
                    return [Damaged(line, "log_s", with_ids(CUT_BY_LOG_ANALYTICS, text))]
    return [unwrap_value(value, line, AZURE_DIAGNOSTICS, "log_s")]


class _Properties(msgspec.Struct, gc=False):
    """`properties` of a diagnostic record: only `log` is decoded (pod, containerID skipped)."""

    log: str


class _Record(msgspec.Struct, gc=False):
    """A diagnostic record with a `properties.log` string, decoded for that and its category only;
    both required, so any other shape fails in C and the block takes the general decoder."""

    category: str
    properties: _Properties


class _Line(msgspec.Struct, gc=False):
    """One JSONL line of the general decoder: a diagnostic record, or an Event Hub batch of them."""

    category: str | UnsetType = UNSET
    properties: msgspec.Raw | UnsetType = UNSET
    records: list[_Record] | UnsetType = UNSET


_NotHere = Annotated[int, msgspec.Meta(ge=1, le=0)] | UnsetType
"""A key that must be absent: no JSON value is an int >= 1 and <= 0, so its presence fails the
decoding in C (a check of ten keys a record in Python cost 0.3 us an event, a fifth of decoding)."""


class _LoneRecord(msgspec.Struct, gc=False):
    """A diagnostic record of an audit category none of whose keys would make the line
    CloudWatch's (eks.format_of, eks._Line: the module offered each block first), so only this
    module reads it: any other category or any such key fails the decoding."""

    category: AuditCategory
    properties: _Properties
    message: _NotHere = UNSET
    timestamp: _NotHere = UNSET
    messageType: _NotHere = UNSET
    logEvents: _NotHere = UNSET
    events: _NotHere = UNSET
    awslogs: _NotHere = UNSET
    records: _NotHere = UNSET
    results: _NotHere = UNSET
    at_message: _NotHere = msgspec.field(default=UNSET, name="@message")
    at_timestamp: _NotHere = msgspec.field(default=UNSET, name="@timestamp")


_DECODE_RECORD = msgspec.json.Decoder(_Record).decode
_LONE_RECORDS = msgspec.json.Decoder(_LoneRecord)
_DECODE_LINE = msgspec.json.Decoder(_Line).decode
_CATEGORY = attrgetter("category")
_LOG = attrgetter("properties.log")


def fast_lines(pieces: list[bytes]) -> list[bytes] | None:
    """The Event texts of JSONL lines that are all AKS records of audit categories, in order; None
    when one is not, or holds a damaged log. See the module doc."""
    found = fast_events(pieces)
    return None if found is None else found[0]


FAST_RANGE_FORMAT = DIAGNOSTIC
"""What `fast_range` reads: one diagnostic record a line (`_is_diagnostic`, so `format_of` says this)."""


def fast_range(data: bytes, start: int, stop: int) -> list[str] | None:
    """The logs of the complete lines [start, stop) of `data` when each line is one diagnostic
    record of an audit category without a key CloudWatch's reading looks at (what `fast_events`
    reads once eks declined the block), else None (`whole_range.py` judges the logs)."""
    records = objects_per_line(data, start, stop, _LONE_RECORDS)
    return None if records is None else list(map(_LOG, records))


def fast_events(pieces: list[bytes]) -> Events | None:
    """`fast_lines`, and how many events each line gave (a batch line gives several)."""
    found: tuple[list[_Record], list[int]] | None
    try:
        found = list(map(_DECODE_RECORD, pieces)), [1] * len(pieces)
    except (msgspec.DecodeError, msgspec.ValidationError):
        found = _batched(pieces)
    if found is None:
        return record_by_record(pieces, _unwrap_mine)
    records, counts = found
    if not AUDIT_CATEGORIES.issuperset(map(_CATEGORY, records)):
        return record_by_record(pieces, _unwrap_mine)  # other categories: None, to be counted
    return fast_texts_counted(list(map(_LOG, records)), counts)


def _batched(pieces: list[bytes]) -> tuple[list[_Record], list[int]] | None:
    """The records of lines that are diagnostic records or Event Hub batches of them, in order,
    and how many each line holds; None when a line is anything else (unwrapped one by one)."""
    try:
        lines = list(map(_DECODE_LINE, pieces))
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    records: list[_Record] = []
    counts: list[int] = []
    for piece, decoded in zip(pieces, lines):
        if decoded.category is not UNSET and decoded.properties is not UNSET:
            try:
                records.append(_DECODE_RECORD(piece))
            except (msgspec.DecodeError, msgspec.ValidationError):
                return None
            counts.append(1)
        elif decoded.records is not UNSET and decoded.records:
            records.extend(decoded.records)
            counts.append(len(decoded.records))
        else:
            return None
    return records, counts


def _unwrap_mine(record: Mapping[str, object]) -> Result | None:
    """`unwrap`, or None for a record that is not AKS or holds records of other categories."""
    return unwrap(record, 0) if recognise(record) and not skipped(record) else None
