"""Unwrapping records into a `Chunk` (reader.py's unit of work): per record, a raw Event kept byte
for byte, else the first format module of the registry that recognises it; blocks of JSON lines
offered whole to a provider's `fast_events` / `fast_lines` first.

Why a module of its own: the state that spans records lives here (Docker's 16 KiB pieces of one
long line; the messages of other CloudWatch streams a provider passes over, counted by stream for
one warning), apart from the reader's file handling. Never raises for bad data: what cannot be
read is a `Damaged` in the chunk.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import orjson

from k8saudit_tui.engine.logs.columns import Batch
from k8saudit_tui.engine.logs.formats import BY_NAME, Damaged, Unwrapped, documents, shippers
from k8saudit_tui.engine.logs.formats.documents import Record
from k8saudit_tui.engine.logs.formats.registry import OWNER, Registry, load, owner
from k8saudit_tui.engine.textsafe import visible


@dataclass
class Chunk:
    """What unwrapping a range of the file gave: `events` (Event lines without their newline: one
    event each, or a fast block's events joined by newlines), per event its record's line
    (relative to the range: 1 is its first line) and format code, what could not be read, and how
    many lines the range has. Plain data: workers send it."""

    lines: int = 0
    events: list[bytes] = field(default_factory=list)
    numbers: array[int] = field(default_factory=lambda: array("i"))
    codes: array[int] = field(default_factory=lambda: array("B"))
    damaged: list[Damaged] = field(default_factory=list)
    unknown: int = 0
    """Records no format recognised (each is also in `damaged`)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Messages a provider passed over as not audit events (other CloudWatch streams), by stream."""
    read: int = 0
    """Bytes of the original file the chunk covers (a worker's range): a streamed unwrap's progress."""
    placed: int = -1
    """A worker's chunk: where in the spool it wrote its `events` itself (newline-joined, `written`
    bytes; `placing.py`), or -1: the parent writes them. Sending a gigabyte of events through the
    pipe cost more than unwrapping it."""
    written: int = 0
    """With `placed`: how many bytes the worker wrote there."""
    pieces: list[bytes] | None = None
    """When asked (`reader.unwrap_data(pieces=True)`): every event's line, one by one, for the
    worker that parses them (not sent: `events` holds the same bytes, fast blocks joined)."""
    batch: Batch | None = None
    """With `placed`, when the reader was asked to parse (`reader.normalise(parse=True)`): the
    range's lines parsed for the store by the worker that wrote them (offsets from `placed`)."""


class Unwrapper:
    """Unwraps records into a Chunk, keeping what spans records: Docker pieces of a long line."""

    def __init__(self, chunk: Chunk, forced: str | None, registry: Registry) -> None:
        self.chunk = chunk
        self.forced = owner(forced, registry) if forced is not None else None
        self.forced_name = forced
        self.modules = load(registry)
        self.pieces: list[str] = []
        self.piece_line = 0
        self.refused_line = 0
        """The line of the last non-object record refused: `[1, 2, 3]` is one problem, not three."""
        eks = owner("cloudwatch-s3", registry)
        self.s3 = eks if eks is not None and hasattr(eks, "unwrap_s3") else None
        """The provider that judges an S3 export message (a cut one is Damaged, its IDs recovered)."""

    def fast(self, modules: list[ModuleType], pieces: list[bytes], numbers: list[int] | range) -> bool:
        """Offer a block of non-blank lines (numbered `numbers`) to each fast module, the last that
        took one first; True when one did. Its events go to the chunk as one joined block."""
        if not pieces or self.pieces:
            return not pieces
        for position, module in enumerate(modules):
            found = _fast(module, pieces)
            if found is None:
                continue
            events, counts = found
            if position:
                modules.insert(0, modules.pop(position))
            joined = b"\n".join(events)
            if joined.count(b"\n") != len(events) - 1 or b"\r" in joined:
                events = list(map(one_line, events))
                joined = b"\n".join(events)
            chunk = self.chunk
            if events:
                chunk.events.append(joined)
                if chunk.pieces is not None:
                    chunk.pieces.extend(events)
            if counts is None:
                chunk.numbers.extend(numbers)
            else:
                chunk.numbers.extend(
                    number for number, count in zip(numbers, counts, strict=True) for _ in range(count)
                )
            chunk.codes.extend([_code_of(module, pieces[0])] * len(events))
            return True
        return False

    def add(self, records: Iterable[Record | Damaged]) -> None:
        for record in records:
            if isinstance(record, Damaged):
                self.chunk.damaged.append(record)
            elif record.format == "cloudwatch-s3" and self.s3 is not None:
                found = self.s3.unwrap_s3(record.text.decode("utf-8", "replace"), record.line)
                self._results([found])
            elif record.format:
                self._event(Unwrapped(record.text, record.format, record.line))
            else:
                self._record(record)

    def finish(self) -> None:
        if self.pieces:  # a long Docker line whose last piece never came
            self._event(Unwrapped("".join(self.pieces).encode("utf-8", "surrogatepass"), "docker", self.piece_line))
            self.pieces = []

    def _record(self, record: Record) -> None:
        value = record.value
        if not isinstance(value, dict):
            self._unknown(record)
            return
        if self.forced_name is None and documents.is_event(value):
            self._event(Unwrapped(record.text or orjson.dumps(value), "raw", record.line))
            return
        piece = shippers.docker_piece(value) if self.forced_name in (None, "docker") else None
        if piece is not None:
            if not self.pieces:
                self.piece_line = record.line
            self.pieces.append(piece)
            return
        line = record.line
        if self.pieces and isinstance(value.get("log"), str):
            value = {**value, "log": "".join(self.pieces) + value["log"]}
            line, self.pieces = self.piece_line, []
        module = self.forced if self.forced_name is not None else self._recognise(value)
        if module is None:
            if self.forced_name is not None:
                self.chunk.damaged.append(Damaged(line, "", f"the {self.forced_name} format is not in this build"))
            else:
                self._unknown(record)
            return
        if hasattr(module, "unwrap_counted"):
            results, passed_over = module.unwrap_counted(value, line)
            self.chunk.skipped.update(passed_over)
            self._results(results)
        else:
            self._results(module.unwrap(value, line))

    def _results(self, results: Iterable[Unwrapped | Damaged]) -> None:
        for found in results:
            if isinstance(found, Damaged):
                self.chunk.damaged.append(found)
            else:
                self._event(found)

    def _recognise(self, value: dict[str, Any]) -> ModuleType | None:
        for _, module in self.modules:
            if module.recognise(value):
                return module
        return None

    def _event(self, found: Unwrapped) -> None:
        chunk = self.chunk
        event = one_line(found.event)
        chunk.events.append(event)
        if chunk.pieces is not None:
            chunk.pieces.append(event)
        chunk.numbers.append(found.line)
        chunk.codes.append(BY_NAME[found.format].code)

    def _unknown(self, record: Record) -> None:
        self.chunk.unknown += 1
        if not isinstance(record.value, dict):
            if record.line == self.refused_line:
                return
            self.refused_line = record.line
        text = record.text or orjson.dumps(record.value)
        kind = "" if isinstance(record.value, dict) else f"a JSON {_JSON_KINDS.get(type(record.value), 'value')}: "
        self.chunk.damaged.append(Damaged(record.line, "", f"not an audit event: {kind}{shown(text)}"))


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _fast(module: ModuleType, pieces: list[bytes]) -> tuple[list[bytes], list[int] | None] | None:
    """A fast module's events for a block, with per-line counts (None: one per line), or None."""
    if hasattr(module, "fast_events"):
        found = module.fast_events(pieces)
        if found is None:
            return None
        events, counts = found
        return events, None if len(events) == len(pieces) and counts.count(1) == len(counts) else counts
    events = module.fast_lines(pieces)
    return (events, None) if events is not None and len(events) == len(pieces) else None


def _code_of(module: ModuleType, first: bytes) -> int:
    """The format code of a fast block's events: the module's `format_of` its first line where it
    has one (a block is one shape in practice), else its FAST_FORMAT, else its first format."""
    name = None
    if hasattr(module, "format_of"):
        try:
            record = orjson.loads(first)
        except orjson.JSONDecodeError:
            record = None
        name = module.format_of(record) if isinstance(record, dict) else None
    if name is None:
        name = getattr(module, "FAST_FORMAT", None)
    if name is None:
        owned = module.__name__.rsplit(".", 1)[-1]
        name = next(fmt for fmt, mod in OWNER.items() if mod == owned)
    return BY_NAME[name].code


def one_line(event: bytes) -> bytes:
    """An Event as one spool line: JSON never needs a raw newline (inside a string it is invalid
    anyway), so one between tokens becomes a space."""
    if b"\n" in event or b"\r" in event:
        event = event.replace(b"\r", b" ").replace(b"\n", b" ")
    return event


def shown(text: bytes) -> str:
    """The first 200 bytes of a record, made visible (control characters escaped)."""
    return visible(text[:200].decode("utf-8", "backslashreplace"))
