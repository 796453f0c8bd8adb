"""The filter language shared by the TUI filter bar and `export --filter`.

Split by job: `language` parses text into terms (and knows no store), `filter` selects the rows a
compiled filter matches, `indexes` owns what filters keep in `store.match_cache` (search texts,
URI pieces, request groups, term tables, suggestion counts), `ahead` builds them once loaded,
within the memory limit, `suggest` is the one suggester and
`textsearch` the vectorised substring and fuzzy search. Callers import from here.
"""

from __future__ import annotations

from k8saudit_tui.engine.query.ahead import prepare
from k8saudit_tui.engine.query.filter import Filter, compile_filter
from k8saudit_tui.engine.query.indexes import look_ahead
from k8saudit_tui.engine.query.language import FIELDS, FilterError, Term
from k8saudit_tui.engine.query.suggest import Suggestion, complete, suggest

__all__ = [
    "FIELDS",
    "Filter",
    "FilterError",
    "Suggestion",
    "Term",
    "compile_filter",
    "complete",
    "look_ahead",
    "prepare",
    "suggest",
]
