"""The store's column arrays: one numpy array per column in a plain dict, sized ahead, codes narrow.

Why: at a million events every byte an event is a megabyte, and the arrays are most of the store.

- Codes take the narrowest unsigned type their dictionary fits (`code_dtype`: uint8 up to 255
  values, uint16 up to 65,535, then int32; the size itself fits too, as a sentinel): most columns
  have a few dozen values. A column is widened (copied once into a wider array) when its
  dictionary outgrows its type, before any code that needs the wider type is written, so a stored
  code is never cut.
- Capacity is reserved ahead (`reserve`: the loader passes its estimate from the file size)
  instead of doubling batch by batch: each doubling copied every column, and the old and new
  arrays were resident together. Arrays come from `np.zeros` (calloc: fresh zero pages), so
  capacity that is never written costs address space, not resident memory.

Threading, as the store's: a grown or widened column is a new array, filled before it replaces
the old one in the dict; a reader keeps the array it took, whose rows below `len(store)` stay valid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_WIDTHS = ((255, np.dtype(np.uint8)), (65_535, np.dtype(np.uint16)))
_WIDEST = np.dtype(np.int32)
MIN_CAPACITY = 1024


def code_dtype(values: int) -> np.dtype[Any]:
    """The narrowest dtype that holds codes 0..values-1 and `values` itself (int32 past 65,535
    values): callers use the dictionary's size as a sentinel past the last code (facets do, in
    `np.where`, which keeps the codes' dtype), so it must fit too."""
    for limit, dtype in _WIDTHS:
        if values <= limit:
            return dtype
    return _WIDEST


def reserve(arrays: dict[str, np.ndarray], dtypes: dict[str, Any], rows: int, capacity: int, size: int) -> int:
    """Make every column of `dtypes` hold at least `size` rows, keeping rows [0, rows); returns the
    new capacity (at least double the old one when it must grow, so appends stay amortised)."""
    if size <= capacity and len(arrays) == len(dtypes):
        return capacity
    if size > capacity:
        capacity = max(size, capacity * 2, MIN_CAPACITY)
    for key, dtype in dtypes.items():
        old = arrays.get(key)
        if old is not None and len(old) >= capacity:
            continue
        grown = np.zeros(capacity, dtype if old is None else old.dtype)  # an array's own dtype wins
        if old is not None:
            grown[:rows] = old[:rows]
        arrays[key] = grown
    return capacity


def widen(arrays: dict[str, np.ndarray], dtypes: dict[str, Any], key: str, values: int, rows: int) -> None:
    """Give code column `key` a dtype that holds `values` codes (copying rows [0, rows)) if needed.
    The array's own dtype is the truth (arrays restored from elsewhere may be wider than `dtypes`)."""
    needed = code_dtype(values)
    old = arrays.get(key)
    current = np.dtype(dtypes[key]) if old is None else old.dtype
    if current.itemsize >= needed.itemsize:
        dtypes[key] = current
        return
    dtypes[key] = needed
    if old is not None:
        wider = np.zeros(len(old), needed)
        wider[:rows] = old[:rows]
        arrays[key] = wider
