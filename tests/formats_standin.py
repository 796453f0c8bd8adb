"""A stand-in provider module for the reader's tests, kept to the format-module contract
(formats/__init__.py): CloudWatch-like records `{"when": ms, "text": "<Event>"}` (a provider of
our own: its keys are no real format's),
Logs Insights rows `{"@timestamp", "@message"}` and GKE-like LogEntries (`protoPayload`: an Event
rebuilt, auditID from insertId). The real `eks` module is written apart; the reader
must work with whatever module the registry names, its `fast_lines` included.

Importable by worker processes (they put the repository root on sys.path): `tests.formats_standin`.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped
from k8saudit_tui.engine.logs.formats.registry import MODULES

REGISTRY = (*MODULES, ("standin", "tests.formats_standin"))
"""The registry with this stand-in after the real modules (absent ones are skipped)."""

FAST_FORMAT = "cloudwatch"
TRUNCATED = "[Truncated...]"


def recognise(record: dict[str, Any]) -> bool:
    return ("text" in record and "when" in record) or "@message" in record or "protoPayload" in record


def unwrap(record: dict[str, Any], line: int) -> list[Unwrapped | Damaged]:
    if "protoPayload" in record:  # a GKE-like LogEntry: an Event rebuilt, auditID from insertId
        rebuilt = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": record.get("insertId"),
            "stage": "ResponseComplete",
            "verb": "get",
            "requestURI": "/api/v1/namespaces/default/pods",
            "user": {"username": record["protoPayload"].get("principal", "")},
            "objectRef": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
            "stageTimestamp": record.get("timestamp"),
        }
        return [Unwrapped(orjson.dumps(rebuilt), "gke", line)]
    key = "@message" if "@message" in record else "text"
    message = record.get(key)
    if not isinstance(message, str):
        return [Damaged(line, key, "not a string")]
    if message.endswith(TRUNCATED):
        return [Damaged(line, key, "cut at the CloudWatch size limit")]
    name = "cloudwatch-insights" if key == "@message" else "cloudwatch"
    return [Unwrapped(message.encode(), name, line)]


class _Record(msgspec.Struct):
    when: int
    text: str


_DECODE = msgspec.json.Decoder(_Record).decode


def fast_lines(pieces: list[bytes]) -> list[bytes] | None:
    try:
        messages = [_DECODE(piece).text for piece in pieces]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if any(message.endswith(TRUNCATED) for message in messages):
        return None
    return [message.encode() for message in messages]
