"""How many events a policy leaves undecided because their format lost what it reads (a GKE entry:
user groups and stage; policy/lossy.py), overall and per rule, for the report, the status bar and
the policy pane.

Contract: `unknown_counts(store, prefix, rows)` is None when none of the rows is of a lossy format
(a raw log: the callers show nothing new); else an `UnknownCounts` from the store's verdict columns
(never recomputed): events with anything unknown, with the rule, the level, written unknown, and
per rule the events whose rule became unknown at it (the rule that needs the lost field). With
`maybe=True` (the report: a CLI pass, not the UI's repaint), also per rule the events it may have
matched (every possible rule of an unknown one, from `lossy.outcome` once per distinct request),
so that a rule only an unknown event may reach is not called dead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.lossy import LOST_BY_CODE, outcome
from k8saudit_tui.engine.policy.lossy_decision import OMIT_UNKNOWN, UNKNOWN_LEVEL, UNKNOWN_RULE
from k8saudit_tui.engine.store import EventStore

_LOSSY_CODES = np.array([bool(lost) for lost in LOST_BY_CODE], bool)


@dataclass(frozen=True, slots=True)
class UnknownCounts:
    """Events a policy leaves undecided (module docstring)."""

    lossy: int
    """Events of a format that lost a field a policy reads (decided or not)."""
    events: int
    rule: int
    level: int
    written: int
    by_rule: dict[int, int]
    maybe: dict[int, int] | None = None
    """Per rule, the unknown events it may have matched (None: not counted)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "lossy_events": self.lossy,
            "events": self.events,
            "rule": self.rule,
            "level": self.level,
            "written": self.written,
            "by_rule": {str(rule): count for rule, count in sorted(self.by_rule.items())},
            **({} if self.maybe is None else {"maybe_by_rule": {str(r): c for r, c in sorted(self.maybe.items())}}),
        }


def lossy_rows(store: EventStore, n: int | None = None) -> np.ndarray:
    """Whether each of rows [0, n) is of a format that lost a field a policy reads."""
    formats = store.column("format", n)
    if not formats.any():  # raw Event lines only: one pass over a byte per row, no gather
        return np.zeros(len(store) if n is None else n, bool)
    return _LOSSY_CODES[np.minimum(formats, len(_LOSSY_CODES) - 1)]  # type: ignore[no-any-return]


def unknown_counts(
    store: EventStore, prefix: str = "", rows: np.ndarray | None = None, *, maybe: bool = False
) -> UnknownCounts | None:
    """The undecided events among `rows` (default all) under the loaded policy (prefix "") or the
    candidate ("candidate_"); None without lossy rows or without that policy."""
    evaluator = store.evaluator if not prefix else store.candidate_evaluator
    if evaluator is None:
        return None
    n = len(store)
    lossy = lossy_rows(store, n)
    if rows is not None:
        lossy = lossy[np.asarray(rows, np.int64)]
    if not lossy.any():
        return None

    def take(name: str, verdict: bool = True) -> np.ndarray:
        column = store.column(prefix + name if verdict else name, n)
        return column if rows is None else column[np.asarray(rows, np.int64)]

    rule, level, omitted = take("rule") == UNKNOWN_RULE, take("level") == UNKNOWN_LEVEL, take("omitted") == OMIT_UNKNOWN
    at = take("unknown_at")
    counts = np.bincount(at[at >= 0].astype(np.int64))
    return UnknownCounts(
        int(lossy.sum()),
        int((rule | level | omitted).sum()),
        int(rule.sum()),
        int(level.sum()),
        int(omitted.sum()),
        {index: int(count) for index, count in enumerate(counts.tolist()) if count},
        _maybe(store, evaluator, take("attr", False), take("format", False), rule) if maybe else None,
    )


def _maybe(
    store: EventStore, evaluator: PolicyEvaluator, attr: np.ndarray, formats: np.ndarray, unknown: np.ndarray
) -> dict[int, int]:
    """Per rule, the events with an unknown rule that it may have matched (lossy.outcome per
    distinct request and format)."""
    keys = attr[unknown].astype(np.int64) * 256 + formats[unknown]
    distinct, counts = np.unique(keys, return_counts=True)
    attributes = store.values("attr")
    result: dict[int, int] = {}
    for key, events in zip(distinct.tolist(), counts.tolist()):
        got = outcome(evaluator, attributes[key // 256], LOST_BY_CODE[key % 256])
        for verdict in got.verdicts:
            if verdict.rule is not None:
                result[verdict.rule] = result.get(verdict.rule, 0) + events
    return result
