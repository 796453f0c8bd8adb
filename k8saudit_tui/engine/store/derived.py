"""Display values the store computes from its columns instead of storing them.

Why: every int64 per event costs 8 MB per million events, so what follows from stored columns is
derived when shown or exported: the received time is `time - latency`, the stage time is `time`,
the authorization decision is one annotation of the row's annotation set. Like facets.py, this is
arithmetic over the store's public API only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from k8saudit_tui.engine.logs.annotations import annotation_value
from k8saudit_tui.engine.logs.columns import LATENCY_UNKNOWN
from k8saudit_tui.engine.logs.timestamps import format_time

if TYPE_CHECKING:
    from k8saudit_tui.engine.store.columns import EventStore

DECISION_KEY = "authorization.k8s.io/decision"

DERIVED: tuple[str, ...] = ("received", "stage_time", "decision")
"""Names `EventStore.value` accepts beyond its columns (fields of kind "derived")."""

DISPLAYED: frozenset[str] = frozenset((*DERIVED, "annotations", "latency"))
"""The names `value` below answers."""


def value(store: EventStore, row: int, name: str) -> str | int | None:
    """The display value of `name` at `row`: annotations joined by ", ", latency in ns (None when
    unknown), received / stage time as RFC 3339 ("" when unknown), the decision ("" when none).

    An event without a stage time has its received time as `time` and an unknown latency, so its
    stage_time shows the received time and its received time is "" (the store cannot tell the
    two apart; apiservers always write both)."""
    if name in ("annotations", "decision"):
        annotations: tuple[str, ...] = store.values("annotations")[store.column("annotations")[row]]
        return ", ".join(annotations) if name == "annotations" else annotation_value(annotations, DECISION_KEY)
    latency = int(store.gather("latency", np.array([row]))[0])  # one row, not the whole column
    if name == "latency":
        return None if latency == LATENCY_UNKNOWN else latency
    time = int(store.gather("time", np.array([row]))[0])
    if name == "stage_time":
        return format_time(time)
    if name == "received":
        return "" if latency == LATENCY_UNKNOWN else format_time(time - latency)
    raise KeyError(f"unknown column {name!r}")
