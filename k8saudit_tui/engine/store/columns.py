"""EventStore: compact columns for every event, the full event re-read from disk on demand.

Per event the store keeps where its line is (file, offset, length, line number) and the columns the UI and
filters need, strings dictionary-encoded (codes.py), user groups as a code of an interned tuple, and the
request attributes as a code of an interned `RequestAttributes` (evaluated once per distinct value, then
broadcast to rows: verdicts.py).

Columns are numpy arrays in one dict (`arrays.py`: capacity reserved ahead, codes as narrow as their
dictionary allows); auditIDs are 17-byte keys (`logs/auditid_keys.py`).

Threading: one writer (the loader, or `follow`) appends batches while readers (the UI thread) read. Arrays
grow or widen into new arrays, values are written before `len()` is published, lists only grow, and the
verdict table is swapped whole: a reader that takes `len(store)` once and uses rows below it always sees
complete rows. `follow` and the loader use only the public methods.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import orjson

from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.logs.batch import CODED_COLUMNS, Batch, format_time
from k8saudit_tui.engine.model import LEVELS, Problem, RequestAttributes, Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import appending, arrays, derived, narrow
from k8saudit_tui.engine.store.codes import ALIASES, COLUMNS, DTYPES, Codes
from k8saudit_tui.engine.store.files import EventGone, FileEntry
from k8saudit_tui.engine.store.items import ItemSpool
from k8saudit_tui.engine.store.verdicts import VERDICT_COLUMNS, Verdicts, VerdictTable

_NO_LONG_IDS: Mapping[int, str] = MappingProxyType({})
_EAGER_OPEN_LIMIT = 256
"""Files registered beyond this many are opened on first read (file descriptor limits)."""


class EventStore:
    """Columns for every loaded event (threading: the module docstring). Row order is load order,
    file by file; `view_order()` is the merged order by stageTimestamp (stable: ties keep it)."""

    def __init__(self) -> None:
        self._n = 0
        self._capacity = 0
        self._arrays: dict[str, np.ndarray] = {}
        self._dtypes: dict[str, Any] = {**DTYPES, **dict.fromkeys(CODED_COLUMNS, np.uint8)}
        self._codes = Codes()
        self._dicts = self._codes.strings  # read by the query package (a column's value index)
        self._groups = self._codes.groups
        self._attrs = self._codes.attributes
        self.files: list[FileEntry] = []
        self.problems: list[Problem] = []
        self.line_count = 0
        self.blank_lines = 0
        self._items = ItemSpool()
        self._lock = threading.RLock()
        self._verdicts = Verdicts.empty()
        """The current and candidate policies' tables: swapped whole, never changed in place."""
        self._generation = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.match_cache: dict[tuple[Any, ...], Any] = {}
        """For query.py: per (column, term) the codes that matched, and how many values were seen."""

    # ----------------------------------------------------------------------------- reading

    def __len__(self) -> int:
        return self._n

    @property
    def evaluator(self) -> PolicyEvaluator | None:
        return self._verdicts.current.evaluator

    @property
    def candidate_evaluator(self) -> PolicyEvaluator | None:
        """The candidate policy compared with the loaded one (`set_candidate`), or None."""
        return self._verdicts.candidate.evaluator

    @property
    def long_auditids(self) -> Mapping[int, str]:
        """Rows whose auditID the auditid column does not hold exactly: none any more (every ID is
        a key, `auditid_keys`), kept empty for the callers that still read it."""
        return _NO_LONG_IDS

    def auditid_key(self, audit_id: str) -> bytes | None:
        """The auditid column's key of `audit_id` (None: no row can have it, see auditid_keys)."""
        return auditid_keys.query_key(audit_id, self._codes.auditids.index.get)

    def auditid_texts(self, keys: np.ndarray) -> list[str]:
        """The auditIDs of some keys of the auditid column."""
        others = self._codes.auditids.values
        return [auditid_keys.text(key, others) for key in keys.tolist()]

    @property
    def parser_streams(self) -> int:
        """How many parser streams (batch.Encoder) the store keeps code tables for."""
        return len(self._codes.streams)

    @property
    def generation(self) -> int:
        """Changes whenever rows are added or the policy changes (for caches in callers)."""
        return self._generation

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        """The column `name` for rows [0, n) (default: all rows now): codes or values.

        String columns give codes into `values(name)` (unsigned, as narrow as the dictionary allows:
        `arrays.code_dtype`); "group" codes into `values("group")` (tuples of groups); "time" int64
        ns since the epoch; "code" int16 (0 = none); "rule" int16 (-1 = no rule matched or no
        policy); "level" int8 index in LEVELS (-1 without policy); "omitted" bool (the verdict
        would not write this stage; int8 with 2 = unknown once rows of a lossy format are loaded:
        verdicts.py, rule -2 and level -2 are unknown); the same under the candidate policy as
        "candidate_rule", "candidate_level", "candidate_omitted"; "change" int8 index in
        fields.CHANGES (all same without two policies); "auditid" 17-byte keys (equal keys, equal
        IDs: `auditid_texts`); "annotations" codes into `values("annotations")` (sorted `key=value`
        tuples); "latency" int64 ns (-1 unknown). "offset", "time" and "latency" are held narrower and
        decoded here, as are "line" and "length" (narrow.py; `gather` decodes only some rows).
        """
        n = self._n if n is None else n
        if name in VERDICT_COLUMNS:
            return self._verdict_column(name, n)
        key = ALIASES.get(name, name)
        if key in narrow.NARROW and key in self._arrays:  # int64 as it always was (narrow.py)
            return narrow.decode(self._arrays, self._narrow_values(key), key, n)
        array = self._arrays.get(key)
        if array is None:
            if key in COLUMNS or key in ("offset", "length", "attr", "format"):
                return np.empty(0, np.int32)
            raise KeyError(f"unknown column {name!r}")
        return array[:n]

    def gather(self, name: str, rows: np.ndarray | slice) -> np.ndarray:
        """`column(name)[rows]`, decoding only those rows of a narrow column (narrow.py)."""
        if name in narrow.NARROW and name in self._arrays:
            return narrow.gather(self._arrays, self._narrow_values(name), name, rows)
        gathered: np.ndarray = self.column(name)[rows]
        return gathered

    def _narrow_values(self, name: str) -> list[Any]:
        """The dictionary a narrow column codes into (narrow.py): time windows or latencies."""
        return self._codes.times.values if name == "time" else self._codes.latencies.values

    def values(self, name: str) -> list[Any]:
        """The vocabulary of a code column (index = code): strings, group or annotation tuples,
        LEVELS, or the RequestAttributes of "attr"."""
        if name == "level":
            return list(LEVELS)
        return self._codes.coded[ALIASES.get(name, name)].values

    def value(self, row: int, name: str) -> str | int | None:
        """The display value of one cell: str for strings, int for code/rule/line, None if absent.
        Also the derived values (received, stage_time, decision: `derived.py`)."""
        if name in derived.DISPLAYED:
            return derived.value(self, row, name)
        if name == "time":
            return format_time(narrow.time_at(self._arrays, self._codes.times.values, row))
        if name in ("group", "groups"):
            return ", ".join(self._groups.values[self._arrays["group"][row]])
        if name == "code":
            code = int(self._arrays["code"][row])
            return code or None
        if name in VERDICT_COLUMNS:
            attr, stage, form = (int(self._arrays[key][row]) for key in ("attr", "stage", "format"))
            return self._verdicts.value(name, attr, stage, form)
        if name == "auditid":
            return auditid_keys.text(self._arrays["auditid"][row], self._codes.auditids.values)
        if name == "file":
            return self.files[int(self._arrays["file"][row])].name
        if name in ("line", "offset", "length"):
            return narrow.split_at(self._arrays, name, row)
        key = ALIASES.get(name, name)
        return self._dicts[key].values[self._arrays[key][row]]  # type: ignore[no-any-return]

    def location(self, row: int) -> tuple[str, int]:
        """(file shown to the user, 1-based line) of an event."""
        return self.files[self._arrays["file"][row]].name, narrow.split_at(self._arrays, "line", row)

    def raw(self, row: int) -> bytes:
        """The event's original bytes (the JSON object of its line), read with os.pread; raises
        EventGone for an event whose file was truncated since (its offset holds other bytes)."""
        entry = self.files[self._arrays["file"][row]]
        if entry.gone:
            raise EventGone(f"{entry.name}: {entry.gone}")
        length, offset = narrow.split_at(self._arrays, "length", row), narrow.split_at(self._arrays, "offset", row)
        return os.pread(self.descriptor(entry), length, offset)

    def readable(self, rows: np.ndarray) -> np.ndarray:
        """Which of `rows` still have their bytes (see `raw`)."""
        gone = [index for index, entry in enumerate(self.files) if entry.gone]
        if not gone or not len(rows):
            return np.ones(len(rows), bool)
        return ~np.isin(self._arrays["file"][rows], gone)

    def raw_many(self, rows: np.ndarray) -> Iterator[bytes]:
        """The original bytes of many rows, in the given order (export); raises EventGone first
        if any of them is gone (see `raw`, and `readable` to leave those out)."""
        if len(rows) == 0:
            return  # an empty store has no arrays yet
        if not self.readable(rows).all():
            entry = next(entry for entry in self.files if entry.gone)
            raise EventGone(f"{entry.name}: {entry.gone}")
        files, offsets, lengths = self._arrays["file"], self.gather("offset", rows), self.gather("length", rows)
        fds = [self.descriptor(entry) if entry.path else -1 for entry in self.files]
        pread = os.pread
        for f, length, offset in zip(files[rows].tolist(), lengths.tolist(), offsets.tolist()):
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
        return self._verdict_of(self._verdicts.current, row)

    def candidate_verdict(self, row: int) -> Verdict | None:
        """The verdict of the candidate policy for this event; None without a candidate."""
        return self._verdict_of(self._verdicts.candidate, row)

    def _verdict_of(self, table: VerdictTable, row: int) -> Verdict | None:
        if table.evaluator is None:
            return None
        return table.verdicts[int(self._arrays["attr"][row])]

    def rule_counts(self, rows: np.ndarray | None = None) -> dict[int | None, int]:
        """How many of `rows` (default all) each rule matched; key None = no rule matched (an
        unknown rule, lossy_tables, is counted by `lossy_counts.unknown_counts`)."""
        rules = self.column("rule")
        if rows is not None:
            rules = rules[rows]
        if self.evaluator is None or len(rules) == 0:
            return {}
        counts = np.bincount(rules.astype(np.int64) + 2)[1:]  # -2 (unknown) left out
        return {(index - 1 if index else None): int(c) for index, c in enumerate(counts) if c}

    def view_order(self, n: int | None = None) -> np.ndarray:
        """Rows [0, n) in merged order: by stageTimestamp, stable (file order breaks ties).

        Only a real reordering is kept (`_cache`): for one time-ordered log (the usual case) the
        order is 0..n-1, made afresh per call (1M rows: ~1 ms) rather than held, 8 bytes an event
        that only the unfiltered view needs (it holds its own while it shows it)."""
        n = self._n if n is None else n
        order = self._order(n)
        return np.arange(n, dtype=np.int64) if order is None else order

    def in_load_order(self, n: int | None = None) -> bool:
        """True when the view order of rows [0, n) is 0..n-1 (one time-ordered log, the usual
        case), so callers can skip gathers through `view_order`."""
        return self._order(self._n if n is None else n) is None

    def _order(self, n: int) -> np.ndarray | None:
        """The view order of rows [0, n), None for 0..n-1: decided once per row count, sorted and
        kept only when it is not the identity (one lookup of the cache, which `_publish` swaps)."""
        cached: tuple[np.ndarray | None] | None = self._cache.get(("order", n))
        if cached is None:  # rows already checked are not checked again: a load asks once per batch
            (known, last), broken = self._cache.get(("ordered",), (0, 0)), self._cache.get(("unordered",), 0)
            if n <= known or (broken and n >= broken):  # [0, known) in order; [0, broken) and longer not
                sorted_on = n <= known
            else:
                fresh = self.gather("time", slice(known, n))
                sorted_on = (not known or int(fresh[0]) >= last) and bool(np.all(fresh[1:] >= fresh[:-1]))
                (known, last), broken = ((n, int(fresh[-1])), broken) if sorted_on else ((known, last), n)
            cached = (None if sorted_on else np.argsort(self.column("time", n), kind="stable"),)
            kept = {k: v for k, v in self._cache.items() if k[0] not in ("order", "ordered", "unordered")}
            self._cache = {**kept, ("order", n): cached, ("ordered",): (known, last), ("unordered",): broken}
        return cached[0]

    # ----------------------------------------------------------------------------- policy

    def set_policy(self, evaluator: PolicyEvaluator | None) -> None:
        """Re-evaluate every row under `evaluator` (None: no policy), without re-reading the log:
        once per distinct RequestAttributes, then a vectorised lookup per row (verdicts.py)."""
        with self._lock:
            self._publish(self._verdicts.with_current(evaluator, self._attrs.values))

    def set_candidate(self, evaluator: PolicyEvaluator | None) -> None:
        """Evaluate every row under a candidate policy too (None: none), as `set_policy` does; the
        candidate_* and change columns follow. The pair of tables is published whole."""
        with self._lock:
            self._publish(self._verdicts.with_candidate(evaluator, self._attrs.values))

    def _publish(self, verdicts: Verdicts) -> None:
        self._verdicts = verdicts
        self._generation += 1
        self._cache.clear()

    def _verdict_column(self, name: str, n: int) -> np.ndarray:
        """A verdict column (VERDICT_COLUMNS) for rows [0, n): a gather through the tables."""
        key = (name, n, self._generation)  # read before the table: set_policy swaps it first
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        table = self._verdicts
        attr = self._arrays["attr"][:n] if n else np.empty(0, np.int32)
        stage = self._arrays["stage"][:n] if n else np.empty(0, np.int32)
        result = table.column(name, attr, stage, self._arrays["format"][:n] if n else None)
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
                self._codes.retire(batch.retired)
            if batch.count == 0:
                return 0
            columns = appending.batch_columns(self, batch, file, base_line)
            start, end = self._n, self._n + batch.count
            self.reserve(end)
            for key in CODED_COLUMNS:
                arrays.widen(self._arrays, self._dtypes, key, len(self._codes.coded[key].values), start)
            for key in (*map(narrow.high, (*narrow.SPLIT, "time")), "file"):  # high bits, files as they grow
                arrays.widen(self._arrays, self._dtypes, key, int(columns[key].max()) + 1, start)
            for key, values in columns.items():
                self._arrays[key][start:end] = values
            self._verdicts = self._verdicts.extended(self._attrs.values, batch.format)
            self._n = end
            self._generation += 1
            return batch.count

    def reserve(self, size: int) -> None:
        """Make room for `size` rows (the loader reserves its estimate ahead: see arrays.py)."""
        with self._lock:
            self._capacity = arrays.reserve(self._arrays, self._dtypes, self._n, self._capacity, size)

    def descriptor(self, entry: FileEntry) -> int:
        """An open descriptor for a file entry (kept open: a rotated file stays readable)."""
        if entry.fd is None:
            entry.fd = os.open(entry.path, os.O_RDONLY)
        return entry.fd

    def add_problem(self, problem: Problem) -> None:
        """Record a problem found outside a batch (a source that could not be read, a stop)."""
        with self._lock:
            self.problems.append(problem)

    def withdraw_problem(self, problem: Problem) -> None:
        """A half last line reported at load time was completed by its writer: it is read again."""
        with self._lock:
            for position in range(len(self.problems) - 1, -1, -1):
                if self.problems[position] is problem:
                    del self.problems[position]
                    self.line_count -= 1
                    return

    def close(self) -> None:
        """Close the descriptors the store opened."""
        for entry in self.files:
            if entry.fd is not None:
                os.close(entry.fd)
                entry.fd = None
        self._items.close()

    def memory_bytes(self) -> int:
        """Bytes held by the column arrays (capacity), for the benchmark and the status bar."""
        return sum(array.nbytes for array in self._arrays.values())
