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
    once; a longer run is kept as its own (never merged: right, only slower)."""
    lengths = stops - starts
    short = np.flatnonzero(lengths <= SHORT_RUN)
    same_as = np.arange(len(starts), dtype=np.int64)
    if len(short) > 1:
        first, size = starts[short], lengths[short].astype(np.uint64)
        low_bits = np.minimum(size, np.uint64(8)) * np.uint64(8)
        low = _words_at(text, first) & np.where(
            low_bits >= 64, ~np.uint64(0), (np.uint64(1) << np.minimum(low_bits, np.uint64(63))) - np.uint64(1)
        )
        high_bits = (np.maximum(size, np.uint64(8)) - np.uint64(8)) * np.uint64(8)  # at most 56
        high = (_words_at(text, first + 8) & ((np.uint64(1) << high_bits) - np.uint64(1))) | (size << np.uint64(56))
        order = np.lexsort((low, high))
        fresh = np.ones(len(order), bool)
        fresh[1:] = (np.diff(low[order]) != 0) | (np.diff(high[order]) != 0)
        same_as[short[order]] = short[order[np.flatnonzero(fresh)][np.cumsum(fresh) - 1]]  # a group's first
    kept = np.flatnonzero(same_as == np.arange(len(starts)))
    place = np.zeros(len(starts), np.int64)
    place[kept] = np.arange(len(kept))
    return kept, place[same_as]


def _words_at(text: bytes, positions: np.ndarray) -> np.ndarray:
    """The 8 bytes of `text` from each of `positions` (<= len(text)) as little-endian uint64, the
    bytes past its end as 0: one unaligned read each, through a view of the text at every byte."""
    text = text if len(text) >= 8 else text.ljust(8, b"\0")
    every = np.ndarray(shape=(len(text) - 7,), dtype="<u8", buffer=text, strides=(1,))
    at = np.minimum(positions, len(text) - 8)
    behind = positions - at  # > 0 only within the text's last 8 bytes
    words: np.ndarray = np.where(behind >= 8, np.uint64(0), every[at] >> (np.minimum(behind, 7) * 8).astype(np.uint64))
    return words
