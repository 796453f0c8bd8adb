"""BigQuery sink rows of GKE audit entries back to the LogEntry shape (cloud-formats.md §2.1).

Contract: `is_bigquery_row(record)` says whether a decoded JSON record is a row of a
`cloudaudit_googleapis_com_*` table holding a Kubernetes audit entry; `entry_from_row(row)` gives
the LogEntry that row was exported from (the shape `gke.py` reads), or a `(field, reason)` pair
naming what cannot be read. Pure, never raises.

Why a converter and not a second reader: a row is the same LogEntry with four changes, and undoing
them here keeps one mapping to an Event (the same entry via GCS, Pub/Sub or BigQuery gives the
same Event):
- the AuditLog payload is the column `protopayload_auditlog`, its `request`/`response` are JSON
  strings `requestJson`/`responseJson`;
- label keys are mangled by BigQuery's column-name rules (every character other than a letter,
  digit or `_` becomes `_`, perhaps lower-cased): the audit annotation keys the apiserver writes
  are known, so those are restored; any other key stays as the row spells it;
- timestamps may be printed `2024-01-01 01:00:00.123456 UTC` or as epoch seconds;
- absent fields are `null`.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from k8saudit_tui.engine.logs.formats.gke_names import AUDITLOG_TYPE, is_kubernetes_audit
from k8saudit_tui.engine.logs.timestamps import format_time

PAYLOAD = "protopayload_auditlog"

ANNOTATION_KEYS = (
    "authorization.k8s.io/decision",
    "authorization.k8s.io/reason",
    "pod-security.kubernetes.io/enforce-policy",
    "pod-security.kubernetes.io/audit-violations",
    "pod-security.kubernetes.io/exempt",
    "pod-security.kubernetes.io/error",
    "audit.k8s.io/truncated",
    "command.gke.io/dryRun",
    "k8s.io/deprecated",
    "k8s.io/removed-release",
    "authentication.k8s.io/legacy-token",
    "authentication.k8s.io/stale-token",
    "authentication.k8s.io/credential-id",
    "validation.policy.admission.k8s.io/validation_failure",
    "apiserver.latency.k8s.io/etcd",
    "apiserver.latency.k8s.io/total",
    "apiserver.latency.k8s.io/response-write",
    "apiserver.latency.k8s.io/serialize-response-object",
    "apiserver.latency.k8s.io/transform-response-object",
    "apiserver.latency.k8s.io/decode-response-object",
    "apiserver.latency.k8s.io/apf-queue-wait",
    "apiserver.latency.k8s.io/mutating-webhook",
    "apiserver.latency.k8s.io/validating-webhook",
)
"""Audit annotation keys the apiserver and GKE write, restored from their mangled spelling."""

ROUND_INDEX_PREFIXES = (
    "mutation.webhook.admission.k8s.io/",
    "patch.webhook.admission.k8s.io/",
    "failed-open.mutation.webhook.admission.k8s.io/",
    "failed-open.validating.webhook.admission.k8s.io/",
)
"""Annotation keys `PREFIX/round_N_index_M`, one per webhook call."""

_NOT_COLUMN_CHARACTER = re.compile(r"[^A-Za-z0-9_]")
_ROUND_INDEX = re.compile(r"round_[0-9]+_index_[0-9]+")


def mangle(key: str) -> str:
    """A label key as a BigQuery column name (lower-cased: the case BigQuery keeps is unverified)."""
    return _NOT_COLUMN_CHARACTER.sub("_", key).lower()


_KNOWN = {mangle(key): key for key in ANNOTATION_KEYS}
_ROUND_PREFIXES = tuple((mangle(prefix), prefix) for prefix in ROUND_INDEX_PREFIXES)


def unmangle(key: str) -> str:
    """The annotation key a mangled label key stands for; an unknown key is returned unchanged."""
    if "/" in key or "." in key:
        return key  # not mangled
    lower = key.lower()
    known = _KNOWN.get(lower)
    if known is not None:
        return known
    for mangled, prefix in _ROUND_PREFIXES:
        rest = lower.removeprefix(mangled)
        if rest != lower and _ROUND_INDEX.fullmatch(rest):
            return prefix + rest
    return key


def is_bigquery_row(record: dict[str, Any]) -> bool:
    """Whether `record` is a BigQuery export row of a Kubernetes audit entry."""
    payload = record.get(PAYLOAD)
    if not isinstance(payload, dict):
        return False
    payload = {key: value for key, value in payload.items() if value is not None}
    return is_kubernetes_audit(payload, record.get("resource"))


def entry_from_row(row: dict[str, Any]) -> dict[str, Any] | tuple[str, str]:
    """The LogEntry `row` was exported from, or (field, reason) when a JSON column is unreadable."""
    payload = row[PAYLOAD]
    proto: dict[str, Any] = {"@type": AUDITLOG_TYPE}
    for key, value in payload.items():
        if value is not None and key not in ("requestJson", "responseJson"):
            proto[key] = value
    for column, key in (("requestJson", "request"), ("responseJson", "response")):
        text = payload.get(column)
        if text is None or text == "":
            continue
        if not isinstance(text, str):
            return f"{PAYLOAD}.{column}", f"is a {type(text).__name__}, not a JSON string"
        try:
            proto[key] = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            return f"{PAYLOAD}.{column}", f"invalid JSON: {error}"
    entry: dict[str, Any] = {"protoPayload": proto}
    for key in ("insertId", "resource", "logName"):
        if row.get(key) is not None:
            entry[key] = row[key]
    if row.get("timestamp") is not None:
        entry["timestamp"] = rfc3339(row["timestamp"])
    labels = row.get("labels")
    if isinstance(labels, dict):
        entry["labels"] = {unmangle(key): value for key, value in labels.items() if value is not None}
    elif labels is not None:
        entry["labels"] = labels
    return entry


_BIGQUERY_TIME = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)(?: ?(?:UTC|Z|\+00:?00))?")
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def rfc3339(value: object) -> object:
    """A BigQuery TIMESTAMP as RFC 3339 (`...T...Z`); a value of another shape is returned as is,
    for the reader of the entry to refuse with the field's name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return value
    text = value.strip()
    match = _BIGQUERY_TIME.fullmatch(text)
    if match:
        return f"{match[1]}T{match[2]}Z"
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    return value


def _from_epoch(seconds: float) -> str:
    """Epoch seconds (as BigQuery's API prints a TIMESTAMP) to the apiserver's shape."""
    if not -9e9 < seconds < 9e9:
        return ""
    return format_time(round(seconds * 1_000_000) * 1000)
