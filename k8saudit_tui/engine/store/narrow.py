"""Columns held narrower than the values they give: offsets, lengths, lines, latencies, exactly.

Why: at a million events every byte an event is a megabyte; two int64 columns held values that
need far fewer bits (issue 15, "Memory": <= 120 bytes an event).

- "offset" (where an event's line starts in its file) is held as its low 32 bits ("offset", uint32)
  and the bits above them ("offset_high", uint8 while every offset is below 1 TiB, widened like a
  code column otherwise): 5 bytes an event instead of 8, exact for any int64 offset >= 0. So are
  "length" and "line" with 16 low bits: 3 bytes instead of 4 (`SPLIT`).
- "latency" (stageTimestamp - requestReceivedTimestamp, ns; -1 unknown) is held in microseconds as
  int32, since the apiserver writes both timestamps in microseconds: 4 bytes instead of 8. A value
  that is not a whole number of microseconds, is negative or is 2**31 us (36 min) or more is kept
  exactly in the store's dictionary of such latencies (`others`, ns) and the column holds
  -2 - its code.

- "time" (ns since the epoch, 0 unknown) is held as microseconds: their low 32 bits ("time",
  uint32) and a code ("time_high", uint8, widened like a code column's) into the store's
  dictionary of time windows (`others`): a window is the bits above those 32 (71.6 minutes) and
  the nanoseconds past the microsecond (0 for an apiserver's times), as high * 1000 + ns. A week
  of log is ~140 windows: 5 bytes an event instead of 8, exact for any int64.

Contract: `encode_*` then `decode_*` (or `*_at` for one row, `gather` for some rows) gives back the
int64 values exactly; `decode_*` equals the plain int64 column the store held before (the
property tests hold them to it). The store's `column(name)` decodes a NARROW column whole;
readers of some rows use the store's `gather`, which decodes only those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs.columns import LATENCY_UNKNOWN
from k8saudit_tui.engine.store.arrays import code_dtype

_MICRO = 1000
_INT32_MAX = 2**31 - 1
SPLIT = {"offset": 32, "length": 16, "line": 16}
"""Columns held as their low bits (uint32 or uint16) and the bits above them ("<name>_high")."""
NARROW = (*SPLIT, "latency", "time")
"""The store columns held narrow (the store's `column` decodes them)."""
_LOW_DTYPES: dict[int, np.dtype[Any]] = {32: np.dtype(np.uint32), 16: np.dtype(np.uint16)}
LIMITS = {name: 1 << (bits + 31) for name, bits in SPLIT.items()}
"""Exclusive upper bound of a split column's values: high bits up to int32 (2**63 bytes, 2**47 lines)."""


def high(name: str) -> str:
    """The array holding the high bits of split column `name`."""
    return f"{name}_high"


def encode_split(name: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low bits, high bits) of the int64 values of split column `name`, in [0, LIMITS[name]);
    the high bits in the narrowest dtype that holds them, as a code column's (`arrays.code_dtype`,
    which the store widens its array to). ValueError for a value out of range."""
    values = np.asarray(values, np.int64)
    bits = SPLIT[name]
    if len(values) and (int(values.min()) < 0 or int(values.max()) >= LIMITS[name]):
        raise ValueError(f"{name} values must be in [0, {LIMITS[name]})")
    top = int(values.max(initial=0)) >> bits
    return (values & ((1 << bits) - 1)).astype(_LOW_DTYPES[bits]), (values >> bits).astype(code_dtype(top + 1))


def decode_split(name: str, low: np.ndarray, high_bits: np.ndarray) -> np.ndarray:
    """The int64 values of (low, high) of split column `name`."""
    values = low.astype(np.int64)
    if high_bits.any():  # below 4 GiB (most files) or 65,536 lines the high bits are all zero
        values |= high_bits.astype(np.int64) << SPLIT[name]
    return values


def encode_latencies(latencies: np.ndarray, code: Callable[[int], int]) -> np.ndarray:
    """int32 microseconds of int64 ns latencies (-1 unknown stays -1); any other value is coded
    by `code` (the store's dictionary of exact latencies) and held as -2 - its code."""
    latencies = np.asarray(latencies, np.int64)
    micros = latencies // _MICRO
    exact = (latencies == micros * _MICRO) & (micros >= 0) & (micros <= _INT32_MAX)
    exact |= latencies == LATENCY_UNKNOWN
    held = np.where(exact, micros, 0).astype(np.int32)  # LATENCY_UNKNOWN (-1) // 1000 is -1 itself
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


def encode_times(times: np.ndarray, code: Callable[[int], int]) -> tuple[np.ndarray, np.ndarray]:
    """(low 32 bits of the microseconds, window codes) of int64 ns times: each distinct window
    (high bits * 1000 + ns past the microsecond) coded once by `code` (the store's dictionary of
    windows), the codes in the narrowest dtype that holds them (`arrays.code_dtype`)."""
    times = np.asarray(times, np.int64)
    micros = times // _MICRO
    windows, inverse = np.unique((micros >> 32) * _MICRO + (times - micros * _MICRO), return_inverse=True)
    codes = np.asarray([code(window) for window in windows.tolist()], np.int64)
    top = int(codes.max(initial=0))
    return (micros & 0xFFFFFFFF).astype(np.uint32), codes[inverse.reshape(-1)].astype(code_dtype(top + 1))


def decode_times(low: np.ndarray, codes: np.ndarray, windows: Sequence[int]) -> np.ndarray:
    """The int64 ns times of (low bits, window codes) (see `encode_times`): two small tables per
    window, gathered once per row (10M rows: ~50 ms)."""
    table = np.asarray(windows, np.int64)
    micros: np.ndarray = np.take((table // _MICRO) << 32, codes) | low
    micros *= _MICRO
    extra = table % _MICRO
    if extra.any():  # only times that are not whole microseconds
        micros += np.take(extra, codes)
    return micros


def decode(arrays: Mapping[str, np.ndarray], others: Sequence[int], name: str, n: int) -> np.ndarray:
    """Column `name` (one of NARROW) of rows [0, n) as int64; `others` the store's dictionary of
    exact latencies, or for "time" of time windows."""
    return gather(arrays, others, name, slice(0, n))


def gather(arrays: Mapping[str, np.ndarray], others: Sequence[int], name: str, rows: np.ndarray | slice) -> np.ndarray:
    """Column `name` (one of NARROW) of `rows` only, as int64 (see `decode`)."""
    if name in SPLIT:
        return decode_split(name, arrays[name][rows], arrays[high(name)][rows])
    if name == "time":
        return decode_times(arrays["time"][rows], arrays[high("time")][rows], others)
    return decode_latencies(arrays["latency"][rows], others)


def split_at(arrays: Mapping[str, np.ndarray], name: str, row: int) -> int:
    """One row's value of split column `name`."""
    return (int(arrays[high(name)][row]) << SPLIT[name]) | int(arrays[name][row])


def latency_at(arrays: Mapping[str, np.ndarray], others: Sequence[int], row: int) -> int:
    """One row's latency in ns (-1 unknown)."""
    held = int(arrays["latency"][row])
    return held * _MICRO if held >= 0 else LATENCY_UNKNOWN if held == LATENCY_UNKNOWN else int(others[-2 - held])


def time_at(arrays: Mapping[str, np.ndarray], windows: Sequence[int], row: int) -> int:
    """One row's time in ns (0 unknown)."""
    window = int(windows[int(arrays[high("time")][row])])
    micros = ((window // _MICRO) << 32) | int(arrays["time"][row])
    return micros * _MICRO + window % _MICRO
