"""Log Analytics `AKSAudit` / `AKSAuditAdmin` rows (what `az monitor log-analytics query -o json`
or a portal export gives) turned back into an audit Event.

Contract: `unwrap_row(row, line, format)` gives one `Unwrapped` (the Event serialised with orjson,
keys in the apiserver's order) or a `Damaged` naming the column; it never raises.

The table spreads the Event over PascalCase columns (learn.microsoft.com AKSAudit reference);
`COLUMNS` renames them back. The dynamic columns (User, ObjectRef, ...) keep the Event's inner
camelCase keys, so they are taken as they are, parsed first when an export wrote them as JSON
strings. `kind` and `apiVersion` have no column: every AKS Event is `audit.k8s.io/v1`, so they are
written back as such. Empty cells (Log Analytics has no "absent") are left out, as the apiserver
omits empty fields. The string `"skipped-too-big-size-object"` in RequestObject / ResponseObject
(a body AKS dropped) is kept as the string it is. The row is checked with the Event parser, since
it is a rebuild: a missing Stage is a `Damaged` naming the `Stage` column.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from k8saudit_tui.engine.logs.event import EventError, decode_event
from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped

COLUMNS: tuple[tuple[str, str], ...] = (
    ("Level", "level"),
    ("AuditId", "auditID"),
    ("Stage", "stage"),
    ("RequestUri", "requestURI"),
    ("Verb", "verb"),
    ("User", "user"),
    ("ImpersonatedUser", "impersonatedUser"),
    ("SourceIps", "sourceIPs"),
    ("UserAgent", "userAgent"),
    ("ObjectRef", "objectRef"),
    ("ResponseStatus", "responseStatus"),
    ("RequestObject", "requestObject"),
    ("ResponseObject", "responseObject"),
    ("RequestReceivedTime", "requestReceivedTimestamp"),
    ("StageReceivedTime", "stageTimestamp"),
    ("Annotations", "annotations"),
)
"""(Log Analytics column, Event key), in the order kube-apiserver writes the keys.
`ImpersonatedUser` is not in the table reference (impersonation may be lost, FORMATS says so);
it is read if an export has it."""

DYNAMIC = frozenset(
    {
        "User",
        "ImpersonatedUser",
        "SourceIps",
        "ObjectRef",
        "ResponseStatus",
        "RequestObject",
        "ResponseObject",
        "Annotations",
    }
)
"""Columns of type `dynamic`: JSON values, which CSV exports and some clients write as strings."""

_COLUMN_OF = {key: column for column, key in COLUMNS}
_HEAD = {"kind": "Event", "apiVersion": "audit.k8s.io/v1"}


def unwrap_row(row: Mapping[str, object], line: int, format: str) -> Unwrapped | Damaged:
    """The Event of one AKSAudit row, or a Damaged naming the column that cannot be read."""
    event: dict[str, object] = dict(_HEAD)
    for column, key in COLUMNS:
        value = row.get(column)
        if value is None or value == "":
            continue
        if column in DYNAMIC and isinstance(value, str):
            parsed = _dynamic(value)
            if isinstance(parsed, orjson.JSONDecodeError):
                return Damaged(line, column, f"a dynamic column holding text that is not JSON: {parsed}")
            value = parsed
        event[key] = value
    try:
        data = orjson.dumps(event)
    except (TypeError, orjson.JSONEncodeError) as error:
        return Damaged(line, "", f"cannot be serialised as JSON: {error}")
    try:
        decode_event(data)
    except EventError as error:
        key = error.field.split(".", 1)[0].split("[", 1)[0]
        column = _COLUMN_OF.get(key, error.field)
        return Damaged(line, column, f"not an audit Event once the columns are renamed back: {error}")
    return Unwrapped(data, format, line)


def _dynamic(value: str) -> object:
    """A dynamic cell written as text: its JSON value when it is an object or array; any other
    text is a plain string value (`skipped-too-big-size-object`, a single IP)."""
    if not value.lstrip().startswith(("{", "[")):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as error:
        return error
