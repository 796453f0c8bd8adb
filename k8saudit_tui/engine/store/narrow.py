"""Columns held narrower than the values they give: file offsets and latencies, exactly.

Why: at a million events every byte an event is a megabyte; two int64 columns held values that
need far fewer bits (issue 15, "Memory": <= 120 bytes an event).

- "offset" (where an event's line starts in its file) is held as its low 32 bits ("offset", uint32)
  and the bits above them ("offset_high", uint8 while every offset is below 1 TiB, widened like a
  code column otherwise): 5 bytes an event instead of 8, exact for any int64 offset >= 0.
- "latency" (stageTimestamp - requestReceivedTimestamp, ns; -1 unknown) is held in microseconds as
  int32, since the apiserver writes both timestamps in microseconds: 4 bytes instead of 8. A value
  that is not a whole number of microseconds, is negative or is 2**31 us (36 min) or more is kept
  exactly in the store's dictionary of such latencies (`others`, ns) and the column holds
  -2 - its code.

Contract: `encode_*` then `decode_*` (or `*_at` for one row, `gather` for some rows) gives back the
int64 values exactly; `decode_*` equals the plain int64 column the store held before (the
property tests hold them to it). The store's `column("offset" | "latency")` decodes; readers of
a few rows use `gather`, which decodes only those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from k8saudit_tui.engine.logs.columns import LATENCY_UNKNOWN

_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1
_MICRO = 1000
_INT32_MAX = 2**31 - 1
NARROW = ("offset", "latency")
"""The store columns held narrow (the store's `column` decodes them)."""


def high_dtype(offsets: np.ndarray) -> np.dtype[np.unsignedinteger]:
    """The narrowest unsigned dtype holding the high bits of these offsets."""
    top = int(offsets.max(initial=0)) >> _LOW_BITS
    return np.dtype(np.uint8 if top < 1 << 8 else np.uint16 if top < 1 << 16 else np.uint32)


def encode_offsets(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low uint32, high bits) of int64 offsets >= 0."""
    offsets = np.asarray(offsets, np.int64)
    return (offsets & _LOW_MASK).astype(np.uint32), (offsets >> _LOW_BITS).astype(high_dtype(offsets))


def decode_offsets(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The int64 offsets of (low, high)."""
    offsets = low.astype(np.int64)
    if high.any():  # below 4 GiB (most files) the high bits are all zero: one pass fewer
        offsets |= high.astype(np.int64) << _LOW_BITS
    return offsets


def encode_latencies(latencies: np.ndarray, code: Callable[[int], int]) -> np.ndarray:
    """int32 microseconds of int64 ns latencies (-1 unknown stays -1); any other value is coded
    by `code` (the store's dictionary of exact latencies) and held as -2 - its code."""
    latencies = np.asarray(latencies, np.int64)
    micros = latencies // _MICRO
    exact = (latencies == micros * _MICRO) & (micros >= 0) & (micros <= _INT32_MAX)
    exact |= latencies == LATENCY_UNKNOWN
    held = np.where(exact, np.where(latencies == LATENCY_UNKNOWN, LATENCY_UNKNOWN, micros), 0).astype(np.int32)
    others = np.flatnonzero(~exact)
    if len(others):
        held[others] = [-2 - code(value) for value in latencies[others].tolist()]
    return held


def decode_latencies(held: np.ndarray, others: Sequence[int]) -> np.ndarray:
    """The int64 ns latencies of int32 microseconds (see `encode_latencies`)."""
    latencies: np.ndarray = np.multiply(held, _MICRO, dtype=np.int64)  # one pass (10M rows: ~15 ms)
    negative = np.flatnonzero(held < 0)  # unknown or coded: few
    if len(negative):
        codes = held[negative].astype(np.int64)
        exact = np.asarray(others, np.int64)
        coded = codes < LATENCY_UNKNOWN
        latencies[negative] = LATENCY_UNKNOWN
        latencies[negative[coded]] = exact[-2 - codes[coded]]
    return latencies


def decode(arrays: Mapping[str, np.ndarray], others: Sequence[int], name: str, n: int) -> np.ndarray:
    """Column `name` (one of NARROW) of rows [0, n) as int64."""
    if name == "offset":
        return decode_offsets(arrays["offset"][:n], arrays["offset_high"][:n])
    return decode_latencies(arrays["latency"][:n], others)


def gather(arrays: Mapping[str, np.ndarray], others: Sequence[int], name: str, rows: np.ndarray) -> np.ndarray:
    """Column `name` (one of NARROW) of `rows` only, as int64."""
    if name == "offset":
        return decode_offsets(arrays["offset"][rows], arrays["offset_high"][rows])
    return decode_latencies(arrays["latency"][rows], others)


def offset_at(arrays: Mapping[str, np.ndarray], row: int) -> int:
    """One row's offset."""
    return (int(arrays["offset_high"][row]) << _LOW_BITS) | int(arrays["offset"][row])


def latency_at(arrays: Mapping[str, np.ndarray], others: Sequence[int], row: int) -> int:
    """One row's latency in ns (-1 unknown)."""
    held = int(arrays["latency"][row])
    return held * _MICRO if held >= 0 else LATENCY_UNKNOWN if held == LATENCY_UNKNOWN else int(others[-2 - held])
