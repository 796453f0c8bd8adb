"""`table[indices]` for a small table and many indices, twice as fast as numpy's indexing.

Contract: `take(table, indices)` equals `table[indices]` for a 1-d `table` and 1-d non-negative
integer `indices` below len(table) (any integer dtype), as a new array of the table's dtype;
an index out of range raises IndexError, as indexing does.

Why: indexing with narrow (int32, uint16) indices casts them to intp through small buffers, ~2.5
ns a row; np.take over a chunk of indices casts the chunk at once and copies in a tight loop, ~1.3
ns (10M rows through a 1.3M-group table: 25 -> 13 ms p50, measured). np.take over all rows at once
would cast them into one temporary of 8 bytes a row (80 MB at 10M rows, faulted in afresh): a chunk
keeps it small and in the cache.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1 << 16
"""Indices cast and taken at a time (a 512 KiB intp temporary)."""


def take(table: np.ndarray, indices: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """table[indices], a chunk of indices at a time (see the module's docstring)."""
    result = np.empty(len(indices), table.dtype)
    for begin in range(0, len(indices), chunk):
        np.take(table, indices[begin : begin + chunk], out=result[begin : begin + chunk])
    return result
