"""What a fuzzy term or a bare word pulled in: per field, the values it matched and their events.

Why: `user:~alice` or `secret` selects whatever is within a typo or contains the word, and a
responder must see what that was (alice@example.com, but also alice-admin) before trusting the
rows. So, for each fuzzy term (`field:~w`) and each bare word of a compiled filter, this counts,
among the rows the filter selected, the events of each value the term matched, per field.

Contract:
- The matched values are the very code tables the filter used (`filter._matching_codes`, cached
  in `indexes`), so a value listed here is one the filter matched, and `events` equals the rows
  of `filter text + field:value` (tested, and against a plain count row by row). Counting runs
  in the filter thread, so it must stay cheap: a fuzzy term's column is one gather and one
  `bincount` over the result rows; a bare word's result rows are counted once per request group
  (`indexes.requests`, as the filter decides them) and each field's values from those counts.
- Negated terms are left out (what they matched is not in the rows), as are fuzzy terms on a
  field that is not a dictionary-coded string or the resource (groups, code, auditID: their
  values are not codes per row). With alternatives (`a | b`) a term's values are counted over
  every result row.
- The result is frozen tuples: a UI thread may hold it while the loader appends rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.query import indexes
from k8saudit_tui.engine.query.ahead import typos_off
from k8saudit_tui.engine.query.filter import Filter, _matching_codes, gather
from k8saudit_tui.engine.query.language import Term
from k8saudit_tui.engine.query.textsearch import edits_allowed
from k8saudit_tui.engine.store import EventStore

DEFAULT_LIMIT = 3
"""Values shown per field (the rest is `more`)."""

_COUNTED_KINDS = frozenset({"string", "resource"})
"""Field kinds whose column holds one dictionary code per row (what a bincount counts)."""


@dataclass(frozen=True, slots=True)
class MatchedValue:
    """One value a term matched and the result rows holding it."""

    label: str
    events: int


@dataclass(frozen=True, slots=True)
class FieldMatch:
    """The values a term matched in one field, most events first (ties by value); `more` is
    how many other matched values the result rows hold, `events` the result rows holding any."""

    field: str
    values: tuple[MatchedValue, ...]
    more: int
    events: int


@dataclass(frozen=True, slots=True)
class TermMatch:
    """One fuzzy term or bare word (`text` as typed) and the fields where it matched values,
    the field with most events first, the URI last (it repeats the resource, namespace and name
    a word matched, so it says least); `exact_only`, the fields where it was matched without
    typos, their typo index being over the memory limit (`ahead.typos_fit`)."""

    text: str
    fields: tuple[FieldMatch, ...]
    exact_only: tuple[str, ...] = ()


def has_fuzzy(compiled: Filter) -> bool:
    """Whether the filter has a term whose matched values `matched_values` reports."""
    return any(_fields_of(term) for term in compiled.terms if not term.negate)


def matched_values(
    store: EventStore, compiled: Filter, rows: np.ndarray, limit: int = DEFAULT_LIMIT
) -> tuple[TermMatch, ...]:
    """Per fuzzy term and bare word of `compiled` (in the order typed), per field, the values it
    matched that the result `rows` hold, with their events among those rows."""
    rows = np.asarray(rows, np.int64)
    n = int(rows.max()) + 1 if len(rows) else 0
    grouped: tuple[dict[str, np.ndarray], np.ndarray] | None = None
    result: list[TermMatch] = []
    for term in compiled.terms:
        names = _fields_of(term) if not term.negate else ()
        if not names:
            continue
        found: list[FieldMatch] = []
        for name in names:
            column = fields.by_filter_name[name].column
            table = _matching_codes(store, column, store.values(column), "fuzzy", term)
            if not len(rows) or not table.any():
                continue
            if term.field is None and grouped is None:
                requests = indexes.requests(store, n)
                grouped = requests.columns, np.bincount(requests.row_group[rows], minlength=requests.count)
            group_codes = grouped[0].get(column) if term.field is None and grouped is not None else None
            if group_codes is not None and grouped is not None:  # per request group: see the contract
                hit = gather(table, group_codes)
                counts = np.bincount(group_codes[hit], weights=grouped[1][hit]).astype(np.int64)
            else:
                codes = store.column(column, n)[rows]
                counts = np.bincount(codes[gather(table, codes)])
            if counts.any():
                found.append(_field_match(name, store.values(column), counts, limit))
        found.sort(key=lambda match: (fields.by_filter_name[match.field].substring, -match.events))
        result.append(TermMatch(term.text, tuple(found), _without_typos(store, term, names)))
    return tuple(result)


def _without_typos(store: EventStore, term: Term, names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `names` whose typo index `ahead.typos_fit` refused, when `term` allows typos."""
    if not edits_allowed(len(term.values[0])):
        return ()
    searched = [fields.by_filter_name[name] for name in names]
    return tuple(field.name for field in searched if not field.substring and typos_off(store, field.column))


def _fields_of(term: Term) -> tuple[str, ...]:
    """The fields whose matched values are reported for `term` (none for other terms)."""
    field = term.field
    if field is None:
        return fields.BARE_WORD_FIELDS
    if term.kind == "fuzzy" and fields.by_filter_name[field].kind in _COUNTED_KINDS:
        return (field,)
    return ()


def _field_match(name: str, vocabulary: list[object], counts: np.ndarray, limit: int) -> FieldMatch:
    """The top `limit` values of the events per matched code `counts`, by events then value."""
    present = np.flatnonzero(counts)
    if len(present) > limit:  # only the values that can make it are sorted
        threshold = np.partition(counts[present], len(present) - limit)[len(present) - limit]
        candidates = present[counts[present] >= threshold]
    else:
        candidates = present
    top = sorted(candidates.tolist(), key=lambda code: (-int(counts[code]), str(vocabulary[code])))[:limit]
    values = tuple(MatchedValue(str(vocabulary[code]), int(counts[code])) for code in top)
    return FieldMatch(name, values, len(present) - len(values), int(counts.sum()))
