"""The filter indexes the explorer builds once loaded, ahead of the first keystroke, within the
memory limit.

Contract: `prepare(store, memory_limit_mb)` builds, one after the other, the search text of each
bare-word column, the URI pieces, the request groups, the attributes' resource paths, the rows by
auditID and which facet columns keep one value within a request; it returns "" when it built them
all. With a limit, before each it gives the free heap back and adds the step's measured peak
(PEAK_BYTES_PER_EVENT) to the resident memory of the process; when that would pass the limit it
stops, returning a sentence for the user. Building them at 10M events took the parent from 1.1
to 1.9-2.0 GB after the load's own check had ended: a log a little bigger went past the limit
unchecked. What was not built is built by the first filter or facet that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.memory import tree_resident_mb
from k8saudit_tui.engine.query import auditids, facets, resource_paths
from k8saudit_tui.engine.query.indexes import (
    BARE_WORD_COLUMNS,
    BY_REQUEST,
    REQUESTS,
    URI_TOKENS,
    Cached,
    requests,
    search_text,
    uri_tokens,
)


class Store(Cached, Protocol):
    """What `prepare` reads of a store besides the columns: its values and its size."""

    def values(self, name: str) -> list[Any]: ...

    def value(self, row: int, name: str) -> str | int | None: ...

    def __len__(self) -> int: ...

    @property
    def long_auditids(self) -> Mapping[int, str]: ...


PEAK_BYTES_PER_EVENT = {"words": 50, "uri pieces": 40, "requests": 35, "resource paths": 1, "request columns": 25}
"""What each step adds to resident memory at its peak, per loaded event, its free heap given back
before: measured on the generated log at 3M and 10M events (a bare-word column's text 46-50,
the URI pieces at most 38, the request groups 33 at most since they are built a chunk at a time
(67-71 before), the request columns 23 at 3M and 17-21 at 10M since the rows by auditID are
numbered a chunk at a time (49-67 before: benchmarks/request_columns.py))."""


def prepare(store: Store, memory_limit_mb: int | None = None) -> str:
    """Build the indexes (module docstring), so the first keystroke or facet does not pay for
    lower-casing and indexing every distinct value (their token index for typos included) or for
    a gather in request order. URIs get their piece index; their whole joined text is built only
    if a query needs it. "" when all were built, else why the rest was left to the filters."""
    words = [column for column in BARE_WORD_COLUMNS if column != "uri"]
    steps: list[tuple[str, tuple[str, str], Callable[[], object]]] = [
        *(("words", ("joined", column), partial(_words, store, column)) for column in words),
        ("uri pieces", URI_TOKENS, partial(_uri_pieces, store)),
        ("requests", REQUESTS, partial(requests, store, len(store))),
        ("resource paths", resource_paths.KEY, partial(resource_paths.paths, store)),  # 0.15 s at 10M
        ("request columns", BY_REQUEST, partial(_request_columns, store)),
    ]
    for name, key, step in steps:
        if memory_limit_mb is not None and key not in store.match_cache:  # reopened: only new rows to add
            runtime.trim_heap()  # what the last step freed: resident memory is then what is held
            projected = tree_resident_mb() + (len(store) * PEAK_BYTES_PER_EVENT[name] >> 20)
            if projected > memory_limit_mb:
                return (
                    f"the search indexes were not all built ahead: memory use would pass the limit of "
                    f"{memory_limit_mb:,} MB (set K8SAUDIT_TUI_MEMORY_LIMIT_MB to change it); a filter "
                    "builds what it needs when it is typed"
                )
        step()
    return ""


def _words(store: Store, column: str) -> None:
    values = store.values(column)
    search_text(store, column, values, len(values)).index_tokens()


def _uri_pieces(store: Store) -> None:
    uris = store.values("uri")
    uri_tokens(store, uris, len(uris))


def _request_columns(store: Store) -> None:
    """The rows by auditID, and which facet columns of TOP_FIELDS keep one value within a request."""
    grouped = auditids.grouped(store, len(store))
    for name in facets.TOP_FIELDS:
        for column in facets.stored_columns(name):
            auditids.constant(store, grouped, column)
