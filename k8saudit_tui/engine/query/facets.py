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
  selects exactly the counted events (`negate=True`: exactly the other rows). (A resource
  holding "/" cannot be told apart from a subresource; kube-apiserver never logs one.)
- A selection is a set of rows (None: every row); a row listed twice counts once.
- Requests are counted through rows grouped by auditID (`auditids`: built once per store, extended
  over new rows). Why two paths: gathering a column in request order is random access over every
  row (10-15 ms a field at 1M). A field whose stored columns never change within a request
  (`auditids.constant`, checked once per store and row count; rule and level follow the
  attributes) counts events over the rows in their own order and requests at one row of each
  selected request. Only a field that does vary (code: it appears at ResponseComplete) is
  gathered in request order: a bincount of the values that do not repeat the row before in their
  request, and requests whose value changes twice (a, b, a) counted again exactly. `group`
  counts each of a row's groups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.query import auditids
from k8saudit_tui.engine.query.language import quote

FACET_FIELDS: tuple[str, ...] = tuple(
    field.name
    for field in fields.FIELDS
    if field.kind in ("string", "groups", "annotation", "resource", "number", "level", "rule")
)
"""The fields a facet counts: those whose column is a code per row or a set (not auditID, time)."""

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
    def long_auditids(self) -> Mapping[int, str]: ...

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


def term(field: str, label: str, *, negate: bool = False) -> str:
    """The filter term that selects exactly the events of `label` in the facet of `field` (with
    `negate`, exactly the others), or "" when the language cannot say it (a double quote inside),
    or when the value holds characters that cannot be typed (control characters from the log: a
    term holding them would put them raw into the filter input)."""
    if field not in FACET_FIELDS:
        raise ValueError(f"no facet for field {field!r}")
    if not label.isprintable():
        return ""
    if fields.by_filter_name[field].kind == "resource" and "/" not in label:
        if negate:  # `pods/` is pods without a subresource: one term, so it can be negated
            quoted = quote(f"{label}/")
            return f"!resource:{quoted}" if quoted else ""
        quoted = quote(label)
        return f'resource:{quoted} subresource:""' if quoted else ""
    quoted = quote(label)
    return f"{'!' if negate else ''}{field}:{quoted}" if quoted else ""


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
    selection = _Selection(store, rows)
    return tuple(_count(store, name, selection, limit) for name in names)


# ------------------------------------------------------------------------------ selection


class _Selection:
    """The selected rows below `n`: `natural` (sorted, once each; None: every row), `heads` (one
    row of each selected request: for a field constant within requests) and, built only for a
    field that is not, `ordered` (grouped by request, for `_request_counts`)."""

    def __init__(self, store: Store, rows: np.ndarray | None) -> None:
        self.n = n = len(store)
        self.grouped = grouped = auditids.grouped(store, n)
        if rows is None and grouped.rows != n:
            rows = np.arange(n, dtype=np.int64)
        if rows is not None:
            rows = np.asarray(rows, np.int64)
            if len(rows) > 1 and not bool(np.all(rows[1:] > rows[:-1])):
                rows = np.unique(rows)  # a row listed twice counts once
        self.natural = rows
        self.events = n if rows is None else len(rows)
        if rows is None:
            self.heads = grouped.heads()
        else:
            hit = np.zeros(grouped.requests, bool)
            hit[grouped.request[rows]] = True
            self.heads = grouped.heads()[hit]
        self.requests = len(self.heads)
        self._ordered: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def ordered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The selected rows grouped by request (`rows`), each one's request id (`ids`), where a
        request starts (`starts`, indexes into rows) and whether row i+1 is in the same request as
        row i (`same`)."""
        if self._ordered is None:
            grouped = self.grouped
            order, ids = grouped.ordered(), grouped.sorted_requests()
            if self.natural is not None:
                chosen = np.zeros(grouped.rows, bool)
                chosen[self.natural] = True
                kept = chosen[order]
                order, ids = order[kept], ids[kept]
            same = ids[1:] == ids[:-1]
            starts = np.flatnonzero(np.concatenate([[True], ~same])) if len(ids) else np.empty(0, np.int64)
            self._ordered = (order, ids, starts, same)
        return self._ordered


# ------------------------------------------------------------------------------ counting


def _count(store: Store, name: str, selection: _Selection, limit: int) -> Facet:
    """One field's facet over the selection: a field that never changes within a request counts
    its requests at one row of each (`heads`), any other in request order (`_request_counts`)."""
    kind = fields.by_filter_name[name].kind
    total = selection.events
    if kind in ("level", "rule") and store.evaluator is None:
        return Facet(name, total, selection.requests, (), 0, needs_policy=True)
    if kind in _SET_COLUMNS:
        rows, ids, _, _ = selection.ordered()
        codes, size, label, same, starts = _member_codes(store, _SET_COLUMNS[kind], selection.n, rows, ids)
        events = np.bincount(codes, minlength=size)
        requests = _request_counts(codes, size, same, starts)
    else:
        encode, size, label = _codec(store, name, selection.n)
        if all(auditids.constant(store, selection.grouped, column) for column in stored_columns(name)):
            events = _chunked_count(encode, selection.natural, selection.n, size)
            requests = _chunked_count(encode, selection.heads, selection.n, size)
        else:
            rows, _, starts, same = selection.ordered()
            codes = encode(rows)
            events = np.bincount(codes, minlength=size)
            requests = _request_counts(codes, size, same, starts)
    present = np.flatnonzero(events)
    top = _top(present, events, limit, label, numeric=kind not in ("string", "resource", *_SET_COLUMNS))
    values = tuple(
        FacetValue(label(code), int(events[code]), int(requests[code]), int(events[code]) / total) for code in top
    )
    return Facet(name, total, selection.requests, values, len(present) - len(values))


def stored_columns(name: str) -> tuple[str, ...]:
    """The stored columns a field's value is a function of (rule and level: of the attributes):
    what `auditids.constant` checks (`ahead.prepare` checks those of TOP_FIELDS ahead)."""
    field = fields.by_filter_name[name]
    if field.kind == "resource":
        return ("resource", "subresource")
    if field.kind in ("rule", "level"):  # and of the format, which may have lost what they read
        return ("attr", "format")
    return (field.column,)


def _request_counts(codes: np.ndarray, size: int, same: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Distinct requests per value: `codes` in request order, `same[i]` whether position i+1 is
    in the request of position i, `starts` the first position of each request."""
    if not len(codes):
        return np.zeros(size, np.int64)
    equal = codes[1:] == codes[:-1]
    repeat = equal & same  # the value of the position before, in the same request: not new
    requests = np.bincount(np.where(repeat, size, codes[1:]), minlength=size + 1)[:size]
    requests[codes[0]] += 1
    changes = np.flatnonzero(same & ~equal) + 1  # a request with two may be a, b, a
    if len(changes) < 2:
        return requests
    request = np.cumsum(~same)[changes - 1]  # the request of each change (0: the first one)
    twice = np.unique(request[1:][request[1:] == request[:-1]])
    if not len(twice):
        return requests
    ends = np.append(starts[1:], len(codes))
    lengths = ends[twice] - starts[twice]
    where = np.repeat(starts[twice] - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    part, owner = codes[where].astype(np.int64), np.repeat(np.arange(len(twice)), lengths)
    run = np.ones(len(part), bool)  # what the adjacent count gave these requests: their runs
    run[1:] = (part[1:] != part[:-1]) | (owner[1:] != owner[:-1])
    requests -= np.bincount(part[run], minlength=size)
    pairs = np.unique(owner * size + part)
    requests += np.bincount(pairs % size, minlength=size)
    return requests


_SET_COLUMNS = {"groups": "group", "annotation": "annotations"}
"""Field kind -> the column whose rows hold a tuple of members (groups, `key=value` annotations)."""


def _member_codes(
    store: Store, column: str, n: int, rows: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, int, Any, np.ndarray, np.ndarray]:
    """Each selected row's members (groups, annotations) as numbers, in request order (a row with
    none has none); the size, the label, and `same` and `starts` of those positions."""
    tuples = [sorted(set(groups)) for groups in store.values(column)]  # a member listed twice counts once
    names = sorted({group for groups in tuples for group in groups})
    number = {group: i for i, group in enumerate(names)}
    lengths = np.fromiter(map(len, tuples), np.int64, len(tuples))
    flat = np.fromiter((number[g] for groups in tuples for g in groups), np.int64, int(lengths.sum()))
    begins = np.cumsum(lengths) - lengths
    row_tuples = store.column(column, n)[rows]
    counts = lengths[row_tuples] if len(lengths) else np.zeros(len(row_tuples), np.int64)
    total = int(counts.sum())
    positions = np.repeat(begins[row_tuples] - np.cumsum(counts) + counts, counts) + np.arange(total)
    codes = flat[positions]
    owner_request = np.repeat(ids, counts)
    same = owner_request[1:] == owner_request[:-1]
    starts = np.flatnonzero(np.concatenate([[True], ~same])) if total else np.empty(0, np.int64)
    return codes, max(len(names), 1), names.__getitem__, same, starts


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


Encode = Callable[[np.ndarray | slice | None], np.ndarray]
"""Rows (a slice of them; None: every row below n) -> their codes of one field, in [0, size)."""

COUNT_CHUNK = 1 << 20
"""Rows encoded and counted at a time by `_chunked_count`."""


def _chunked_count(encode: Encode, rows: np.ndarray | None, n: int, size: int) -> np.ndarray:
    """np.bincount(encode(rows), minlength=size), COUNT_CHUNK rows at a time: bincount casts
    its input to int64, and level, rule and numbers encode to int64, so counting every row at
    once made two 80 MB temporaries at 10M rows (each mapped and faulted in afresh)."""
    counts = np.zeros(size, np.int64)
    stop = n if rows is None else len(rows)
    for begin in range(0, stop, COUNT_CHUNK):
        part = slice(begin, min(begin + COUNT_CHUNK, stop))
        counted = np.bincount(encode(part if rows is None else rows[part]), minlength=size)
        if len(counted) > len(counts):  # never by construction; kept as bincount would
            counts = np.concatenate([counts, np.zeros(len(counted) - len(counts), np.int64)])
        counts[: len(counted)] += counted
    return counts


def _codec(store: Store, name: str, n: int) -> tuple[Encode, int, Any]:
    """How field `name` turns rows into codes over rows [0, n): encode, size, code -> label."""
    field = fields.by_filter_name[name]

    def take(column: str) -> Encode:
        values = store.column(column, n)
        return lambda rows: values if rows is None else values[rows]  # a slice is a view

    if field.kind == "string":
        vocabulary = store.values(field.column)
        return take(field.column), max(len(vocabulary), 1), vocabulary.__getitem__
    if field.kind == "resource":
        resources, subresources = store.values("resource"), store.values("subresource")
        width = max(len(subresources), 1)
        resource, subresource = take("resource"), take("subresource")

        def resource_label(code: int) -> str:
            resource, subresource = resources[code // width], subresources[code % width]
            return f"{resource}/{subresource}" if subresource else str(resource)

        def resource_codes(rows: np.ndarray | slice | None) -> np.ndarray:
            codes: np.ndarray = resource(rows).astype(np.int64) * width + subresource(rows)
            return codes

        return resource_codes, max(len(resources), 1) * width, resource_label
    if field.kind == "level":  # -2, unknown (policy.lossy), counts last
        level = take("level")
        with_unknown = (*LEVELS, "unknown")

        def level_codes(rows: np.ndarray | slice | None) -> np.ndarray:
            levels = level(rows).astype(np.int64)
            codes: np.ndarray = np.where(levels == -2, len(LEVELS), levels)
            return codes

        return level_codes, len(with_unknown), with_unknown.__getitem__
    if field.kind == "rule":  # code 0: unknown (-2, policy.lossy), 1: none, then the rules
        rule = take("rule")
        size = int(store.column("rule", n).max(initial=-1)) + 3

        def rule_codes(rows: np.ndarray | slice | None) -> np.ndarray:
            codes: np.ndarray = rule(rows).astype(np.int64) + 2
            return codes

        return rule_codes, size, lambda code: "unknown" if code == 0 else "none" if code == 1 else str(code - 2)
    numbers = take(field.column)  # code: int16, 0 = no status
    column = store.column(field.column, n)
    low = int(column.min(initial=0))

    def number_codes(rows: np.ndarray | slice | None) -> np.ndarray:
        codes: np.ndarray = numbers(rows).astype(np.int64) - low
        return codes

    return number_codes, int(column.max(initial=0)) - low + 1, lambda code: str(code + low)
