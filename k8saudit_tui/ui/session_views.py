"""What the explorer asks of the current view: top values, timeline, a time to jump to, the
filter language's suggestions and help. Part of the `Session` (its base class), kept apart because
these questions only read the store: they hold no state of their own and load nothing.

Like the session, no Textual imports: the panel, the strip and the filter bar call these from
worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import FIELDS, compile_filter, complete, suggest
from k8saudit_tui.engine.query.facets import TOP_FIELDS, Facet, facets, term
from k8saudit_tui.engine.query.language import SYNTAX
from k8saudit_tui.engine.query.timefilter import first_at_or_after, received_times
from k8saudit_tui.engine.query.timeline import EMPTY, Split, Timeline, row_time, store_timeline
from k8saudit_tui.engine.store import EventStore
from k8saudit_tui.engine.workbench.changes import ChangeCounts, change_counts
from k8saudit_tui.engine.workbench.cost import CostSummary
from k8saudit_tui.engine.workbench.drift import Drift, drift
from k8saudit_tui.engine.workbench.security import ClassCoverage, security_coverage
from k8saudit_tui.engine.workbench.store_cost import store_costs
from k8saudit_tui.engine.workbench.unknowns import lossy_rows, unknown_counts

SUGGESTIONS_LISTED = 8
"""Suggestions the filter bar lists under its input."""


@dataclass(frozen=True, slots=True)
class WorkbenchSummary:
    """What the workbench panel shows at once (the bytes come later: `policy_costs`)."""

    changes: ChangeCounts
    security: tuple[ClassCoverage, ...]
    drift: Drift


@dataclass(frozen=True, slots=True)
class PolicyCosts:
    """The bytes of the loaded policy over every event, and of the candidate (None: none)."""

    current: CostSummary
    candidate: CostSummary | None

    def of(self, *, candidate: bool) -> CostSummary | None:
        """The loaded policy's summary, or the candidate's."""
        return self.candidate if candidate else self.current


@dataclass(frozen=True, slots=True)
class RuleStats:
    """Per rule of one policy (None: no rule matched): events it is the first match of, and
    of those the ones it writes."""

    hits: Mapping[int | None, int]
    written: Mapping[int | None, int]


class ViewQuestions:
    """Questions about the loaded events; `store` is the session's (None before loading)."""

    store: EventStore | None
    evaluator: PolicyEvaluator | None
    _unknown_cache: tuple[tuple[int, int], int] | None = None
    _time_span: tuple[EventStore, int, int, int] | None = None
    """(store, rows measured, earliest, latest time) for `time_range`, swapped whole."""

    def time_range(self) -> tuple[int, int] | None:
        """Earliest and latest event time (ns since the epoch, events without one left out). Rows
        measured before are not read again: the events list asks after every batch of a load,
        and decoding every time each time was 0.9 s of the UI thread's 5 s loading 1M events."""
        store, known = self.store, self._time_span
        if store is None:
            return None
        rows, earliest, latest = known[1:] if known is not None and known[0] is store else (0, 0, 0)
        n = len(store)  # once: following may append meanwhile
        if n > rows:
            times = store.gather("time", slice(rows, n))
            times = times[times > 0]
            if len(times):
                earliest = min(earliest, int(times.min())) if latest else int(times.min())
                latest = max(latest, int(times.max()))
            self._time_span = (store, n, earliest, latest)
        return (earliest, latest) if latest else None

    def rule_of(self, row: int) -> int | None:
        """Index of the rule that matched `row` (None: no rule, or no policy)."""
        if self.store is None or self.evaluator is None:
            return None
        rule = self.store.value(row, "rule")
        return rule if isinstance(rule, int) else None  # None: no rule, or unknown (policy.lossy)

    def rule_rows(self, rows: np.ndarray, rule: int | None) -> np.ndarray:
        """Positions in `rows` of the events matched by `rule`."""
        if self.store is None or not len(rows):
            return np.zeros(0, dtype=np.int64)
        column = np.asarray(self.store.column("rule"))[rows]
        return np.flatnonzero(column == (-1 if rule is None else rule))

    def rule_counts(self) -> dict[int | None, int]:
        """Events per rule over the whole store (None: matched by no rule)."""
        if self.store is None or self.evaluator is None:
            return {}
        return self.store.rule_counts()

    def rules_with_hits(self) -> list[int]:
        """Indexes of the rules that matched at least one event, in policy order (`]` and `[`)."""
        return sorted(rule for rule, count in self.rule_counts().items() if rule is not None and count)

    def collapse(self, rows: np.ndarray) -> np.ndarray:
        """One row per auditID (its last stage in the view), in view order."""
        if self.store is None or not len(rows):
            return rows
        ids = self.store.column("auditid")[rows]
        _, last = np.unique(ids[::-1], return_index=True)
        keep = np.sort(len(rows) - 1 - last)
        return rows[keep]

    def first_at_or_after(self, rows: np.ndarray, text: str) -> int:
        """Position in `rows` of the first event received at or after `text` (`time:`'s syntax);
        ValueError says what is wrong (timefilter.first_at_or_after)."""
        if self.store is None:
            raise ValueError("no events to jump in")
        return first_at_or_after(received_times(self.store, len(self.store)), rows, text)

    def facets(self, text: str, limit: int = 10) -> tuple[Facet, ...]:
        """The facet panel's top values among the events matching `text` (blank: all; a thread)."""
        if self.store is None:
            return ()
        rows = None if not text.strip() else compile_filter(text).apply(self.store)
        return facets(self.store, TOP_FIELDS, rows, limit)

    def facet_term(self, field: str, label: str, *, negate: bool = False) -> str:
        """The term selecting exactly one facet value's events (`negate`: the others), or ""."""
        return term(field, label, negate=negate)

    def timeline(self, rows: np.ndarray, cells: int, split: Split) -> Timeline:
        """`rows` over time in at most `cells` buckets (a thread); `time_of` places a row in it."""
        if self.store is None:
            return EMPTY
        return store_timeline(self.store, rows, cells, split)

    def time_of(self, row: int) -> int:
        """The time the timeline and `time:` read for `row` (its request's receive time; 0: none)."""
        return row_time(self.store, row) if self.store is not None else 0

    def filter_help(self) -> list[tuple[str, str]]:
        """The filter language's terms, then every field with what it matches, for `?` help."""
        return [*SYNTAX, *((f"{name}:", FIELDS[name]) for name in FIELDS)]

    def complete(self, text: str) -> str | None:
        """The filter text with its last term completed (query.complete), or None."""
        return complete(text, self.store)

    def suggestions(self, text: str) -> tuple[tuple[str, int | None], ...]:
        """The top suggestions for the last term of `text` (query.suggest): (term, events)."""
        return tuple((s.term, s.count) for s in suggest(text, self.store, limit=SUGGESTIONS_LISTED))

    # ------------------------------------------------------------------ the workbench

    @property
    def compared(self) -> bool:
        """Whether the events are evaluated under a policy and a candidate (change classes)."""
        store = self.store
        return store is not None and store.evaluator is not None and store.candidate_evaluator is not None

    def workbench_summary(self) -> WorkbenchSummary | None:
        """Change counts, security classes and drift over every event; None unless `compared`."""
        if self.store is None or not self.compared:
            return None
        return WorkbenchSummary(change_counts(self.store), security_coverage(self.store), drift(self.store))

    def rule_stats(self, *, candidate: bool = False) -> RuleStats:
        """Hits and written events per rule of the loaded policy, or of the candidate."""
        store = self.store
        prefix = "candidate_" if candidate else ""
        if store is None or (store.candidate_evaluator if candidate else store.evaluator) is None or not len(store):
            return RuleStats({}, {})
        n = len(store)
        rules = store.column(f"{prefix}rule", n).astype(np.int64) + 1
        written = (store.column(f"{prefix}omitted", n) == 0) & (rules >= 0)  # -2: unknown (policy.lossy)
        decided = rules[rules >= 0]
        return RuleStats(_by_rule(np.bincount(decided)), _by_rule(np.bincount(rules[written], minlength=1)))

    def unknown_by_rule(self, *, candidate: bool = False) -> dict[int, int] | None:
        """Per rule of the loaded policy (or the candidate), the events whose rule became unknown at
        it (it reads a field their format lost: workbench.unknowns); None when no event is of such
        a format (the policy pane then shows nothing new)."""
        if self.store is None:
            return None
        counts = unknown_counts(self.store, "candidate_" if candidate else "")
        return None if counts is None else counts.by_rule

    def unknown_rule_of(self, row: int) -> int | None:
        """For an event whose rule is unknown, the rule it became unknown at (the first that reads a
        field its format lost: the one the policy pane marks); None for any other event."""
        if self.store is None or self.store.evaluator is None:
            return None
        at = self.store.value(row, "unknown_at")
        return at if isinstance(at, int) and at >= 0 else None

    def unknown_events(self) -> int:
        """Events the loaded policy leaves undecided (workbench.unknowns), for the status line;
        counted once per store generation (the status is repainted far more often)."""
        store = self.store
        if store is None or store.evaluator is None:
            return 0
        cached = self._unknown_cache
        if cached is not None and cached[0] == (id(store), store.generation):
            return cached[1]
        counts = unknown_counts(store)
        events = 0 if counts is None else counts.events
        self._unknown_cache = ((id(store), store.generation), events)
        return events

    @property
    def lossy(self) -> bool:
        """Whether some event is of a format that lost a field a policy reads (GKE)."""
        return self.store is not None and bool(lossy_rows(self.store).any())

    def policy_costs(
        self, cancel: threading.Event, progress: Callable[[float], None] | None = None
    ) -> PolicyCosts | None:
        """The bytes the loaded policy, and the candidate when there is one, write for every event
        (the engine's cost from the store's columns, `store_cost.store_costs`: what `apply` would
        write, the few lines whose written form changes rewritten). The one call of the engine's
        cost, for the panel and the policy pane alike. A worker: about a second of CPU at 1M
        events; `progress` gets the share of events read now and then. Read with pread, never
        mapped: a followed log may be truncated by a rotation meanwhile. None when cancelled or
        without a policy."""
        store = self.store
        if store is None or store.evaluator is None:
            return None
        costs = store_costs(store, cancel=cancel, progress=progress)
        return None if costs is None else PolicyCosts(*costs)


def _by_rule(counts: np.ndarray) -> dict[int | None, int]:
    """bincount over rule + 1 as {rule: events} (None: no rule matched), zero counts left out."""
    return {(index - 1 if index else None): int(c) for index, c in enumerate(counts.tolist()) if c}
