"""Where a needle starts in a byte text, without temporaries the size of the text.

Contract: `places(data, needle)` is every i with data[i : i + len(needle)] == needle, ascending
(int64), for a uint8 array `data` and a non-empty `needle`; the same as a `bytes.find` loop that
steps one byte past each hit (overlapping hits included). SearchText (textsearch.py) finds a word's
places with it the first time, then narrows those places as the word grows.
"""

from __future__ import annotations

import numpy as np

CHUNK_BYTES = 1 << 20
"""The text is scanned this many bytes at a time (the temporaries stay in the cache, and below
the heap's mapping threshold, so none is mapped and faulted in afresh)."""
SAMPLE = 1 << 16
"""Bytes of a text sampled (evenly) to find a needle's rarest byte."""


def places(data: np.ndarray, needle: bytes, chunk: int = CHUNK_BYTES, sample: int = SAMPLE) -> np.ndarray:
    """Where `needle` starts in `data`: the places of its rarest byte (counted in a sample of
    SAMPLE bytes), a chunk of CHUNK_BYTES at a time, each checked for the other bytes. A place
    per byte of the text (`data == byte` over 37 MB of URI pieces at 10M events) was two
    temporaries of the text's size, mapped afresh at every search, and the first byte is often
    a common one: 28-56 ms for a word of the URI pieces not searched before (p50, alternated),
    where this takes 17-42 ms, and nothing mapped afresh."""
    if len(needle) == 1:  # its places are the answer: one pass, no parts to join
        one: np.ndarray = np.flatnonzero(data == needle[0])
        return one
    step = max(1, len(data) // sample)
    counts = np.bincount(data[::step], minlength=256)
    rarest = min(range(len(needle)), key=lambda k: (int(counts[needle[k]]), k))
    byte, parts = needle[rarest], []
    for begin in range(0, len(data), chunk):
        found = np.flatnonzero(data[begin : begin + chunk] == byte)
        if len(found):
            parts.append(found + (begin - rarest))
    found_at = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    found_at = found_at[(found_at >= 0) & (found_at <= len(data) - len(needle))]
    for offset in range(len(needle)):
        if offset != rarest:
            found_at = found_at[data[found_at + offset] == needle[offset]]
    return found_at
