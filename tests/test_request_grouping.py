"""The rows-by-auditID index (`auditids.ByRequest`, issue 15 "Memory": no stored ids nor
interner once built) against a plain grouping of the rows by their auditID, built at once or
extended batch by batch (follow mode, which rebuilds the interner from the heads), either way a
chunk of 1-3 rows at a time or all at once, its interner in 2-3 key ranges or 16, with hashes that
collide (the exact fallback) or not, events without an auditID and IDs longer than the column;
and `constant` (one value within each request) against a plain check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.query import auditids, split_interner

KEYS = st.sampled_from([b"", b"a", b"b", b"c", b"y", b"abc", b"x" * 17, b"y" * 16 + b"z"])


class Keys:
    """What the grouping reads of a store: the auditid column and the long IDs."""

    def __init__(self, keys: list[bytes], long: dict[int, str], values: list[int] | None = None) -> None:
        self.keys = np.asarray(keys, "S17")
        self.long = long
        self.values = np.asarray(values or [], np.int32)  # a facet column, for `constant`
        self.match_cache: dict[tuple[Any, ...], Any] = {}

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        assert name in ("auditid", "value")
        return (self.keys if name == "auditid" else self.values)[:n]

    def value(self, row: int, name: str) -> str | int | None:
        raise AssertionError("not read")

    @property
    def long_auditids(self) -> Mapping[int, str]:
        return self.long


def _plain(keys: list[bytes], long: dict[int, str], n: int) -> list[object]:
    """Each row's request as the plain way tells it: its ID, whole when long; its row when none."""
    return [("long", long[row]) if row in long else ("none", row) if not keys[row] else keys[row] for row in range(n)]


def _check(by: auditids.ByRequest, keys: list[bytes], long: dict[int, str], n: int) -> None:
    plain = _plain(keys, long, n)
    order = by.ordered()
    assert by.rows == n and sorted(order.tolist()) == list(range(n))
    request = by.request.tolist()
    assert sorted(set(request)) == list(range(by.requests))  # dense
    for i in range(n):
        for j in range(n):
            assert (request[i] == request[j]) == (plain[i] == plain[j]), (i, j)
    in_order = [request[row] for row in order.tolist()]
    assert in_order == sorted(in_order) and by.sorted_requests().tolist() == in_order
    rows_of = order.tolist()
    assert all(rows_of[k] < rows_of[k + 1] for k in range(n - 1) if in_order[k] == in_order[k + 1])  # stable
    heads = by.heads()
    assert heads.tolist() == [min(r for r in range(n) if request[r] == q) for q in range(by.requests)]
    assert heads.tolist() == sorted(heads.tolist())  # numbered as they first appear
    assert order.dtype == by.request.dtype == heads.dtype == np.int32


def _weak_hash(column: np.ndarray, width: int) -> np.ndarray:
    """The sum of each key's first `width` bytes: equal keys, equal hashes, and many collisions."""
    data = column.view(np.uint8).reshape(len(column), column.dtype.itemsize)
    return data[:, :width].sum(axis=1).astype(np.int64)


def _collide(keys: list[bytes], long: dict[int, str], n: int, collide: str) -> bool:
    """Whether two distinct auditIDs of rows [0, n) (besides long ones) share a hash: real hashes
    of these keys never do, `_weak_hash`es do when the same sum of the first bytes."""
    distinct = {keys[row] for row in range(n) if keys[row] and row not in long}
    width = {"none": None, "first byte": 1, "all": 0}[collide]
    return width is not None and len({sum(key[:width]) for key in distinct}) < len(distinct)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(KEYS, min_size=1, max_size=25),
    st.lists(st.integers(1, 25), max_size=3),
    st.sampled_from(["none", "first byte", "all"]),
    st.dictionaries(st.integers(0, 24), st.sampled_from(["L1", "L2"]), max_size=3),
    st.sampled_from([1 << 20, 1, 2, 3]),
    st.sampled_from([16, 2, 3]),
)
@example(
    [b"a", b"", b"", b"b", b"b"], [1, 2, 4], "all", {}, 1 << 20, 16
)  # a kept interner's ids follow the renumbering
@example([b"abc", b"b", b"y", b"c", b"c"], [2, 4], "all", {}, 1 << 20, 16)  # new keys appear out of their sorted order
@example([b"", b"x" * 17], [1], "none", {0: "L1"}, 1 << 20, 16)  # a long ID's cut key is not its request's key
@example([b"b", b"a", b"b", b"c", b"a"], [], "none", {}, 2, 16)  # a chunk's new keys after the first chunk's
@example([b"", b"", b""], [], "none", {2: "L1", 0: "L1"}, 1 << 20, 16)  # a long ID's request starts at its first row
@example([b"", b"", b"x" * 17], [2], "none", {1: "L1", 0: "L1"}, 1 << 20, 16)  # long IDs met out of row order
@example([b"a", b"", b""], [], "none", {1: "L1", 2: "L1"}, 2, 16)  # a long ID met again in a later chunk
@example([b"b", b"a", b"b"], [], "all", {}, 2, 2)  # a key of the second range met again in a later chunk
def test_grouping_equals_a_plain_grouping_built_at_once_or_extended(
    keys: list[bytes], cuts: list[int], collide: str, long: dict[int, str], chunk: int, parts: int
) -> None:
    long = {row: text for row, text in long.items() if row < len(keys)}
    for row in long:
        keys[row] = b"x" * 17  # a long ID's cut key: other long IDs and some short ones share it
    store = Keys(keys, long)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auditids, "_CHUNK_ROWS", chunk)  # keys hashed, interned and checked a chunk at a time
        patch.setattr(split_interner, "PARTS", parts)  # a build from row 0 interns key ranges apart
        if collide != "none":  # weak hashes: collisions the check must catch
            width = 1 if collide == "first byte" else 0
            patch.setattr(auditids, "hash_ids", lambda column: _weak_hash(column, width))
        known: auditids.ByRequest | None = None
        for position, n in enumerate([*sorted({c for c in cuts if c < len(keys)}), len(keys)]):
            by = auditids.grouped(store, n)  # type: ignore[arg-type]
            _check(by, keys, long, n)
            assert by.exact == _collide(keys, long, n, collide)  # a false alarm would pass _check
            if known is not None:  # the known rows keep their requests' numbers
                assert by.request[: known.rows].tolist() == known.request.tolist()
            if position == 0:  # built from row 0: no interner held (rebuilt when extended)
                assert by.interner is None
            known = by


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([b"", b"a", b"b", b"c"]), st.integers(0, 2)), min_size=1, max_size=25),
    st.lists(st.integers(1, 25), max_size=3),
    st.sampled_from([1 << 20, 1, 2, 3]),
)
@example([(b"a", 0), (b"b", 0), (b"a", 1)], [], 2)  # the value changes in a later chunk
def test_constant_equals_a_plain_check_per_request(rows: list[tuple[bytes, int]], cuts: list[int], chunk: int) -> None:
    """`constant` (one value within each request?) against the plain check, over rows [0, n) for
    growing n (follow mode: the answer is per row count), compared a chunk of rows at a time."""
    keys, values = [key for key, _ in rows], [value for _, value in rows]
    store = Keys(keys, {}, values)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auditids, "_CHUNK_ROWS", chunk)
        for n in [*sorted({c for c in cuts if c < len(rows)}), len(rows)]:
            by = auditids.grouped(store, n)  # type: ignore[arg-type]
            seen: dict[object, int] = {}
            plain = all(
                seen.setdefault(key or ("none", row), values[row]) == values[row] for row, key in enumerate(keys[:n])
            )
            assert auditids.constant(store, by, "value") == plain  # type: ignore[arg-type]
            assert auditids.constant(store, by, "value") == plain  # type: ignore[arg-type]  # cached
