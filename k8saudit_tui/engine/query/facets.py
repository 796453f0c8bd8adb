"""Facets and top-N: the most frequent values of a field among selected rows, in events and requests.

Why two counts: a write shows up once per stage (RequestReceived, ResponseComplete, ...), so
event counts overstate who does what up to three-fold; a request is one auditID. An event
without an auditID is a request of its own. A request whose stages differ in a field (a code
appears only at ResponseComplete) counts once for each value it has.

Contract:
- `facet` and `facets` read the store through its public columns only and return `Facet` values
  (frozen, tuples): a UI thread may hold them while the loader appends rows.
- A value's `label` is what a filter term takes: the rule index or `none`, the code number (0:
  no response status), the level name, resource/subresource; an empty string stays "" (the UI
  names it). `term(field, label)` is the exact term: `compile_filter(term).apply(store, rows)`
  selects exactly the counted events. (A resource holding "/" cannot be told apart from a
  subresource; kube-apiserver never logs one.)
- A selection is a set of rows (None: every row); a row listed twice counts once.
- Requests are counted through rows grouped by auditID (built once per store, extended over new
  rows, in `indexes.by_request`), so each field is one gather and one near-sorted pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.query import indexes
from k8saudit_tui.engine.query.indexes import Interner
from k8saudit_tui.engine.query.language import quote

FACET_FIELDS: tuple[str, ...] = tuple(
    field.name for field in fields.FIELDS if field.kind in ("string", "resource", "number", "level", "rule")
)
"""The fields a facet counts: those whose column is a code per row (not groups, auditID, time)."""

TOP_FIELDS: tuple[str, ...] = ("user", "verb", "resource", "ns", "code", "ua", "ip", "rule", "level")
"""The fields `top --by` offers and the facets panel shows."""

DEFAULT_LIMIT = 10


class Store(Protocol):
    """What facets read of a store."""

    match_cache: dict[tuple[Any, ...], Any]

    def __len__(self) -> int: ...

    def column(self, name: str, n: int | None = None) -> np.ndarray: ...

    def values(self, name: str) -> list[Any]: ...

    def value(self, row: int, name: str) -> str | int | None: ...

    @property
    def evaluator(self) -> object: ...


@dataclass(frozen=True, slots=True)
class FacetValue:
    """One value of a field: its filter label, events, distinct requests, share of the events."""

    label: str
    events: int
    requests: int
    share: float


@dataclass(frozen=True, slots=True)
class Facet:
    """The top values of one field among the selected rows.

    `values` is sorted by events (most first) then by value; `more` is how many other distinct
    values there are. `needs_policy` is True for rule and level when no policy is loaded (then
    `values` is empty)."""

    field: str
    events: int
    requests: int
    values: tuple[FacetValue, ...]
    more: int
    needs_policy: bool = False


def term(field: str, label: str) -> str:
    """The filter term that selects exactly the events of `label` in the facet of `field`, or ""
    when the language cannot say it (a value holding a double quote)."""
    if field not in FACET_FIELDS:
        raise ValueError(f"no facet for field {field!r}")
    if fields.by_filter_name[field].kind == "resource" and "/" not in label:
        quoted = quote(label)
        return f'resource:{quoted} subresource:""' if quoted else ""
    quoted = quote(label)
    return f"{field}:{quoted}" if quoted else ""


def facet(store: Store, field: str, rows: np.ndarray | None = None, limit: int = DEFAULT_LIMIT) -> Facet:
    """The top `limit` values of `field` among `rows` (default: every row)."""
    return facets(store, (field,), rows, limit)[0]


def facets(
    store: Store, names: Sequence[str] = TOP_FIELDS, rows: np.ndarray | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[Facet, ...]:
    """The top `limit` values of each of `names` among `rows` (default: every row)."""
    for name in names:
        if name not in FACET_FIELDS:
            raise ValueError(f"no facet for field {name!r}")
    selection = _Selection.of(store, rows)
    return tuple(_count(store, name, selection, limit) for name in names)


# ------------------------------------------------------------------------------ selection


@dataclass(frozen=True)
class _Selection:
    """The selected rows below `n`, grouped by request (`rows`), each one's request id (`ids`),
    where a request starts (`starts`, indexes into rows) and whether row i+1 starts one (`new`)."""

    n: int
    rows: np.ndarray
    ids: np.ndarray
    starts: np.ndarray
    new: np.ndarray

    @property
    def requests(self) -> int:
        return len(self.starts)

    @staticmethod
    def of(store: Store, rows: np.ndarray | None) -> _Selection:
        n = len(store)
        grouped: ByRequest = indexes.by_request(store, n, lambda known, n: _extend(store, known, n))
        order, ids = grouped.order, grouped.sorted_ids
        if rows is not None or grouped.rows != n:
            chosen = np.zeros(grouped.rows, bool)
            if rows is None:
                chosen[:n] = True
            else:
                chosen[np.asarray(rows, np.int64)] = True
            kept = chosen[order]
            order, ids = order[kept], ids[kept]
        new = ids[1:] != ids[:-1]
        starts = np.flatnonzero(np.concatenate([[True], new])) if len(ids) else np.empty(0, np.int64)
        return _Selection(n, order, ids, starts, new)


_FULL_WIDTH = 36
"""The store's auditID column width (an ID this long may have been cut: see `_long_rows`)."""
_LONG_BASE = 1 << 40
"""Request ids of auditIDs longer than the column: _LONG_BASE + their own number."""
_EMPTY_BASE = 1 << 41
"""Request ids of events without an auditID: _EMPTY_BASE + row (each is a request of its own)."""


@dataclass(frozen=True)
class ByRequest:
    """Rows [0, rows) grouped by auditID: `ids` each row's request id, `order` the rows sorted by
    it (stable), `sorted_ids` = ids[order]; `interner` numbers the column's auditIDs, `long` the ones longer than it."""

    rows: int
    ids: np.ndarray
    order: np.ndarray
    sorted_ids: np.ndarray
    interner: Interner
    long: tuple[tuple[str, int], ...]


def _extend(store: Store, known: ByRequest | None, n: int) -> ByRequest:
    """`known` extended over rows [known.rows, n): their ids interned, then merged into the order
    (two sorted runs, which a stable sort merges in one pass)."""
    begin = 0 if known is None else known.rows
    column = store.column("auditid", n)[begin:]
    interner = Interner(np.empty(0, column.dtype), np.empty(0, np.int32)) if known is None else known.interner
    interner, codes = interner.intern(column)
    ids = codes.astype(np.int64)
    empty = np.flatnonzero(column == b"")
    ids[empty] = _EMPTY_BASE + begin + empty
    long = dict(known.long) if known is not None else {}
    for offset in _long_rows(column).tolist():
        audit_id = str(store.value(begin + offset, "auditid"))
        if len(audit_id.encode("utf-8", "surrogatepass")) > _FULL_WIDTH:
            ids[offset] = _LONG_BASE + long.setdefault(audit_id, len(long))
    fresh = begin + np.argsort(ids, kind="stable")
    all_ids = ids if known is None else np.concatenate([known.ids, ids])
    merged = fresh if known is None else np.concatenate([known.order, fresh])
    order = merged[np.argsort(all_ids[merged], kind="stable")]
    return ByRequest(n, all_ids, order, all_ids[order], interner, tuple(long.items()))


_DASHES = (8, 13, 18, 23)


def _long_rows(column: np.ndarray) -> np.ndarray:
    """Rows whose auditID fills the column and is not a UUID: it may have been cut, so its whole
    value is read (`store.value`). A UUID is exactly as wide as the column."""
    if not len(column):
        return np.empty(0, np.int64)
    width = column.dtype.itemsize
    data = column.view(np.uint8).reshape(len(column), width)
    full = data[:, width - 1] != 0
    if width != _FULL_WIDTH:
        return np.flatnonzero(full)
    folded = data | 0x20
    hexadecimal = ((data >= 0x30) & (data <= 0x39)) | ((folded >= 0x61) & (folded <= 0x66))
    hexadecimal[:, _DASHES] = data[:, _DASHES] == 0x2D
    return np.flatnonzero(full & ~hexadecimal.all(axis=1))


# ------------------------------------------------------------------------------ counting


def _count(store: Store, name: str, selection: _Selection, limit: int) -> Facet:
    """One field's facet over the selection."""
    kind = fields.by_filter_name[name].kind
    if kind in ("level", "rule") and store.evaluator is None:
        return Facet(name, len(selection.rows), selection.requests, (), 0, needs_policy=True)
    codes, size, label = _codes(store, name, selection)
    events = np.bincount(codes, minlength=size)
    if not (codes[1:] != codes[:-1])[~selection.new].any():
        requests = np.bincount(codes[selection.starts], minlength=size)  # one value per request
    else:  # some request has several values: count distinct (request, value) pairs
        key = np.sort(selection.ids * size + codes, kind="stable")  # sorted runs: one merge pass
        distinct = key[np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))]
        requests = np.bincount(distinct % size, minlength=size)
    present = np.flatnonzero(events)
    top = _top(present, events, limit, label, numeric=kind != "string" and kind != "resource")
    total = len(selection.rows)
    values = tuple(
        FacetValue(label(code), int(events[code]), int(requests[code]), int(events[code]) / total) for code in top
    )
    return Facet(name, total, selection.requests, values, len(present) - len(values))


def _top(present: np.ndarray, events: np.ndarray, limit: int, label: Any, numeric: bool) -> list[int]:
    """The `limit` codes with most events, ties by value (numbers by number); only the values
    that can make it (as many as the limit-th count) are sorted."""
    if limit <= 0 or not len(present):
        return []
    counts = events[present]
    if len(present) > limit:
        threshold = np.partition(counts, len(counts) - limit)[len(counts) - limit]
        present = present[counts >= threshold]
    codes: list[int] = present.tolist()
    if numeric:
        codes.sort(key=lambda code: (-int(events[code]), code))
    else:
        codes.sort(key=lambda code: (-int(events[code]), label(code)))
    return codes[:limit]


def _codes(store: Store, name: str, selection: _Selection) -> tuple[np.ndarray, int, Any]:
    """The selected rows' codes of field `name` (integers in [0, size)), size, and code -> label."""
    n, rows = selection.n, selection.rows
    field = fields.by_filter_name[name]
    if field.kind == "string":
        vocabulary = store.values(field.column)
        return store.column(field.column, n)[rows], max(len(vocabulary), 1), vocabulary.__getitem__
    if field.kind == "resource":
        resources, subresources = store.values("resource"), store.values("subresource")
        width = max(len(subresources), 1)
        codes = store.column("resource", n)[rows].astype(np.int64) * width + store.column("subresource", n)[rows]

        def resource_label(code: int) -> str:
            resource, subresource = resources[code // width], subresources[code % width]
            return f"{resource}/{subresource}" if subresource else str(resource)

        return codes, max(len(resources), 1) * width, resource_label
    if field.kind == "level":
        return store.column("level", n)[rows], len(LEVELS), LEVELS.__getitem__
    if field.kind == "rule":
        rules = store.column("rule", n)[rows].astype(np.int64) + 1
        size = int(rules.max(initial=0)) + 1
        return rules, size, lambda code: "none" if code == 0 else str(code - 1)
    numbers = store.column(field.column, n)[rows].astype(np.int64)  # code: int16, 0 = no status
    low = int(numbers.min(initial=0))
    return numbers - low, int(numbers.max(initial=0)) - low + 1, lambda code: str(code + low)
