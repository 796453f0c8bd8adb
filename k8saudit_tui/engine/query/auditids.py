"""Rows grouped by auditID: the request of every row, for counting requests (facets, `top`).

Why hashed: the exact way (np.unique over the 36-byte column, 17-byte keys now) cost 1.15 s at
1M events, on the first facet. Each ID is hashed to 64 bits instead, the hashes get dense ids (an
int64 unique is ~15x cheaper than a bytes one), and every row is then checked byte for byte
against the first row of its id: only a real hash collision, which that check always catches,
falls back to the exact interning of the bytes, for good for this store. The store's keys
(`logs/auditid_keys.py`) hold every ID exactly, so `long_auditids` is empty in practice.

Contract: `grouped(store, n)` is the `ByRequest` over at least rows [0, n), built once per store
(`indexes.prepare` builds it when loading ends) and extended over new rows only, through
`indexes.by_request` (the cache's one owner). Equal ids <=> equal auditIDs, except that an event
without an auditID is a request of its own and an ID longer than the column (cut when stored) is
read whole. `ByRequest` is immutable: a reader keeps a consistent one while follow extends it.
`constant(store, grouped, column)` says whether a stored column keeps one value within each
request (facets then count at one row of each): cached per row count, since a new stage may differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.query import indexes
from k8saudit_tui.engine.query.indexes import Interner

_LONG_BASE = 1 << 40
"""Request ids of auditIDs longer than the column: _LONG_BASE + their own number."""
_EMPTY_BASE = 1 << 41
"""Request ids of events without an auditID: _EMPTY_BASE + row (each is a request of its own)."""
_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD]
    + [0xC4CEB9FE1A85EC53 | 1] * 16,
    np.uint64,
)
"""Odd 64-bit multipliers of the hash's words (a column wider than 5 words reuses the last)."""


class Store(Protocol):
    """What the grouping reads of a store."""

    match_cache: dict[tuple[Any, ...], Any]

    def column(self, name: str, n: int | None = None) -> np.ndarray: ...

    def value(self, row: int, name: str) -> str | int | None: ...

    @property
    def long_auditids(self) -> Mapping[int, str]: ...


@dataclass(frozen=True)
class ByRequest:
    """Rows [0, rows) grouped by auditID: `order` the rows sorted by their request id (stable),
    `sorted_ids` the request id of each row of `order`, `request` each row's request as a dense
    number (in the order of `order`), `heads` the first row of each request. Rows are int32, and
    so are `sorted_ids` and `firsts` when their values fit (`_narrow`: 16 bytes an event in all,
    where int64 ids took 20). `interner` numbers
    the column's hashes (or, `exact`, its bytes), `firsts[id]` the first row of an interned id,
    `long` the IDs longer than the column."""

    rows: int
    order: np.ndarray
    sorted_ids: np.ndarray
    interner: Interner
    firsts: np.ndarray
    exact: bool
    long: tuple[tuple[str, int], ...]
    request: np.ndarray
    heads: np.ndarray

    @property
    def requests(self) -> int:
        """How many distinct requests rows [0, rows) hold."""
        return len(self.heads)


def grouped(store: Store, n: int) -> ByRequest:
    """The ByRequest over at least rows [0, n), cached in the store (built or extended here)."""
    result: ByRequest = indexes.by_request(store, n, lambda known, n: _extend(store, known, n))
    return result


def hash_ids(column: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each fixed-width bytes value (equal bytes, equal hash; not the reverse)."""
    width = column.dtype.itemsize
    words = -(-width // 8)
    data = np.zeros((len(column), words * 8), np.uint8)
    data[:, :width] = column.view(np.uint8).reshape(len(column), width)
    acc = np.zeros(len(column), np.uint64)
    for k, word in enumerate(data.view(np.uint64).T):
        acc += word * _MULTIPLIERS[min(k, len(_MULTIPLIERS) - 1)]
    acc ^= acc >> np.uint64(31)
    return acc.view(np.int64)


def _intern(store: Store, known: ByRequest | None, n: int) -> tuple[Interner, np.ndarray, np.ndarray, bool] | None:
    """Dense ids of rows [begin, n) by hash, with the first row of each id; None on a collision."""
    begin = 0 if known is None else known.rows
    column = store.column("auditid", n)
    interner = indexes.NO_KEYS if known is None else known.interner
    interner, codes = interner.intern(hash_ids(column[begin:]))
    firsts = np.full(len(interner), -1, np.int64)
    if known is not None:
        firsts[: len(known.firsts)] = known.firsts
    rows = np.arange(begin, n, dtype=np.int64)
    fresh = firsts[codes] < 0
    firsts[codes[fresh][::-1]] = rows[fresh][::-1]  # the last write wins: the first row
    if not np.array_equal(column[firsts[codes]], column[begin:]):
        return None  # two auditIDs share a hash
    return interner, codes, firsts, False


def _intern_exact(store: Store, known: ByRequest | None, n: int) -> tuple[Interner, np.ndarray, np.ndarray, bool]:
    """Dense ids of rows [begin, n) by their bytes (the fallback after a hash collision)."""
    begin = 0 if known is None or not known.exact else known.rows
    column = store.column("auditid", n)[begin:]
    empty = Interner(np.empty(0, column.dtype), np.empty(0, np.int32))
    interner = empty if known is None or not known.exact else known.interner
    interner, codes = interner.intern(column)
    return interner, codes, np.empty(0, np.int64), True


def _extend(store: Store, known: ByRequest | None, n: int) -> ByRequest:
    """`known` extended over rows [known.rows, n): their ids interned, then merged into the order
    (two sorted runs, which a stable sort merges in one pass; equal ids keep the older rows first)."""
    interned = None if known is not None and known.exact else _intern(store, known, n)
    if interned is None:  # exact from here on: from row 0 the first time
        if known is not None and not known.exact:
            known = None
        interned = _intern_exact(store, known, n)
    interner, codes, firsts, exact = interned
    begin = 0 if known is None else known.rows
    column = store.column("auditid", n)[begin:]
    ids = codes.astype(np.int64)
    empty = np.flatnonzero(column == b"")
    ids[empty] = _EMPTY_BASE + begin + empty
    long = dict(known.long) if known is not None else {}
    for row, audit_id in store.long_auditids.items():  # longer than the column: told apart in full
        if begin <= row < n:
            ids[row - begin] = _LONG_BASE + long.setdefault(audit_id, len(long))
    sorting = np.argsort(ids, kind="stable")
    fresh, fresh_ids = (begin + sorting).astype(np.int32), ids[sorting]
    if known is None:
        order, sorted_ids = fresh, fresh_ids
    else:
        merging = np.argsort(np.concatenate([known.sorted_ids, fresh_ids]), kind="stable")
        order = np.concatenate([known.order, fresh])[merging]
        sorted_ids = np.concatenate([known.sorted_ids, fresh_ids])[merging]
    starts = np.ones(len(order), bool)
    starts[1:] = sorted_ids[1:] != sorted_ids[:-1]
    request = np.empty(len(order), np.int32)
    request[order] = np.cumsum(starts) - 1
    heads = order[starts]
    sorted_ids, firsts = _narrow(sorted_ids), _narrow(firsts)
    return ByRequest(n, order, sorted_ids, interner, firsts, exact, tuple(long.items()), request, heads)


def _narrow(values: np.ndarray) -> np.ndarray:
    """int32 when every value fits (request ids are dense numbers unless events without an
    auditID or long IDs are present, rows are below 2**31): 4 bytes an event each instead of 8.
    Readers only compare and gather them, which the narrower dtype does alike."""
    if values.dtype == np.int32 or (len(values) and not -(2**31) <= int(values.min()) <= int(values.max()) < 2**31):
        return values
    return values.astype(np.int32)


class TextStore(Store, Protocol):
    """A store that also gives the auditIDs of its column's keys."""

    def auditid_texts(self, keys: np.ndarray) -> list[str]: ...


def matching(
    store: TextStore, n: int, match: Callable[[list[str]], np.ndarray], substring: str | None = None
) -> np.ndarray:
    """Rows [0, n) whose auditID `match` (over a list of IDs) accepts, each distinct ID decided
    once: the ID of each request's first row, then one gather per row. The plain way (np.unique
    over the rows' 17-byte keys, then every distinct key matched) sorted every row: 9.0 s CPU at
    10M events, this 3.2-3.6 s, where `grouped` is built once by `prepare`. Rows of a request have
    equal keys, and a row without an auditID is a request of its own, so each row gets its own
    key's answer. With `substring` (what `match` looks for in the lower-cased ID), the UUIDs,
    lower-case hex already, are searched at once (`uuid_texts`, np.strings.find) and only the
    other IDs go through `match`: no Python string per request."""
    by = grouped(store, n)
    keys = store.column("auditid", by.rows)[by.heads]
    if substring is None:
        per_request = match(store.auditid_texts(keys))
    else:
        texts, other = auditid_keys.uuid_texts(keys)
        per_request = np.strings.find(texts, substring.encode("utf-8", "surrogatepass")) >= 0
        others = np.flatnonzero(other)
        per_request[others] = match(store.auditid_texts(keys[others]))
    result: np.ndarray = per_request[by.request[:n]]
    return result


_CONSTANT_KEY = ("facets", "constant")


def constant(store: Store, grouped: ByRequest, column: str) -> bool:
    """Whether `column` holds one value within each request over rows [0, grouped.rows): checked
    once per stored column and row count (a gather in request order), cached in the store. Only
    for stored columns, which rows never change once appended (not the verdict columns)."""
    known: tuple[int, tuple[tuple[str, bool], ...]] = store.match_cache.get(_CONSTANT_KEY, (-1, ()))
    if known[0] == grouped.rows:
        for name, answer in known[1]:
            if name == column:
                return answer
    values = store.column(column, grouped.rows)[grouped.order]
    same = grouped.sorted_ids[1:] == grouped.sorted_ids[:-1]
    answer = bool(np.array_equal(values[1:][same], values[:-1][same]))
    checked = known[1] if known[0] == grouped.rows else ()
    store.match_cache[_CONSTANT_KEY] = (grouped.rows, (*checked, (column, answer)))
    return answer
