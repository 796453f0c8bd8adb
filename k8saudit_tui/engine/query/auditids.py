"""Rows grouped by auditID: the request of every row, for counting requests (facets, `top`).

Why hashed: the exact way (np.unique over the 36-byte column, 17-byte keys now) cost 1.15 s at
1M events, on the first facet. Each ID is hashed to 64 bits instead, the hashes get dense ids (an
int64 unique is ~15x cheaper than a bytes one), and every row is then checked byte for byte
against the first row of its id: only a real hash collision, which that check always catches,
falls back to the exact interning of the bytes, for good for this store. The store's keys
(`logs/auditid_keys.py`) hold every ID exactly, so `long_auditids` is empty in practice.

Contract: `grouped(store, n)` is the `ByRequest` over at least rows [0, n), built once per store
(`ahead.prepare` builds it when loading ends) and extended over new rows only, through
`indexes.by_request` (the cache's one owner), either way _CHUNK_ROWS rows at a time. Equal ids
<=> equal auditIDs, except that an event without an auditID is a request of its own and an ID
longer than the column (cut when stored) is read whole. `ByRequest` is immutable: a reader keeps
a consistent one while follow extends it. `constant(store, grouped, column)` says whether a
stored column keeps one value within each request (facets then count at one row of each):
cached per row count, since a new stage may differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.query import indexes
from k8saudit_tui.engine.query.interner import Interner
from k8saudit_tui.engine.query.split_interner import SplitInterner
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


_CHUNK_ROWS = 1 << 18
"""Rows numbered at a time (`_numbered`), built from row 0 or extended. Every row's keys hashed,
interned (np.unique sorts them) and checked at once took 60-67 bytes an event at the peak of
`ahead.prepare`'s last step at 3M events and 49-52 at 10M (full-size temporaries of 1-17 bytes a
row beside the interner). A chunk at a time, the interner grown a key range at a time
(`SplitInterner`), only the interner, the requests' first rows and the result span every request
or row: 23 bytes at 3M, 17-21 at 10M, in as much time (10M: 3.3-3.7 s, alternated with the old way).
Chunks of 128k rows: 19 bytes at 10M, 20% slower; of 512k: 19 bytes."""


@dataclass
class _Numbering:
    """What numbering the next rows needs of the rows before them, advanced chunk by chunk:
    `interner` (key -> request number; requests without an auditID or with a long one are not
    in it), `heads` each request's first row (int32, ascending: requests are numbered as they
    first appear, so `len(heads)` is how many), `long` each long ID's first row, `exact` whether
    the keys are the bytes (else their hashes)."""

    interner: Interner | SplitInterner
    heads: np.ndarray
    long: dict[str, int]
    exact: bool


def _extend(store: Store, known: ByRequest | None, n: int, exact: bool = False) -> ByRequest:
    """`known` (None: no rows) extended over rows [known.rows, n), _CHUNK_ROWS rows at a time:
    rows of a known request get its number, the new requests the next numbers in the order they
    first appear (so the known rows' numbers never change). On a hash collision, built again
    from row 0 with the bytes as keys (`exact`), for good for this store."""
    exact = exact or (known is not None and known.exact)
    request = np.empty(n, np.int32)  # request numbers are int32 (`ByRequest.request`)
    if known is None:
        begin = 0
        empty = SplitInterner.empty(store.column("auditid", 0).dtype if exact else np.int64)
        numbering = _Numbering(empty, np.empty(0, np.int32), {}, exact)
    else:
        request[: known.rows] = known.request
        begin = known.rows
        numbering = _Numbering(_known(store, known, exact), known.heads(), dict(known.long), exact)
    longs = sorted((row, text) for row, text in store.long_auditids.items() if begin <= row < n)  # row order
    for start in range(begin, n, _CHUNK_ROWS):
        stop = min(n, start + _CHUNK_ROWS)
        numbers = _numbered(store, numbering, request, start, stop, longs)
        if numbers is None:  # two auditIDs share a hash: the known requests were by hash too
            del request
            return _extend(store, None, n, exact=True)
        request[start:stop] = numbers
    kept = numbering.interner if isinstance(numbering.interner, Interner) else None  # when extended (ByRequest)
    return ByRequest(n, request, len(numbering.heads), exact, tuple(numbering.long.items()), kept)


def _numbered(
    store: Store, numbering: _Numbering, request: np.ndarray, begin: int, n: int, longs: list[tuple[int, str]]
) -> np.ndarray | None:
    """The request numbers of rows [begin, n), `numbering` advanced over them; None when two of
    their auditIDs share a hash (`numbering` is then of no use: a SplitInterner grew). `request`
    holds the numbers of rows [0, begin), `longs` the long IDs (row, ID) in row order."""
    auditid = store.column("auditid", n)
    column = auditid[begin:]
    count, exact = len(numbering.heads), numbering.exact
    long_here = [(row - begin, text) for row, text in longs if begin <= row < n]
    keyed = column != b""
    keyed[[position for position, _ in long_here]] = False  # a long ID's cut key is not its key
    places = np.flatnonzero(keyed)
    lone = np.flatnonzero(~keyed)  # no auditID (a request of its own each), or a long one
    del keyed
    keyed_ids = column if len(places) == len(column) else column[places]  # every row has one, usually
    known_keys = len(numbering.interner)  # a SplitInterner grows in place
    interner, ids = numbering.interner.intern(_key(keyed_ids, exact), count)  # new keys: count, ...
    fresh = ids >= count
    firsts = np.empty(len(interner) - known_keys, np.int64)  # each new key's first place
    firsts[ids[fresh][::-1] - count] = places[fresh][::-1]  # the last write wins: the first
    if not exact:  # every row has the bytes of its request's first row, else two IDs share a hash
        heads = np.empty(len(ids), np.int64)
        heads[~fresh] = numbering.heads[ids[~fresh]]
        heads[fresh] = begin + firsts[ids[fresh] - count]
        # compared as bytes: both null-padded to the column's width, so equal bytes <=> equal IDs,
        # and 4x faster than numpy's string comparison (14 -> 3.7 ms a chunk)
        if not np.array_equal(auditid[heads].view(np.uint8), keyed_ids.view(np.uint8)):
            return None
        del heads
    long_firsts: dict[int, int] = {}  # a long ID's place -> the first row of that ID
    for position, text in long_here:
        long_firsts[position] = numbering.long.setdefault(text, begin + position)  # a known one's, or its own
    if long_firsts:
        lone = lone[~np.isin(lone, list(long_firsts))]
    new_long = sorted({first for first in long_firsts.values() if first >= begin})  # first met here
    starts = np.concatenate([begin + firsts, begin + lone, np.array(new_long, np.int64)])
    renumbered = np.empty(len(starts), np.int64)  # the new requests numbered in the order they first appear
    renumbered[np.argsort(starts)] = count + np.arange(len(starts))
    ids[fresh] = renumbered[ids[fresh] - count]
    numbers = np.empty(len(column), np.int32)
    numbers[places] = ids
    numbers[lone] = renumbered[len(firsts) : len(firsts) + len(lone)]
    long_numbers = dict(zip(new_long, renumbered[len(firsts) + len(lone) :].tolist(), strict=True))
    for position, first in long_firsts.items():
        numbers[position] = request[first] if first < begin else long_numbers[first]
    # the ids of the interner's new keys: in the new arrays that `intern` made (np.insert copies),
    # which no reader has yet
    for known in interner.parts if isinstance(interner, SplitInterner) else [interner]:
        fresh_ids = known.ids >= count
        known.ids[fresh_ids] = renumbered[known.ids[fresh_ids] - count]
    numbering.interner = interner
    numbering.heads = np.concatenate([numbering.heads, np.sort(starts).astype(np.int32)])
    return numbers


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
    # a chunk of rows at a time: the gather and the comparison span a chunk, not every row (an
    # int32 column's were 5 bytes an event), and a column that varies is told at its first chunk
    answer = all(
        np.array_equal(
            take(per_request, grouped.request[start : start + _CHUNK_ROWS]), values[start : start + _CHUNK_ROWS]
        )
        for start in range(0, grouped.rows, _CHUNK_ROWS)
    )
    checked = known[1] if known[0] == grouped.rows else ()
    store.match_cache[_CONSTANT_KEY] = (grouped.rows, (*checked, (column, answer)))
    return answer
