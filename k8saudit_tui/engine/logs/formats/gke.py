"""GKE: a Cloud Logging LogEntry with a Kubernetes AuditLog, rebuilt as an audit Event (issue 14).

Contract (the format-module contract of `formats/__init__.py`), pure, no I/O, never raises:
- `recognise(record)`: a LogEntry whose `protoPayload` is an AuditLog of `serviceName: k8s.io`
  (or, without a serviceName, of a `k8s_cluster` resource), as `gcloud logging read`, GCS sinks and
  the console give it; a Pub/Sub message carrying one as base64 `data`; a BigQuery export row
  (`protopayload_auditlog`); a re-export wrapping one in `message` (an object or a JSON string).
- `unwrap(record, line)`: one `Unwrapped` Event (format `gke`), or one `Damaged` naming the field.
- `LOST_REASONS`: for each field the gke `FormatInfo` lists as lost, the sentence the explain trace
  shows after "cannot evaluate: ".

Why rebuilt and how (cloud-formats.md §2.5, not falco's lossy choices): GKE never exports the
apiserver's Event. auditID is `insertId`; verb, requestURI and objectRef come from
`methodName`/`resourceName` (`gke_names.py`); level from which bodies are present; stage is
ResponseComplete (ResponseStarted for exec/attach/portforward/proxy); the user is only its name
(`principalEmail`); sourceIPs is `[callerIp]`; responseStatus.code is a Status response's code or
`protoPayload.status.code` through the gRPC-to-HTTP table (201 for a successful create, 101 for
exec/attach/portforward); both timestamps are the entry's `timestamp` (never `receiveTimestamp`,
the ingestion time); annotations are the entry's `labels` and nothing else. Deduplication on
insertId is the reader's job.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from k8saudit_tui.engine.logs.formats import BY_NAME, Damaged, Unwrapped
from k8saudit_tui.engine.logs.formats.gke_bigquery import PAYLOAD, entry_from_row, is_bigquery_row
from k8saudit_tui.engine.logs.formats.gke_envelopes import wrapped_entry
from k8saudit_tui.engine.logs.formats.gke_names import (
    STREAMING_SUBRESOURCES,
    BadName,
    is_kubernetes_audit,
    read_names,
)
from k8saudit_tui.engine.logs.timestamps import format_time, parse_times

FORMAT = "gke"

LOST_REASONS: dict[str, str] = {
    "stage": "the stage is not present in GKE logs (one entry per request)",
    "user.groups": "user groups are not present in GKE logs",
    "user.uid": "the user's uid is not present in GKE logs",
    "user.extra": "the user's extra fields are not present in GKE logs",
    "impersonatedUser": "impersonation is not present in GKE logs",
    "requestURI.query": "the query string of the request URI is not present in GKE logs",
}
assert set(LOST_REASONS) == set(BY_NAME[FORMAT].lost), "a reason for every field GKE loses"

GRPC_TO_HTTP: dict[int, int] = {
    0: 200,  # OK (201 for create, 101 for an upgraded stream: see _status_code)
    1: 499,  # CANCELLED
    2: 500,  # UNKNOWN
    3: 400,  # INVALID_ARGUMENT
    4: 504,  # DEADLINE_EXCEEDED
    5: 404,  # NOT_FOUND
    6: 409,  # ALREADY_EXISTS
    7: 403,  # PERMISSION_DENIED
    8: 429,  # RESOURCE_EXHAUSTED
    9: 400,  # FAILED_PRECONDITION
    10: 409,  # ABORTED
    11: 400,  # OUT_OF_RANGE
    12: 501,  # UNIMPLEMENTED
    13: 500,  # INTERNAL
    14: 503,  # UNAVAILABLE
    15: 500,  # DATA_LOSS
    16: 401,  # UNAUTHENTICATED
}
"""google.rpc.Code to HTTP, as `google/rpc/code.proto` documents each code's HTTP mapping."""

_UPGRADED = frozenset({"exec", "attach", "portforward"})
"""Subresources whose successful response is 101 Switching Protocols (a stream, not a body)."""


def recognise(record: dict[str, Any]) -> bool:
    """Whether `record` holds a GKE Kubernetes audit LogEntry (see the module docstring)."""
    if not isinstance(record, dict):
        return False
    if is_kubernetes_audit(record.get("protoPayload"), record.get("resource")) or is_bigquery_row(record):
        return True
    inner = wrapped_entry(record)
    return isinstance(inner, tuple) and _is_entry(inner[1])


def unwrap(record: dict[str, Any], line: int) -> list[Unwrapped | Damaged]:
    """The Event rebuilt from `record`, or a Damaged naming the field that prevents it."""
    return [_unwrap(record, line)]


def _unwrap(record: dict[str, Any], line: int) -> Unwrapped | Damaged:
    """One record in any of the containers: a LogEntry, a BigQuery row, a Pub/Sub or `message` envelope."""
    if not isinstance(record, dict):
        return Damaged(line, "", "not a JSON object")
    if _is_entry(record):
        return _event(record, line, "", "protoPayload")
    if is_bigquery_row(record):
        entry = entry_from_row(record)
        if isinstance(entry, tuple):
            return Damaged(line, entry[0], entry[1])
        return _event(entry, line, "", PAYLOAD)
    inner = wrapped_entry(record)
    if isinstance(inner, Damaged):
        return Damaged(line, inner.field, inner.reason)
    if inner is not None and _is_entry(inner[1]):
        return _event(inner[1], line, inner[0], "protoPayload")
    return Damaged(line, "protoPayload", "not a Cloud Logging LogEntry with a Kubernetes (k8s.io) AuditLog")


def _is_entry(record: dict[str, Any]) -> bool:
    """A LogEntry of Kubernetes audit (not a cluster operation of another service)."""
    return is_kubernetes_audit(record.get("protoPayload"), record.get("resource"))


class _Bad(Exception):
    """One unreadable field of the entry being rebuilt (caught in `_event`, never escapes)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _event(entry: dict[str, Any], line: int, prefix: str, payload_name: str) -> Unwrapped | Damaged:
    """Rebuild the Event of one LogEntry; `prefix` and `payload_name` spell the fields in Damaged."""
    payload: dict[str, Any] = entry["protoPayload"]
    method = payload.get("methodName")
    context = f" (insertId {entry.get('insertId')!r}, {method})" if isinstance(method, str) else ""
    try:
        event = _rebuild(entry, payload, payload_name)
        return Unwrapped(orjson.dumps(event), FORMAT, line)
    except _Bad as bad:
        return Damaged(line, prefix + bad.field, bad.reason + context)
    except (orjson.JSONEncodeError, TypeError) as error:
        return Damaged(line, prefix + payload_name, f"cannot be written as JSON: {error}" + context)


def _rebuild(entry: dict[str, Any], payload: dict[str, Any], where: str) -> dict[str, Any]:
    """The Event's members in the apiserver's key order; raises `_Bad` for an unreadable field."""
    audit_id = _required(entry, "insertId", "insertId")
    method = _required(payload, "methodName", f"{where}.methodName")
    resource_name = _text(payload, "resourceName", f"{where}.resourceName")
    if resource_name is None:
        raise _Bad(f"{where}.resourceName", "missing")
    names = read_names(method, resource_name)
    if isinstance(names, BadName):
        raise _Bad(f"{where}.{names.field}", names.reason)
    time = _time(entry.get("timestamp"))
    request = _body(payload, "request", where)
    response = _body(payload, "response", where)
    subresource = names.object_ref.get("subresource", "") if names.object_ref else ""
    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": _level(request, response),
        "auditID": audit_id,
        "stage": "ResponseStarted" if subresource in STREAMING_SUBRESOURCES else "ResponseComplete",
        "requestURI": names.request_uri,
        "verb": names.verb,
    }
    authentication = _member(payload, "authenticationInfo", where)
    username = _text(authentication, "principalEmail", f"{where}.authenticationInfo.principalEmail")
    if username:
        event["user"] = {"username": username}
    metadata = _member(payload, "requestMetadata", where)
    caller_ip = _text(metadata, "callerIp", f"{where}.requestMetadata.callerIp")
    if caller_ip:
        event["sourceIPs"] = [caller_ip]
    user_agent = _text(metadata, "callerSuppliedUserAgent", f"{where}.requestMetadata.callerSuppliedUserAgent")
    if user_agent:
        event["userAgent"] = user_agent
    if names.object_ref is not None:
        event["objectRef"] = names.object_ref
    event["responseStatus"] = _response_status(payload, response, names.verb, subresource, where)
    if request is not None:
        event["requestObject"] = request
    if response is not None:
        event["responseObject"] = response
    event["requestReceivedTimestamp"] = time
    event["stageTimestamp"] = time
    annotations = _annotations(entry.get("labels"))
    if annotations:
        event["annotations"] = annotations
    return event


def _text(holder: dict[str, Any], key: str, field: str) -> str | None:
    """A string member, None when absent or null."""
    value = holder.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(field, f"is a {type(value).__name__}, not a string")
    return value


def _required(holder: dict[str, Any], key: str, field: str) -> str:
    """A string member that must be there and not empty."""
    value = _text(holder, key, field)
    if not value:
        raise _Bad(field, "missing")
    return value


def _member(payload: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """An object member of the payload, {} when absent."""
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(f"{where}.{key}", f"is a {type(value).__name__}, not an object")
    return value


def _body(payload: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    """`request`/`response` without the `@type` GKE adds; None when not logged."""
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Bad(f"{where}.{key}", f"is a {type(value).__name__}, not an object")
    return {name: member for name, member in value.items() if name != "@type"}


def _level(request: object, response: object) -> str:
    """The level the bodies show: a response is only logged at RequestResponse, a request from
    Request on; neither is Metadata (None-level events never reach GKE)."""
    if response is not None:
        return "RequestResponse"
    return "Request" if request is not None else "Metadata"


def _time(value: object) -> str:
    """The entry's `timestamp` in the apiserver's shape (microseconds, Z)."""
    if value is None or value == "":
        raise _Bad("timestamp", "missing: the entry has no time")
    if not isinstance(value, str):
        raise _Bad("timestamp", f"is a {type(value).__name__}, not a string")
    time = event_time(value)
    if not time:
        raise _Bad("timestamp", f"{value[:40]!r} is not an RFC 3339 time")
    return time


_UTC_TIME = re.compile(
    r"((?:1[7-9]|2[01])[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9])(?:\.([0-9]{1,9}))?Z"
)


def event_time(text: str) -> str:
    """An RFC 3339 time in the apiserver's shape (`2024-05-14T09:00:00.001467Z`), "" if unreadable.

    Cloud Logging writes UTC with 0, 3, 6 or 9 fractional digits: that shape is rewritten as text
    (digits beyond the microsecond dropped, the date checked by `fromisoformat`), about 30 times
    cheaper than the engine's one-element `parse_times`; any other shape, and years outside
    1700-2199 (the engine's times are int64 nanoseconds: 1677-2262), go through it.
    """
    match = _UTC_TIME.fullmatch(text)
    if match is None:
        return format_time(int(parse_times([text])[0]))
    try:
        datetime.fromisoformat(match[1])
    except ValueError:
        return ""
    return f"{match[1]}.{((match[2] or '') + '000000')[:6]}Z"


def _response_status(
    payload: dict[str, Any], response: dict[str, Any] | None, verb: str, subresource: str, where: str
) -> dict[str, Any]:
    """`{"metadata": {}, "code": ...}` (plus the message) as the apiserver writes responseStatus."""
    status = _member(payload, "status", where)
    message = _text(status, "message", f"{where}.status.message")
    code = _status_code(payload, status, response, verb, subresource, where)
    if not message and response is not None and _is_status(payload):
        found = response.get("message")
        message = found if isinstance(found, str) else None
    result: dict[str, Any] = {"metadata": {}}
    if message:
        result["message"] = message
    result["code"] = code
    return result


def _is_status(payload: dict[str, Any]) -> bool:
    """Whether the logged response is a Status (GKE's `@type` ends `.Status`, or its `kind` says so)."""
    response = payload.get("response")
    if not isinstance(response, dict):
        return False
    kind = response.get("@type")
    return response.get("kind") == "Status" or (isinstance(kind, str) and kind.endswith(".Status"))


def _status_code(
    payload: dict[str, Any],
    status: dict[str, Any],
    response: dict[str, Any] | None,
    verb: str,
    subresource: str,
    where: str,
) -> int:
    """The HTTP code: a Status response's own code, else the gRPC code through `GRPC_TO_HTTP`."""
    if response is not None and _is_status(payload):
        code = response.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
            return code
    raw = status.get("code", 0)
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        raw = int(raw)  # BigQuery's JSON prints INT64 as a string
    if raw is None:
        raw = 0
    if not isinstance(raw, int) or isinstance(raw, bool) or raw not in GRPC_TO_HTTP:
        raise _Bad(f"{where}.status.code", f"{raw!r} is not a google.rpc.Code (0-16)")
    if raw != 0:
        return GRPC_TO_HTTP[raw]
    if subresource in _UPGRADED:
        return 101
    return 201 if verb == "create" else 200


def _annotations(labels: object) -> dict[str, str]:
    """The entry's labels are the Event's annotations (string to string)."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise _Bad("labels", f"is a {type(labels).__name__}, not an object")
    for key, value in labels.items():
        if not isinstance(value, str):
            raise _Bad(f"labels.{key}", f"is a {type(value).__name__}, not a string")
    return labels
