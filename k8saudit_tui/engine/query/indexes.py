"""The filter's indexes over a store: everything kept in `store.match_cache`, and only here.

A keystroke must not pay for lower-casing a million values or grouping a million rows, so these
are built once (`prepare`, when loading ends, or by the first filter that needs one) and extended
over new values or rows only (follow mode): search texts of the bare-word columns, the URI piece
index, the request groups, the per-term code tables and the value counts of suggestions.

Contract: every entry is an immutable value swapped whole (`match_cache[key] = new`), never
changed in place, because the loader's `prepare`, filter threads and the suggester's thread read
and extend them at once; the worst a race costs is building an entry twice. The keys are this
module's own: other modules go through the functions below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.query.interner import NO_KEYS as NO_KEYS
from k8saudit_tui.engine.query.interner import Interner
from k8saudit_tui.engine.query.language import FilterError, parse_terms
from k8saudit_tui.engine.query.take import take
from k8saudit_tui.engine.query.textsearch import EMPTY, SearchText, holding, joined

BARE_WORD_COLUMNS: tuple[str, ...] = tuple(fields.by_filter_name[name].column for name in fields.BARE_WORD_FIELDS)
"""The store columns a bare word searches."""


class Cached(Protocol):
    """What the indexes need of a store: its match cache and its columns."""

    match_cache: dict[tuple[Any, ...], Any]

    def column(self, name: str, n: int | None = None) -> np.ndarray: ...


# ------------------------------------------------------------------------------ term tables


def term_table(store: Cached, key: tuple[Any, ...], count: int, match: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """The code -> matched table of a term over a column's first `count` values, cached under
    `key`: `match(done, count)` decides values[done:count], those not decided before."""
    cache_key = ("term", *key)
    cached: np.ndarray | None = store.match_cache.get(cache_key)
    if cached is not None and len(cached) == count:
        return cached
    done = 0 if cached is None else len(cached)
    fresh = match(done, count)
    table = fresh if cached is None else np.concatenate([cached, fresh])
    store.match_cache[cache_key] = table
    return table


STALE_SHARE = 16
"""Suggestion counts are kept until the rows grew by 1/STALE_SHARE of those counted."""


def value_counts(
    store: Cached, name: str, rows: int, policy: object, count: Callable[[], tuple[Any, ...]]
) -> tuple[Any, ...]:
    """The suggester's value counts of field `name` over the first `rows` rows under `policy`
    (None for a field that does not depend on it), recounted (`count()`, which reads every row)
    when the policy changed or the rows grew by a sixteenth: following a busy log must not
    recount a million rows on the keystroke after every batch, and a count that misses the
    newest sixteenth of the rows ranks values as well."""
    key = ("counts", name)
    cached: tuple[int, object, tuple[Any, ...]] | None = store.match_cache.get(key)
    if cached is not None and cached[1] is policy and cached[0] <= rows <= cached[0] + cached[0] // STALE_SHARE:
        return cached[2]
    counted = count()
    store.match_cache[key] = (rows, policy, counted)
    return counted


# ------------------------------------------------------------------------------ search texts


def search_text(store: Cached, column: str, values: list[Any], count: int) -> SearchText:
    """The SearchText of values[:count] of `column`, cached and extended over new values only."""
    key = ("joined", column)
    search: SearchText = store.match_cache.get(key, EMPTY)
    if len(search) < count:
        search = search.extended(values[len(search) : count])
        store.match_cache[key] = search
    return search


URI_SEPARATORS = frozenset("?&\n")
"""A URI is cut into pieces at these characters (a query holding one searches whole URIs)."""

URI_CHUNK = 32_768
"""URIs split into pieces at a time when the piece index is built or extended."""

URI_TOKENS = ("joined", "uri-tokens")
"""The match cache's key of the _UriTokens."""


@dataclass(frozen=True)
class _UriTokens:
    """The distinct pieces of the distinct URIs, split at `?` and `&` (and newlines).

    A query without those characters occurs in a URI exactly when it occurs in one of its pieces.
    Watch URIs differ in resourceVersion and timeouts but share paths and most parameters, so
    the pieces are a fifth of the URI text: the substring search scans that, then the hits go to
    URIs through the (piece, URI) pairs: pair i is piece `pair_token[i]` of URI `pair_uri[i]`,
    in URI order (a URI per pair, not each URI's first pair: finding the URIs of many pairs
    from those cost a two-letter word 3-4 ms more at 3M events, measured). `ascii` has each
    URI's ASCII byte set (its pieces' sets ORed), so that a one-letter word, which most URIs
    hold, is a bit test per URI instead of a walk of the pairs.
    """

    uris: int
    pieces: SearchText
    pair_token: np.ndarray
    pair_uri: np.ndarray
    ascii_table: np.ndarray
    ascii_codes: np.ndarray
    """Each URI's byte set as a code into the distinct sets (`interned_sets`): URIs share a
    few thousand sets, so 2 bytes a URI instead of 16 (1.4 bytes an event at 1M events)."""


_NO_URI_TOKENS = _UriTokens(
    0, EMPTY, np.empty(0, np.int32), np.empty(0, np.int32), np.zeros((0, 2), np.uint64), np.zeros(0, np.uint16)
)


class _PieceCodes(dict[str, int]):
    """piece -> id; a miss (a piece not seen before) gets the next id and is noted in `fresh`."""

    def __init__(self, known: Any) -> None:
        super().__init__(known)
        self.fresh: list[str] = []

    def __missing__(self, piece: str) -> int:
        code = self[piece] = len(self)
        self.fresh.append(piece)
        return code


def _separators(uri: str) -> int:
    """How many places a lower-cased URI is cut at (see URI_SEPARATORS)."""
    return uri.count("?") + uri.count("&") + uri.count("\n")


def uri_tokens(store: Cached, values: list[Any], count: int) -> _UriTokens:
    """The URI piece index over values[:count], cached and extended over new values only."""
    tokens: _UriTokens = store.match_cache.get(URI_TOKENS, _NO_URI_TOKENS)
    if tokens.uris >= count:
        return tokens
    # The piece -> id dict is rebuilt from the text when new URIs come (follow mode), not kept:
    # a million-event log has ~80k pieces, and the store must stay under its memory budget.
    known = tokens.pieces.text.decode("utf-8", "surrogatepass").split("\n")[:-1]
    index = _PieceCodes(zip(known, range(len(known))))
    del known
    # All pieces of the new URIs in C-level passes: join, turn separators into newlines, split;
    # URI_CHUNK URIs at a time, so the lists of lowered URIs and pieces stay small (at 10M events
    # the pieces of a million URIs at once were ~400 MB for a moment).
    per_uris: list[np.ndarray] = []
    pair_tokens: list[np.ndarray] = []
    for begin in range(tokens.uris, count, URI_CHUNK):
        lowered = [str(v).lower() for v in values[begin : min(begin + URI_CHUNK, count)]]
        per_uris.append(np.fromiter(map(_separators, lowered), np.int64, len(lowered)) + 1)
        text = "\n".join(lowered).replace("?", "\n").replace("&", "\n")
        del lowered
        pieces_of = text.split("\n")
        del text
        pair_tokens.append(np.fromiter(map(index.__getitem__, pieces_of), np.int32, len(pieces_of)))
        del pieces_of
    added = joined(index.fresh)
    del index  # before anything kept is made (see textsearch.joined)
    per_uri = np.concatenate(per_uris)
    pair_token = np.concatenate(pair_tokens)
    pieces = tokens.pieces.extended_text(*added)
    firsts = np.cumsum(per_uri) - per_uri  # each URI's first pair (every URI has one)
    updated = _UriTokens(
        count,
        pieces,
        np.concatenate([tokens.pair_token, pair_token]),
        np.concatenate([tokens.pair_uri, np.repeat(np.arange(tokens.uris, count, dtype=np.int32), per_uri)]),
        *interned_sets(
            tokens.ascii_table, tokens.ascii_codes, np.bitwise_or.reduceat(pieces.ascii[pair_token], firsts, axis=0)
        ),
    )
    store.match_cache[URI_TOKENS] = updated
    return updated


def interned_sets(table: np.ndarray, codes: np.ndarray, sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(table, codes) of byte sets (two words each) with `sets` appended: the distinct sets, and
    the codes (uint16, or int32 past 65,536 sets) of the known ones, remapped, then of `sets`."""
    distinct, inverse = np.unique(np.concatenate([table, sets]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    dtype = np.uint16 if len(distinct) <= 1 << 16 else np.int32
    return distinct, np.concatenate([inverse[: len(table)][codes], inverse[len(table) :]]).astype(dtype)


def uri_hits(store: Cached, values: list[Any], count: int, query: str) -> np.ndarray:
    """Which of values[:count] (URIs) contain `query` (lower-case, without ? & or newline)."""
    tokens = uri_tokens(store, values, count)
    if len(query) == 1 and query < "\x80":
        holds: np.ndarray = holding(tokens.ascii_table, ord(query))[tokens.ascii_codes[:count]]
        return holds
    hits = np.zeros(count, bool)
    matched = tokens.pieces.containing(query)
    if count and matched.any():  # a URI matches when one of its pieces does
        pairs = len(tokens.pair_uri) if tokens.uris == count else int(np.searchsorted(tokens.pair_uri, np.int32(count)))
        hits[tokens.pair_uri[:pairs][take(matched, tokens.pair_token[:pairs])]] = True
    return hits


# ------------------------------------------------------------------------------ request groups


@dataclass(frozen=True)
class Requests:
    """Rows grouped by what a bare word sees of them: request attributes, object name and URI.

    The attributes (the store's "attr" code, what the policy checker saw) decide user, verb,
    resource and namespace; a group is one (attributes, name, URI). `row_group` is each row's
    group for rows [0, rows); `columns[c]` the code column c has in each group (in the column's
    own code dtype, widened with it), for each column every row agrees with (checked as rows
    come, so a store whose columns part from the attributes gives slower filters, never wrong
    ones). `attributes[g]` is group g's "attr" code
    (part of its key, so every row of it agrees): a term decided per attributes code, such as the
    bare word's `resource/subresource` text, folds into the groups with one gather over them
    instead of one over every row."""

    rows: int
    row_group: np.ndarray
    pairs: Interner | None
    groups: Interner | None
    columns: dict[str, np.ndarray]
    attributes: np.ndarray
    """`pairs` ((attributes, name) -> pair) and `groups` ((pair, URI) -> group) are what extending
    needs: None when built from row 0 (2.7 bytes an event at 1M events that only follow mode
    reads), rebuilt once from the groups' codes then (`_interners`)."""

    @property
    def count(self) -> int:
        """How many groups rows [0, rows) fall in."""
        return len(self.attributes)


_NO_REQUESTS = Requests(
    0,
    np.empty(0, np.int32),
    NO_KEYS,
    NO_KEYS,
    {c: np.empty(0, np.uint8) for c in BARE_WORD_COLUMNS},  # widened to each column's codes
    np.empty(0, np.int32),
)


REQUEST_CHUNK_ROWS = 1 << 20
"""Rows interned at a time. Every row's keys sorted at once took 67-71 bytes an event at the
peak (10M events: 670 MB, the largest step of `ahead.prepare`) and 6.5 s; a chunk at a time,
33 bytes at most (3M) and 2.5 s (10M)."""


def requests(store: Cached, n: int) -> Requests:
    """The Requests over rows [0, n), cached and extended over new rows only (follow mode), a
    chunk of REQUEST_CHUNK_ROWS at a time."""
    known: Requests = store.match_cache.get(REQUESTS, _NO_REQUESTS)
    keep = known.rows > 0  # follow mode keeps the interners, a build from row 0 does not
    while known.rows < n:
        stop = min(n, known.rows + REQUEST_CHUNK_ROWS)
        known = _built(store, known, stop, keep or stop < n)
    return known


REQUESTS = ("joined", "requests")
"""The request groups' key in the match cache."""
BY_REQUEST = ("joined", "by-request")
"""The rows-by-auditID index's key in the match cache (`auditids` owns its shape)."""


def _built(store: Cached, known: Requests, n: int, keep: bool) -> Requests:
    """`known` extended over rows [known.rows, n), cached; with its interners when `keep`."""
    begin = known.rows
    if known.pairs is None or known.groups is None:
        if not {"name", "uri"} <= known.columns.keys():  # never so (see `_interners`): from row 0
            return _built(store, _NO_REQUESTS, n, keep)
        known_pairs, known_groups = _interners(known)
    else:
        known_pairs, known_groups = known.pairs, known.groups
    attributes = store.column("attr", n)[begin:].astype(np.int64)
    pairs, pair_ids = known_pairs.intern((attributes << 32) | store.column("name", n)[begin:])
    groups, fresh = known_groups.intern((pair_ids.astype(np.int64) << 32) | store.column("uri", n)[begin:])
    grouped_attributes = np.concatenate([known.attributes, np.zeros(len(groups) - len(known.attributes), np.int32)])
    grouped_attributes[fresh] = attributes  # a group's key holds its attributes: all its rows agree
    columns: dict[str, np.ndarray] = {}
    for column, codes in known.columns.items():
        values = store.column(column, n)[begin:]
        # The column's own code dtype (uint8 for most): 4 bytes a group were 3 MB at 1M events.
        extended = np.concatenate([codes, np.zeros(len(groups) - len(codes), values.dtype)])
        older = fresh < len(codes)
        if np.array_equal(extended[fresh[older]], values[older]):
            extended[fresh[~older]] = values[~older]
            if np.array_equal(extended[fresh], values):
                columns[column] = extended
    grouped = Requests(
        n,
        np.concatenate([known.row_group, fresh]),
        pairs if keep else None,
        groups if keep else None,
        columns,
        grouped_attributes,
    )
    store.match_cache[REQUESTS] = grouped
    return grouped


def _interners(known: Requests) -> tuple[Interner, Interner]:
    """The pairs' and groups' interners of `known`, rebuilt from its groups' codes (a group's
    key holds its attributes, name and URI, so every group has them): pairs numbered afresh,
    groups keeping their numbers."""
    names, uris = known.columns["name"].astype(np.int64), known.columns["uri"].astype(np.int64)
    distinct, pair_of = np.unique((known.attributes.astype(np.int64) << 32) | names, return_inverse=True)
    pairs = Interner(distinct, np.arange(len(distinct), dtype=np.int32))
    keys = (pair_of.reshape(-1).astype(np.int64) << 32) | uris
    order = np.argsort(keys)
    return pairs, Interner(keys[order], order.astype(np.int32))


# ------------------------------------------------------------------------------ requests by auditID


def by_request(store: Cached, n: int, extend: Callable[[Any, int], Any]) -> Any:
    """The rows-by-auditID index over at least rows [0, n), cached: `extend(known, n)` (known None
    the first time) builds it over the rows added since (`auditids` owns its shape)."""
    known = store.match_cache.get(BY_REQUEST)
    if known is not None and known.rows >= n:
        return known
    updated = extend(known, n)
    store.match_cache[BY_REQUEST] = updated
    return updated


# ------------------------------------------------------------------------------ the next keystroke


def look_ahead(store: Cached, text: str) -> None:
    """Work the next keystroke will likely need, for a filter thread to do once this one's rows
    are out (the user is reading them, or typing the next letter).

    A filter ending in a one-letter bare word is the start of a word: its second letter will
    narrow the places of the first in each column's text (`SearchText.recent`), and finding those
    places is most of a two-letter search (the URI pieces are 4.4 MB at 1M events). A one-letter
    search itself only tests byte sets, so it finds no places; this finds them."""
    try:
        terms = parse_terms(text)
    except FilterError:
        return
    if not terms or terms[-1].field is not None or len(terms[-1].values[0]) != 1:
        return
    letter = terms[-1].values[0]
    tokens: _UriTokens | None = store.match_cache.get(URI_TOKENS)
    texts = [store.match_cache.get(("joined", column)) for column in BARE_WORD_COLUMNS]
    for search in [tokens.pieces if tokens is not None else None, *texts]:
        if search is not None:
            search.remember(letter)
