"""What the explorer asks of the current view: top values, timeline, a time to jump to, the
filter language's suggestions and help. Part of the `Session` (its base class), kept apart because
these questions only read the store: they hold no state of their own and load nothing.

Like the session, no Textual imports: the panel, the strip and the filter bar call these from
worker threads.
"""

from __future__ import annotations

import numpy as np

from k8saudit_tui.engine.query import FIELDS, compile_filter, complete, suggest
from k8saudit_tui.engine.query.facets import TOP_FIELDS, Facet, facets, term
from k8saudit_tui.engine.query.language import SYNTAX
from k8saudit_tui.engine.query.timefilter import first_at_or_after, received_times
from k8saudit_tui.engine.query.timeline import EMPTY, Split, Timeline, row_time, store_timeline
from k8saudit_tui.engine.store import EventStore
from k8saudit_tui.engine.textsafe import visible

SUGGESTIONS_LISTED = 8
"""Suggestions the filter bar lists under its input."""


class ViewQuestions:
    """Questions about the loaded events; `store` is the session's (None before loading)."""

    store: EventStore | None

    def first_at_or_after(self, rows: np.ndarray, text: str) -> int:
        """Position in `rows` of the first event received at or after `text` (`time:`'s syntax);
        ValueError says what is wrong (timefilter.first_at_or_after)."""
        if self.store is None:
            raise ValueError("no events to jump in")
        return first_at_or_after(received_times(self.store, len(self.store)), rows, visible(text))

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
