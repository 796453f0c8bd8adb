"""Envelopes around a GKE LogEntry: Pub/Sub messages and `message` re-exports (cloud-formats.md §2.1).

Contract: `wrapped_entry(record)` gives `(field prefix, LogEntry)` for a Pub/Sub message (`data`
base64 of the LogEntry's JSON, under `message` as a push or pull delivers it, or at the top level
with `attributes`/`messageId`) or a re-export that wraps the entry in `message` (an object, or a
JSON string, as Sekoia and Elastic do); a `Damaged` (line 0, for the caller to fill) naming the
field when a Pub/Sub `data` cannot be decoded; None when the record wraps nothing of the kind.
Pure (one-record memo, below), never raises. Whether the entry inside is Kubernetes audit is the
caller's question.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from k8saudit_tui.engine.logs.formats import Damaged

_URLSAFE = str.maketrans("-_", "+/")
"""URL-safe base64 read as standard base64 (the alphabets differ in these two characters only)."""


Wrapped = tuple[str, dict[str, Any]] | Damaged | None
_last_wrapped: tuple[object, Wrapped] = (None, None)
"""The last record `wrapped_entry` decoded and its result: the reader calls `recognise` then
`unwrap` on the same record, and decoding base64 and JSON once instead of twice is a third of a
Pub/Sub message's cost. Holding the record keeps its identity from being reused; a record changed
in place between the two calls would be read as it was (no reader does that)."""


def wrapped_entry(record: dict[str, Any]) -> Wrapped:
    """(field prefix, LogEntry) inside a Pub/Sub message or a `message` re-export; a Damaged when
    a Pub/Sub `data` cannot be decoded; None when `record` wraps nothing of the kind."""
    global _last_wrapped
    last_record, last_result = _last_wrapped
    if last_record is record:
        return last_result
    result = _decode_wrapped(record)
    _last_wrapped = (record, result)
    return result


def _decode_wrapped(record: dict[str, Any]) -> Wrapped:
    """`wrapped_entry` without the memo."""
    message = record.get("message")
    if isinstance(message, dict) and isinstance(message.get("data"), str):
        return _pubsub_data(message["data"], "message.data")
    if isinstance(record.get("data"), str) and ("attributes" in record or "messageId" in record):
        return _pubsub_data(record["data"], "data")
    if isinstance(message, dict) and "protoPayload" in message:
        return "message.", message
    if isinstance(message, str) and message.lstrip().startswith("{") and "protoPayload" in message:
        try:
            value = orjson.loads(message)
        except orjson.JSONDecodeError:
            return None
        return ("message.", value) if isinstance(value, dict) else None
    return None


def _pubsub_data(data: str, field: str) -> tuple[str, dict[str, Any]] | Damaged:
    """A Pub/Sub message's `data`: base64 (standard or URL-safe) of one LogEntry's JSON."""
    try:
        if "-" in data or "_" in data:
            data = data.translate(_URLSAFE)
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        return Damaged(0, field, f"not base64: {error}")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return Damaged(0, field, f"the base64 data is not JSON: {error}")
    if not isinstance(value, dict):
        return Damaged(0, field, "the base64 data is not a LogEntry object")
    return f"{field}.", value
