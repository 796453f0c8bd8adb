"""The one table of an event's fields: what the filter language calls them, which store column
holds them, how the events list titles them and which CSV header exports them.

Before this table the same names were listed in six places (store columns, batch columns, filter
fields, CSV columns, list columns, suggestions) and drifted apart. Everything that names a field
takes it from `FIELDS`; adding a field is one row here and the code that computes its column.

Contract: `FIELDS` is ordered as the CSV export and the help list show them; `by_filter_name` and
`by_column` are views of it. Filter names are what users type (`ns:`, `ua:`), store columns are the
names `EventStore.column` and `EventStore.value` accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

FieldKind = Literal[
    "string",
    "groups",
    "resource",
    "number",
    "level",
    "rule",
    "auditid",
    "time",
    "annotation",
    "duration",
    "flag",
    "candidate",
    "change",
    "derived",
]
"""How a field's column is stored and matched:
- string: a dictionary-encoded string column (exact, any-of, fuzzy, regex over distinct values);
- groups: each row holds a set of strings (a term matches when one of them does);
- resource: resource with its subresource (`pods` matches every pods row, `pods/log` one);
- number: an integer column (`code` also takes classes such as 4xx);
- level: an audit level computed by the loaded policy;
- rule: a rule index computed by the loaded policy, none, or unknown (policy.lossy);
- auditid: the audit ID (stored compactly, fuzzy means substring);
- time: nanoseconds since the epoch: the stage's time (stageTimestamp); a `time:A..B` term ranges
  over the received time (time - latency);
- annotation: each row holds a set of `key=value` annotations (`annotation:KEY` is present,
  `annotation:KEY=VALUE` exact); a value longer than `logs.annotations.ANNOTATION_VALUE_LIMIT` is kept as
  `key=` + `logs.annotations.LONG_VALUE` (the key stays filterable, the value is in the event's JSON);
- duration: int64 nanoseconds, -1 where unknown (a term is a comparison, `latency:>1s`);
- flag: yes or no (`written` also unknown: policy.lossy), computed from the verdict columns (`written`, `drift`);
- candidate: an audit level computed by the candidate policy (`--candidate`), like `level`;
- change: how the candidate changes an event against the loaded policy, one of `CHANGES`;
- derived: computed from stored columns on demand (`EventStore.value` only), exported, never a filter
  term of its own (the CSV's timestamps and authorization decision)."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an event as every part of the app names it."""

    name: str
    """What users type in a filter (`ns`), and the key of `by_filter_name`."""
    column: str
    """The store column (`EventStore.column(column)`)."""
    kind: FieldKind
    description: str
    """What the field matches, for suggestions, `?` help and the README."""
    title: str | None = None
    """Column title in the events list; None for a field the list does not show."""
    csv_header: str | None = None
    """CSV export header; None for a field the CSV does not carry."""
    substring: bool = False
    """`~` means a case-insensitive substring (long, high-cardinality values) instead of fuzzy."""
    bare_word: bool = False
    """A bare word searches this field."""
    needs_policy: bool = False
    """The value comes from evaluating the loaded policy: a filter on it needs one."""


FIELDS: tuple[Field, ...] = (
    Field(
        "time",
        "time",
        "time",
        "when the apiserver received the request: A..B (A included), a date, -15m.. (the log's last 15 minutes)",
        "time",
        "time",
    ),
    Field(
        "stage",
        "stage",
        "string",
        "audit stage: RequestReceived, ResponseStarted, ResponseComplete, Panic",
        "stage",
        "stage",
    ),
    Field(
        "user",
        "user",
        "string",
        "authenticated user name (user.username); empty when authentication failed",
        "user",
        "user",
        bare_word=True,
    ),
    Field("group", "group", "groups", "one of the user's groups (user.groups)"),
    Field(
        "verb",
        "verb",
        "string",
        "request verb: get, list, watch, create, update, patch, delete, ...",
        "verb",
        "verb",
        bare_word=True,
    ),
    Field("apigroup", "apigroup", "string", 'API group ("" is the core group)', csv_header="apigroup"),
    Field(
        "resource",
        "resource",
        "resource",
        "resource, whatever its subresource (pods); resource/subresource for one (pods/log)",
        "resource",
        "resource",
        bare_word=True,
    ),
    Field("subresource", "subresource", "string", "subresource (log, exec, status, ...)", csv_header="subresource"),
    Field("ns", "ns", "string", "namespace of the object", "namespace", "namespace", bare_word=True),
    Field("name", "name", "string", "name of the object", "name", "name", bare_word=True),
    Field("code", "code", "number", "HTTP response code: 404, or a class: 4xx", "code", "code"),
    Field(
        "recorded",
        "recorded",
        "string",
        "level the event was recorded at (its own level field)",
        csv_header="recorded level",
    ),
    Field(
        "rule",
        "rule",
        "rule",
        "0-based index of the policy rule that matched, none, or unknown (the format lost a field the rule reads)",
        "rule",
        "rule",
        needs_policy=True,
    ),
    Field(
        "level",
        "level",
        "level",
        "level under the loaded policy: None, Metadata, Request, RequestResponse, or unknown (format lost a field)",
        "level",
        "level",
        needs_policy=True,
    ),
    Field(
        "auditid",
        "auditid",
        "auditid",
        "audit ID (shared by the stages of one request)",
        csv_header="auditID",
        substring=True,
    ),
    Field(
        "received",
        "received",
        "derived",
        "requestReceivedTimestamp: when the apiserver received the request (time - latency)",
        csv_header="requestReceivedTimestamp",
    ),
    Field(
        "stage_time",
        "stage_time",
        "derived",
        "stageTimestamp: when this stage was written (the store's time)",
        csv_header="stageTimestamp",
    ),
    Field("ip", "ip", "string", "first source IP", csv_header="source IP"),
    Field(
        "ua",
        "ua",
        "string",
        "user agent; ~ is a case-insensitive substring search",
        csv_header="user agent",
        substring=True,
    ),
    Field(
        "uri",
        "uri",
        "string",
        "request URI (path and query); ~ is a case-insensitive substring search",
        csv_header="request URI",
        substring=True,
        bare_word=True,
    ),
    Field(
        "impersonated",
        "impersonated",
        "string",
        "impersonated user name (impersonatedUser.username); empty when none",
        csv_header="impersonated user",
    ),
    Field(
        "decision",
        "decision",
        "derived",
        "authorization decision: the annotation authorization.k8s.io/decision (allow, forbid)",
        csv_header="authorization decision",
    ),
    Field(
        "annotation",
        "annotations",
        "annotation",
        "annotation:KEY (present) or annotation:KEY=VALUE, e.g. authorization.k8s.io/decision=forbid",
    ),
    Field(
        "latency",
        "latency",
        "duration",
        "stageTimestamp - requestReceivedTimestamp, e.g. latency:>1s; unknown when either is missing",
    ),
    Field(
        "written",
        "omitted",
        "flag",
        "yes when the loaded policy writes this event (level not None, stage not omitted), no, or unknown",
        needs_policy=True,
    ),
    Field(
        "drift",
        "recorded",
        "flag",
        "yes when the recorded level differs from the loaded policy's level",
        needs_policy=True,
    ),
    Field(
        "candidate",
        "candidate_level",
        "candidate",
        "level under the candidate policy (--candidate): None, Metadata, Request, RequestResponse, or unknown",
        needs_policy=True,
    ),
    Field(
        "change",
        "change",
        "change",
        "what the candidate policy does to the event: same, up, down (level), dropped, added (written or not), unknown",
        needs_policy=True,
    ),
)

CHANGES: tuple[str, ...] = ("same", "up", "down", "dropped", "added", "unknown")
"""The values of `change`, in code order (the store's `change` column holds indexes into it):
dropped = the loaded policy writes the event and the candidate does not, added = the reverse,
up / down = both write it and the candidate's level is higher / lower, unknown = an event whose
format lost what either policy reads (written unknown on either side, or its level where both
write it: store.lossy_tables), same = everything else. "Writes" is `written:` (level not None,
stage not omitted)."""

by_filter_name: Mapping[str, Field] = MappingProxyType({field.name: field for field in FIELDS})
"""Filter name -> field."""

by_column: Mapping[str, Field] = MappingProxyType({field.column: field for field in reversed(FIELDS)})
"""Store column -> field (the first of the table's order: `drift` reads the `recorded` column,
which is the `recorded` field's)."""

FILTER_NAMES: tuple[str, ...] = tuple(field.name for field in FIELDS if field.kind != "derived")
"""The fields a `name:value` term can name (`time:` takes a range; derived fields are exported only:
the decision is `annotation:authorization.k8s.io/decision=...`)."""

BARE_WORD_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.bare_word)
"""The fields a bare word searches."""

CSV_FIELDS: tuple[Field, ...] = tuple(field for field in FIELDS if field.csv_header is not None)
"""The CSV export's columns, in order (existing scripts rely on this order: append, never insert)."""
