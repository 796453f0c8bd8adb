"""Parquet export: every event column, the verdicts and the raw event line, for DuckDB, Spark or BigQuery.

Contract: `render(store, rows, redact)` yields the bytes of one Parquet file holding `rows` of the store
in the given order; engine.export writes them (0600, atomic) as it writes every format. pyarrow is an
optional dependency (`pip install 'k8saudit-tui[parquet]'`): this module imports it only when called,
and `require_pyarrow()` raises `ParquetUnavailable` (an ExportError) with the install command when it
is missing. One row per event, one schema for every file (`schema()`, `SCHEMA`), so files of many
exports read as one table (`read_parquet('exports/*.parquet')`):

| column | Arrow type | meaning |
|---|---|---|
| time | timestamp[ns, UTC] | stageTimestamp (the received time when the event has no stage time); null when unknown |
| received | timestamp[ns, UTC] | requestReceivedTimestamp (time - latency); null when unknown |
| stage | dictionary<int32, string> | audit stage |
| user | dictionary<int32, string> | user.username ("" when authentication failed) |
| groups | list<string> | user.groups |
| verb, apigroup, resource, subresource, ns, name | dictionary<int32, string> | the request ("" when absent) |
| code | int16 | HTTP response code; null when absent |
| recorded | dictionary<int32, string> | the level the event was recorded at (its own `level`) |
| auditid | string | auditID |
| ip, ua, uri, impersonated | dictionary<int32, string> | first source IP, user agent, request URI, impersonated user |
| decision | dictionary<int32, string> | annotation authorization.k8s.io/decision ("" when none) |
| annotations | list<string> | the annotations as `key=value`, sorted (a very long value is cut as in the explorer) |
| latency | int64 | stage time - received time in nanoseconds; null when unknown |
| rule, candidate_rule | int16 | 0-based index of the policy rule that matched; null when none did or no policy |
| rule_line, candidate_rule_line | int32 | 1-based line of that rule in its policy file; null likewise |
| level, candidate_level | dictionary<int32, string> | level under the policy (None to RequestResponse); null without |
| written, candidate_written | bool | the policy writes the event (level not None, stage not omitted); null without |
| drift | bool | recorded level differs from `level`; null without a policy or when `recorded` is no level |
| change | dictionary<int32, string> | same, up, down, dropped, added (fields.CHANGES); null without a candidate |
| file | dictionary<int32, string> | the log file, as the explorer names it |
| line | int32 | 1-based line of the event in that file |
| raw | string | the event's original line, byte for byte (the line `export --format jsonl` writes) |

Why these types: strings are dictionary-encoded straight from the store's codes and dictionaries (each
distinct value is converted once per export, never a Python string per row), and a row group carries only
the values it uses. `raw` is a UTF-8 string, not large_binary: JSON is UTF-8 (RFC 8259), the engines' JSON
functions (`raw->>'$.objectRef.name'` in DuckDB, JSON_VALUE in BigQuery, get_json_object in Spark) take
strings, and DuckDB casts a BLOB to text as `\\xNN` escapes. A line that is not valid UTF-8 (the store
keeps what it cannot decode inside skipped bodies) gets U+FFFD for its bad bytes, as Go's encoder would
have written it; every other line is exact. Row groups hold at most ROW_GROUP_ROWS events and about
ROW_GROUP_RAW_BYTES of raw lines, written one at a time: memory is bounded by one row group whatever the
size of the log. Compression is zstd, which DuckDB, Spark 3 and BigQuery read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from k8saudit_tui.engine.fields import CHANGES, FIELDS
from k8saudit_tui.engine.logs.annotations import annotation_value
from k8saudit_tui.engine.logs.columns import LATENCY_UNKNOWN
from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.parquet_strings import auditids, raw_lines
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.private_file import ExportError
from k8saudit_tui.engine.query.filter import recorded_levels
from k8saudit_tui.engine.store import EventStore
from k8saudit_tui.engine.store.derived import DECISION_KEY
from k8saudit_tui.engine.store.verdicts import VERDICT_COLUMNS

INSTALL = "pip install 'k8saudit-tui[parquet]'"
ROW_GROUP_ROWS = 122_880
"""Events per row group at most: DuckDB's own default, the unit it reads in parallel."""
ROW_GROUP_RAW_BYTES = 64 << 20
"""Raw line bytes per row group at most (a row group is built in memory before it is written)."""
SCHEMA_VERSION = "1"
"""In the file's key-value metadata as `k8saudit.schema`; changes when a column changes meaning."""

DICTIONARY_STRINGS: tuple[str, ...] = (
    "stage",
    "user",
    "verb",
    "apigroup",
    "resource",
    "subresource",
    "ns",
    "name",
    "recorded",
    "ip",
    "ua",
    "uri",
    "impersonated",
)
"""Store columns written as dictionary<int32, string> from the store's own codes."""

_DICT = "dictionary<int32, string>"
SCHEMA: tuple[tuple[str, str], ...] = (
    ("time", "timestamp[ns, tz=UTC]"),
    ("received", "timestamp[ns, tz=UTC]"),
    ("stage", _DICT),
    ("user", _DICT),
    ("groups", "list<string>"),
    ("verb", _DICT),
    ("apigroup", _DICT),
    ("resource", _DICT),
    ("subresource", _DICT),
    ("ns", _DICT),
    ("name", _DICT),
    ("code", "int16"),
    ("recorded", _DICT),
    ("auditid", "string"),
    ("ip", _DICT),
    ("ua", _DICT),
    ("uri", _DICT),
    ("impersonated", _DICT),
    ("decision", _DICT),
    ("annotations", "list<string>"),
    ("latency", "int64"),
    ("rule", "int16"),
    ("rule_line", "int32"),
    ("level", _DICT),
    ("written", "bool"),
    ("drift", "bool"),
    ("candidate_rule", "int16"),
    ("candidate_rule_line", "int32"),
    ("candidate_level", _DICT),
    ("candidate_written", "bool"),
    ("change", _DICT),
    ("file", _DICT),
    ("line", "int32"),
    ("raw", "string"),
)
"""Column name and Arrow type, in file order: the documented schema (the table above)."""

FIELD_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        field.name: {
            "group": "groups",
            "annotation": "annotations",
            "stage_time": "time",  # the store's time is the stage time: one column, not two equal ones
            "candidate": "candidate_level",
        }.get(field.name, field.name)
        for field in FIELDS
    }
)
"""Every field of engine.fields (filter name) -> the Parquet column that holds it."""


class ParquetUnavailable(ExportError):
    """pyarrow is not installed; the message says how to install it."""


def require_pyarrow() -> tuple[Any, Any, Any]:
    """(pyarrow, pyarrow.compute, pyarrow.parquet), or ParquetUnavailable naming the install command."""
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
    except ImportError:
        raise ParquetUnavailable(f"Parquet export needs pyarrow, which is not installed: {INSTALL}") from None
    return pyarrow, pyarrow.compute, pyarrow.parquet


def available() -> bool:
    """Whether pyarrow can be imported (the export dialog says so before the user picks Parquet)."""
    try:
        require_pyarrow()
    except ParquetUnavailable:
        return False
    return True


def schema() -> Any:
    """The pyarrow schema of every export (SCHEMA, with `k8saudit.schema` in its metadata)."""
    pa, _, _ = require_pyarrow()
    dictionary, strings = pa.dictionary(pa.int32(), pa.string()), pa.list_(pa.string())
    stamp = pa.timestamp("ns", tz="UTC")
    types = {
        "timestamp[ns, tz=UTC]": stamp,
        _DICT: dictionary,
        "list<string>": strings,
        "string": pa.string(),
        "int16": pa.int16(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
    }
    return pa.schema([(name, types[kind]) for name, kind in SCHEMA], metadata={"k8saudit.schema": SCHEMA_VERSION})


def render(store: EventStore, rows: np.ndarray, redact: Callable[[bytes], bytes] | None = None) -> Iterator[bytes]:
    """The Parquet file of `rows` (int64, in order, all readable: EventStore.readable) as chunks of bytes,
    one row group at a time. `redact` rewrites each raw line (export --redact)."""
    pa, _, pq = require_pyarrow()
    sink = _Sink()
    columns = _Columns(store, pa)
    writer = pq.ParquetWriter(
        sink,
        columns.schema,
        compression="zstd",
        use_dictionary=[name for name, _ in SCHEMA if name not in ("raw", "auditid")],
        write_statistics=[name for name, _ in SCHEMA if name != "raw"],
    )
    try:
        for part in _slices(store, rows):
            writer.write_table(columns.table(part, redact), row_group_size=max(len(part), 1))
            yield sink.drain()
    finally:
        writer.close()
    yield sink.drain()


def used_codes(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct codes of `codes` (all below `size`) ascending, and each row's index among them
    (int32): np.unique(codes, return_inverse=True) in O(rows + size) instead of a sort per row group."""
    present = np.zeros(size, bool)
    present[codes] = True
    used = np.flatnonzero(present)
    rank = np.cumsum(present, dtype=np.int32) - 1
    return used, rank[codes]


def _slices(store: EventStore, rows: np.ndarray) -> Iterator[np.ndarray]:
    """`rows` cut into row groups of at most ROW_GROUP_ROWS rows and about ROW_GROUP_RAW_BYTES raw bytes."""
    if not len(rows):
        return
    ends = np.cumsum(store.gather("length", rows))
    start = 0
    while start < len(rows):
        base = int(ends[start - 1]) if start else 0
        by_bytes = int(np.searchsorted(ends, base + ROW_GROUP_RAW_BYTES, side="right"))
        stop = min(start + ROW_GROUP_ROWS, max(by_bytes, start + 1), len(rows))
        yield rows[start:stop]
        start = stop


class _Sink:
    """A write-only file for pyarrow's writer: what it wrote since the last `drain`, so the export
    streams the file to its atomic writer (or stdout) row group by row group."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class _Columns:
    """The store's columns and dictionaries as taken once per export, cut into Arrow row groups.

    Rows below `len(store)` at the start never change (the store's threading contract), and
    dictionaries only grow, so one snapshot serves every row group while a follower appends."""

    def __init__(self, store: EventStore, pa: Any) -> None:
        self.store, self.pa, self.schema = store, pa, schema()
        n = len(store)
        self.n = n
        self.dictionaries = {name: self._strings(store.values(name)) for name in DICTIONARY_STRINGS}
        names = [entry.name for entry in store.files]
        unique_names = {name: code for code, name in enumerate(dict.fromkeys(names))}  # a spool shares its name
        self.file_names = self._strings(list(unique_names))
        self.file_code = np.array([unique_names[name] for name in names], np.int32)
        self.levels = pa.array(list(LEVELS), pa.string())
        self.changes = pa.array(list(CHANGES), pa.string())
        self.current = store.evaluator
        self.candidate = store.candidate_evaluator
        self.verdicts = {name: store.column(name, n) for name in VERDICT_COLUMNS}
        """Taken once with the policies above, so that every row group has the same verdicts even when
        the explorer swaps a policy during the export (the store caches these whole columns anyway)."""
        self.recorded = recorded_levels(store, n).astype(np.int8) if self.current is not None else None
        """The recorded level of every row as an index in LEVELS, -1 when it is none (for `drift`)."""

    def _strings(self, values: list[Any]) -> Any:
        """A store dictionary as an Arrow string array (index = code): once per export."""
        try:
            return self.pa.array(values, self.pa.string())
        except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8: shown as U+FFFD
            return self.pa.array([value.encode("utf-8", "replace").decode("utf-8") for value in values])

    def table(self, rows: np.ndarray, redact: Callable[[bytes], bytes] | None) -> Any:
        pa, store, n = self.pa, self.store, self.n
        column: dict[str, Any] = {}
        time = store.column("time", n)[rows]
        latency = store.gather("latency", rows)
        stamp = pa.timestamp("ns", tz="UTC")
        column["time"] = pa.array(time, stamp, mask=time == 0)
        column["received"] = pa.array(time - latency, stamp, mask=(latency == LATENCY_UNKNOWN) | (time == 0))
        for name in DICTIONARY_STRINGS:
            column[name] = self._coded(store.column(name, n)[rows], self.dictionaries[name])
        column["groups"] = self._lists(store.column("group", n)[rows], store.values("group"))
        code = store.column("code", n)[rows]
        column["code"] = pa.array(code, pa.int16(), mask=code == 0)
        column["auditid"] = auditids(pa, store, rows, store.column("auditid", n)[rows])
        annotations = store.column("annotations", n)[rows]
        column["decision"] = self._decisions(annotations)
        column["annotations"] = self._lists(annotations, store.values("annotations"))
        column["latency"] = pa.array(latency, pa.int64(), mask=latency == LATENCY_UNKNOWN)
        self._verdicts(column, rows, "", self.current)
        self._verdicts(column, rows, "candidate_", self.candidate)
        column["drift"] = self._drift(rows, column["level"])
        compared = self.current is not None and self.candidate is not None
        change = self.verdicts["change"][rows].astype(np.int32)
        column["change"] = self._coded(change, self.changes, missing=None if compared else np.ones(len(rows), bool))
        column["file"] = self._coded(self.file_code[store.column("file", n)[rows]], self.file_names)
        column["line"] = pa.array(store.gather("line", rows), pa.int32())
        column["raw"] = raw_lines(pa, store, rows, redact)
        return pa.table([column[name] for name, _ in SCHEMA], schema=self.schema)

    def _coded(self, codes: np.ndarray, dictionary: Any, missing: np.ndarray | None = None) -> Any:
        """A dictionary array of `codes` into `dictionary`, carrying only the values these rows use."""
        used, inverse = used_codes(codes, len(dictionary))
        indices = self.pa.array(inverse, self.pa.int32(), mask=missing)
        if missing is not None and missing.all():
            return self.pa.DictionaryArray.from_arrays(indices, dictionary.slice(0, 0))
        return self.pa.DictionaryArray.from_arrays(indices, dictionary.take(self.pa.array(used)))

    def _lists(self, codes: np.ndarray, vocabulary: list[Any]) -> Any:
        """list<string> of tuple-valued codes (groups, annotations): each distinct tuple converted once,
        then gathered by Arrow."""
        used, inverse = used_codes(codes, len(vocabulary))
        distinct = [list(vocabulary[code]) for code in used.tolist()]
        try:
            lists = self.pa.array(distinct, self.pa.list_(self.pa.string()))
        except UnicodeEncodeError:
            fixed = [[item.encode("utf-8", "replace").decode("utf-8") for item in items] for items in distinct]
            lists = self.pa.array(fixed, self.pa.list_(self.pa.string()))
        return lists.take(self.pa.array(inverse))

    def _decisions(self, annotations: np.ndarray) -> Any:
        """The authorization decision of each annotation set (derived.py's rule), once per set."""
        vocabulary = self.store.values("annotations")
        used, inverse = used_codes(annotations, len(vocabulary))
        decisions: dict[str, int] = {}  # many annotation sets share a decision: each value once
        per_set = [
            decisions.setdefault(annotation_value(vocabulary[code], DECISION_KEY), len(decisions))
            for code in used.tolist()
        ]
        return self._coded(np.array(per_set, np.int32)[inverse], self._strings(list(decisions)))

    def _verdicts(self, column: dict[str, Any], rows: np.ndarray, prefix: str, policy: PolicyEvaluator | None) -> None:
        """rule, rule_line, level, written under the loaded policy (prefix "") or the candidate."""
        pa, count = self.pa, len(rows)
        absent = np.ones(count, bool)
        undecided = None  # written unknown (2: a format that lost what the policy reads) is null
        if policy is None:
            rule, line, level = np.full(count, -1, np.int16), np.zeros(count, np.int32), np.zeros(count, np.int32)
            written = np.zeros(count, bool)
        else:
            rule = self.verdicts[prefix + "rule"][rows]
            line_of = np.array([-1 if r.line is None else r.line for r in policy.policy.rules] + [-1], np.int32)
            line = np.where(rule < 0, -1, line_of[rule])  # -1 no match, -2 unknown: no line
            level = self.verdicts[prefix + "level"][rows].astype(np.int32)
            omitted = self.verdicts[prefix + "omitted"][rows]
            written, undecided = omitted == 0, omitted == 2
        column[prefix + "rule"] = pa.array(rule, pa.int16(), mask=rule < 0)
        column[prefix + "rule_line"] = pa.array(line, pa.int32(), mask=line < 0 if policy is not None else absent)
        column[prefix + "level"] = self._coded(
            np.maximum(level, 0), self.levels, missing=(level < 0) if policy is not None else absent
        )
        column[prefix + "written"] = pa.array(written, pa.bool_(), mask=absent if policy is None else undecided)

    def _drift(self, rows: np.ndarray, level: Any) -> Any:
        """recorded != level, as the `drift:` filter decides it (query.filter.recorded_levels)."""
        if self.recorded is None:
            return self.pa.nulls(len(rows), self.pa.bool_())
        recorded = self.recorded[rows]
        policy_level = self.verdicts["level"][rows].astype(np.int64)
        return self.pa.array(recorded != policy_level, self.pa.bool_(), mask=recorded < 0)
