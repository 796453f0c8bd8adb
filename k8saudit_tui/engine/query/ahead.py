"""The filter indexes the explorer builds once loaded, ahead of the first keystroke, within the
memory limit.

Contract: `prepare(store, memory_limit_mb)` builds, one after the other, the search text of each
bare-word column and its token index, the URI pieces, the request groups, the attributes' resource
paths, the rows by auditID and which facet columns keep one value within a request; it returns ""
when it built them all. With a limit, before each it gives the free heap back and adds the step's
projected peak (`projected_peak`, from what that step indexes: PEAK_BYTES) to the resident memory
of the process; when that would pass the limit it leaves that index (and the token index of a
search text it left) and goes on with the next, then returns a sentence for the user naming them.
Building them at 10M events took the parent from 1.1 to 1.9-2.0 GB after the load's own check had
ended: a log a little bigger went past the limit unchecked. What was not built is built by the
first filter or facet that needs it.

Why a step's peak is projected from what it indexes, not from the loaded events: a column's
search text and token index grow with its distinct values, and a log whose every event has its own
user name (1M events: 1M names, 6M tokens) peaked at 1.5 GB in the user column's step, against 50
bytes an event projected from the generated log, whose 1M events hold 52 user names.

A typo index left here is not built behind the limit's back later: `prepare` records the limit
(TYPO_LIMIT), and `typos_fit(store, column, search, query)`, which the filter and the suggester
ask before a fuzzy search of a column, is True when the column's index is built, when no limit was
recorded (a headless command), when the word allows no typo, or when the index fits now (the same
projection, against the memory resident then);
else False, for good (`typos_off`): the filter then matches the word itself in that column (a
substring, the first half of a fuzzy match) and the status line says typos were not looked for
there, and the suggester offers no typo neighbours from it. Before, the first bare word built the
index whatever it cost (541-581 MB for the user column of the 1M distinct-user log).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple, Protocol

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.memory import tree_resident_mb
from k8saudit_tui.engine.query import auditids, facets, resource_paths
from k8saudit_tui.engine.query.indexes import (
    BARE_WORD_COLUMNS,
    BY_REQUEST,
    REQUEST_CHUNK_ROWS,
    REQUESTS,
    URI_TOKENS,
    Cached,
    requests,
    search_text,
    uri_tokens,
)
from k8saudit_tui.engine.query.textsearch import SearchText, edits_allowed
from k8saudit_tui.engine.query.tokens import token_count


class Store(Cached, Protocol):
    """What `prepare` reads of a store besides the columns: its values and its size."""

    def values(self, name: str) -> list[Any]: ...

    def value(self, row: int, name: str) -> str | int | None: ...

    def __len__(self) -> int: ...

    @property
    def long_auditids(self) -> Mapping[int, str]: ...


MB = 1 << 20
PEAK_BYTES = {
    "search text": (64 * MB, 256),  # a distinct value of the column
    "word tokens": (32 * MB, 120),  # a token of the column's distinct values
    "uri pieces": (64 * MB, 450),  # a distinct URI
    "requests": (32 * MB, 70),  # a row of the chunk being grouped; and REQUEST_BYTES
    "resource paths": (MB, 20),  # a distinct request (the attributes)
    "request columns": (32 * MB, 25),  # a loaded event
}
"""What each step adds to resident memory at its peak, its free heap given back before: (fixed
bytes, bytes per unit). Measured (`benchmarks/index_peaks.py`: resident memory sampled every
millisecond) on the generated log at 1M and 3M events and on a 1M-event log whose every event has
its own user name, object name and URI (resourceVersion), with a margin: the fixed part is the
allocator's (freed temporaries not yet given back), 30-60 MB from one run to the next.
- a column's search text: 40-54 MB at 45k names (1M generated), 58-61 MB at 131k (3M), 157-195
  MB at 0.9-1M distinct names or users;
- its token index: 90-109 bytes a token from 0.6M tokens on (6M: 541-581 MB, 2.3-6.1 s; 213-257 bytes,
  1.2-1.3 GB and 3.8-9.6 s before its parts were narrowed and dropped as they were joined);
- the URI pieces: 71-109 MB at 101k distinct URIs (1M generated), 110 MB at 294k (3M), 293-308 MB
  at 908k;
- the request groups, built REQUEST_CHUNK_ROWS at a time: 70 bytes a row of a chunk, plus
  REQUEST_BYTES;
- the resource paths: 12-16 bytes a distinct request attributes;
- the request columns, numbered a chunk of rows at a time: 23 bytes an event at 3M, 17-21 at 10M
  (`benchmarks/request_columns.py`; 49-67 before the chunks)."""
REQUEST_BYTES = (10, 70)
"""The request groups' bytes a loaded event (their rows' group numbers, copied once extended) and a
distinct URI, name or request (the groups' keys and codes): 143 bytes an event measured at 1M
events each its own request, 71 at 1M generated (one chunk), 32 at 3M."""


class Step(NamedTuple):
    """One index to build: `name` its kind (PEAK_BYTES), `label` what the user is told of it when
    it is left, `built` when it already is (reopened from the index cache, or built by a filter),
    `peak` its projected peak in bytes, `build` what builds it, `needs` the label of a step it
    builds on ("" for none)."""

    name: str
    label: str
    built: Callable[[], bool]
    peak: Callable[[], int]
    build: Callable[[], object]
    needs: str = ""


def prepare(store: Store, memory_limit_mb: int | None = None) -> str:
    """Build the indexes (module docstring), so the first keystroke or facet does not pay for
    lower-casing and indexing every distinct value (their token index for typos included) or for
    a gather in request order. URIs get their piece index; their whole joined text is built only
    if a query needs it. "" when all were built, else why the rest was left to the filters."""
    if memory_limit_mb is not None:
        store.match_cache[TYPO_LIMIT] = memory_limit_mb
    left: list[str] = []
    for step in steps(store):
        if step.needs in left:
            left.append(step.label)
            continue
        if memory_limit_mb is not None and not step.built() and not _fits(step.peak(), memory_limit_mb):
            left.append(step.label)  # (a step built, as reopened, has only new rows to add)
            continue
        step.build()
    if not left:
        return ""
    return (
        f"the search indexes were not all built ahead ({', '.join(left)}): memory use would pass the limit "
        f"of {memory_limit_mb:,} MB (set K8SAUDIT_TUI_MEMORY_LIMIT_MB to change it); a filter builds what "
        "it needs when it is typed"
    )


def steps(store: Store) -> list[Step]:
    """The steps of `prepare`, in order."""
    columns = [column for column in BARE_WORD_COLUMNS if column != "uri"]
    rows = len(store)
    return [
        *(step for column in columns for step in _word_steps(store, column)),
        Step(
            "uri pieces",
            "URI pieces",
            partial(_cached, store, URI_TOKENS),
            partial(projected_peak, "uri pieces", len(store.values("uri"))),
            partial(_uri_pieces, store),
        ),
        Step(
            "requests",
            "request groups",
            partial(_cached, store, REQUESTS),
            partial(_requests_peak, store),
            partial(requests, store, rows),
        ),
        Step(
            "resource paths",
            "resource paths",
            partial(_cached, store, resource_paths.KEY),
            partial(projected_peak, "resource paths", len(store.values("attr"))),
            partial(resource_paths.paths, store),  # 0.15 s at 10M
        ),
        Step(
            "request columns",
            "rows by auditID",
            partial(_cached, store, BY_REQUEST),
            partial(projected_peak, "request columns", rows),
            partial(_request_columns, store),
        ),
    ]


TYPO_LIMIT = ("typo index limit",)
"""The match cache's key of the memory limit (MB) a typo index built by a filter must fit in."""


def typos_fit(store: Cached, column: str, search: SearchText, query: str) -> bool:
    """Whether a fuzzy search of `query` in `column` (its SearchText `search`) may use the
    column's typo index: see the module doc. A word that allows no typo needs none (and is not
    charged a count of the tokens a keystroke); a refusal is kept, so every filter of the session
    reads the column alike."""
    limit: int | None = store.match_cache.get(TYPO_LIMIT)
    if limit is None or "tokens" in search.indexed or not edits_allowed(len(query)):
        return True
    if typos_off(store, column):
        return False
    if _fits(projected_peak("word tokens", token_count(search.text)), limit):
        return True
    store.match_cache[_typos_off_key(column)] = True
    return False


def typos_off(store: Cached, column: str) -> bool:
    """Whether `typos_fit` refused `column`'s typo index."""
    return _typos_off_key(column) in store.match_cache


def _typos_off_key(column: str) -> tuple[str, str]:
    return ("typos off", column)


def _fits(peak: int, limit_mb: int) -> bool:
    """Whether `peak` more bytes keep the resident memory of our process tree within `limit_mb`,
    the free heap given back first (what earlier work freed: resident memory is then what is held)."""
    runtime.trim_heap()
    return tree_resident_mb() + (peak >> 20) <= limit_mb


def projected_peak(name: str, units: int) -> int:
    """Step `name`'s peak in bytes over `units` of what it indexes (PEAK_BYTES)."""
    fixed, each = PEAK_BYTES[name]
    return fixed + each * units


def _requests_peak(store: Store) -> int:
    """The request groups' peak: a chunk's rows, every row's group, and the distinct keys."""
    rows = len(store)
    distinct = max(len(store.values(column)) for column in ("uri", "name", "attr"))
    return (
        projected_peak("requests", min(rows, REQUEST_CHUNK_ROWS))
        + REQUEST_BYTES[0] * rows
        + REQUEST_BYTES[1] * distinct
    )


def _cached(store: Store, key: tuple[str, ...]) -> bool:
    return key in store.match_cache


def _word_steps(store: Store, column: str) -> list[Step]:
    """A column's search text, then its token index (projected from the text's tokens, once the
    text is there to count them)."""
    values = store.values(column)
    key = ("joined", column)

    def text() -> SearchText:
        search: SearchText = search_text(store, column, values, len(values))
        return search

    def tokens_built() -> bool:
        search = store.match_cache.get(key)
        return search is not None and "tokens" in search.indexed

    searched = f"{column} search text"
    return [
        Step(
            "search text",
            searched,
            partial(_cached, store, key),
            partial(projected_peak, "search text", len(values)),
            text,
        ),
        Step(
            "word tokens",
            f"{column} typo index",
            tokens_built,
            lambda: projected_peak("word tokens", token_count(text().text)),
            lambda: text().index_tokens(),
            needs=searched,
        ),
    ]


def _uri_pieces(store: Store) -> None:
    uris = store.values("uri")
    uri_tokens(store, uris, len(uris))


def _request_columns(store: Store) -> None:
    """The rows by auditID, and which facet columns of TOP_FIELDS keep one value within a request."""
    grouped = auditids.grouped(store, len(store))
    for name in facets.TOP_FIELDS:
        for column in facets.stored_columns(name):
            auditids.constant(store, grouped, column)
