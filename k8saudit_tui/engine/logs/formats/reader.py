"""Normalisation at the source: a file of cloud or shipper records becomes a spool of Event lines.

Why at the source: every reader (the store loader, `evaluate`, `apply`, `explain`, ...) reads plain
Event lines by byte range; unwrapping once, into a private spool (`sources.new_spool`) of one
Event per line in input order, keeps them all as they are. What they need besides is the `Origin`:
per spool line, the 1-based line of its record in the original file and its format code, so
rows, verdicts and problems name the line the user has. `normalise` leaves an Event-lines file
(raw, `host {json}`, EventList lines: `documents.mode` says "raw") untouched: no cost for raw logs;
so is a CloudWatch S3 export whose every line is an apiserver Event behind its timestamp (`inplace.py`).

Records are sniffed one by one in registry order (`registry.py`); a raw Event among them is kept
byte for byte (format `raw`). What cannot be read is a Problem naming the original file, line and
field; a file none of whose records is known gives one problem naming its first bytes. GKE events
are rebuilt, and Cloud Logging sinks duplicate entries: one whose auditID this load has already
seen is dropped, counted in one warning. Line-based files are cut by `split.cut` and unwrapped
in the worker pool (a provider's `fast_lines` takes whole blocks of its own lines); each worker
writes its range's events into the spool itself, where a ledger places them in file order
(`placing.py`), except rebuilt GKE events, which the parent de-duplicates and writes.

With `parse=True` (a caller that loads a store next), each worker also parses the Event lines it
wrote into a store `Batch`, in the same task, and the spooled source is a stream of them
(`LogSource.stream`): the store loader appends each range as it is written, so the store fills
while the file is unwrapped and the spool is not read and parsed a second time. Measured at 1M
CloudWatch events: the two passes cost the workers about the same CPU as the fused one (the
second pass's read and split are cheap); what fusing saves is the wait (a second pool, and the
store's appending, which now overlaps the unwrapping).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import orjson

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.batch import parse_pieces
from k8saudit_tui.engine.logs.columns import Batch
from k8saudit_tui.engine.logs.encoder import Encoder
from k8saudit_tui.engine.logs.formats import BY_NAME, FORMATS, documents
from k8saudit_tui.engine.logs.formats.documents import Mode
from k8saudit_tui.engine.logs.formats.inplace import s3_pooled
from k8saudit_tui.engine.logs.formats.placing import Ledger, Slot, lines_size, write_at, write_lines
from k8saudit_tui.engine.logs.formats.registry import MODULES, Registry, fast_modules
from k8saudit_tui.engine.logs.formats.unwrapper import Chunk, Unwrapper
from k8saudit_tui.engine.logs.formats.whole_range import whole_range
from k8saudit_tui.engine.logs.sources import LogSource, new_spool
from k8saudit_tui.engine.model import Problem

HEAD_BYTES = 1 << 20
"""How much of a file is read to choose how to split it: its first line, however long in practice."""
FAST_BLOCK = 1024
"""Lines handed to a provider's `fast_lines` at once."""
_RECONSTRUCTED = frozenset(info.code for info in FORMATS if info.provenance == "reconstructed")
_RAW = BY_NAME["raw"].code


@dataclass(frozen=True, slots=True)
class Origin:
    """Per spool line (index = spool line - 1): `lines`, the 1-based line of its record in the
    original file (int32), and `formats`, its FormatInfo.code (uint8)."""

    lines: np.ndarray
    formats: np.ndarray


def normalise(
    source: LogSource,
    forced: str | None = None,
    registry: Registry = MODULES,
    workers: int | None = None,
    seen: set[str] | None = None,
    parse: bool = False,
) -> LogSource:
    """`source` itself when it holds Event lines (or `forced` is "raw"); otherwise a spooled source
    of the Events unwrapped from it, with its `origin` and its `problems`. `seen` collects the
    auditIDs of rebuilt (GKE) events across the files of one load. With `parse`, the spool's
    lines come parsed too where the worker pool reads them (`LogSource.stream`, `parsed`)."""
    if source.problem is not None or source.origin is not None or source.stream is not None:
        return source  # unreadable, or unwrapped already
    try:
        with open(source.path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
            how = documents.mode(head, forced)
    except OSError:
        return source  # the loader reports the unreadable file
    if how == "raw":
        return source
    if how == "cloudwatch-s3":
        in_place = s3_pooled(source, _workers(workers), parse)
        if in_place is not None:
            return in_place  # each line's Event behind its timestamp: read where it is (inplace.py)
    size = os.path.getsize(source.path)
    spool_path, spool = new_spool(os.path.basename(source.name) or "unwrapped", size)
    seen = seen if seen is not None else set()
    pooled = how in documents.LINE_MODES and how != "cri" and _pooled(size, workers)
    ledger = Ledger.create(os.path.dirname(spool_path)) if pooled else None
    job = (how, forced, registry, ledger, spool_path)
    if pooled and parse:  # the loader takes the ranges as they are written (`LogSource.stream`)
        result = _spooled(source, spool_path)
        result.size = size  # until the spool is written: how much there is to read
        chunks = _in_ranges(source.path, size, job, workers, parse, head)
        result.stream = _streamed(_Assembly(source, seen, spool_path, spool, ledger), chunks, result)
        return result
    if how in documents.LINE_MODES and how != "cri":
        chunks = _in_ranges(source.path, size, job, workers, parse, head)
    else:
        with open(source.path, "rb") as handle:
            chunks = iter([unwrap_data(handle.read(), True, how, forced, registry)])
    with spool:
        result = _assemble(_Assembly(source, seen, spool_path, spool, ledger), chunks)
    if source.spooled:
        os.unlink(source.path)
    return result


Job = tuple[Mode, str | None, Registry, Ledger | None, str]
"""How to split, the forced format, the registry; for the pool, the ledger and the spool (`placing.py`)."""


def _in_ranges(path: str, size: int, job: Job, workers: int | None, parse: bool, head: bytes) -> Iterator[Chunk]:
    from k8saudit_tui.engine.logs.worker import run_in_workers

    how, forced, registry, ledger, spool = job
    tasks = split.cut(0, path, 0, size, None if ledger is None else _range_bytes(head, job))
    if ledger is not None and len(tasks) > 1:
        jobs = [(task, how, forced, registry, Slot(ledger.path, spool, index)) for index, task in enumerate(tasks)]
        return run_in_workers(unwrap_task, jobs, min(_workers(workers), len(tasks)), setup=Encoder if parse else None)
    return (unwrap_task(None, (task, how, forced, registry, None)) for task in tasks)


def _range_bytes(head: bytes, job: Job) -> int:
    """Ranges of about TASK_BYTES of Events, not of the file (its head unwrapped says): a range costs its worker
    and the store's appending a fixed part, and 16 MB of envelopes held 24-32% fewer events."""
    lines = head[: head.rfind(b"\n") + 1]
    events = unwrap_data(lines, False, *job[:3]).events if lines else []
    return split.scaled_task_bytes(len(lines), sum(map(len, events)) + len(events))


def _pooled(size: int, workers: int | None) -> bool:
    """Whether a file of `size` bytes is unwrapped by the worker pool (else in process)."""
    return _workers(workers) > 1 and size > split.IN_PROCESS_BYTES


def _workers(workers: int | None) -> int:
    from k8saudit_tui.engine.logs.worker import default_workers

    return default_workers() if workers is None else workers


def unwrap_task(encoder: Encoder | None, job: tuple[split.Task, Mode, str | None, Registry, Slot | None]) -> Chunk:
    """The worker job: unwrap the lines of one byte range; with a slot, write the events in the
    spool where the ledger places them (`Chunk.placed`), unless GKE events among them need the
    parent's de-duplication. With the worker's `encoder` (`normalise(parse=True)`), parse the
    range's lines too, exactly as the loader would parse them in the spool (offsets from the
    range's start, file number 0: the loader sets them)."""
    task, how, forced, registry, slot = job
    fd = os.open(task.path, os.O_RDONLY)
    try:
        data = os.pread(fd, task.size, task.start)
    finally:
        os.close(fd)
    chunk = unwrap_data(data, task.final, how, forced, registry, listed=encoder is not None)
    chunk.read = task.size
    if slot is not None and _RECONSTRUCTED.isdisjoint(chunk.codes):
        chunk.written = lines_size(chunk.events)
        chunk.placed = slot.reserve(chunk.written)
        fd = os.open(slot.spool, os.O_WRONLY)
        try:  # one event or one fast block of events a piece, not joined first: a copy of the range
            write_lines(fd, chunk.events, chunk.placed)
        finally:
            os.close(fd)
        if chunk.pieces is not None:
            chunk.batch = parse_pieces(chunk.pieces, 0, 0, encoder)
        chunk.events = []
    chunk.pieces = None  # the parent needs `events` or the written range, never both again
    return chunk


def unwrap_data(
    data: bytes, final: bool, how: Mode, forced: str | None, registry: Registry = MODULES, listed: bool = False
) -> Chunk:
    """Unwrap whole lines (a range, or a whole file) into a Chunk: the plain per-record path, with
    blocks of JSON lines first offered to the providers' `fast_lines`; with `listed`, the chunk
    lists every event's line on its own too (`Chunk.pieces`)."""
    if how != "lines":
        chunk = Chunk(lines=data.count(b"\n") + (1 if final and data and not data.endswith(b"\n") else 0))
        chunk.pieces = [] if listed else None
        unwrapper = Unwrapper(chunk, forced, registry)
        unwrapper.add(documents.records(data, how))
        unwrapper.finish()
        return chunk
    fast = fast_modules(forced, registry)
    whole = whole_range(data, final, fast, listed)  # one record a line: read without splitting the range
    if whole is not None:
        return whole
    lines = data.split(b"\n")
    ends = data.endswith(b"\n") or not data
    if ends:
        lines.pop()  # what follows the last newline is no line
    chunk = Chunk(lines=len(lines) - (0 if final or ends else 1))  # the newlines, and a final unended line
    chunk.pieces = [] if listed else None
    unwrapper = Unwrapper(chunk, forced, registry)
    # no empty line (`b"" in lines`, not `b"\n\n" in data`: a search of the whole range cost a
    # quarter of unwrapping it), no CR, no BOM: the blocks go to fast_lines as they are
    clean = b"\r" not in data and b"" not in lines and not data.startswith(b"\xef\xbb\xbf")
    for start in range(0, len(lines), FAST_BLOCK):
        stop = min(start + FAST_BLOCK, len(lines))
        if clean and fast and unwrapper.fast(fast, lines[start:stop], range(start + 1, stop + 1)):
            continue
        block = enumerate(lines[start:stop], start + 1)
        numbered = [(number, line.rstrip(b"\r")) for number, line in block if line.strip()]
        if start == 0 and numbered and numbered[0][0] == 1:
            numbered[0] = (1, numbered[0][1].removeprefix(b"\xef\xbb\xbf"))
        pieces = [line for _, line in numbered]
        if not (fast and unwrapper.fast(fast, pieces, [number for number, _ in numbered])):
            unwrapper.add(record for number, line in numbered for record in documents.json_line(number, line))
    unwrapper.finish()
    return chunk


Parsed = tuple[int, int, Batch | None, np.ndarray, np.ndarray, int]
"""A byte range [start, end) of a spool as it is written, the workers' batch of its lines (None: parse
them), per line its record's line and format code, and the original file's bytes read since the last."""


class _Assembly:
    """Writes chunks' events to the spool in order (where their workers did not) and collects the
    origin map and the problems; with the pool's `ledger`, places the ranges it writes there."""

    def __init__(self, source: LogSource, seen: set[str], path: str, spool: BinaryIO, ledger: Ledger | None) -> None:
        self.source, self.seen, self.spool_path, self.spool, self.ledger = source, seen, path, spool, ledger
        self.end = self.index = 0  # where the spool ends so far; the next chunk's index (its range's in the ledger)
        self.numbers: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.problems: list[Problem] = []
        self.base = self.unknown = self.damaged = self.duplicates = self.read = 0
        self.skipped: Counter[str] = Counter()
        self.first_bytes = ""

    def add(self, chunk: Chunk) -> Parsed | None:
        """Write one chunk's events (de-duplicated) unless its worker wrote them, and account for
        them; the spool range written, with the chunk's batch when its worker parsed it."""
        name, start = self.source.name, self.end
        if chunk.placed >= 0 and chunk.placed != start:  # the ledger's order is the chunks': never
            raise RuntimeError(f"a worker wrote range {self.index} at byte {chunk.placed} of the spool, not {start}")
        chunk_codes = np.frombuffer(chunk.codes, np.uint8)
        chunk_numbers = np.frombuffer(chunk.numbers, np.int32)
        events = chunk.events
        if _RECONSTRUCTED and np.isin(chunk_codes, list(_RECONSTRUCTED)).any():
            events = b"\n".join(events).split(b"\n")  # one per event (fast blocks are joined)
            keep = _first_seen(events, chunk_codes, self.seen)
            self.duplicates += len(events) - int(keep.sum())
            events = [event for event, kept in zip(events, keep.tolist(), strict=True) if kept]
            chunk_codes, chunk_numbers = chunk_codes[keep], chunk_numbers[keep]
        if chunk.placed >= 0:
            self.end += chunk.written
        elif events:
            data = b"\n".join(events) + b"\n"
            write_at(self.spool.fileno(), data, start)
            self.end += len(data)
        if chunk.placed < 0 and self.ledger is not None:
            self.ledger.place(self.index, self.end)  # the next range's worker waits for it
        self.index += 1
        lines = chunk_numbers + self.base
        self.numbers.append(lines)
        self.codes.append(chunk_codes.copy())
        self.problems.extend(Problem(name, item.line + self.base, item.field, item.reason) for item in chunk.damaged)
        if chunk.unknown and not self.first_bytes:
            self.first_bytes = next(p.message for p in self.problems if p.message.startswith("not an audit event: "))
        self.unknown += chunk.unknown
        self.skipped.update(chunk.skipped)
        self.damaged += len(chunk.damaged)
        self.base += chunk.lines
        end = self.end
        self.read += chunk.read
        if end == start:
            return None
        read, self.read = self.read, 0
        return start, end, chunk.batch if chunk.placed >= 0 else None, lines, self.codes[-1], read

    def stop(self, chunks: Iterator[Chunk]) -> None:
        """Stop the pool (no-op when it ended: a waiting worker would wait for ever) and remove the ledger."""
        if isinstance(chunks, Generator):
            chunks.close()
        if self.ledger is not None:
            self.ledger.remove()

    def finish(self, result: LogSource) -> None:
        """Give `result` (the spooled source) its origin, its problems and its size."""
        name, problems = self.source.name, self.problems
        lines = np.concatenate(self.numbers) if self.numbers else np.empty(0, np.int32)
        if not len(lines) and self.unknown and self.unknown == self.damaged:
            problems = [
                Problem(
                    name,
                    problems[0].line,
                    "",
                    "no audit events: no record is an Event or a known envelope; "
                    f"the first is {self.first_bytes.removeprefix('not an audit event: ')}",
                )
            ]
        for stream, count in sorted(self.skipped.items()):
            message = f"{count:,} message{'s' * (count != 1)} of the {stream} log stream passed over: not audit events"
            problems.append(Problem(name, None, "", message, "warning"))
        if self.duplicates:
            message = (
                f"{self.duplicates:,} rebuilt (GKE) events repeat an auditID already loaded: skipped "
                "(Cloud Logging sinks duplicate entries)"
            )
            problems.append(Problem(name, None, "", message, "warning"))
        codes = np.concatenate(self.codes) if self.codes else np.empty(0, np.uint8)
        self.spool.flush()
        result.origin = Origin(lines.astype(np.int32), codes)
        result.problems = problems
        result.size = os.path.getsize(self.spool_path)


def _assemble(assembly: _Assembly, chunks: Iterator[Chunk]) -> LogSource:
    """Write the chunks' events to the spool in order and build the origin map and the problems."""
    try:
        for chunk in chunks:
            assembly.add(chunk)
    finally:
        assembly.stop(chunks)
    result = _spooled(assembly.source, assembly.spool_path)
    assembly.finish(result)
    return result


def _spooled(source: LogSource, spool_path: str) -> LogSource:
    result = LogSource(source.name, spool_path, 0, followable=False, spooled=True)
    result.extra = dict(source.extra)
    return result


def _streamed(assembly: _Assembly, chunks: Iterator[Chunk], result: LogSource) -> Generator[Parsed, None, None]:
    """`_assemble` range by range for the loader (`LogSource.stream`): each spool range as soon as
    it is written, with the batch its worker parsed; `result` gets its origin, problems and size
    at the end. Closed early (a cancelled load), it stops the pool and `result` becomes a source
    with a problem (its spool is cut short)."""
    source, spool = assembly.source, assembly.spool
    finished = False
    try:
        for chunk in chunks:
            written = assembly.add(chunk)
            if written is not None:
                yield written
        assembly.finish(result)
        finished = True
    finally:
        result.stream = None
        if not finished:
            message = "unwrapping stopped before the end of the file (the load was cancelled): open it again"
            result.problem = Problem(source.name, None, "", message)
        assembly.stop(chunks)
        spool.close()
        if source.spooled and os.path.exists(source.path):
            os.unlink(source.path)


def to_original(batch: Batch, origin: Origin, base_line: int) -> None:
    """Make a batch of spool lines (its first line is spool line `base_line + 1`) name the lines of
    the original file, and give its rows their format codes: the store adds `base_line` back."""
    if batch.count:
        spool_lines = batch.line.astype(np.int64) + base_line - 1
        batch.line = (origin.lines[spool_lines].astype(np.int64) - base_line).astype(np.int32)
        batch.format = origin.formats[spool_lines]
    batch.problems = [
        (original_line(origin, base_line + line) - base_line, where, message) for line, where, message in batch.problems
    ]


def original_line(origin: Origin, spool_line: int) -> int:
    """The original file's line for 1-based `spool_line` (itself past the map: cannot happen for a
    spool we wrote, but a line number is never worth a crash)."""
    return int(origin.lines[spool_line - 1]) if 0 < spool_line <= len(origin.lines) else spool_line


def _first_seen(events: list[bytes], codes: np.ndarray, seen: set[str]) -> np.ndarray:
    """Which events to keep: all but rebuilt ones whose auditID this load has already seen."""
    keep = np.ones(len(events), bool)
    for index in np.flatnonzero(np.isin(codes, list(_RECONSTRUCTED))).tolist():
        try:
            audit_id = orjson.loads(events[index]).get("auditID")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(audit_id, str) and audit_id:
            if audit_id in seen:
                keep[index] = False
            seen.add(audit_id)
    return keep
