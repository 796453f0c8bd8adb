"""The event store: compact columns for every event, the full event re-read from disk on demand.

Per event the store keeps where its line is (file, offset, length, line number) and the columns the
UI and filters need, strings dictionary-encoded (each distinct value once; rows hold int32 codes),
user groups as a code of an interned tuple, and the request attributes as a code of an interned
`RequestAttributes` (evaluated once per distinct value, then broadcast to rows).

Threading: one writer (the loader, or `follow`) appends batches while readers (the UI thread) read.
Arrays grow by doubling into new arrays, values are written before `len()` is published, and lists
only grow: a reader that takes `len(store)` once and uses rows below it always sees complete rows.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from k8saudit_tui.engine.logs.batch import (
    AUDITID_WIDTH,
    CODED_COLUMNS,
    ITEM_FILE,
    STRING_COLUMNS,
    Batch,
    Encoder,
    format_time,
    looks_like_document,
    parse_document,
    parse_lines,
    parse_range,
)
from k8saudit_tui.engine.logs.sources import LogSource, new_spool
from k8saudit_tui.engine.logs.worker import parse_in_workers
from k8saudit_tui.engine.model import LEVELS, STAGES, Problem, RequestAttributes, Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store.verdicts import VerdictTable

COLUMNS: tuple[str, ...] = (
    "time",
    "stage",
    "auditid",
    "user",
    "group",
    "verb",
    "apigroup",
    "resource",
    "subresource",
    "ns",
    "name",
    "uri",
    "code",
    "ip",
    "ua",
    "recorded",
    "rule",
    "level",
    "omitted",
    "file",
    "line",
)
"""Names accepted by `EventStore.column` and `EventStore.value`."""

_EAGER_OPEN_LIMIT = 256
"""Files registered beyond this many are opened on first read (file descriptor limits)."""


class EventGone(Exception):
    """An event whose bytes can no longer be read: its file was truncated after it was loaded
    (copytruncate rotation while following), so its offset now holds other events."""


@dataclass
class FileEntry:
    """A file rows point into. `name` is shown to the user; `path` is read with os.pread."""

    name: str
    path: str
    followable: bool = False
    consumed: int = 0
    """Bytes parsed so far (up to the end of the last complete line)."""
    lines: int = 0
    """Lines counted so far in this file (the next line is number lines + 1)."""
    tail_problem: Problem | None = None
    """A last line without newline that did not parse: withdrawn if a writer completes it."""
    inode: int = 0
    fd: int | None = None
    gone: str = ""
    """Why the rows' bytes can no longer be read (the file was truncated after they were), or ""."""
    last_bytes: bytes = b""
    """The bytes just before `consumed` when they were read (followed files): if they differ now,
    the file was emptied and written past its old size between two polls."""


MEMORY_LIMIT_MB = int(os.environ.get("K8SAUDIT_TUI_MEMORY_LIMIT_MB", "2048"))
"""Resident memory at which loading stops (MB; environment K8SAUDIT_TUI_MEMORY_LIMIT_MB).

A real log costs about 250 bytes per event (1M events: ~250 MB), so the default leaves room for
millions of events; what it stops is a hostile log whose every event is distinct (a million
user names cost ~600 MB). Loading stops with a Problem saying where and why; what is loaded stays."""


def resident_mb() -> int:
    """This process's resident memory in MB (Linux /proc; elsewhere the peak, which is an upper bound)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10


@dataclass(frozen=True)
class LoadProgress:
    """What the loader has done so far; yielded after every batch."""

    events: int
    bytes: int
    total_bytes: int
    rate: float
    """Events per second since the load started."""
    eta: float | None
    """Seconds left, estimated from the byte rate; None when unknown."""
    done: bool
    problems: int
    elapsed: float
    cancelled: bool = False


class _Dictionary:
    """One column's dictionary: value -> code and code -> value (append-only)."""

    __slots__ = ("index", "values")

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self.values: list[Any] = []
        self.index: dict[Any, int] = {}
        for value in values:
            self.code(value)

    def code(self, value: Any) -> int:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.values)
            self.values.append(value)
        return code

    def remap(self, local_values: Sequence[Any]) -> np.ndarray:
        """Global codes for a batch's local values (index = local code)."""
        return np.fromiter(map(self.code, local_values), np.int32, len(local_values))


class _AttributesDictionary(_Dictionary):
    """RequestAttributes, interned; batches ship them as field tuples (they unpickle much faster
    than the dataclass), rebuilt here. Keyed by the dataclass itself, so that each distinct value
    is held once (a million distinct users means a million of them)."""

    __slots__ = ()

    def code(self, value: Any) -> int:
        return super().code(RequestAttributes(*value))


class EventStore:
    """Columns for every loaded event; see the module docstring for the threading contract.

    Row order is load order (file by file); `view_order()` is the merged order by stageTimestamp
    (stable, so events with equal times keep file and line order).
    """

    def __init__(self) -> None:
        self._n = 0
        self._capacity = 0
        self._arrays: dict[str, np.ndarray] = {}
        self._dicts: dict[str, _Dictionary] = {name: _Dictionary() for name in STRING_COLUMNS}
        self._dicts["stage"] = _Dictionary(STAGES)
        self._dicts["recorded"] = _Dictionary(LEVELS)
        self._groups = _Dictionary()
        self._attrs = _AttributesDictionary()
        self._coded: dict[str, _Dictionary] = {**self._dicts, "group": self._groups, "attr": self._attrs}
        self._streams: dict[int, dict[str, np.ndarray]] = {}
        """Per parser stream (batch.Encoder), per coded column: stream code -> store code."""
        self._long_auditids: dict[int, str] = {}
        self.files: list[FileEntry] = []
        self.problems: list[Problem] = []
        self.line_count = 0
        self.blank_lines = 0
        self._items_path = ""
        self._items_writer: Any = None
        self._item_entries: dict[int, int] = {}
        self._lock = threading.RLock()
        self._table = VerdictTable.empty(None)
        """Swapped whole, never changed in place (see verdicts.py)."""
        self._generation = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.match_cache: dict[tuple[Any, ...], Any] = {}
        """For query.py: per (column, term) the codes that matched, and how many values were seen."""

    # ----------------------------------------------------------------------------- reading

    def __len__(self) -> int:
        return self._n

    @property
    def evaluator(self) -> PolicyEvaluator | None:
        return self._table.evaluator

    @property
    def generation(self) -> int:
        """Changes whenever rows are added or the policy changes (for caches in callers)."""
        return self._generation

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        """The column `name` for rows [0, n) (default: all rows now): codes or values.

        String columns give int32 codes into `values(name)`; "group" codes into `values("group")`
        (tuples of groups); "time" int64 ns since the epoch; "code" int16 (0 = none); "rule" int16
        (-1 = no rule matched or no policy); "level" int8 index in LEVELS (-1 without policy);
        "omitted" bool (the verdict would not write this stage); "auditid" bytes (S36).
        """
        n = self._n if n is None else n
        if name in ("rule", "level", "omitted"):
            return self._verdict_column(name, n)
        key = _ALIASES.get(name, name)
        array = self._arrays.get(key)
        if array is None:
            if key in COLUMNS or key in ("offset", "length", "attr"):
                return np.empty(0, np.int32)
            raise KeyError(f"unknown column {name!r}")
        return array[:n]

    def values(self, name: str) -> list[Any]:
        """The vocabulary of a code column (index = code): strings, group tuples, or LEVELS."""
        if name == "level":
            return list(LEVELS)
        if name in ("group", "groups"):
            return self._groups.values
        return self._dicts[_ALIASES.get(name, name)].values

    def value(self, row: int, name: str) -> str | int | None:
        """The display value of one cell: str for strings, int for code/rule/line, None if absent."""
        if name == "time":
            return format_time(int(self._arrays["time"][row]))
        if name in ("group", "groups"):
            return ", ".join(self._groups.values[self._arrays["group"][row]])
        if name == "code":
            code = int(self._arrays["code"][row])
            return code or None
        if name in ("rule", "level", "omitted"):
            return self._verdict_value(row, name)
        if name == "auditid":
            return self._long_auditids.get(row) or self._arrays["auditid"][row].decode("utf-8", "replace")
        if name == "file":
            return self.files[self._arrays["file"][row]].name
        if name in ("line", "offset", "length"):
            return int(self._arrays[name][row])
        key = _ALIASES.get(name, name)
        return self._dicts[key].values[self._arrays[key][row]]  # type: ignore[no-any-return]

    def _verdict_value(self, row: int, name: str) -> str | int | None:
        """rule (None = no rule matched), level (None without a policy) or omitted (0/1) of a row."""
        table = self._table
        attr = int(self._arrays["attr"][row])
        if name == "rule":
            return table.rule(attr)
        if name == "level":
            return table.level(attr)
        return table.omitted(attr, int(self._arrays["stage"][row]))

    def location(self, row: int) -> tuple[str, int]:
        """(file shown to the user, 1-based line) of an event."""
        return self.files[self._arrays["file"][row]].name, int(self._arrays["line"][row])

    def raw(self, row: int) -> bytes:
        """The event's original bytes (the JSON object of its line), read with os.pread; raises
        EventGone for an event whose file was truncated since (its offset holds other bytes)."""
        entry = self.files[self._arrays["file"][row]]
        if entry.gone:
            raise EventGone(f"{entry.name}: {entry.gone}")
        return os.pread(self._fd(entry), int(self._arrays["length"][row]), int(self._arrays["offset"][row]))

    def readable(self, rows: np.ndarray) -> np.ndarray:
        """Which of `rows` still have their bytes (see `raw`)."""
        gone = [index for index, entry in enumerate(self.files) if entry.gone]
        if not gone or not len(rows):
            return np.ones(len(rows), bool)
        return ~np.isin(self._arrays["file"][rows], gone)  # type: ignore[no-any-return]

    def raw_many(self, rows: np.ndarray) -> Iterator[bytes]:
        """The original bytes of many rows, in the given order (export); raises EventGone first
        if any of them is gone (see `raw`, and `readable` to leave those out)."""
        if len(rows) == 0:
            return  # an empty store has no arrays yet
        if not self.readable(rows).all():
            entry = next(entry for entry in self.files if entry.gone)
            raise EventGone(f"{entry.name}: {entry.gone}")
        files, offsets, lengths = self._arrays["file"], self._arrays["offset"], self._arrays["length"]
        fds = [self._fd(entry) if entry.path else -1 for entry in self.files]
        pread = os.pread
        for f, length, offset in zip(files[rows].tolist(), lengths[rows].tolist(), offsets[rows].tolist()):
            yield pread(fds[f], length, offset)

    def event(self, row: int) -> dict[str, Any]:
        """The full event as a dict (re-read and parsed; the store does not keep it)."""
        value = orjson.loads(self.raw(row))
        return value if isinstance(value, dict) else {}

    def attributes(self, row: int) -> RequestAttributes:
        """What the apiserver's policy checker saw for this event (from attributes.py)."""
        return self._attrs.values[self._arrays["attr"][row]]  # type: ignore[no-any-return]

    def verdict(self, row: int) -> Verdict | None:
        """The verdict of the loaded policy for this event; None without a policy."""
        table = self._table
        if table.evaluator is None:
            return None
        return table.verdicts[self._arrays["attr"][row]]

    def rule_counts(self, rows: np.ndarray | None = None) -> dict[int | None, int]:
        """How many of `rows` (default all) each rule matched; key None = no rule matched."""
        rules = self.column("rule")
        if rows is not None:
            rules = rules[rows]
        if self._table.evaluator is None or len(rules) == 0:
            return {}
        counts = np.bincount(rules.astype(np.int64) + 1)
        return {(index - 1 if index else None): int(c) for index, c in enumerate(counts) if c}

    def facet(self, name: str, rows: np.ndarray | None = None) -> list[tuple[str, int]]:
        """Distinct display values of a column among `rows` (default all), most frequent first."""
        n = self._n
        if name in ("group", "groups"):
            codes = self.column("group", n) if rows is None else self.column("group", n)[rows]
            per_tuple = np.bincount(codes, minlength=len(self._groups.values))
            totals: dict[str, int] = {}
            for code in np.flatnonzero(per_tuple).tolist():
                for group in self._groups.values[code]:
                    totals[group] = totals.get(group, 0) + int(per_tuple[code])
            pairs = list(totals.items())
        elif name in ("time", "auditid", "file", "line", "omitted") or name in ("code", "rule"):
            column = self.column(name, n)
            column = column if rows is None else column[rows]
            if name == "file":
                names = [entry.name for entry in self.files]
                counts = np.bincount(column.astype(np.int64), minlength=len(names))
                merged: dict[str, int] = {}
                for code in np.flatnonzero(counts).tolist():
                    merged[names[code]] = merged.get(names[code], 0) + int(counts[code])
                pairs = list(merged.items())
            else:
                uniques, counts = np.unique(column, return_counts=True)
                pairs = [(_display(name, u), int(c)) for u, c in zip(uniques.tolist(), counts.tolist())]
        else:
            column = self.column(name, n)
            column = column if rows is None else column[rows]
            vocabulary = self.values(name)
            offset = 1 if name == "level" else 0
            counts = np.bincount(column.astype(np.int64) + offset, minlength=len(vocabulary) + offset)
            pairs = []
            for code in np.flatnonzero(counts).tolist():
                label = "(no policy)" if offset and code == 0 else vocabulary[code - offset]
                pairs.append((label, int(counts[code])))
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))

    def distinct(self, name: str) -> list[str]:
        """Sorted distinct display values of a column, for suggestions in the filter bar."""
        if name in ("group", "groups"):
            return sorted({group for groups in self._groups.values for group in groups})
        if name in ("level",):
            return list(LEVELS)
        if name in ("code", "rule"):
            return [value for value, _ in sorted(self.facet(name))]
        if name == "auditid":
            return sorted(self.value(row, "auditid") for row in range(min(self._n, 10_000)))  # type: ignore[misc]
        return sorted(value for value in self.values(name) if value)

    def view_order(self, n: int | None = None) -> np.ndarray:
        """Rows [0, n) in merged order: by stageTimestamp, stable (file order breaks ties)."""
        n = self._n if n is None else n
        key = ("order", n)
        order = self._cache.get(key)
        if order is None:
            times = self._arrays["time"][:n] if n else np.empty(0, np.int64)
            identity = n < 2 or bool(np.all(times[1:] >= times[:-1]))
            order = np.arange(n, dtype=np.int64) if identity else np.argsort(times, kind="stable")
            self._cache = {k: v for k, v in self._cache.items() if k[0] not in ("order", "identity")}
            self._cache[key] = order
            self._cache[("identity", n)] = identity
        return order  # type: ignore[no-any-return]

    def in_load_order(self, n: int | None = None) -> bool:
        """True when the view order of rows [0, n) is 0..n-1 (one time-ordered log, the usual
        case), so callers can skip gathers through `view_order`."""
        n = self._n if n is None else n
        self.view_order(n)
        return bool(self._cache.get(("identity", n), False))

    # ----------------------------------------------------------------------------- policy

    def set_policy(self, evaluator: PolicyEvaluator | None) -> None:
        """Re-evaluate every row under `evaluator` (None: no policy), without re-reading the log.

        The policy is evaluated once per distinct RequestAttributes (a few thousand in a million
        events), and rows get the result by a vectorised lookup of their attributes code.
        """
        with self._lock:
            self._table = VerdictTable.empty(evaluator).extended(self._attrs.values)
            self._generation += 1
            self._cache.clear()

    def _verdict_column(self, name: str, n: int) -> np.ndarray:
        """rule/level/omitted for rows [0, n): a gather through the per-attributes tables."""
        key = (name, n, self._generation)  # read before the table: set_policy swaps it first
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        table = self._table
        attr = self._arrays["attr"][:n] if n else np.empty(0, np.int32)
        stage = self._arrays["stage"][:n] if n else np.empty(0, np.int32)
        result = table.column(name, attr, stage)
        if n == self._n:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != name}
            self._cache[key] = result
        return result

    # ----------------------------------------------------------------------------- writing

    def add_file(self, name: str, path: str, followable: bool = False) -> int:
        """Register a file rows can point into; returns its index."""
        entry = FileEntry(name, path, followable)
        try:
            if followable and len(self.files) < _EAGER_OPEN_LIMIT:
                # Open now: after a rotation the path names another file, the descriptor does not.
                entry.fd = os.open(path, os.O_RDONLY)
                entry.inode = os.fstat(entry.fd).st_ino
            else:
                entry.inode = os.stat(path).st_ino
        except OSError:
            pass
        self.files.append(entry)
        return len(self.files) - 1

    def append(self, batch: Batch, file: int, base_line: int) -> int:
        """Add a parsed batch of lines of file number `file` whose first line is `base_line + 1`.

        Returns the number of rows added. Problems and line counts are recorded here too.
        """
        with self._lock:
            name = self.files[file].name
            self.problems.extend(
                Problem(name, base_line + line, where, message) for line, where, message in batch.problems
            )
            self.line_count += batch.lines
            self.blank_lines += batch.blank
            if batch.retired:
                self._streams.pop(batch.retired, None)
            if batch.count == 0:
                return 0
            columns = self._batch_columns(batch, file, base_line)
            start, end = self._n, self._n + batch.count
            self._reserve(end)
            for key, values in columns.items():
                self._arrays[key][start:end] = values
            for row, audit_id in batch.long_auditids.items():
                self._long_auditids[start + row] = audit_id
            self._table = self._table.extended(self._attrs.values)
            self._n = end
            self._generation += 1
            return batch.count

    def _batch_columns(self, batch: Batch, file: int, base_line: int) -> dict[str, np.ndarray]:
        """A batch's columns with codes remapped to the store's dictionaries.

        A batch ships only the values its parser saw first in it (see `batch.Encoder`): the
        store keeps, per parser stream, a table from stream codes to store codes and extends it.
        """
        columns: dict[str, np.ndarray] = {}
        tables = self._streams.setdefault(batch.stream, {}) if batch.stream else {}
        for name in CODED_COLUMNS:
            dictionary = self._coded[name]
            fresh = dictionary.remap(batch.values[name])
            table = tables.get(name)
            if len(table if table is not None else ()) != batch.bases[name]:
                raise RuntimeError(f"batch of stream {batch.stream} out of order for column {name}")
            if table is None or not len(table):
                table = fresh
            elif len(fresh):
                table = np.concatenate([table, fresh])
            tables[name] = table
            columns[name] = table[batch.codes[name]] if len(table) else batch.codes[name]
        files = batch.file.astype(np.int16)
        offsets = batch.offset.copy()
        items = files == ITEM_FILE
        if items.any():
            item_file, placed = self._spool_items(batch.items, file)
            offsets[items] = np.asarray(placed, np.int64)[offsets[items]]
            files[items] = item_file
        files[~items] = file
        columns["file"] = files
        columns["offset"] = offsets
        columns["length"] = batch.length
        columns["line"] = batch.line + base_line
        columns["time"] = batch.time
        columns["code"] = batch.code
        columns["auditid"] = batch.auditid
        return columns

    def _spool_items(self, items: list[bytes], file: int) -> tuple[int, list[int]]:
        """Write EventList items (re-serialised) to a spool; their rows point there.

        The spool gets its own file entry named like the source, so locations still name the file.
        """
        if self._items_writer is None:
            self._items_path, self._items_writer = new_spool("eventlist-items")
        entry_index = self._item_entries.get(file)
        if entry_index is None:
            entry_index = self.add_file(self.files[file].name, self._items_path)
            self._item_entries[file] = entry_index
        writer = self._items_writer
        placed = []
        for data in items:
            placed.append(writer.tell())
            writer.write(data + b"\n")
        writer.flush()
        return entry_index, placed

    def _reserve(self, size: int) -> None:
        """Grow every array to hold `size` rows (doubling; readers keep their old arrays)."""
        if size <= self._capacity:
            return
        capacity = max(size, self._capacity * 2, 1024)
        for key, dtype in _DTYPES.items():
            grown = np.zeros(capacity, dtype)
            old = self._arrays.get(key)
            if old is not None:
                grown[: self._n] = old[: self._n]
            self._arrays[key] = grown
        self._capacity = capacity

    def _fd(self, entry: FileEntry) -> int:
        """An open descriptor for a file entry (kept open: a rotated file stays readable)."""
        if entry.fd is None:
            entry.fd = os.open(entry.path, os.O_RDONLY)
        return entry.fd

    def close(self) -> None:
        """Close the descriptors the store opened."""
        for entry in self.files:
            if entry.fd is not None:
                os.close(entry.fd)
                entry.fd = None
        if self._items_writer is not None:
            self._items_writer.close()
            self._items_writer = None

    def memory_bytes(self) -> int:
        """Bytes held by the column arrays (capacity), for the benchmark and the status bar."""
        return sum(array.nbytes for array in self._arrays.values())


_ALIASES = {"groups": "group", "namespace": "ns", "level_recorded": "recorded"}
_DTYPES: dict[str, Any] = {
    "file": np.int16,
    "line": np.int32,
    "offset": np.int64,
    "length": np.int32,
    "time": np.int64,
    "code": np.int16,
    "auditid": f"S{AUDITID_WIDTH}",
    "group": np.int32,
    "attr": np.int32,
    **{name: np.int32 for name in STRING_COLUMNS},
}


def _display(name: str, value: Any) -> str:
    if name == "rule":
        return "none" if value < 0 else str(value)
    if name == "code":
        return "" if value == 0 else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# --------------------------------------------------------------------------------- loading

FIRST_BATCH_LINES = 1000
_TASK_BYTES = 16 << 20
_IN_PROCESS_BYTES = 24 << 20
"""Below this much left to read, worker start-up costs more than it saves."""


@dataclass
class _Task:
    file: int
    path: str
    start: int
    end: int
    final: bool
    document: bool = False


@dataclass
class _Plan:
    tasks: list[_Task] = field(default_factory=list)
    total: int = 0


class StoreLoader:
    """Streams the events of `sources` into `self.store`, batch by batch.

    `run()` yields a `LoadProgress` after each batch; between yields the store is usable and grows.
    The first batch is the first FIRST_BATCH_LINES lines, parsed in-process so that something is
    on screen at once; the rest is cut into byte ranges parsed by a pool of worker processes
    (separate interpreters, so the loader may run in a thread of a threaded program). Set `cancel`
    to stop.
    """

    def __init__(
        self,
        sources: Sequence[LogSource],
        evaluator: PolicyEvaluator | None = None,
        cancel: threading.Event | None = None,
        workers: int | None = None,
        store: EventStore | None = None,
        memory_limit_mb: int = MEMORY_LIMIT_MB,
    ) -> None:
        self.sources = list(sources)
        self.memory_limit_mb = memory_limit_mb
        self.cancel = cancel or threading.Event()
        self.workers = workers if workers is not None else max(1, min(os.cpu_count() or 1, 8))
        self.store = store or EventStore()
        if evaluator is not None:
            self.store.set_policy(evaluator)
        self._encoder = Encoder()
        """For batches parsed in this process (the first one, small loads, workers=1)."""
        self._started = 0.0
        self._done_bytes = 0
        self._total_bytes = 0

    def run(self) -> Iterator[LoadProgress]:
        """Load everything, yielding progress after each batch (the last one has done=True)."""
        self._started = time.perf_counter()
        plan = self._plan()
        self._total_bytes = plan.total
        tasks = plan.tasks
        if tasks and not tasks[0].document:
            first, rest = self._first_batch(tasks[0])
            if first is not None:
                yield self._progress(False)
            tasks = rest + tasks[1:]
        remaining = sum(task.end - task.start for task in tasks)
        if self.workers > 1 and remaining > _IN_PROCESS_BYTES:
            batches = self._pooled(tasks)
        else:
            batches = (self._parse(task) for task in tasks)
        _set_heap_thresholds(_LOADING_THRESHOLDS)
        try:
            for task, batch in batches:
                if self.cancel.is_set():
                    yield self._progress(True, cancelled=True)
                    return
                self._append(task, batch)
                if resident_mb() > self.memory_limit_mb:
                    self._stop_for_memory(task)
                    yield self._progress(True, cancelled=True)
                    return
                yield self._progress(False)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()
            _set_heap_thresholds(_LOADED_THRESHOLDS)
        release_memory()
        yield self._progress(True, cancelled=self.cancel.is_set())

    def _stop_for_memory(self, task: _Task) -> None:
        """Record why loading stopped early, at the file the last batch came from."""
        entry = self.store.files[task.file]
        message = (
            f"stopped loading after {len(self.store):,} events: memory use reached the limit of "
            f"{self.memory_limit_mb:,} MB (set K8SAUDIT_TUI_MEMORY_LIMIT_MB to change it, or load "
            "fewer files); the rest was not read"
        )
        with self.store._lock:
            self.store.problems.append(Problem(entry.name, entry.lines or None, "", message))

    def load_all(self) -> EventStore:
        """Run to the end (for headless commands and tests) and return the store."""
        for _ in self.run():
            pass
        return self.store

    def _plan(self) -> _Plan:
        """Register every readable source and cut it into tasks at line boundaries."""
        plan = _Plan()
        store = self.store
        for source in self.sources:
            if source.problem is not None:
                store.problems.append(source.problem)
                continue
            warning = source.extra.get("warning")
            if isinstance(warning, Problem):
                store.problems.append(warning)
            file = store.add_file(source.name, source.path, source.followable)
            try:
                size = os.path.getsize(source.path)
                with open(source.path, "rb") as handle:
                    head = handle.read(4096)
            except OSError as error:
                store.problems.append(Problem(source.name, None, "", f"cannot read: {error.strerror}"))
                continue
            plan.total += size
            if looks_like_document(head):
                plan.tasks.append(_Task(file, source.path, 0, size, True, document=True))
                continue
            plan.tasks.extend(_cut(file, source.path, 0, size))
        return plan

    def _first_batch(self, task: _Task) -> tuple[Batch | None, list[_Task]]:
        """Parse the first lines of the first task in-process; return what is left of the task."""
        limit = _first_lines_end(task.path, task.start, task.end, FIRST_BATCH_LINES)
        if limit >= task.end:
            batch = self._parse(task)[1]
            self._append(task, batch)
            return batch, []
        head = _Task(task.file, task.path, task.start, limit, False)
        _, batch = self._parse(head)
        self._append(head, batch)
        return batch, [_Task(task.file, task.path, limit, task.end, task.final)]

    def _parse(self, task: _Task) -> tuple[_Task, Batch]:
        if task.document:
            with open(task.path, "rb") as handle:
                return task, parse_document(handle.read(), task.file)
        enabled = gc.isenabled()
        gc.disable()
        try:
            return task, parse_range((task.path, task.file, task.start, task.end, task.final), self._encoder)
        finally:
            if enabled:
                gc.enable()

    def _pooled(self, tasks: list[_Task]) -> Iterator[tuple[_Task, Batch]]:
        """Parse tasks in worker processes, in order (documents in-process, at their turn)."""
        line_tasks = [t for t in tasks if not t.document]
        arguments = [(t.path, t.file, t.start, t.end, t.final) for t in line_tasks]
        results = parse_in_workers(arguments, self.workers)
        try:
            for task in tasks:
                if task.document:
                    yield self._parse(task)
                else:
                    yield task, next(results)
                if self.cancel.is_set():
                    return
        finally:
            results.close()

    def _append(self, task: _Task, batch: Batch) -> None:
        """Append a batch and advance the file's consumed offset and line count."""
        entry = self.store.files[task.file]
        self.store.append(batch, task.file, entry.lines)
        entry.lines += batch.lines
        entry.consumed = batch.end
        if batch.tail_failed and self.store.problems:
            entry.tail_problem = self.store.problems[-1]
            entry.consumed = batch.tail_start
            entry.lines -= 1
        if entry.followable:
            _note_last_bytes(self.store, entry)
        self._done_bytes += task.end - task.start

    def _progress(self, done: bool, cancelled: bool = False) -> LoadProgress:
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        events = len(self.store)
        eta = None
        if self._done_bytes and not done:
            eta = (self._total_bytes - self._done_bytes) * elapsed / self._done_bytes
        return LoadProgress(
            events,
            self._done_bytes,
            self._total_bytes,
            events / elapsed,
            eta,
            done,
            len(self.store.problems),
            elapsed,
            cancelled,
        )


_M_TRIM_THRESHOLD = -1
"""glibc's mallopt parameter: once this much is free at the top of the heap, it goes back to the OS."""
_M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter: blocks this big or bigger get their own mapping."""
_M_ARENA_MAX = -8
"""glibc's mallopt parameter: how many heaps (arenas) threads may get."""
_LOADING_THRESHOLDS = (256 * 1024, 512 * 1024)
"""(mmap, trim) thresholds while batches arrive."""
_LOADED_THRESHOLDS = (32 * 1024 * 1024, 64 * 1024 * 1024)
"""(mmap, trim) thresholds once loaded: the trim threshold twice the mmap one, as glibc keeps it."""


def _set_heap_thresholds(thresholds: tuple[int, int]) -> None:
    """While batches arrive the loader maps every block of 256 KiB or more on its own, so it goes
    back to the OS when freed; afterwards big blocks come from the heap, which gives memory back
    only once 64 MiB is free at its top.

    glibc raises its threshold to the biggest block freed so far, so after the first batches
    every unpickled batch came from the heap and left it fragmented: 50 MB more resident with
    1M events loaded (measured). Afterwards the filters allocate the same big arrays at every
    keystroke, which a high threshold lets the heap reuse (a mapping each time doubled the
    filter latency, measured). Setting a threshold also stops glibc from raising its trim
    threshold with it, and a trim gives back all the free top, not the excess: at 128 KiB (the
    default) or 16 MiB, the heap gave a keystroke's temporaries back and the next keystroke
    faulted them in again (1,000-5,500 page faults, up to a third of a filter at 1M events,
    measured). Without glibc this does nothing."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mmap_threshold, trim_threshold = thresholds
        mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)


def share_one_heap() -> None:
    """Have every thread allocate from one heap (glibc arena); call before starting threads.

    glibc gives threads heaps of their own, up to eight per core, and the explorer runs each
    filter in a new thread (a Textual worker): its arrays came from whichever heap that thread
    got, often one that had given its pages back, so a keystroke faulted in 4-10 MB again
    (measured). Python threads take turns (the GIL), so one heap costs no waiting. Without glibc
    this does nothing."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, 1)


def _libc_function(name: str) -> Any:
    """A function of the C library, or None (not glibc, no ctypes)."""
    try:
        import ctypes

        return getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def release_memory() -> None:
    """Give freed heap back to the OS (glibc): after parsing (unpickled batches, temporaries),
    and after the explorer's first view of everything loaded. The heap otherwise keeps up to
    64 MiB free for the filters (see `_set_heap_thresholds`)."""
    gc.collect()
    malloc_trim = _libc_function("malloc_trim")
    if malloc_trim is not None:
        malloc_trim(0)


def _cut(file: int, path: str, start: int, end: int) -> list[_Task]:
    """Byte ranges of about _TASK_BYTES, each ending just after a newline (the last one at EOF)."""
    tasks: list[_Task] = []
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return [_Task(file, path, start, end, True)]
    try:
        position = start
        while end - position > _TASK_BYTES * 1.5:
            boundary = _next_newline(fd, position + _TASK_BYTES, end)
            if boundary >= end:
                break
            tasks.append(_Task(file, path, position, boundary, False))
            position = boundary
        tasks.append(_Task(file, path, position, end, True))
    finally:
        os.close(fd)
    return tasks


def _next_newline(fd: int, position: int, end: int) -> int:
    """Offset just after the first newline at or after `position` (end if none)."""
    while position < end:
        chunk = os.pread(fd, min(1 << 20, end - position), position)
        if not chunk:
            return end
        found = chunk.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(chunk)
    return end


def _first_lines_end(path: str, start: int, end: int, lines: int) -> int:
    """Offset just after the `lines`-th newline from `start` (end if the file is shorter)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        position = start
        seen = 0
        while position < end:
            chunk = os.pread(fd, min(1 << 20, end - position), position)
            if not chunk:
                return end
            count = chunk.count(b"\n")
            if seen + count >= lines:
                cut = -1
                for _ in range(lines - seen):
                    cut = chunk.index(b"\n", cut + 1)
                return position + cut + 1
            seen += count
            position += len(chunk)
        return end
    finally:
        os.close(fd)


def load(
    sources: Sequence[LogSource], evaluator: PolicyEvaluator | None = None, workers: int | None = None
) -> EventStore:
    """Load `sources` completely (headless use)."""
    return StoreLoader(sources, evaluator, workers=workers).load_all()


# --------------------------------------------------------------------------------- follow


def follow(
    store: EventStore,
    sources: Sequence[LogSource] | None = None,
    cancel: threading.Event | None = None,
    interval: float = 0.2,
) -> Iterator[int]:
    """Watch the store's growable files and append new complete lines; yield rows added.

    A rotated file (new inode at the path) is drained, then the new file is read from the start;
    a truncated file is read again from the start; a half-written last line waits for its newline.
    `sources` limits following to those names (default: every followable file). Stops on `cancel`.
    """
    cancel = cancel or threading.Event()
    wanted = {source.name for source in sources} if sources is not None else None
    while not cancel.is_set():
        added = 0
        for index in range(len(store.files)):
            entry = store.files[index]
            if not entry.followable or (wanted is not None and entry.name not in wanted):
                continue
            added += _poll(store, index)
        if added:
            yield added
        cancel.wait(interval)


def _poll(store: EventStore, index: int) -> int:
    """Read what was appended to one file since last time; handle rotation and truncation."""
    entry = store.files[index]
    try:
        info = os.stat(entry.path)
    except OSError:
        return 0
    added = 0
    if entry.inode and info.st_ino != entry.inode:
        added += _read_new(store, index, os.fstat(store._fd(entry)).st_size)  # drain the rotated file
        entry.followable = False
        return added + _reopen(store, entry)
    if info.st_size < entry.consumed or (info.st_size > entry.consumed and _rewritten(store, entry)):
        entry.followable = False
        entry.gone = "the file was truncated after this event was read; its text is gone"
        return _reopen(store, entry)
    if info.st_size > entry.consumed:
        added += _read_new(store, index, info.st_size)
    return added


_LAST_BYTES = 512
"""How many bytes before the consumed offset are kept to notice a file rewritten in place: an
audit line's last fields (objectRef, annotations) often repeat from event to event, its
timestamps (to the microsecond) a few hundred bytes before its end rarely do."""


def _note_last_bytes(store: EventStore, entry: FileEntry) -> None:
    start = max(0, entry.consumed - _LAST_BYTES)
    try:
        entry.last_bytes = os.pread(store._fd(entry), entry.consumed - start, start)
    except OSError:
        entry.last_bytes = b""


def _rewritten(store: EventStore, entry: FileEntry) -> bool:
    """Whether the bytes before the consumed offset are not those read: a copytruncate rotation
    whose new file outgrew the old one between two polls (same inode, bigger size). Only a new
    file whose bytes there equal the old ones (the same last _LAST_BYTES, timestamps included)
    goes unnoticed."""
    if not entry.last_bytes:
        return False
    start = entry.consumed - len(entry.last_bytes)
    try:
        return os.pread(store._fd(entry), len(entry.last_bytes), start) != entry.last_bytes
    except OSError:
        return False


def _reopen(store: EventStore, entry: FileEntry) -> int:
    """Start a new file entry for the same path (rotation or truncation), read from offset 0."""
    if entry.tail_problem is not None:
        entry.tail_problem = None  # the half line will never be completed in this file
    index = store.add_file(entry.name, entry.path, followable=True)
    size = os.stat(entry.path).st_size
    return _read_new(store, index, size)


def _read_new(store: EventStore, index: int, size: int) -> int:
    """Parse complete lines between the consumed offset and `size`."""
    entry = store.files[index]
    if size <= entry.consumed:
        return 0
    data = os.pread(store._fd(entry), size - entry.consumed, entry.consumed)
    if b"\n" not in data:
        return 0
    if entry.tail_problem is not None:
        _withdraw(store, entry.tail_problem)
        entry.tail_problem = None
    batch = parse_lines(data, entry.consumed, index, final=False)
    added = store.append(batch, index, entry.lines)
    entry.lines += batch.lines
    entry.consumed = batch.end
    _note_last_bytes(store, entry)
    return added


def _withdraw(store: EventStore, problem: Problem) -> None:
    """A half line reported at load time was completed by its writer: it is read again now."""
    with store._lock:
        for position in range(len(store.problems) - 1, -1, -1):
            if store.problems[position] is problem:
                del store.problems[position]
                store.line_count -= 1
                return
