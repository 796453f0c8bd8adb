"""Where a loaded store's bytes go: every column array, every dictionary's Python objects, every
filter index, and the heaps (glibc's mallinfo2, the interpreter's arenas) beside the resident
size. For store_scale.py's `--breakdown`, or on its own:

    python benchmarks/store_breakdown.py [LOG]

Python objects are sized with sys.getsizeof summed over what each one holds, each object once (a
string the attributes share with a column's dictionary counts in the column's); numpy arrays by
nbytes, the rows used, and apart the capacity reserved (never written: address space only).
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np


def deep_size(value: Any, seen: set[int] | None = None) -> int:
    """Bytes held by `value` and what it refers to (arrays by nbytes, each object once)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, (list, tuple, set, frozenset)):
        size += sum(deep_size(item, seen) for item in value)
    elif hasattr(value, "__dataclass_fields__"):
        size += sum(deep_size(getattr(value, name), seen) for name in value.__dataclass_fields__)
    else:
        slots = [name for klass in type(value).__mro__ for name in getattr(klass, "__slots__", ())]
        size += sum(deep_size(getattr(value, name), seen) for name in slots if hasattr(value, name))
    return size


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def heap() -> dict[str, int]:
    """glibc's view: bytes in the main heap (arena), in mmapped blocks, in use and free."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    return {"arena": info.arena, "mmapped": info.hblkhd, "in_use": info.uordblks, "free": info.fordblks}


def pymalloc() -> dict[str, int]:
    """The interpreter's small-object allocator: bytes in its 1 MiB arenas and in live objects.
    An arena goes back to the OS only once all of it is free, so one object kept among many
    freed ones holds a whole arena resident: the difference is memory no object uses."""
    import os
    import re

    read, write = os.pipe()
    saved = os.dup(2)
    try:
        os.dup2(write, 2)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write)
    with os.fdopen(read, "rb") as stats:
        text = stats.read().decode()
    found = {
        label: re.search(rf"{label}\s*=\s*([\d,]+)", text)
        for label in ("arenas allocated current", "bytes in allocated blocks")
    }
    if not all(found.values()):
        return {}
    arenas = int(found["arenas allocated current"].group(1).replace(",", "")) << 20  # type: ignore[union-attr]
    used = int(found["bytes in allocated blocks"].group(1).replace(",", ""))  # type: ignore[union-attr]
    return {"arenas": arenas, "in objects": used, "unused in arenas": arenas - used}


def lines(store: Any) -> Iterable[tuple[str, int]]:
    """(label, bytes) for each part of the store, biggest parts first within each group."""
    n = len(store)
    rows = []
    for key, array in store._arrays.items():
        used = array[:n].nbytes
        rows.append((f"array {key} {array.dtype}", used))
    yield from sorted(rows, key=lambda r: -r[1])
    yield (
        "arrays reserved past the rows (address space)",
        sum(a.nbytes for a in store._arrays.values()) - sum(b for _, b in rows),
    )
    coded = []
    seen: set[int] = set()  # an object two dictionaries share (attributes hold the columns' strings) counts once
    for key, dictionary in store._codes.coded.items():
        coded.append((f"dict {key} ({len(dictionary.values):,} values)", deep_size(dictionary, seen)))
    coded.append((f"dict auditids ({len(store._codes.auditids.values):,})", deep_size(store._codes.auditids, seen)))
    coded.append(("parser stream tables", deep_size(store._codes.streams, seen)))
    coded.append(("verdict tables and the attributes' field codes", deep_size(store._verdicts, seen)))
    yield from sorted(coded, key=lambda r: -r[1])
    cached = []
    for key, value in store.match_cache.items():
        if hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                cached.append((f"index {'/'.join(map(str, key))}.{name}", deep_size(getattr(value, name))))
        else:
            cached.append((f"index {'/'.join(map(str, key))}", deep_size(value)))
    yield from sorted(cached, key=lambda r: -r[1])
    yield ("store._cache (view order, verdict columns)", deep_size(store._cache))


def report(store: Any, resident: dict[str, int]) -> str:
    """The breakdown in bytes an event, with the resident figures and the heap."""
    n = max(len(store), 1)
    gc.collect()
    out = [f"breakdown at {len(store):,} events (B/event; MB):"]
    total = 0
    for label, size in lines(store):
        if "reserved" not in label:
            total += size
        if size >= n // 20:  # >= 0.05 B/event
            out.append(f"  {size / n:8.2f} {size / 1e6:9.1f}  {label}")
    out.append(f"  {total / n:8.2f} {total / 1e6:9.1f}  counted in all")
    for label, value in resident.items():
        out.append(f"  {value / n:8.2f} {value / 1e6:9.1f}  resident: {label}")
    for label, value in heap().items():
        out.append(f"  {value / n:8.2f} {value / 1e6:9.1f}  malloc {label}")
    for label, value in pymalloc().items():
        out.append(f"  {value / n:8.2f} {value / 1e6:9.1f}  pymalloc {label}")
    return "\n".join(out)


if __name__ == "__main__":
    import shared

    from k8saudit_tui.engine.memory import resident_bytes
    from k8saudit_tui.engine.query import prepare
    from k8saudit_tui.engine.runtime import release_memory

    gc.collect()
    before = resident_bytes()
    store = shared.load_store(sys.argv[1] if len(sys.argv) > 1 else shared.BENCH_LOG, shared.DEMO_POLICY)
    assert store is not None
    gc.collect()
    loaded = resident_bytes()
    prepare(store)
    release_memory()
    print(
        report(
            store, {"before": before, "loaded - before": loaded - before, "indexed - before": resident_bytes() - before}
        )
    )
