"""Dictionary encoding: each distinct value of a column once, rows hold int32 codes.

Why batches need remapping: a parser stream (one `batch.Encoder`, in a worker or in-process) ships
only the values it saw first in each batch, numbered in its own order; the store keeps, per
stream, a table from stream codes to store codes and extends it batch by batch. Dictionaries only
grow, so a reader's codes stay valid while the writer appends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs.auditid_keys import KEY_DTYPE
from k8saudit_tui.engine.logs.batch import CODED_COLUMNS, STRING_COLUMNS, Batch
from k8saudit_tui.engine.model import LEVELS, STAGES, RequestAttributes

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
    "impersonated",
    "annotations",
    "latency",
    "rule",
    "level",
    "omitted",
    "file",
    "line",
)
"""Names accepted by `EventStore.column` and `EventStore.value`."""

ALIASES = {"groups": "group", "namespace": "ns", "level_recorded": "recorded"}
DTYPES: dict[str, Any] = {
    "file": np.uint8,  # widened past 255 files, as codes are
    "line": np.uint16,
    "line_high": np.uint8,
    "offset": np.uint32,
    "offset_high": np.uint8,
    "length": np.uint16,
    "length_high": np.uint8,
    "time": np.uint32,  # and "time_high", window codes (narrow.py)
    "time_high": np.uint8,
    "latency": np.int32,
    "code": np.int16,
    "format": np.uint8,
    "auditid": KEY_DTYPE,
    "group": np.int32,
    "annotations": np.int32,
    "attr": np.int32,
    **{name: np.int32 for name in STRING_COLUMNS},
}


_REBUILDING = threading.Lock()
RELEASED_SIZE = 4096
"""Dictionaries with at least this many values drop their index once loaded (`release_indexes`)."""

_SHARED_FIELDS = {"username": "user", "groups": "group", "namespace": "ns", "name": "name", "path": "uri"}
"""RequestAttributes fields -> the column dictionary holding the same strings (or group tuples):
those with many copies (verbs and resources had a few hundred at most, and each lookup costs
every new value). A path is its URI without the query: 42k of 51k paths at 1M events are a URI."""
_POSITIONS = {field: position for position, field in enumerate(RequestAttributes._fields)}


class Scan:
    """value -> code by a scan of a dictionary's values (their first equal one): what a released
    index answers readers with, building nothing."""

    __slots__ = ("values",)

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def get(self, value: Any, default: int | None = None) -> int | None:
        try:
            return self.values.index(value)
        except ValueError:
            return default


class Dictionary:
    """One column's dictionary: value -> code (`index`) and code -> value (`values`), append-only."""

    __slots__ = ("_index", "values")

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] | None = {}
        for value in values:
            self.code(value)

    @property
    def index(self) -> dict[Any, int] | Scan:
        """value -> code, for readers (an exact filter term): the dict, or once released a `Scan`
        of the values, which builds nothing (rebuilding the dict of 432k names at 10M events cost
        0.27 s, a scan of them a few ms)."""
        index = self._index
        return Scan(self.values) if index is None else index

    @index.setter
    def index(self, index: dict[Any, int]) -> None:
        self._index = index

    def writable(self) -> dict[Any, int]:
        """The value -> code dict, rebuilt from `values` after `release_index` (under a lock: two
        threads appending never each build one and keep different dicts)."""
        index = self._index
        if index is None:
            with _REBUILDING:
                index = self._index
                if index is None:
                    index = self._index = dict(zip(self.values, range(len(self.values))))
        return index

    def release_index(self) -> None:
        """Drop the value -> code dict until a new value comes (follow mode): `writable` rebuilds it.

        Why: once loaded, nothing looks values up but an exact filter term and follow mode, and the
        dicts of the big vocabularies (URIs, names, attributes) were 8 MB at 1M events. Their tables
        are big blocks the C library maps on their own, so dropping one gives its pages back."""
        self._index = None

    def code(self, value: Any) -> int:
        index = self.writable()
        code = index.get(value)
        if code is None:
            code = index[value] = len(self.values)
            self.values.append(value)
        return code

    def remap(self, local_values: Sequence[Any]) -> np.ndarray:
        """Global codes for a batch's local values (index = local code). Known values are looked up
        in one C-level pass (each worker ships the values the other one already shipped); only the
        new ones run `code`."""
        codes = list(map(self.writable().get, local_values))
        if None in codes:
            code = self.code
            codes = [known if known is not None else code(value) for known, value in zip(codes, local_values)]
        return np.fromiter(codes, np.int32, len(codes))


class AttributesDictionary(Dictionary):
    """RequestAttributes, interned; batches ship them as field tuples (they unpickle much faster
    than the class). A RequestAttributes is a NamedTuple, equal to (and hashing as) its fields'
    tuple, so a shipped tuple is looked up as it is; each distinct value is held once, as a
    RequestAttributes (a million distinct users means a million of them).

    A new value is built with the equal strings the column dictionaries already hold (`shared`:
    field name -> dictionary): each unpickled tuple brings strings of its own, so 51k attributes
    at 1M events held 35k copies of two dozen namespaces and a second copy of most object names
    and URIs without a query (~10 bytes an event)."""

    __slots__ = ("shared",)

    def __init__(self, shared: Sequence[tuple[str, Dictionary]] = ()) -> None:
        self.shared = tuple(shared)
        super().__init__()

    def code(self, value: Any) -> int:
        return int(self.remap([value])[0])

    def remap(self, local_values: Sequence[Any]) -> np.ndarray:
        """As `Dictionary.remap`: known values in one C-level pass of lookups, then the new ones
        built with the shared strings (the shared dictionaries' lookups taken once per batch). At
        1M events 59k values are shipped, 51k of them new: 0.16 CPU-s here, 0.24-0.27 when each
        was first built as a dataclass and looked up by its Python-level hash."""
        index = self.writable()
        codes = list(map(index.get, local_values))
        if None in codes:
            values = self.values
            shared = [
                (_POSITIONS[field], dictionary.writable().get, dictionary.values) for field, dictionary in self.shared
            ]
            make = RequestAttributes._make
            for position, known in enumerate(codes):
                if known is not None:
                    continue
                fields = list(local_values[position])
                for field, get, strings in shared:  # equal strings swapped in: hash and equality stay
                    found = get(fields[field])
                    if found is not None:
                        fields[field] = strings[found]
                attributes = make(fields)
                code = index.setdefault(attributes, len(values))  # a value twice in one batch: once
                if code == len(values):
                    values.append(attributes)
                codes[position] = code
        return np.fromiter(codes, np.int32, len(codes))


class Codes:
    """The store's dictionaries: string columns, stage, recorded level, group and annotation
    tuples, attributes."""

    def __init__(self) -> None:
        self.strings: dict[str, Dictionary] = {name: Dictionary() for name in STRING_COLUMNS}
        self.strings["stage"] = Dictionary(STAGES)
        self.strings["recorded"] = Dictionary(LEVELS)
        self.groups = Dictionary()
        self.annotations = Dictionary()
        shared = {**self.strings, "group": self.groups}
        self.attributes = AttributesDictionary([(field, shared[column]) for field, column in _SHARED_FIELDS.items()])
        self.auditids = Dictionary()
        """auditIDs that are not canonical UUIDs, coded into the auditid column's keys."""
        self.latencies = Dictionary()
        """Latencies (ns) the latency column cannot hold in microseconds, coded into it (narrow.py)."""
        self.times = Dictionary()
        """The time column's windows (high bits and ns past the microsecond), coded by "time_high"."""
        self.coded: dict[str, Dictionary] = {
            **self.strings,
            "group": self.groups,
            "annotations": self.annotations,
            "attr": self.attributes,
        }
        self.streams: dict[int, dict[str, np.ndarray]] = {}
        """Per parser stream (batch.Encoder), per coded column: stream code -> store code."""

    def release_indexes(self) -> None:
        """Once loaded: the big dictionaries drop their value -> code dicts (`Dictionary.release_index`)."""
        for dictionary in self.coded.values():
            if len(dictionary.values) >= RELEASED_SIZE:
                dictionary.release_index()

    def retire(self, stream: int) -> None:
        """Forget the code table of a parser stream that started over (see batch.Encoder)."""
        self.streams.pop(stream, None)

    def remap(self, batch: Batch) -> dict[str, np.ndarray]:
        """The batch's coded columns in store codes (interning the values it ships)."""
        columns: dict[str, np.ndarray] = {}
        tables = self.streams.setdefault(batch.stream, {}) if batch.stream else {}
        for name in CODED_COLUMNS:
            fresh = self.coded[name].remap(batch.values[name])
            table = tables.get(name)
            if len(table if table is not None else ()) != batch.bases[name]:
                raise RuntimeError(f"batch of stream {batch.stream} out of order for column {name}")
            if table is None or not len(table):
                table = fresh
            elif len(fresh):
                table = np.concatenate([table, fresh])
            tables[name] = table
            columns[name] = table[batch.codes[name]] if len(table) else batch.codes[name]
        return columns
