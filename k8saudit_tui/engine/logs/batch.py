"""Parse a run of log lines into compact column arrays (one `Batch`), in-process or in a worker.

Per chunk the work is: split into lines, msgspec-decode blocks of lines with one C-level `map`
(a block with any unusual line is redone line by line, which finds prefixes, EventLists and the
reason a line is refused), then hand the events to the parser's `Encoder` (`encoder.py`), which
dictionary-encodes each column through dictionaries that persist across the parser's chunks.
A line that is not an event becomes a problem of the batch, never an exception.

The names the store and the worker import from here (Batch, Encoder, the column names,
format_time, ...) stay importable from this module; they live in `columns`, `encoder` and
`timestamps`.
"""

from __future__ import annotations

import os
from itertools import repeat
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import orjson

from k8saudit_tui.engine.logs.columns import CODED_COLUMNS, ITEM_FILE, STRING_COLUMNS, Batch
from k8saudit_tui.engine.logs.encoder import ENCODER_LIMIT, Encoder
from k8saudit_tui.engine.logs.event import EventError, EventFields, EventRow, convert_event, decode_event
from k8saudit_tui.engine.logs.timestamps import format_time, parse_times

__all__ = [
    "BLOCK_LINES",
    "CODED_COLUMNS",
    "ENCODER_LIMIT",
    "ITEM_FILE",
    "STRING_COLUMNS",
    "Batch",
    "Encoder",
    "add_items",
    "format_time",
    "looks_like_document",
    "parse_document",
    "parse_lines",
    "parse_pieces",
    "parse_range",
    "parse_times",
]


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
        self.shifted: list[tuple[int, list[int]]] = []
        """(first row, per row where its Event starts in its line) of each prefixed block."""

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
        for row, shifts in self.shifted:
            shift = np.array(shifts, np.int64)
            batch.offset[row : row + len(shift)] += shift
            batch.length[row : row + len(shift)] -= shift.astype(np.int32)
        for row, (row_file, line, offset, length, piece) in self.moved.items():
            batch.file[row], batch.line[row], batch.length[row] = row_file, line, length
            batch.offset[row] = offset + (base + starts[piece] if piece >= 0 else 0)
        self.encoder.finish(batch, self.parts)


FLUSH_EVENTS = 256
"""Events encoded together (see `_Rows`): few enough to stay in cache, enough to amortise numpy calls."""

BLOCK_LINES = 256
"""Lines decoded per C-level `map`; a block holding an unusual line is redone line by line."""

_DECODE = msgspec.json.Decoder(EventRow).decode
"""A stricter decoder than `decode_event`'s (`EventRow`: what it reads, that one reads alike),
without its per-line checks; its kind and stage can only be an Event's."""
_STAGE = attrgetter("stage")
_VERB = attrgetter("verb")


def parse_lines(data: bytes, base_offset: int, file: int, final: bool, encoder: Encoder | None = None) -> Batch:
    """Parse complete lines of `data` (starting at byte `base_offset` of file number `file`).

    With `final`, a last line without newline is parsed too (a file need not end in a newline);
    otherwise it is left for later (`Batch.end` says how far we got). `encoder` is the parser's
    persistent Encoder (default: a one-off one).
    """
    pieces = data.split(b"\n")
    if not final or pieces[-1] == b"":
        tail = pieces.pop()
        end = base_offset + len(data) - len(tail)
    else:
        end = base_offset + len(data)
    lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    batch = _parse(pieces, lengths, _opens_with_brace(data, lengths), (base_offset, end, file), encoder)
    if final and pieces and not data.endswith(b"\n") and batch.problems:
        batch.tail_failed = batch.problems[-1][0] == len(pieces)
        batch.tail_start = batch.end - len(pieces[-1])
    return batch


def parse_pieces(lines: list[bytes], base_offset: int, file: int, encoder: Encoder | None = None) -> Batch:
    """`parse_lines` of each of `lines` followed by a newline, for a caller that has them one by
    one (a worker that unwrapped them): neither joined nor split again (at 1M CloudWatch events,
    joining a range's lines for the parser cost 0.3 us an event, a tenth of the unwrapping)."""
    lengths = np.fromiter(map(len, lines), np.int64, len(lines))
    opens = np.fromiter(map(bytes.startswith, lines, repeat(b"{")), bool, len(lines))
    end = base_offset + int(lengths.sum()) + len(lines)
    return _parse(lines, lengths, opens, (base_offset, end, file), encoder)


def _parse(
    pieces: list[bytes], lengths: np.ndarray, opens: np.ndarray, place: tuple[int, int, int], encoder: Encoder | None
) -> Batch:
    """The batch of the lines `pieces` (their `lengths`, which `opens` with `{`) that start at byte
    `place[0]` of file `place[2]` and end at byte `place[1]` (the batch's `end`)."""
    base_offset, end, file = place
    rows = _Rows(encoder or Encoder(persistent=False))
    batch = Batch()
    batch.end = end
    for start in range(0, len(pieces), BLOCK_LINES):
        stop = min(start + BLOCK_LINES, len(pieces))
        if opens[start:stop].all():
            if _fast_block(rows, pieces, start, stop):
                continue
        elif _prefixed_block(rows, pieces, start, stop):
            continue
        _slow_block(rows, batch, pieces, start, stop, file)
    batch.lines = len(pieces)
    rows.encode(batch, file, base_offset, lengths)
    return batch


def _opens_with_brace(data: bytes, lengths: np.ndarray) -> np.ndarray:
    """Per line: does it start with `{` (the only lines the block decoder may take)?"""
    if not len(lengths):
        return np.zeros(0, bool)
    starts = np.zeros(len(lengths), np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    first = np.frombuffer(data, np.uint8)[np.minimum(starts, max(len(data) - 1, 0))]
    opens: np.ndarray = (first == ord("{")) & (lengths > 0)
    return opens


def _fast_block(rows: _Rows, pieces: list[bytes], start: int, stop: int) -> bool:
    """Decode lines [start, stop) in one pass; False (nothing added) unless every line is a
    plain Event that `decode_event` would accept as is (`check_event`, done over the block)."""
    return _decoded_block(rows, pieces[start:stop], start)


def _prefixed_block(rows: _Rows, pieces: list[bytes], start: int, stop: int) -> bool:
    """Lines [start, stop) that are `prefix {json}` (an S3 export's `TIMESTAMP {json}`, a host
    name before each Event) decoded in one pass, each from its first `{`, as `_slow_line` reads
    one: its row points at that `{` in the file (no copy of the line is kept). False (nothing
    added) when a line has no `{` or its Event is not one `decode_event` accepts as is: the
    block then goes line by line and words each refusal as before. (A decoded Event ends in `}`
    and whitespace, so `_slow_line`'s check that the line ends in `}` holds for every line taken.)"""
    block = pieces[start:stop]
    shifts = list(map(bytes.find, block, repeat(b"{")))
    if -1 in shifts:
        return False
    found = len(rows.piece)
    if not _decoded_block(rows, [piece[shift:] for piece, shift in zip(block, shifts)], start):
        return False
    rows.shifted.append((found, shifts))
    return True


def _decoded_block(rows: _Rows, texts: list[bytes], start: int) -> bool:
    """Decode the Event `texts` of lines start, start + 1, ... and add them; False (nothing
    added) unless every one is a plain Event `decode_event` would accept as is."""
    try:
        events: list[EventFields] = list(map(_DECODE, texts))
    except Exception:
        return False
    if "" in map(_STAGE, events) or "" in map(_VERB, events):  # no stage; no verb (check_event)
        return False
    rows.piece.extend(range(start, start + len(texts)))
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
