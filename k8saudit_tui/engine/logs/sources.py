"""Where audit events come from: files, directories of (rotated) logs, gzip files and stdin.

The store keeps only the byte offset and length of each event's line and re-reads the line with
`os.pread` when it is shown or exported, so every source must end up as a plain seekable file:
plain files are read in place; gzip data (recognised by its magic number, whatever the name: a
rotated `audit.log.1` may be compressed, a `.gz` may not), pipes and stdin are spooled to a private
temporary file (mode 0600 in a 0700 directory, removed at exit: audit logs hold secrets).

Nothing here raises for a bad path: an unreadable path becomes a `Problem` on its `LogSource`.
"""

from __future__ import annotations

import atexit
import gzip
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from k8saudit_tui.engine.model import Problem

if TYPE_CHECKING:
    from collections.abc import Generator

    from k8saudit_tui.engine.logs.columns import Batch
    from k8saudit_tui.engine.logs.formats.reader import Origin, Parsed

STDIN = "-"

GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of gzip data: how a compressed log is recognised (never by its name)."""

_LOG_NAME = re.compile(r".*\.(log|jsonl|json|ndjson|csv)(\.\d+)?(\.gz)?|\d{6}(\.gz)?", re.IGNORECASE)
"""Directory members taken as audit logs: audit.log, audit-2026-11-20T10-00-00.000.log, .gz, .1,
a Logs Insights .csv, and the `000000.gz` objects of a CloudWatch S3 export."""

_SPOOL_CHUNK = 1 << 20


@dataclass
class LogSource:
    """One input: `name` is what the user sees (the path given, or `<stdin>`); `path` is the plain
    file the events are re-read from (the file itself, or its spool for .gz and stdin).

    `problem` is set when the input could not be opened; such a source yields no events.
    `followable` is False for spooled inputs (a .gz or stdin cannot grow under us).
    """

    name: str
    path: str
    size: int = 0
    problem: Problem | None = None
    followable: bool = True
    spooled: bool = False
    gzipped: bool = False
    """A gzip file as `resolve_sources` leaves it, not decompressed yet (`unwrap_sources` spools it)."""
    extra: dict[str, object] = field(default_factory=dict)
    origin: Origin | None = None
    """For a file of cloud or shipper records unwrapped into a spool of Event lines (formats/reader.py):
    per spool line, the line of its record in the original file and its format code. None: the
    file's own lines are the events' lines."""
    problems: list[Problem] = field(default_factory=list)
    """What unwrapping could not read, naming the original file and line."""
    parsed: list[tuple[int, int, Batch]] | None = None
    """For a file read with `parse=True` (an S3 export read in place): its lines already parsed, as
    (start, end, batch) per byte range in order, covering it whole (lines and offsets relative to
    the range, file number 0); the store loader appends them instead of parsing the file."""
    stream: Generator[Parsed, None, None] | None = None
    """For a file unwrapped with `parse=True` by the worker pool: the spool is written as this is
    read (by the store loader, which appends each range's batch as it comes), and `origin`,
    `problems` and `size` are set when it ends (formats/reader.py `_streamed`). Only for a source
    the store loader reads next, without an index cache: until then its spool is empty (the cache
    then finds it changed and loads it; nothing else may read it)."""

    @property
    def unwrapped(self) -> bool:
        """Read from a cloud or shipper format (unwrapped, or being unwrapped as it loads): its
        rows and problems are numbered by the original records, which only the store maps."""
        return self.origin is not None or self.stream is not None


def expand_sources(
    paths: Sequence[str], stdin: BinaryIO | None = None, format: str | None = None, parse: bool = False
) -> list[LogSource]:
    """Turn command-line paths into sources; never raises (bad paths become `Problem`s).

    A directory contributes its audit logs (rotated ones and .gz included) in name order; `-`
    spools standard input (or `stdin`, for tests) to a temporary file so it can be re-read by offset,
    decompressing it when it is gzip data. A file of cloud or shipper records (not Event lines) is
    unwrapped into a spool of Event lines (formats/reader.py); `format` forces its format. With
    `parse` (a caller that loads a store next), the lines come parsed (`LogSource.stream`, `parsed`).
    """
    return unwrap_sources(resolve_sources(paths, stdin), format, parse)


def resolve_sources(paths: Sequence[str], stdin: BinaryIO | None = None) -> list[LogSource]:
    """`expand_sources` without the decompressing and unwrapping (stdin and pipes are spooled:
    they can be read only now): for a caller that does those later, in a worker thread where
    they cannot freeze a screen (the explorer), by `unwrap_sources`."""
    return _expand(paths, stdin)


def unwrap_sources(sources: Sequence[LogSource], format: str | None = None, parse: bool = False) -> list[LogSource]:
    """The rest of `expand_sources` over sources `resolve_sources` gave: gzip files spooled, cloud
    and shipper records unwrapped; a source already unwrapped (or of Event lines) comes back as it is."""
    from k8saudit_tui.engine.logs.formats.reader import normalise

    seen: set[str] = set()
    return [normalise(_decompressed(source), format, seen=seen, parse=parse) for source in sources]


def decompressed(sources: Sequence[LogSource]) -> list[LogSource]:
    """`sources` with each gzip file spooled decompressed: the first half of `unwrap_sources`, for a
    caller that looks at what the files hold before it chooses how to unwrap them."""
    return [_decompressed(source) for source in sources]


def holds_event_lines(source: LogSource, format: str | None = None) -> bool:
    """Whether `source` is a file of Event lines as it is (not gzip, not an envelope), judged as
    the reader judges it (`normalise`: `documents.mode` over the same head); False when it cannot
    be read."""
    from k8saudit_tui.engine.logs.formats.documents import mode
    from k8saudit_tui.engine.logs.formats.reader import HEAD_BYTES as READ_HEAD

    try:
        with open(source.path, "rb") as handle:
            head = handle.read(READ_HEAD)
    except OSError:
        return False
    return not source.gzipped and head[:2] != GZIP_MAGIC and mode(head, format) == "raw"


HEAD_BYTES = 4096
"""How much of a file the planners read to tell a JSON document from lines (`looks_like_document`)."""


def size_and_head(source: LogSource) -> tuple[int, bytes] | Problem:
    """The size of a source's file and its first HEAD_BYTES, or the Problem naming why it cannot be
    read: how the loader, `report`'s shards and the streamed commands open a source to plan it."""
    try:
        size = os.path.getsize(source.path)
        with open(source.path, "rb") as handle:
            return size, handle.read(HEAD_BYTES)
    except OSError as error:
        return Problem(source.name, None, "", f"cannot read: {error.strerror}")


def _expand(paths: Sequence[str], stdin: BinaryIO | None) -> list[LogSource]:
    sources: list[LogSource] = []
    for path in paths:
        if path == STDIN:
            sources.append(_spool_pipe("<stdin>", stdin if stdin is not None else sys.stdin.buffer))
            continue
        try:
            info = os.stat(path)
        except OSError as error:
            sources.append(_failed(path, error))
            continue
        if stat.S_ISDIR(info.st_mode):
            sources.extend(_directory_sources(path))
        else:
            sources.append(_file_source(path))
    return sources


def _directory_sources(directory: str) -> list[LogSource]:
    """The audit logs of a directory, rotated ones included, oldest name first."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as error:
        return [_failed(directory, error)]
    found: list[LogSource] = []
    for name in names:
        path = os.path.join(directory, name)
        if is_log_name(name) and os.path.isfile(path):
            found.append(_file_source(path))
    if not found:
        problem = Problem(directory, None, "", "no audit logs in this directory", "warning")
        found.append(LogSource(directory, directory, problem=problem, followable=False))
    return found


def is_log_name(name: str) -> bool:
    """Whether a directory member's name is an audit log's (audit.log, rotated .1, .jsonl, .gz):
    the members a directory contributes, here and in the fleet's planner."""
    return _LOG_NAME.fullmatch(name) is not None


def _file_source(path: str) -> LogSource:
    """A plain file is read in place; a gzip file (by magic number, not name) is spooled.

    A FIFO or a device (`<(zcat audit.log.gz)`, /dev/stdin) can be read only once, so it is spooled
    like stdin: sniffing its first bytes and reopening it would lose them and hang on the reopen.
    """
    try:
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return _spool_pipe(path, handle)
            gzipped = handle.read(2) == GZIP_MAGIC
            size = os.fstat(handle.fileno()).st_size
    except OSError as error:
        return _failed(path, error)
    return LogSource(path, path, size, followable=not gzipped, gzipped=gzipped)


def _decompressed(source: LogSource) -> LogSource:
    """A gzip file `resolve_sources` left compressed, spooled now (`unwrap_sources`); any other
    source as it is."""
    if not source.gzipped:
        return source
    try:
        with open(source.path, "rb") as handle:
            return _spool_gzip(source.name, handle)
    except OSError as error:
        return _failed(source.name, error)


def _spool_gzip(name: str, handle: BinaryIO) -> LogSource:
    """Decompress a .gz log into a private spool file; a corrupt tail is a Problem, not a crash."""
    spool_path, spool = new_spool(os.path.basename(name))
    problem = None
    with spool:
        try:
            with gzip.GzipFile(fileobj=handle) as unzipped:
                shutil.copyfileobj(unzipped, spool, _SPOOL_CHUNK)
        except (OSError, EOFError, zlib.error) as error:
            problem = Problem(name, None, "", f"gzip data is damaged after the spooled part: {error}")
    size = os.path.getsize(spool_path)
    source = LogSource(name, spool_path, size, followable=False, spooled=True)
    if problem is not None:
        source.extra["warning"] = problem
    return source


def is_gzip(path: str) -> bool:
    """Whether the regular file at `path` starts with the gzip magic number.

    False when unreadable, and for a FIFO or a device without reading it: its bytes can be read
    only once (whoever opens it next would hang or miss them).
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            return handle.read(2) == GZIP_MAGIC
    except OSError:
        return False


def _spool_pipe(path: str, handle: BinaryIO) -> LogSource:
    """Spool a read-once input (a pipe, stdin); then read the spool as if it were the file."""
    source = _spool_stream(handle, path)
    if source.problem is not None:
        return source
    with open(source.path, "rb") as spooled:
        if spooled.read(2) != GZIP_MAGIC:
            return source
        spooled.seek(0)
        unzipped = _spool_gzip(path, spooled)
    os.unlink(source.path)
    return unzipped


def _spool_stream(stream: BinaryIO, name: str) -> LogSource:
    """Copy stdin (or a pipe) to a spool file so the store can re-read any event by offset later."""
    spool_path, spool = new_spool(os.path.basename(name) or "stdin")
    with spool:
        try:
            shutil.copyfileobj(stream, spool, _SPOOL_CHUNK)
        except OSError as error:
            return LogSource(name, spool_path, problem=Problem(name, None, "", str(error)))
    return LogSource(name, spool_path, os.path.getsize(spool_path), followable=False, spooled=True)


def _failed(path: str, error: OSError) -> LogSource:
    """A source that could not be opened: the reason is kept, the load goes on."""
    reason = error.strerror or str(error)
    return LogSource(path, path, problem=Problem(path, None, "", f"cannot read: {reason}"), followable=False)


_spool_lock = threading.Lock()
_spool_dirs: dict[str, str] = {}
"""Where the private spool directories are: "disk" (the temporary directory) and "memory" (/dev/shm)."""

MEMORY_SPOOL = "/dev/shm"
"""A tmpfs where large derived spools go when they fit (see `new_spool`)."""


def new_spool(label: str, expected_bytes: int = 0) -> tuple[str, BinaryIO]:
    """A new private temporary file (0600, in a 0700 directory removed at exit): for spooled
    inputs, the store's derived data (EventList items re-serialised one per line) and the Event
    lines unwrapped from a cloud or shipper format (formats/reader.py).

    With `expected_bytes`, the file goes to a tmpfs (/dev/shm) when one has room for twice that:
    writing a gigabyte of fresh file pages to a disk file system costs several seconds (measured
    on our machines: 5 to 10 times the tmpfs), more than unwrapping it; the data never reaches a
    disk either, which suits audit logs. A tmpfs file is memory that no process's resident size
    shows (and SIGKILL leaves it behind: `cli` removes spools on SIGTERM and SIGHUP), so only a
    spool of at most MEMORY_SPOOL_MAX bytes and a quarter of the memory available goes there; else
    the temporary directory.
    """
    place = "memory" if expected_bytes and _room_in_memory(expected_bytes) else "disk"
    with _spool_lock:
        directory = _spool_dirs.get(place)
        if directory is None:
            directory = tempfile.mkdtemp(prefix="k8saudit-tui-", dir=MEMORY_SPOOL if place == "memory" else None)
            atexit.register(shutil.rmtree, directory, True)
            _spool_dirs[place] = directory
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", label)[:60]
    descriptor, path = tempfile.mkstemp(prefix=f"{safe}.", suffix=".spool", dir=directory)
    return path, os.fdopen(descriptor, "wb")


def remove_spools() -> None:
    """Remove the private spool directories now: for a signal's handler (`cli`), since a process
    that dies of a signal runs no atexit function, and a spool on /dev/shm is memory that no
    process shows. It takes no lock: the handler may run while this very thread holds it."""
    for directory in list(_spool_dirs.values()):
        shutil.rmtree(directory, True)


MEMORY_SPOOL_MAX = 2 << 30
"""The largest spool put on the tmpfs (a bastion's memory is shared with its other users)."""


def _room_in_memory(expected_bytes: int) -> bool:
    if expected_bytes > MEMORY_SPOOL_MAX or expected_bytes * 4 > _available_memory():
        return False
    try:
        info = os.statvfs(MEMORY_SPOOL)
    except OSError:
        return False
    return os.access(MEMORY_SPOOL, os.W_OK) and info.f_bavail * info.f_frsize > 2 * expected_bytes


def _available_memory() -> int:
    """MemAvailable of /proc/meminfo in bytes (0 when unknown: then no spool goes to memory)."""
    try:
        with open("/proc/meminfo", "rb") as meminfo:
            for row in meminfo:
                if row.startswith(b"MemAvailable:"):
                    return int(row.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
