"""Parse a run of log lines into compact column arrays (one `Batch`), in-process or in a worker.

A batch holds, per event, where its bytes are and small integer codes into the string
dictionaries of its parser's `Encoder`; the store merges batches by remapping those codes to its
own dictionaries. Workers return batches over a pipe, so everything here is plain data (numpy
arrays, lists of str, tuples).

Per chunk the work is: split into lines, msgspec-decode blocks of lines with one C-level `map`
(a block with any unusual line is redone line by line, which finds prefixes, EventLists and the
reason a line is refused), then pull each column out of the events with C-level passes and
dictionary-encode it through dictionaries that persist across the parser's chunks.
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter, is_not, itemgetter
from typing import Any

import msgspec
import numpy as np
import orjson

from k8saudit_tui.engine.logs.attributes import records_user, request_attributes, request_path
from k8saudit_tui.engine.logs.event import (
    EventError,
    EventFields,
    ObjectRef,
    Recorded,
    ResponseStatus,
    UserInfo,
    convert_event,
    decode_event,
)
from k8saudit_tui.engine.model import LEGACY_API_VERSIONS, STAGES, RequestAttributes

STRING_COLUMNS: tuple[str, ...] = (
    "stage",
    "user",
    "verb",
    "apigroup",
    "resource",
    "subresource",
    "ns",
    "name",
    "uri",
    "ip",
    "ua",
    "recorded",
)
"""Dictionary-encoded string columns."""

CODED_COLUMNS: tuple[str, ...] = (*STRING_COLUMNS, "group", "attr")
"""Every column a batch ships as codes + new values: strings, group tuples, RequestAttributes."""

ITEM_FILE = -1
"""`file` of a row whose bytes are in `Batch.items` (an EventList item), not in the source."""

AUDITID_WIDTH = 36
"""auditIDs are UUIDs: a fixed-width bytes column (36 B/event) beats a dictionary of ~500k strings."""

_V1ALPHA1 = LEGACY_API_VERSIONS[1]


@dataclass
class Batch:
    """Columns for `count` events parsed from consecutive lines of one source.

    `line` is 1-based relative to the batch's first line; the store adds the batch's base line.
    For each name in CODED_COLUMNS, `codes[name]` are codes of the parser's Encoder (stream
    `stream`) and `values[name]` the values first seen in this batch, whose codes start at
    `bases[name]`; "attr" values are tuples of RequestAttributes fields (ATTRIBUTE_FIELDS).
    `retired` names a stream the parser has dropped (its tables can go).
    """

    count: int = 0
    lines: int = 0
    blank: int = 0
    end: int = 0
    file: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))
    line: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    offset: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    length: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    time: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    code: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))
    auditid: np.ndarray = field(default_factory=lambda: np.empty(0, f"S{AUDITID_WIDTH}"))
    long_auditids: dict[int, str] = field(default_factory=dict)
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    bases: dict[str, int] = field(default_factory=dict)
    stream: int = 0
    retired: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    items: list[bytes] = field(default_factory=list)
    tail_failed: bool = False
    """The last line had no newline and did not parse: a writer may still be completing it."""
    tail_start: int = 0
    """With `tail_failed`: the byte offset where that last line starts."""


class _Rows:
    """The events of one chunk: collected line by line, encoded a few hundred at a time.

    Columns are pulled out of the events with C-level passes (`map(attrgetter(...))`) and
    dictionary-encoded through an `Encoder`, so each string is hashed once and no per-event
    tuple is built. Encoding every FLUSH_EVENTS events, while they are still in the CPU cache,
    instead of once per chunk, matters: a column pass over a chunk's events misses the cache.
    """

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        encoder.begin()
        self.pending: list[EventFields] = []
        self.parts: list[dict[str, Any]] = []
        self.piece: list[int] = []
        """Per event, the 0-based index of its line in the chunk."""
        self.moved: dict[int, tuple[int, int, int, int, int]] = {}
        """row -> (file, line, offset, length, line index the offset is relative to, or -1)."""

    def add(self, event: EventFields) -> None:
        """Append one decoded event; the caller appends its line index to `piece`."""
        self.pending.append(event)
        if len(self.pending) >= FLUSH_EVENTS:
            self.flush()

    def extend(self, events: list[EventFields]) -> None:
        """Append decoded events; the caller extends `piece`."""
        self.pending.extend(events)
        if len(self.pending) >= FLUSH_EVENTS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.parts.append(self.encoder.extract(self.pending))
            self.pending = []

    def encode(self, batch: Batch, file: int, base: int, lengths: np.ndarray) -> None:
        """Fill `batch`: locations, times, codes, auditIDs and the encoded columns.

        `lengths` are the byte lengths of the lines of the chunk that starts at byte `base`.
        """
        self.flush()
        n = len(self.piece)
        batch.count = n
        index = np.array(self.piece, np.int64)
        starts = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths + 1, out=starts[1:])
        batch.file = np.full(n, file, np.int16)
        batch.line = (index + 1).astype(np.int32)
        batch.offset = base + starts[index]
        batch.length = lengths[index].astype(np.int32) if n else np.empty(0, np.int32)
        for row, (row_file, line, offset, length, piece) in self.moved.items():
            batch.file[row], batch.line[row], batch.length[row] = row_file, line, length
            batch.offset[row] = offset + (base + starts[piece] if piece >= 0 else 0)
        self.encoder.finish(batch, self.parts)


FLUSH_EVENTS = 256
"""Events encoded together (see `_Rows`): few enough to stay in cache, enough to amortise numpy calls."""

_USER = attrgetter("user")
_REF = attrgetter("objectRef")
_STATUS = attrgetter("responseStatus")
_IPS = attrgetter("sourceIPs")
_STAGE_TIME = attrgetter("stageTimestamp")
_FIELDS = {
    "verb": attrgetter("verb"),
    "stage": attrgetter("stage"),
    "recorded": attrgetter("level"),
    "ua": attrgetter("userAgent"),
    "uri": attrgetter("requestURI"),
}
_REF_FIELDS = {
    "resource": attrgetter("resource"),
    "subresource": attrgetter("subresource"),
    "ns": attrgetter("namespace"),
    "name": attrgetter("name"),
}
_NO_USER = UserInfo()
_PRESENT = Recorded()
"""Marks a rebuilt user as present (E2) whatever its recorded fields: `records_user` decided."""
_NO_REF = ObjectRef()
_NO_STATUS = ResponseStatus()
_NO_IP = [""]
_ATTRIBUTE_PARTS = (
    "user",
    "present",
    "group",
    "verb",
    "hasref",
    "apigroup",
    "resource",
    "subresource",
    "ns",
    "name",
    "path",
)
"""What decides an event's RequestAttributes (all that `_attributes_for` reads), as codes."""

ATTRIBUTE_FIELDS = attrgetter(*(f.name for f in fields(RequestAttributes)))
"""RequestAttributes -> tuple of its fields (`RequestAttributes(*t)` rebuilds it)."""

ENCODER_LIMIT = 400_000
"""Distinct values an Encoder keeps before it starts a new stream: bounds a worker's memory."""


class _Codes(dict):  # type: ignore[type-arg]
    """value -> code, in first-seen order. A hit is one C-level dict lookup (`__getitem__` is
    dict's own); only a miss runs Python (`__missing__`), and misses are the distinct values."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        super().__init__()
        self.values: list[Any] = []

    def __missing__(self, value: Any) -> int:
        code = self[value] = len(self.values)
        self.values.append(value)
        return code

    def encode(self, items: Iterable[Any], n: int) -> np.ndarray:
        """int32 codes of `n` items (new values are added)."""
        return np.fromiter(map(self.__getitem__, items), np.int32, n)


def _new_stream() -> int:
    """A random nonzero 62-bit stream id: unique across worker processes and loads."""
    return int.from_bytes(os.urandom(8), "little") >> 2 | 1


class Encoder:
    """Value -> code dictionaries shared by the successive batches of one parser (a *stream*).

    A worker keeps one Encoder for all its tasks: a value seen in an earlier batch costs one dict
    hit and is not shipped again. A batch carries its `stream` id, and per coded column the new
    values with the code of the first (`bases`); the store keeps, per stream, a table from stream
    codes to its own codes (`EventStore.append`). A one-off Encoder (`persistent=False`) starts
    afresh for every batch and ships stream id 0 (nothing kept).

    Also kept per stream: the RequestAttributes of each distinct combination of the codes that
    decide them, so `request_attributes` runs once per combination per stream.
    """

    def __init__(self, persistent: bool = True) -> None:
        self.persistent = persistent
        self.stream = _new_stream() if persistent else 0
        self.retired = 0
        self._start()

    def _start(self) -> None:
        self.columns: dict[str, _Codes] = {name: _Codes() for name in STRING_COLUMNS}
        self.groups = _Codes()
        self.paths = _Codes()
        self.path_of_uri = np.empty(0, np.int32)
        self.attr_keys: dict[tuple[int, ...], int] = {}
        self.attrs: list[RequestAttributes] = []
        self.sent: dict[str, int] = dict.fromkeys(CODED_COLUMNS, 0)

    def _size(self) -> int:
        return sum(len(codes.values) for codes in self.columns.values()) + len(self.attrs) + len(self.groups.values)

    def begin(self) -> None:
        """Called before each batch: a one-off Encoder, or one grown past the limit, starts afresh."""
        if not self.persistent:
            self._start()
        elif self._size() > ENCODER_LIMIT:
            self.retired, self.stream = self.stream, _new_stream()
            self._start()

    def extract(self, events: list[EventFields]) -> dict[str, Any]:
        """Coded columns, time, code, auditID and has-objectRef of some events (one `_Rows` flush)."""
        n = len(events)
        columns = self.columns
        part: dict[str, Any] = {}
        for name, getter in _FIELDS.items():
            part[name] = columns[name].encode(map(getter, events), n)
        users = list(map(_USER, events))
        if None in users:
            users = [_NO_USER if user is None else user for user in users]
        names = list(map(_USERNAME, users))
        part["user"] = columns["user"].encode(names, n)
        if "" in names:  # E2: a user without a name is present when it records anything else
            part["present"] = np.fromiter(map(records_user, users), bool, n)
        else:
            part["present"] = np.ones(n, bool)
        groups = list(map(_GROUPS, users))
        if None in groups:
            groups = [group or () for group in groups]
        part["group"] = self.groups.encode(map(tuple, groups), n)
        refs = list(map(_REF, events))
        hasref = np.fromiter(map(is_not, refs, repeat(None)), bool, n)
        if not hasref.all():
            refs = [_NO_REF if ref is None else ref for ref in refs]
        part["hasref"] = hasref
        for name, getter in _REF_FIELDS.items():
            part[name] = columns[name].encode(map(getter, refs), n)
        part["apigroup"] = columns["apigroup"].encode(_api_groups(events, refs), n)
        ips = list(map(_IPS, events))
        if None in ips or [] in ips:
            ips = [address or _NO_IP for address in ips]
        part["ip"] = columns["ip"].encode(map(_FIRST, ips), n)
        stamps = list(map(_STAGE_TIME, events))
        if "" in stamps:
            stamps = [stamp or event.stage_time for stamp, event in zip(stamps, events)]
        part["time"] = parse_times(stamps)
        part["code"] = _status_codes(events, n)
        part["auditid"], part["long_auditids"] = _audit_ids(list(map(_AUDITID, events)))
        part["count"] = n
        return part

    def finish(self, batch: Batch, parts: list[dict[str, Any]]) -> None:
        """Join the parts of a batch, add the attributes codes and ship the new values."""
        codes = batch.codes
        if parts:
            for name in (*STRING_COLUMNS, "group"):
                codes[name] = np.concatenate([part[name] for part in parts])
            batch.time = np.concatenate([part["time"] for part in parts])
            batch.code = np.concatenate([part["code"] for part in parts])
            batch.auditid = np.concatenate([part["auditid"] for part in parts])
            hasref = np.concatenate([part["hasref"] for part in parts])
            present = np.concatenate([part["present"] for part in parts])
            row = 0
            for part in parts:
                for offset, audit_id in part["long_auditids"].items():
                    batch.long_auditids[row + offset] = audit_id
                row += part["count"]
        else:
            for name in (*STRING_COLUMNS, "group"):
                codes[name] = np.empty(0, np.int32)
            hasref = present = np.empty(0, bool)
        codes["attr"] = self._attributes(batch, hasref, present)
        self._ship(batch)

    def _attributes(self, batch: Batch, hasref: np.ndarray, present: np.ndarray) -> np.ndarray:
        """A stream code per row for its RequestAttributes, computed once per distinct combination."""
        n = batch.count
        if n == 0:
            return np.empty(0, np.int32)
        uris = self.columns["uri"].values
        have = len(self.path_of_uri)
        if have < len(uris):
            fresh = self.paths.encode(map(request_path, uris[have:]), len(uris) - have)
            self.path_of_uri = np.concatenate([self.path_of_uri, fresh])
        codes = batch.codes
        parts = {name: codes[name] for name in _ATTRIBUTE_PARTS if name in codes}
        parts["hasref"] = hasref.astype(np.int32)
        parts["present"] = present.astype(np.int32)
        parts["path"] = self.path_of_uri[codes["uri"]]
        stacked = np.stack([parts[name] for name in _ATTRIBUTE_PARTS])
        _, first, inverse = np.unique(_combined_key(stacked), return_index=True, return_inverse=True)
        keys = self.attr_keys
        table = np.empty(len(first), np.int32)
        for position, (key, row) in enumerate(zip(map(tuple, stacked[:, first].T.tolist()), first.tolist())):
            code = keys.get(key)
            if code is None:
                code = keys[key] = len(self.attrs)
                self.attrs.append(self._attributes_for(key, uris[codes["uri"][row]]))
            table[position] = code
        return table[inverse.reshape(-1)]

    def _attributes_for(self, key: tuple[int, ...], uri: str) -> RequestAttributes:
        """Rebuild the fields `request_attributes` reads, so that one function decides (E1-E10)."""
        user, present, groups, verb, hasref, apigroup, resource, subresource, namespace, name, _ = key
        value = self.columns
        event = EventFields(
            verb=value["verb"].values[verb],
            requestURI=uri,
            user=UserInfo(value["user"].values[user], list(self.groups.values[groups]), extra=_PRESENT)
            if present
            else None,
            objectRef=ObjectRef(
                resource=value["resource"].values[resource],
                namespace=value["ns"].values[namespace],
                name=value["name"].values[name],
                apiGroup=value["apigroup"].values[apigroup],
                subresource=value["subresource"].values[subresource],
            )
            if hasref
            else None,
        )
        return request_attributes(event)

    def _ship(self, batch: Batch) -> None:
        """Put the values first seen in this batch (and the stream bookkeeping) into `batch`."""
        batch.stream, batch.retired, self.retired = self.stream, self.retired, 0
        vocabularies: dict[str, list[Any]] = {name: codes.values for name, codes in self.columns.items()}
        vocabularies["group"] = self.groups.values
        vocabularies["attr"] = self.attrs  # shipped as plain tuples: they unpickle 10x faster
        for name in CODED_COLUMNS:
            sent = self.sent[name]
            batch.bases[name] = sent
            fresh = vocabularies[name][sent:]
            batch.values[name] = list(map(ATTRIBUTE_FIELDS, fresh)) if name == "attr" else fresh
            self.sent[name] = len(vocabularies[name])


_USERNAME = attrgetter("username")
_GROUPS = attrgetter("groups")
_AUDITID = attrgetter("auditID")
_FIRST = itemgetter(0)


def _api_groups(events: list[EventFields], refs: list[ObjectRef]) -> list[str]:
    """objectRef.apiGroup, or for v1alpha1 events the group of objectRef.apiVersion (E10)."""
    groups = list(map(_API_GROUP, refs))
    if _V1ALPHA1 in map(_API_VERSION, events):
        for row, event in enumerate(events):
            ref = refs[row]
            if not groups[row] and event.apiVersion == _V1ALPHA1 and "/" in ref.apiVersion:
                groups[row] = ref.apiVersion.rsplit("/", 1)[0]
    return groups


_API_GROUP = attrgetter("apiGroup")
_API_VERSION = attrgetter("apiVersion")
_CODE = attrgetter("code")
_INT16_MAX = np.iinfo(np.int16).max


def _status_codes(events: list[EventFields], n: int) -> np.ndarray:
    """responseStatus.code as int16; 0 when absent or not a plausible code (outside 0..32767)."""
    statuses = list(map(_STATUS, events))
    if None in statuses:
        statuses = [_NO_STATUS if status is None else status for status in statuses]
    values = list(map(_CODE, statuses))
    try:
        wide = np.fromiter(values, np.int64, n)
    except OverflowError:
        wide = np.fromiter((v if -(2**63) <= v < 2**63 else -1 for v in values), np.int64, n)
    wide[(wide < 0) | (wide > _INT16_MAX)] = 0
    return wide.astype(np.int16)


def _audit_ids(ids: list[str]) -> tuple[np.ndarray, dict[int, str]]:
    """The fixed-width auditID column, and the IDs that do not fit, kept whole by row."""
    n = len(ids)
    if not n:
        return np.empty(0, f"S{AUDITID_WIDTH}"), {}
    sizes = np.fromiter(map(len, ids), np.int32, n)
    ascii_only = np.fromiter(map(str.isascii, ids), bool, n)
    maybe_long = (sizes > AUDITID_WIDTH) | (~ascii_only & (sizes > AUDITID_WIDTH // 4))
    data: list[str] | list[bytes] = ids
    if not ascii_only.all():
        data = [a.encode("utf-8", "replace") for a in ids]
    column = np.array(data, f"S{AUDITID_WIDTH}")
    long_ids = {row: ids[row] for row in np.flatnonzero(maybe_long).tolist() if len(ids[row].encode()) > AUDITID_WIDTH}
    return column, long_ids


def _combined_key(stacked: np.ndarray) -> np.ndarray:
    """One int64 per column of `stacked` (rows = small non-negative code arrays), equal exactly
    when all codes are equal: mixed-radix digits, re-densified before the radix would overflow."""
    key = np.zeros(stacked.shape[1], np.int64)
    size = 1
    for part in stacked:
        radix = int(part.max(initial=0)) + 1
        if size * radix >= 1 << 62:
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
            size = int(key.max(initial=0)) + 1
        key = key * radix + part
        size *= radix
    return key


_SHAPE = b"0000-00-00T00:00:00.000000Z"
_DIGITS = np.frombuffer(_SHAPE, np.uint8) == ord("0")
_SEPARATORS = np.frombuffer(_SHAPE, np.uint8)


def parse_times(stamps: list[str]) -> np.ndarray:
    """RFC 3339 timestamps to int64 nanoseconds since the epoch (0 when missing or unreadable).

    The shape every apiserver writes (`2024-05-14T09:00:00.001467Z`) is parsed vectorised over a
    byte matrix (days from civil date, Hinnant's algorithm); any other shape goes one by one
    through `_slow_time`.
    """
    n = len(stamps)
    out = np.zeros(n, np.int64)
    if n == 0:
        return out
    lengths = np.fromiter(map(len, stamps), np.int32, n)
    try:
        matrix = np.array(stamps, "S27").view(np.uint8).reshape(n, 27)
    except (UnicodeEncodeError, ValueError):
        matrix = None
    if matrix is not None:
        digits = matrix.astype(np.int64) - 48
        good = lengths == 27
        good &= ((digits[:, _DIGITS] >= 0) & (digits[:, _DIGITS] <= 9)).all(axis=1)
        good &= (matrix[:, ~_DIGITS] == _SEPARATORS[~_DIGITS]).all(axis=1)
        d = digits[good]
        year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
        month = d[:, 5] * 10 + d[:, 6]
        day = d[:, 8] * 10 + d[:, 9]
        seconds = (d[:, 11] * 10 + d[:, 12]) * 3600 + (d[:, 14] * 10 + d[:, 15]) * 60
        seconds += d[:, 17] * 10 + d[:, 18]
        micros = np.zeros(len(d), np.int64)
        for column in range(20, 26):
            micros = micros * 10 + d[:, column]
        days = _days_from_civil(year, month, day)
        out[good] = ((days * 86400 + seconds) * 1_000_000 + micros) * 1000
        slow = np.flatnonzero(~good & (lengths > 0))
    else:
        slow = np.flatnonzero(lengths > 0)
    for row in slow.tolist():
        out[row] = _slow_time(stamps[row])
    return out


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 for proleptic Gregorian dates, vectorised."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _slow_time(stamp: str) -> int:
    """Any ISO 8601 shape Python accepts; nanosecond digits beyond 6 are kept; 0 when unreadable."""
    text = stamp.strip()
    nanos = 0
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        nanos = int((digits + "000000000")[:9]) if digits else 0
        text = head + rest
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = calendar.timegm(moment.utctimetuple())
    return seconds * 1_000_000_000 + nanos


def format_time(nanos: int) -> str:
    """int64 nanoseconds back to the RFC 3339 form audit logs use (microseconds, Z)."""
    if nanos == 0:
        return ""
    seconds, rest = divmod(int(nanos), 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


BLOCK_LINES = 256
"""Lines decoded per C-level `map`; a block holding an unusual line is redone line by line."""

_DECODE = msgspec.json.Decoder(EventFields).decode
"""The decoder `decode_event` uses (same type, same result) without its per-line checks."""
_KIND = attrgetter("kind")
_STAGE = attrgetter("stage")
_VERB = attrgetter("verb")
_EVENT_KINDS = frozenset({None, "Event"})
_STAGE_NAMES = frozenset(STAGES)


def parse_lines(data: bytes, base_offset: int, file: int, final: bool, encoder: Encoder | None = None) -> Batch:
    """Parse complete lines of `data` (starting at byte `base_offset` of file number `file`).

    With `final`, a last line without newline is parsed too (a file need not end in a newline);
    otherwise it is left for later (`Batch.end` says how far we got). `encoder` is the parser's
    persistent Encoder (default: a one-off one).
    """
    rows = _Rows(encoder or Encoder(persistent=False))
    batch = Batch()
    pieces = data.split(b"\n")
    if not final or pieces[-1] == b"":
        tail = pieces.pop()
        batch.end = base_offset + len(data) - len(tail)
    else:
        batch.end = base_offset + len(data)
    lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    opens = _opens_with_brace(data, lengths)
    for start in range(0, len(pieces), BLOCK_LINES):
        stop = min(start + BLOCK_LINES, len(pieces))
        if not (opens[start:stop].all() and _fast_block(rows, pieces, start, stop)):
            _slow_block(rows, batch, pieces, start, stop, file)
    batch.lines = len(pieces)
    if final and pieces and not data.endswith(b"\n") and batch.problems:
        batch.tail_failed = batch.problems[-1][0] == len(pieces)
        batch.tail_start = batch.end - len(pieces[-1])
    rows.encode(batch, file, base_offset, lengths)
    return batch


def _opens_with_brace(data: bytes, lengths: np.ndarray) -> np.ndarray:
    """Per line: does it start with `{` (the only lines the block decoder may take)?"""
    if not len(lengths):
        return np.zeros(0, bool)
    starts = np.zeros(len(lengths), np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    first = np.frombuffer(data, np.uint8)[np.minimum(starts, max(len(data) - 1, 0))]
    return (first == ord("{")) & (lengths > 0)


def _fast_block(rows: _Rows, pieces: list[bytes], start: int, stop: int) -> bool:
    """Decode lines [start, stop) in one pass; False (nothing added) unless every line is a
    plain Event that `decode_event` would accept as is (`check_event`, done over the block)."""
    try:
        events = list(map(_DECODE, pieces[start:stop]))
    except Exception:
        return False
    if not (
        _EVENT_KINDS.issuperset(map(_KIND, events))
        and _STAGE_NAMES.issuperset(map(_STAGE, events))
        and "" not in map(_VERB, events)
    ):
        return False
    rows.piece.extend(range(start, stop))
    rows.extend(events)
    return True


def _slow_block(rows: _Rows, batch: Batch, pieces: list[bytes], start: int, stop: int, file: int) -> None:
    """Lines [start, stop) one by one: plain Events, then prefixed lines, EventLists, problems."""
    add = rows.add
    index = rows.piece.append
    for number in range(start, stop):
        piece = pieces[number]
        if piece[:1] == b"{":
            try:
                add(decode_event(piece))
                index(number)
                continue
            except EventError as error:
                failure: EventError | None = error
        else:
            failure = None
        _slow_line(rows, batch, piece, file, number, failure)


def _slow_line(
    rows: _Rows,
    batch: Batch,
    piece: bytes,
    file: int,
    index: int,
    error: EventError | None,
) -> None:
    """Blank lines, `prefix {json}` lines, EventList documents, and the reasons a line is refused.

    `index` is the 0-based line index in the chunk; problems carry 1-based relative line numbers.
    """
    number = index + 1
    stripped = piece.strip()
    if not stripped:
        batch.blank += 1
        return
    if error is None:
        start = piece.find(b"{")
        if start < 0 or not piece.rstrip().endswith(b"}"):
            batch.problems.append((number, "", _not_json(piece)))
            return
        try:
            event = decode_event(piece[start:])
        except EventError as prefixed_error:
            error = prefixed_error
            piece = piece[start:]
        else:
            rows.moved[len(rows.piece)] = (file, number, start, len(piece) - start, index)
            rows.add(event)
            rows.piece.append(index)
            return
    if error.field == "kind" and b'"EventList"' in piece:
        _event_list(rows, batch, piece, number)
        return
    batch.problems.append((number, error.field, error.message))


def _not_json(piece: bytes) -> str:
    """Why a line that does not start with `{` is refused, in a few words."""
    if b"\x00" in piece or any(b < 9 for b in piece[:64]):
        return "binary data, not a JSON audit Event"
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"invalid UTF-8 at byte {error.start}"
    return "not a JSON object"


def _event_list(rows: _Rows, batch: Batch, piece: bytes, number: int) -> None:
    """An EventList (webhook batch) on one line: each item becomes a row with re-serialised bytes."""
    try:
        document = orjson.loads(piece)
    except orjson.JSONDecodeError as error:
        batch.problems.append((number, "", f"invalid JSON: {error}"))
        return
    add_items(rows, batch, document, number)


def add_items(rows: _Rows, batch: Batch, document: object, number: int) -> None:
    """Add the events of a parsed JSON document (EventList, array of Events, or one Event).

    Items have no bytes of their own in the source: each is re-serialised into `batch.items`
    and its row points there (file ITEM_FILE, offset = item index), at line `number`.
    """
    if isinstance(document, dict) and document.get("kind") == "EventList":
        items = document.get("items")
        prefix: str | None = "items"
    elif isinstance(document, list):
        items, prefix = document, ""
    else:
        items, prefix = [document], None
    if not isinstance(items, list):
        batch.problems.append((number, "items", "EventList without an items array"))
        return
    for position, item in enumerate(items):
        where = f"{prefix}[{position}]" if prefix is not None else ""
        try:
            event = convert_event(item)
        except EventError as error:
            label = ".".join(part for part in (where, error.field) if part)
            batch.problems.append((number, label, error.message))
            continue
        data = orjson.dumps(item)
        rows.moved[len(rows.piece)] = (ITEM_FILE, number, len(batch.items), len(data), -1)
        rows.add(event)
        rows.piece.append(number - 1)
        batch.items.append(data)


def parse_document(data: bytes, file: int) -> Batch:
    """A whole file holding one JSON document (a pretty-printed EventList, Event or array).

    Its events have no line of their own; they are placed at line 1 (where the document starts).
    """
    rows = _Rows(Encoder(persistent=False))
    batch = Batch()
    batch.lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    batch.end = len(data)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        batch.problems.append((1, "", f"invalid JSON document: {error}"))
    else:
        add_items(rows, batch, document, 1)
    rows.encode(batch, file, 0, np.zeros(1, np.int64))
    return batch


def parse_range(task: tuple[str, int, int, int, bool], encoder: Encoder | None = None) -> Batch:
    """Worker entry point: read bytes [start, end) of `path` and parse them (file index `file`)."""
    path, file, start, end, final = task
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, end - start, start)
    finally:
        os.close(fd)
    return parse_lines(data, start, file, final, encoder)


def looks_like_document(head: bytes) -> bool:
    """A file whose first non-blank line is `{`, `[` or starts with `[` is one JSON document."""
    for line in head.split(b"\n"):
        stripped = line.strip()
        if stripped:
            return stripped in (b"{", b"[") or stripped.startswith(b"[")
    return False
