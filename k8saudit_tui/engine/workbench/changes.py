"""How a candidate policy changes the events of a log against the loaded policy, counted.

Why here and not in the store: the store computes the per-row change code (`change` column,
`store.verdicts.Verdicts.change_table`, vectorised per distinct request and stage) because filters
and the list read it per row; the workbench, the report and the TUI's summary want counts over a
selection, which this module gives as one immutable value. The classes are `fields.CHANGES`:
dropped (the loaded policy writes the event, the candidate does not), added (the reverse), up /
down (both write it, the candidate's level is higher / lower), unknown (the event's format lost
what either policy reads: policy.lossy), same (everything else).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine.fields import CHANGES
from k8saudit_tui.engine.store import EventStore

__all__ = ["CHANGES", "ChangeCounts", "change_counts"]


@dataclass(frozen=True, slots=True)
class ChangeCounts:
    """Events per change class (a selection's or the whole store's)."""

    same: int
    up: int
    down: int
    dropped: int
    added: int
    unknown: int = 0

    def as_dict(self) -> dict[str, int]:
        """{class: events} in CHANGES order (the report's `changes` object); `unknown` only when
        some event is (a raw log's report keeps its shape)."""
        return {name: int(getattr(self, name)) for name in CHANGES if name != "unknown" or self.unknown}

    @property
    def changed(self) -> int:
        """Events whose class is not `same`."""
        return self.up + self.down + self.dropped + self.added + self.unknown


def change_counts(store: EventStore, rows: np.ndarray | None = None) -> ChangeCounts:
    """How many of `rows` (default: every row) fall in each change class. Raises ValueError
    without both a policy and a candidate (every event would be `same`, which says nothing)."""
    if store.evaluator is None or store.candidate_evaluator is None:
        raise ValueError("change classes need a policy and a candidate policy")
    codes = store.column("change")
    if rows is not None:
        codes = codes[np.asarray(rows, np.int64)]
    counts = np.bincount(codes.astype(np.int64), minlength=len(CHANGES)).tolist()
    return ChangeCounts(*counts)
