"""Rows grouped by auditID: the request of every row, for counting requests (facets, `top`).

Why hashed: the exact way (np.unique over the 36-byte column, 17-byte keys now) cost 1.15 s at
1M events, on the first facet. Each ID is hashed to 64 bits instead, the hashes get dense ids (an
int64 unique is ~15x cheaper than a bytes one), and every row is then checked byte for byte
against the first row of its id: only a real hash collision, which that check always catches,
falls back to the exact interning of the bytes, for good for this store. The store's keys
(`logs/auditid_keys.py`) hold every ID exactly, so `long_auditids` is empty in practice.

Contract: `grouped(store, n)` is the `ByRequest` over at least rows [0, n), built once per store
(`ahead.prepare` builds it when loading ends) and extended over new rows only, through
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
from k8saudit_tui.engine.query.interner import Interner
from k8saudit_tui.engine.query.take import take

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
    """Rows [0, rows) grouped by auditID: `request` each row's request as a dense number (int32),
    in the order requests first appear, `requests` how many; `heads()` the first row of each,
    found from the numbers (a row whose number is above all before it), not kept: 4 bytes an
    event at 1M events where the ids, first rows and order kept for extending took 30 more.
    `ordered()` gives the rows sorted by request (stable), built on first use: requests are
    numbered as they appear and a request's stages lie close, so that sort is nearly sorted
    already (10M rows: ~0.25 s, against 1.8 s for numbers in hash order). `exact`: requests are
    told apart by the column's bytes (after a hash collision) rather than its hashes; `long`
    (ID, first row) for each ID longer than the column.

    `interner` (column key -> request number) is what extending needs: it is None when built
    from row 0 (`prepare`), since follow mode only may extend, and rebuilt from the heads then, once
    (`_known`): a million-event log held 6 bytes an event in it for nothing."""

    rows: int
    request: np.ndarray
    requests: int
    exact: bool
    long: tuple[tuple[str, int], ...]
    interner: Interner | None = None
    order: np.ndarray | None = None

    def heads(self) -> np.ndarray:
        """The first row of each request (int32, ascending; 10M rows: ~25 ms)."""
        running = np.maximum.accumulate(self.request)
        first = np.ones(len(running), bool)
        first[1:] = running[1:] > running[:-1]
        return np.flatnonzero(first).astype(np.int32)

    def ordered(self) -> np.ndarray:
        """The rows sorted by request, stable (int32), kept once built (two threads may both
        build it: the same array either way)."""
        order = self.order
        if order is None:
            order = np.argsort(self.request, kind="stable").astype(np.int32)
            object.__setattr__(self, "order", order)
        return order

    def sorted_requests(self) -> np.ndarray:
        """`request[ordered()]` (each request's number once per row of it, in order), without
        the sort: requests follow one another along it."""
        sizes = np.bincount(self.request, minlength=self.requests)
        return np.repeat(np.arange(self.requests, dtype=np.int32), sizes)


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


def _key(column: np.ndarray, exact: bool) -> np.ndarray:
    """What the interner holds of each auditID: its bytes when `exact`, else their hash."""
    return column if exact else hash_ids(column)


def _known(store: Store, known: ByRequest, exact: bool) -> Interner:
    """The interner of `known`'s requests (key -> request number), rebuilt from their first rows
    when `known` came without one; requests without an auditID or with a long one are left out
    (each is told apart otherwise, see `_extend`)."""
    if known.interner is not None:
        return known.interner
    column = store.column("auditid", known.rows)
    heads = known.heads()
    heads = heads[column[heads] != b""]
    if known.long:
        heads = heads[~np.isin(heads, [row for _, row in known.long])]
    keys = _key(column[heads], exact)
    order = np.argsort(keys, kind="stable")
    return Interner(keys[order], known.request[heads][order].astype(np.int32))


def _intern(
    store: Store, known: ByRequest | None, n: int, exact: bool
) -> tuple[Interner, np.ndarray, np.ndarray] | None:
    """Ids of rows [begin, n) (a known request's number, or from `known.requests` on; -1 for a
    row without an auditID or with a long one, numbered apart) with the interner that knows them
    and the first row of each id; None on a hash collision."""
    begin, next_id = (0, 0) if known is None else (known.rows, known.requests)
    column = store.column("auditid", n)[begin:]
    keyed = column != b""
    keyed[[row - begin for row in store.long_auditids if begin <= row < n]] = False
    empty = Interner(np.empty(0, column.dtype if exact else np.int64), np.empty(0, np.int32))
    interner = empty if known is None else _known(store, known, exact)
    places = np.flatnonzero(keyed)
    interner, interned = _intern_chunks(interner, column, places, exact, next_id)
    codes = np.full(len(column), -1, np.int32)  # request numbers are int32 (`ByRequest.request`)
    codes[keyed] = interned
    firsts = np.full(next_id + len(interner), -1, np.int64)  # ids are below that
    if known is not None:
        firsts[:next_id] = known.heads()
    rows = places + begin
    del places
    fresh = firsts[interned] < 0
    firsts[interned[fresh][::-1]] = rows[fresh][::-1]  # the last write wins: the first row
    if not exact and not _same_ids(store.column("auditid", n), firsts[interned], rows):
        return None  # two auditIDs share a hash
    return interner, codes, firsts


_CHUNK_ROWS = 1 << 20
"""Rows whose auditID bytes are copied at once by `_keys` and `_same_ids`."""


def _intern_chunks(
    interner: Interner, column: np.ndarray, places: np.ndarray, exact: bool, fresh_from: int
) -> tuple[Interner, np.ndarray]:
    """`interner.intern` of the keys of rows `places`, a chunk of rows at a time: each call's
    `np.unique` sorts a chunk (~33 bytes a key of temporaries), not every row. A new key's id is
    the next free one from `fresh_from` (their order does not matter: `_extend` numbers the
    requests by their first rows)."""
    known = len(interner)
    parts = []
    for start in range(0, len(places), _CHUNK_ROWS):
        chunk = _keys(column, places[start : start + _CHUNK_ROWS], exact)
        interner, ids = interner.intern(chunk, fresh_from + len(interner) - known)
        parts.append(ids)
    return interner, np.concatenate(parts) if parts else np.empty(0, np.int32)


def _keys(column: np.ndarray, places: np.ndarray, exact: bool) -> np.ndarray:
    """`_key` of the rows `places` of `column`, hashed a chunk at a time: a hash's temporaries
    (the rows' bytes and their padded copy, 41 bytes a row) stay within a chunk instead of
    spanning every row (they were most of the peak while `prepare` built this index: 3M events,
    +182 MB over the store)."""
    if exact:
        keys: np.ndarray = column[places]
        return keys
    chunks = [hash_ids(column[places[start : start + _CHUNK_ROWS]]) for start in range(0, len(places), _CHUNK_ROWS)]
    return np.concatenate(chunks) if chunks else np.empty(0, np.int64)


def _same_ids(auditid: np.ndarray, firsts: np.ndarray, rows: np.ndarray) -> bool:
    """Whether each of `rows` has the auditID bytes of its request's first row (`firsts`, row
    by row): no two IDs share a hash. Compared a chunk of rows at a time (34 bytes a row)."""
    return all(
        np.array_equal(auditid[firsts[start : start + _CHUNK_ROWS]], auditid[rows[start : start + _CHUNK_ROWS]])
        for start in range(0, len(rows), _CHUNK_ROWS)
    )


def _extend(store: Store, known: ByRequest | None, n: int) -> ByRequest:
    """`known` extended over rows [known.rows, n): their ids interned; rows of a known request
    get its number, the new requests the next numbers in the order they first appear (so the
    known rows' numbers never change)."""
    exact = known is not None and known.exact
    interned = _intern(store, known, n, exact)
    if interned is None:  # exact from here on, from row 0: the known requests were by hash
        known, exact = None, True
        interned = _intern(store, None, n, True)
        assert interned is not None  # bytes never collide
    interner, ids, firsts = interned
    begin, count = (0, 0) if known is None else (known.rows, known.requests)
    long = dict(known.long) if known is not None else {}
    long_firsts: dict[int, int] = {}  # a long ID's row (relative) -> the first row of that ID
    for row, audit_id in sorted(store.long_auditids.items()):  # in row order: `long` keeps first rows
        if begin <= row < n:
            long_firsts[row - begin] = long.setdefault(audit_id, row)  # a known one's, else its own
    lone = np.flatnonzero(ids < 0)  # no auditID (each a request of its own), or a long one
    if long_firsts:
        lone = lone[~np.isin(lone, list(long_firsts))]
    long_starts: dict[int, int] = {}  # a long ID new here (by its `long` row) -> the first row it has
    for position, first in long_firsts.items():
        if first >= begin:
            long_starts[first] = min(long_starts.get(first, n), begin + position)
    new_long = sorted(long_starts)
    # the interned requests first met in these rows: ids count, count + 1, ... (`_intern_chunks`
    # numbers new keys from there; `firsts` is sized by an upper bound, its unused ids are -1)
    interned_new = int(np.count_nonzero(firsts[count:] >= 0))
    long_rows = np.array([long_starts[first] for first in new_long], np.int64)
    starts = np.concatenate([firsts[count : count + interned_new], begin + lone, long_rows])
    numbers = np.empty(len(starts), np.int64)  # new requests numbered in the order they first appear
    numbers[np.argsort(starts)] = count + np.arange(len(starts))
    keyed_new = ids >= count
    ids[keyed_new] = numbers[ids[keyed_new] - count]
    ids[lone] = numbers[interned_new : interned_new + len(lone)]
    long_numbers = dict(zip(new_long, numbers[interned_new + len(lone) :].tolist(), strict=True))
    for position, first in long_firsts.items():
        ids[position] = int(known.request[first]) if known is not None and first < begin else long_numbers[first]
    request = ids
    if known is not None:
        request = np.concatenate([known.request, request])
        fresh = interner.ids >= count  # kept for the next batch (follow mode), as final numbers
        remapped = interner.ids.astype(np.int64)
        remapped[fresh] = numbers[remapped[fresh] - count]
        interner = Interner(interner.keys, remapped.astype(np.int32))
    requests = count + len(starts)
    return ByRequest(n, request, requests, exact, tuple(long.items()), interner if known is not None else None)


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
    keys = store.column("auditid", by.rows)[by.heads()]
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
    once per stored column and row count (each row against one of its request's), cached in the store. Only
    for stored columns, which rows never change once appended (not the verdict columns)."""
    known: tuple[int, tuple[tuple[str, bool], ...]] = store.match_cache.get(_CONSTANT_KEY, (-1, ()))
    if known[0] == grouped.rows:
        for name, answer in known[1]:
            if name == column:
                return answer
    values = store.column(column, grouped.rows)
    per_request = np.empty(grouped.requests, values.dtype)
    per_request[grouped.request] = values  # a row of each request's (the last written)
    answer = bool(np.array_equal(take(per_request, grouped.request), values))
    checked = known[1] if known[0] == grouped.rows else ()
    store.match_cache[_CONSTANT_KEY] = (grouped.rows, (*checked, (column, answer)))
    return answer
