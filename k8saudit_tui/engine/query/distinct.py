"""Runs of a byte text without repeats, so that each distinct run is measured once.

Contract: `distinct_runs(text, starts, stops)` gives `kept` (ascending indices of one run of each
distinct text) and `same_as`, so that text[starts[i]:stops[i]] equals the run kept[same_as[i]] for
every i; two kept runs of up to SHORT_RUN bytes never hold the same bytes, while a longer run is
always kept as its own (never merged: right, only slower). The fuzzy search (textsearch.py)
decodes and measures the kept runs only.
"""

from __future__ import annotations

import numpy as np

SHORT_RUN = 15
"""Runs of up to this many bytes are told apart by two words: their bytes and their length."""


def distinct_runs(text: bytes, starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs text[starts[i]:stops[i]] without repeats: `kept` (indices of one run of each
    distinct text, ascending) and `same_as`, so that run i holds the bytes of run kept[same_as[i]].

    Why: a word's near runs are mostly the same few tokens of many values (at 10M events, `create`
    keeps 72k runs of 713 texts, `coredns` 50k of 12), and decoding each for the edit distance
    was ~10 ms of the bare word. A run of up to SHORT_RUN bytes is two 64-bit keys (its bytes,
    read 8 at a time, and its length in the top byte, so that a NUL byte is not its end), sorted
    once; a longer run is kept as its own (never merged: right, only slower).

    Indices are int32 where the runs allow, and each temporary is dropped once used: over 6M
    tokens (a column of 1M distinct user names) this pass held ~90 bytes a run at its peak."""
    count = len(starts)
    index = np.int32 if count < 2**31 else np.int64
    short = np.flatnonzero(stops - starts <= SHORT_RUN).astype(index)
    same_as = np.arange(count, dtype=index)
    if len(short) > 1:
        first = starts[short]
        size = (stops[short] - first).astype(np.uint8)
        low = _words_at(text, first)
        low &= _LOW_MASK[size]
        high = _words_at(text, first + np.int64(8))  # int64: a run may end within 8 bytes of 2 GiB
        del first
        high &= _HIGH_MASK[size]
        high |= _LENGTH_TAG[size]
        del size
        order = np.lexsort((low, high))
        low, high = low[order], high[order]
        fresh = np.ones(len(order), bool)
        np.not_equal(low[1:], low[:-1], out=fresh[1:])
        del low
        fresh[1:] |= high[1:] != high[:-1]
        del high
        sorted_short = short[order]
        del order, short
        same_as[sorted_short] = sorted_short[np.flatnonzero(fresh)][np.cumsum(fresh, dtype=index) - 1]
    kept = np.flatnonzero(same_as == np.arange(count, dtype=index))
    place = np.zeros(count, index)
    place[kept] = np.arange(len(kept), dtype=index)
    return kept, place[same_as]


_SIZES = np.arange(SHORT_RUN + 1, dtype=np.uint64)
_LOW_MASK = np.where(
    _SIZES >= 8, ~np.uint64(0), (np.uint64(1) << (np.minimum(_SIZES, 7) * np.uint64(8))) - np.uint64(1)
)
"""By a short run's length: the bits of its first word that are its own bytes."""
_HIGH_MASK = (np.uint64(1) << (np.maximum(_SIZES, 8) - np.uint64(8)) * np.uint64(8)) - np.uint64(1)
"""By a short run's length: the bits of its second word that are its own bytes (at most 56)."""
_LENGTH_TAG = _SIZES << np.uint64(56)
"""By a short run's length: the length in the top byte of its second key."""


def _words_at(text: bytes, positions: np.ndarray) -> np.ndarray:
    """The 8 bytes of `text` from each of `positions` (<= len(text)) as little-endian uint64, the
    bytes past its end as 0: one unaligned read each, through a view of the text at every byte;
    the few positions within the text's last 8 bytes are shifted after."""
    text = text if len(text) >= 8 else text.ljust(8, b"\0")
    every = np.ndarray(shape=(len(text) - 7,), dtype="<u8", buffer=text, strides=(1,))
    last = len(text) - 8
    words: np.ndarray = every[np.minimum(positions, last)]
    late = np.flatnonzero(positions > last)
    if len(late):
        behind = (positions[late].astype(np.int64) - last).astype(np.uint64)
        words[late] = np.where(behind >= 8, np.uint64(0), words[late] >> (np.minimum(behind, 7) * np.uint64(8)))
    return words
