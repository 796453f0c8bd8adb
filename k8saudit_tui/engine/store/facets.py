"""Facets: the distinct display values of a column and how often each occurs.

Kept apart from the store's read/append API because it is only arithmetic over that API (columns,
vocabularies, files): it reads no private state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from k8saudit_tui.engine.model import LEVELS

if TYPE_CHECKING:
    from k8saudit_tui.engine.store.columns import EventStore


_SET_COLUMNS = {"group": "group", "groups": "group", "annotations": "annotations"}
"""Columns whose rows hold a tuple of values: a facet counts each member."""


def facet(store: EventStore, name: str, rows: np.ndarray | None = None) -> list[tuple[str, int]]:
    """Distinct display values of a column among `rows` (default all), most frequent first."""
    n = len(store)
    if name == "latency":
        return []  # a continuous value: no two requests share one
    if name in _SET_COLUMNS:
        name = _SET_COLUMNS[name]
        codes = store.column(name, n) if rows is None else store.column(name, n)[rows]
        per_tuple = np.bincount(codes, minlength=len(store.values(name)))
        totals: dict[str, int] = {}
        for code in np.flatnonzero(per_tuple).tolist():
            for member in store.values(name)[code]:
                totals[member] = totals.get(member, 0) + int(per_tuple[code])
        pairs = list(totals.items())
    elif name in ("time", "auditid", "file", "line", "omitted") or name in ("code", "rule"):
        column = store.column(name, n)
        column = column if rows is None else column[rows]
        if name == "file":
            names = [entry.name for entry in store.files]
            counts = np.bincount(column.astype(np.int64), minlength=len(names))
            merged: dict[str, int] = {}
            for code in np.flatnonzero(counts).tolist():
                merged[names[code]] = merged.get(names[code], 0) + int(counts[code])
            pairs = list(merged.items())
        else:
            uniques, counts = np.unique(column, return_counts=True)
            pairs = [(_display(name, u), int(c)) for u, c in zip(uniques.tolist(), counts.tolist())]
    else:
        column = store.column(name, n)
        column = column if rows is None else column[rows]
        vocabulary = store.values(name)
        offset = 1 if name == "level" else 0
        counts = np.bincount(column.astype(np.int64) + offset, minlength=len(vocabulary) + offset)
        pairs = []
        for code in np.flatnonzero(counts).tolist():
            label = "(no policy)" if offset and code == 0 else vocabulary[code - offset]
            pairs.append((label, int(counts[code])))
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))


def distinct(store: EventStore, name: str) -> list[str]:
    """Sorted distinct display values of a column, for suggestions in the filter bar."""
    if name in _SET_COLUMNS:
        return sorted({member for members in store.values(_SET_COLUMNS[name]) for member in members})
    if name == "latency":
        return []
    if name in ("level",):
        return list(LEVELS)
    if name in ("code", "rule"):
        return [value for value, _ in sorted(store.facet(name))]
    if name == "auditid":
        return sorted(store.value(row, "auditid") for row in range(min(len(store), 10_000)))  # type: ignore[misc]
    return sorted(value for value in store.values(name) if value)


def _display(name: str, value: Any) -> str:
    if name == "rule":
        return "none" if value < 0 else str(value)
    if name == "code":
        return "" if value == 0 else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
