"""An EventStore's contents as files of a cache entry, and back: the store's serialisation.

Contract: `take(store)` copies what a reopen needs under the store's lock (rows below the count
it read never change afterwards, dictionaries only grow); `write(entry, state)` writes it; `read`
gives it back or raises `Foreign` for anything that is not exactly what `write` wrote (truncated,
another layout, out-of-range codes), never another exception; `install` puts a read state into an
empty store and cannot fail. Generic over the store: every array of `store._arrays` is one `.npy`
file (memory-mapped on reading), every dictionary of `store._codes.coded` one list, so a column
or a dictionary added later is cached without new code here.

This module is the store's friend: it reads and sets the store's private fields, as the store's
own serialisation would, so that columns.py stays the read/append API and under its size limit.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from k8saudit_tui.engine.logs.sources import LogSource
from k8saudit_tui.engine.model import LEVELS, STAGES, Problem, RequestAttributes, Verdict
from k8saudit_tui.engine.policy.decision import AttributeCodes, PolicyDecision
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store.cache_files import Entry
from k8saudit_tui.engine.store.codes import RELEASED_SIZE
from k8saudit_tui.engine.store.columns import EventStore
from k8saudit_tui.engine.store.follow import note_last_bytes
from k8saudit_tui.engine.store.verdicts import NO_RULE, Verdicts, VerdictTable

DICTIONARIES = "dictionaries.msgpack"
STATE = "state.msgpack"

_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""An array's name as a file name: the store's column names are identifiers."""

_RECORDS: dict[str, type[Any]] = {"RequestAttributes": RequestAttributes}
"""Dictionary value types that are NamedTuples, by name: written as arrays of their fields and
decoded by msgspec straight into the class: the 51k attributes of 1M events decode in ~53 ms
instead of ~67 as a dataclass's maps, which also repeated every field name (11.5 MB, not 16.1)."""


class Foreign(Exception):
    """A cache file that is not what this version writes: it is ignored and the log rebuilt."""


@dataclass
class State:
    """What a reopen restores: rows, columns, dictionaries, files' progress, problems."""

    rows: int
    arrays: dict[str, np.ndarray]
    dictionaries: dict[str, list[Any]]
    long_auditids: dict[int, str]
    problems: list[Problem]
    files: list[tuple[str, int, int, int]]
    """Per file: its name then, consumed bytes, lines counted, index in `problems` of its half
    last line (-1)."""
    line_count: int
    blank_lines: int


class _Saved(msgspec.Struct):
    """The small part of a State, as state.msgpack holds it."""

    rows: int
    long_auditids: dict[int, str]
    problems: list[Problem]
    files: list[tuple[str, int, int, int]]
    line_count: int
    blank_lines: int
    arrays: dict[str, tuple[str, list[int]]]
    """Per array: dtype (numpy's str) and shape, checked against the .npy files."""


def all_dictionaries(store: EventStore) -> dict[str, Any]:
    """Every dictionary of the store by a name of its own: the coded columns' and the auditIDs
    that are not canonical UUIDs (the auditid column's keys point into it)."""
    return {
        **store._codes.coded,
        "auditid-others": store._codes.auditids,
        "latency-others": store._codes.latencies,
        "time_high": store._codes.times,  # named as its code column: its codes are checked as a column's
    }


def take(store: EventStore) -> State:
    """A consistent copy of the store's contents now (arrays as views of rows [0, n))."""
    with store._lock:
        n = len(store)
        problems = list(store.problems)
        files = []
        for entry in store.files:
            tail = next((i for i, p in enumerate(problems) if p is entry.tail_problem), -1)
            files.append((entry.name, entry.consumed, entry.lines, tail))
        return State(
            n,
            {name: array[:n] for name, array in store._arrays.items()},
            {name: list(dictionary.values) for name, dictionary in all_dictionaries(store).items()},
            dict(store.long_auditids),
            problems,
            files,
            store.line_count,
            store.blank_lines,
        )


def _kind(values: list[Any]) -> str:
    """How a dictionary's values are written: "str", "tuple", "int", a NamedTuple's name, or "empty";
    ValueError for values of mixed or unknown types (such a store is not cached)."""
    if not values:
        return "empty"
    first = type(values[0])
    if not all(type(value) is first for value in values):
        raise ValueError(f"dictionary of mixed types ({first.__name__} and others)")
    if first is str or first is tuple or first is int:
        return first.__name__
    if _RECORDS.get(first.__name__) is first:
        return first.__name__
    raise ValueError(f"dictionary of {first.__name__} values")


def write(entry: Entry, state: State) -> int:
    """Write the state into `entry` (arrays as .npy, the rest as msgpack); the bytes written.
    ValueError when the store holds something this format cannot say."""
    written = 0
    shapes: dict[str, tuple[str, list[int]]] = {}
    for name, array in state.arrays.items():
        if not _NAME.fullmatch(name) or array.dtype.hasobject:
            raise ValueError(f"array {name!r} cannot be cached")
        with entry.write(f"{name}.npy") as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
            written += handle.tell()
        shapes[name] = (array.dtype.str, list(array.shape))
    encoded = {name: (_kind(values), msgspec.msgpack.encode(values)) for name, values in state.dictionaries.items()}
    saved = _Saved(
        state.rows,
        state.long_auditids,
        state.problems,
        state.files,
        state.line_count,
        state.blank_lines,
        shapes,
    )
    for file, data in ((DICTIONARIES, msgspec.msgpack.encode(encoded)), (STATE, msgspec.msgpack.encode(saved))):
        with entry.write(file) as handle:
            handle.write(data)
        written += len(data)
    return written


def _decode_values(kind: str, data: bytes) -> list[Any]:
    if kind == "empty":
        return []
    if kind == "str":
        return msgspec.msgpack.decode(data, type=list[str])
    if kind == "int":
        return msgspec.msgpack.decode(data, type=list[int])
    if kind == "tuple":
        return msgspec.msgpack.decode(data, type=list[tuple[Any, ...]])
    if kind in _RECORDS:
        return msgspec.msgpack.decode(data, type=list[_RECORDS[kind]])  # type: ignore[valid-type]
    raise Foreign(f"dictionary of unknown kind {kind!r}")


def read(entry: Entry, known: EventStore) -> State:
    """The state written into `entry`, checked against the layout of the store `known` (its
    dictionaries' names); Foreign when anything is missing, cut short or out of range."""
    try:
        return _read(entry, known)
    except Foreign:
        raise
    except Exception as error:  # a damaged file can fail in numpy, msgspec or the OS: all mean "foreign"
        raise Foreign(f"{type(error).__name__}: {error}") from None


def _path(entry: Entry, name: str) -> str:
    path = entry.file(name)
    if path is None:
        raise Foreign(f"{name} is missing or not private")
    return str(path)


def _read(entry: Entry, known: EventStore) -> State:
    with open(_path(entry, STATE), "rb") as handle:
        saved = msgspec.msgpack.decode(handle.read(), type=_Saved)
    with open(_path(entry, DICTIONARIES), "rb") as handle:
        encoded = msgspec.msgpack.decode(handle.read(), type=dict[str, tuple[str, bytes]])
    if set(encoded) != set(all_dictionaries(known)):
        raise Foreign("the dictionaries are not this version's")
    dictionaries = {name: _decode_values(kind, data) for name, (kind, data) in encoded.items()}
    n = saved.rows
    arrays: dict[str, np.ndarray] = {}
    for name, (dtype, shape) in saved.arrays.items():
        if not _NAME.fullmatch(name):
            raise Foreign(f"array name {name!r}")
        array = np.load(_path(entry, f"{name}.npy"), mmap_mode="r", allow_pickle=False)
        if array.dtype.str != dtype or list(array.shape) != shape or not shape or shape[0] != n:
            raise Foreign(f"{name}.npy holds {array.dtype.str}{list(array.shape)}, not {dtype}{shape} of {n} rows")
        arrays[name] = np.asarray(array)  # a plain read-only view: the store copies before it appends
    for name, values in dictionaries.items():
        codes = arrays.get(name)
        if codes is not None and n and (int(codes.min()) < 0 or int(codes.max()) >= len(values)):
            raise Foreign(f"column {name} has codes outside its dictionary")
    state = State(
        n,
        arrays,
        dictionaries,
        saved.long_auditids,
        saved.problems,
        saved.files,
        saved.line_count,
        saved.blank_lines,
    )
    latency = arrays.get("latency")  # -2 - code for a latency held exactly (narrow.py)
    if latency is not None and n and int(latency.min()) < -1 - len(dictionaries.get("latency-others", ())):
        raise Foreign("latencies outside their dictionary")
    files = arrays.get("file")
    if files is not None and n and (int(files.min()) < 0 or int(files.max()) >= len(state.files)):
        raise Foreign("rows point at files the index does not know")
    if any(not -1 <= tail < len(state.problems) for _, _, _, tail in state.files):
        raise Foreign("a file's last-line problem is not among the problems")
    return state


def install(store: EventStore, state: State, sources: list[LogSource], verdicts: Verdicts) -> None:
    """Fill the empty `store` with `state`: its files are `sources` (one per file of the state, in
    order, the names and paths of now), then `verdicts` (covering the state's attributes)."""
    with store._lock:
        for name, values in state.dictionaries.items():
            dictionary = all_dictionaries(store)[name]
            dictionary.values = values
            if name in store._codes.coded and len(values) >= RELEASED_SIZE:  # as a loaded store's:
                dictionary.release_index()  # `Codes.release_indexes`; built again when first needed
            else:
                dictionary.index = dict(zip(values, range(len(values))))
        store._codes.streams.clear()
        renamed = {old: source.name for (old, *_), source in zip(state.files, sources)}
        problems = [  # a problem names its file as the user gave it then: name it as given now
            dataclasses.replace(p, file=renamed[p.file]) if renamed.get(p.file, p.file) != p.file else p
            for p in state.problems
        ]
        for (_, consumed, lines, tail), source in zip(state.files, sources):
            entry = store.files[store.add_file(source.name, source.path, source.followable)]
            entry.consumed, entry.lines = consumed, lines
            entry.unwrapped = source.origin is not None  # its rows' lines are the original file's
            if tail >= 0:
                entry.tail_problem = problems[tail]
            if entry.followable:
                note_last_bytes(store, entry)
        store.problems.extend(problems)
        store.line_count, store.blank_lines = state.line_count, state.blank_lines
        store._arrays = state.arrays
        store._dtypes.update({name: array.dtype for name, array in state.arrays.items()})  # codes narrow or wide
        store._capacity = state.rows  # the next append grows the arrays: a copy of the mapped ones
        store._verdicts = verdicts
        store._cache.clear()
        store.match_cache.clear()
        store._n = state.rows
        store._generation += 1


# ------------------------------------------------------------------------------ verdicts


class _SavedVerdicts(msgspec.Struct):
    """A policy's verdicts per attributes code: the distinct verdicts and each code's index in them."""

    verdicts: list[Verdict]
    index: bytes


def write_verdicts(entry: Entry, name: str, table: VerdictTable, count: int) -> None:
    """Write `table`'s verdicts of attributes codes [0, count) as file `name`."""
    distinct: dict[Verdict, int] = {}
    index = np.fromiter((distinct.setdefault(v, len(distinct)) for v in table.verdicts[:count]), np.int32)
    data = msgspec.msgpack.encode(_SavedVerdicts(list(distinct), index.tobytes()))
    with entry.write(name) as handle:
        handle.write(data)


def read_verdicts(
    entry: Entry, name: str, evaluator: PolicyEvaluator, attributes: list[RequestAttributes], codes: AttributeCodes
) -> VerdictTable | None:
    """The table of `evaluator` over `attributes` from file `name` (codes cached later evaluated
    now); None when there is no such file or it is not what `write_verdicts` wrote."""
    path = entry.file(name)
    if path is None:
        return None
    try:
        saved = msgspec.msgpack.decode(path.read_bytes(), type=_SavedVerdicts)
        index = np.frombuffer(saved.index, np.int32)
        if len(index) > len(attributes) or (len(index) and not 0 <= index.min() <= index.max() < len(saved.verdicts)):
            return None
    except (OSError, ValueError, msgspec.DecodeError):
        return None
    distinct = saved.verdicts
    rules = np.array([NO_RULE if v.rule is None else v.rule for v in distinct], np.int16)
    levels = np.array([LEVELS.index(v.level) if v.level in LEVELS else 0 for v in distinct], np.int8)
    omits = np.array([[not v.emits(stage) for stage in STAGES] for v in distinct], bool).reshape(-1, len(STAGES))
    table = VerdictTable(
        evaluator,
        tuple(distinct[i] for i in index.tolist()),
        _frozen(rules[index]),
        _frozen(levels[index]),
        _frozen(omits[index]),
        PolicyDecision(evaluator.policy),
    )
    return table.extended(attributes, codes)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def fresh_table(
    evaluator: PolicyEvaluator | None, attributes: list[RequestAttributes], codes: AttributeCodes
) -> VerdictTable:
    """The table of `evaluator` (None: no policy) over `attributes` (field codes `codes`), decided now."""
    return VerdictTable.empty(evaluator).extended(attributes, codes)
