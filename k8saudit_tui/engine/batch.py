"""Parse a run of log lines into compact column arrays (one `Batch`), in-process or in a worker.

A batch holds, per event, where its bytes are and small integer codes into batch-local string
dictionaries; the store merges batches by remapping codes to its own dictionaries. Workers return
batches over a pipe, so everything here is plain data (numpy arrays, lists of str, tuples).

Per line the work is: msgspec decode of the few fields we need (`decode_event`), then appending
strings to per-column lists; the dictionary encoding and the request attributes are computed once
per chunk over distinct values, which keeps the per-event Python cost low.
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timezone

import numpy as np
import orjson

from k8saudit_tui.engine.attributes import request_attributes, request_path
from k8saudit_tui.engine.event import (
    EventError,
    EventFields,
    ObjectRef,
    UserInfo,
    convert_event,
    decode_event,
)
from k8saudit_tui.engine.model import LEGACY_API_VERSIONS, RequestAttributes

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
"""Dictionary-encoded string columns, in the order the parser fills them."""

ITEM_FILE = -1
"""`file` of a row whose bytes are in `Batch.items` (an EventList item), not in the source."""

AUDITID_WIDTH = 36
"""auditIDs are UUIDs: a fixed-width bytes column (36 B/event) beats a dictionary of ~500k strings."""

_V1ALPHA1 = LEGACY_API_VERSIONS[1]


@dataclass
class Batch:
    """Columns for `count` events parsed from consecutive lines of one source.

    `line` is 1-based relative to the batch's first line; the store adds the batch's base line.
    `codes[col]` index `values[col]`; `groups` and `attrs` are encoded the same way.
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
    values: dict[str, list[str]] = field(default_factory=dict)
    group_codes: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    group_values: list[tuple[str, ...]] = field(default_factory=list)
    attr_codes: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    attr_values: list[RequestAttributes] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    items: list[bytes] = field(default_factory=list)
    tail_failed: bool = False
    """The last line had no newline and did not parse: a writer may still be completing it."""
    tail_start: int = 0
    """With `tail_failed`: the byte offset where that last line starts."""


class _Rows:
    """Per-event values appended line by line, dictionary-encoded into a `Batch` at the end.

    Strings from one event come fresh from the decoder, so each must be hashed once; grouping
    the low-cardinality ones into two tuples per event makes that one dict operation per tuple
    instead of two per column, and the per-column codes are then derived over distinct tuples.
    """

    def __init__(self) -> None:
        self.piece: list[int] = []
        self.moved: dict[int, tuple[int, int, int, int, int]] = {}
        """row -> (file, line, offset, length, line index the offset is relative to, or -1)."""
        self.time: list[str] = []
        self.code: list[int] = []
        self.auditid: list[str] = []
        self.who: list[tuple[str, tuple[str, ...], str, bool, str, str, str, str]] = []
        self.how: list[tuple[str, str, str, str]] = []
        self.name: list[str] = []
        self.uri: list[str] = []

    def add(self, event: EventFields) -> None:
        """Append one decoded event (hot path: plain attribute reads and list appends).

        The caller appends the event's line index to `piece` (and to `moved` when its bytes are
        not the whole line: a prefixed line or an EventList item).
        """
        self.time.append(event.stage_time)
        status = event.responseStatus
        self.code.append(status.code if status is not None else 0)
        self.auditid.append(event.auditID)
        user = event.user
        username, groups = ("", ()) if user is None else (user.username, tuple(user.groups or ()))
        ref = event.objectRef
        if ref is not None:
            group = ref.apiGroup
            if not group and event.apiVersion == _V1ALPHA1 and "/" in ref.apiVersion:
                group = ref.apiVersion.rsplit("/", 1)[0]  # E10, as request_attributes does
            self.who.append(
                (username, groups, event.verb, True, group, ref.resource, ref.subresource, ref.namespace)
            )
            self.name.append(ref.name)
        else:
            self.who.append((username, groups, event.verb, False, "", "", "", ""))
            self.name.append("")
        ips = event.sourceIPs
        self.how.append((event.stage, event.level, event.userAgent, ips[0] if ips else ""))
        self.uri.append(event.requestURI)

    def encode(self, batch: Batch, file: int, base: int, lengths: np.ndarray) -> None:
        """Dictionary-encode every column into `batch` and compute attributes per distinct tuple.

        `lengths` are the byte lengths of the lines of the chunk that starts at byte `base`.
        """
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
        batch.time = parse_times(self.time)
        batch.code = np.array(self.code, np.int16) if n else np.empty(0, np.int16)
        if n:
            sizes = np.fromiter(map(len, self.auditid), np.int32, n)
            ascii_only = np.fromiter(map(str.isascii, self.auditid), bool, n)
            maybe_long = (sizes > AUDITID_WIDTH) | (~ascii_only & (sizes > AUDITID_WIDTH // 4))
            ids: list[str] | list[bytes] = self.auditid
            if not ascii_only.all():
                ids = [a.encode("utf-8", "replace") for a in self.auditid]
            batch.auditid = np.array(ids, f"S{AUDITID_WIDTH}")
            batch.long_auditids = {
                row: self.auditid[row]
                for row in np.flatnonzero(maybe_long).tolist()
                if len(self.auditid[row].encode()) > AUDITID_WIDTH
            }
        who_codes, who = factorize(self.who)
        who_index = np.array(who_codes, np.int32)
        _split(batch, who, who_index, ("user", None, "verb", None, "apigroup", "resource", "subresource", "ns"))
        group_codes, batch.group_values = factorize([entry[1] for entry in who])
        batch.group_codes = np.array(group_codes, np.int32)[who_index] if n else batch.group_codes
        how_codes, how = factorize(self.how)
        _split(batch, how, np.array(how_codes, np.int32), ("stage", "recorded", "ua", "ip"))
        name_codes, batch.values["name"] = factorize(self.name)
        uri_codes, batch.values["uri"] = factorize(self.uri)
        batch.codes["name"] = np.array(name_codes, np.int32)
        batch.codes["uri"] = np.array(uri_codes, np.int32)
        batch.attr_codes, batch.attr_values = _attributes(batch, who, who_index)


def _split(batch: Batch, tuples: list[tuple], index: np.ndarray, names: tuple[str | None, ...]) -> None:  # type: ignore[type-arg]
    """Per-column codes from distinct tuples: factorize each field over the tuples, then gather."""
    for position, name in enumerate(names):
        if name is None:
            continue
        codes, values = factorize([entry[position] for entry in tuples])
        batch.values[name] = values
        batch.codes[name] = np.array(codes, np.int32)[index] if len(index) else np.empty(0, np.int32)


_ATTRIBUTE_CACHE: dict[tuple[object, ...], RequestAttributes] = {}
"""Per process: the same (who, name, path) recurs across batches; request_attributes runs once."""


def _attributes(
    batch: Batch, who: list[tuple], who_index: np.ndarray  # type: ignore[type-arg]
) -> tuple[np.ndarray, list[RequestAttributes]]:
    """RequestAttributes once per distinct (who, name, path) combination, then a code per row."""
    if batch.count == 0:
        return np.empty(0, np.int32), []
    uris = batch.values["uri"]
    path_codes, paths = factorize([request_path(u) for u in uris])
    path_of_row = np.array(path_codes, np.int64)[batch.codes["uri"]]
    names = batch.values["name"]
    key = (who_index.astype(np.int64) * len(names) + batch.codes["name"]) * len(paths) + path_of_row
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    attrs: list[RequestAttributes] = []
    cache = _ATTRIBUTE_CACHE
    for row in first.tolist():
        entry = who[who_index[row]]
        path = paths[path_of_row[row]]
        name = names[batch.codes["name"][row]]
        cache_key = (entry, name, path)
        value = cache.get(cache_key)
        if value is None:
            value = _attributes_for(entry, name, uris[batch.codes["uri"][row]])
            if len(cache) < 200_000:
                cache[cache_key] = value
        attrs.append(value)  # equal attributes from different keys are merged by the store
    return inverse.reshape(-1).astype(np.int32), attrs


def _attributes_for(entry: tuple, name: str, uri: str) -> RequestAttributes:  # type: ignore[type-arg]
    """Rebuild the fields `request_attributes` reads, so that one function decides (E1-E10)."""
    username, groups, verb, hasref, apigroup, resource, subresource, namespace = entry
    event = EventFields(
        verb=verb,
        requestURI=uri,
        user=UserInfo(username, list(groups)),
        objectRef=ObjectRef(
            resource=resource,
            namespace=namespace,
            name=name,
            apiGroup=apigroup,
            subresource=subresource,
        )
        if hasref
        else None,
    )
    return request_attributes(event)

def factorize(items: list) -> tuple[list[int], list]:  # type: ignore[type-arg]
    """(codes, distinct values in first-seen order), hashing each item once.

    `setdefault(item, row)` maps every item to the row where it was first seen (a C-level loop);
    np.unique then turns those first-seen rows into dense codes, in first-seen order.
    """
    if not items:
        return [], []
    first_seen: dict[Any, int] = {}
    rows = np.fromiter(map(first_seen.setdefault, items, range(len(items))), np.int64, len(items))
    if len(first_seen) == len(items):
        return list(range(len(items))), list(items)
    distinct_rows, codes = np.unique(rows, return_inverse=True)
    return codes.reshape(-1).tolist(), [items[row] for row in distinct_rows.tolist()]


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
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = calendar.timegm(moment.utctimetuple())
    return seconds * 1_000_000_000 + nanos


def format_time(nanos: int) -> str:
    """int64 nanoseconds back to the RFC 3339 form audit logs use (microseconds, Z)."""
    if nanos == 0:
        return ""
    seconds, rest = divmod(int(nanos), 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


def parse_lines(data: bytes, base_offset: int, file: int, final: bool) -> Batch:
    """Parse complete lines of `data` (starting at byte `base_offset` of file number `file`).

    With `final`, a last line without newline is parsed too (a file need not end in a newline);
    otherwise it is left for later (`Batch.end` says how far we got).
    """
    rows = _Rows()
    batch = Batch()
    pieces = data.split(b"\n")
    if not final or pieces[-1] == b"":
        tail = pieces.pop()
        batch.end = base_offset + len(data) - len(tail)
    else:
        batch.end = base_offset + len(data)
    decode = decode_event
    add = rows.add
    index = rows.piece.append
    number = -1
    for number, piece in enumerate(pieces):
        if piece[:1] == b"{":
            try:
                add(decode(piece))
                index(number)
                continue
            except EventError as error:
                failure: EventError | None = error
        else:
            failure = None
        _slow_line(rows, batch, piece, file, number, failure)
    batch.lines = number + 1
    if final and pieces and not data.endswith(b"\n") and batch.problems:
        batch.tail_failed = batch.problems[-1][0] == len(pieces)
        batch.tail_start = batch.end - len(pieces[-1])
    lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    rows.encode(batch, file, base_offset, lengths)
    return batch


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
    rows = _Rows()
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


def parse_range(task: tuple[str, int, int, int, bool]) -> Batch:
    """Worker entry point: read bytes [start, end) of `path` and parse them (file index `file`)."""
    path, file, start, end, final = task
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, end - start, start)
    finally:
        os.close(fd)
    return parse_lines(data, start, file, final)


def looks_like_document(head: bytes) -> bool:
    """A file whose first non-blank line is `{`, `[` or starts with `[` is one JSON document."""
    for line in head.split(b"\n"):
        stripped = line.strip()
        if stripped:
            return stripped in (b"{", b"[") or stripped.startswith(b"[")
    return False
