"""A compiled filter and the rows its terms select in a store.

Matching works on the distinct values of a column (a few thousand), never on rows: the codes whose
value matched are marked in a lookup table and the rows selected with one vectorised gather. How a
field is matched follows its kind in the one field table (`engine.fields`); the tables of fuzzy and
regex terms, the search texts and the request groups live in `indexes.py`, extended only over
values added since, so a keystroke or a follow-mode batch stays cheap.

Alternatives (`a b | c`) are masks ORed, each the AND of its terms. Time ranges and latency
comparisons are vectorised comparisons on their int64 column (`timefilter`). `written`, `drift`,
`candidate` and `change` read the verdict columns; without the policy (and for the last two the
candidate) they raise FilterError ("written: needs a policy") when the filter is applied, since no
row can be said to match or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.query import auditids, indexes
from k8saudit_tui.engine.query.ahead import typos_fit
from k8saudit_tui.engine.query.language import FilterError, Term, TermKind, parse_groups
from k8saudit_tui.engine.query.resource_paths import path_mask, path_table
from k8saudit_tui.engine.query.take import take
from k8saudit_tui.engine.query.textsearch import fuzzy_hits
from k8saudit_tui.engine.query.timefilter import Comparison, TimeRange, latency_mask, received_times, time_mask
from k8saudit_tui.engine.store import EventStore

_SUBSTRING_FIELDS = frozenset(field.name for field in fields.FIELDS if field.substring)
"""Long, high-cardinality columns where fuzzy means case-insensitive substring (fast and clear)."""

_STRING_FIELDS: dict[str, str] = {field.name: field.column for field in fields.FIELDS if field.kind == "string"}
"""Filter name -> store column of the dictionary-encoded string fields."""


@dataclass(frozen=True)
class Filter:
    """A compiled filter: alternatives (`groups`), each terms that must all hold; `apply`
    returns the matching row indices in view order. No group at all matches every row."""

    text: str
    groups: tuple[tuple[Term, ...], ...]

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    @property
    def terms(self) -> tuple[Term, ...]:
        """Every term of every alternative, in the order typed."""
        return tuple(term for group in self.groups for term in group)

    def mask(self, store: EventStore, n: int | None = None) -> np.ndarray:
        """Boolean mask over rows [0, n) (default: the rows loaded now)."""
        n = len(store) if n is None else n
        if not self.groups:
            return np.ones(n, bool)
        result = group_mask(store, self.groups[0], n)
        for group in self.groups[1:]:
            result |= group_mask(store, group, n)
        return result

    def apply(self, store: EventStore, rows: np.ndarray | None = None) -> np.ndarray:
        """Matching rows: of `rows` in their order if given, else of all rows in view order."""
        if rows is not None:
            rows = np.asarray(rows, np.int64)
            n = int(rows.max()) + 1 if len(rows) else 0
            return rows[self.mask(store, n)[rows]] if self.groups else rows
        n = len(store)
        if not self.groups:
            return store.view_order(n)
        mask = self.mask(store, n)
        if store.in_load_order(n):  # view order is 0..n-1: skip two gathers over every row
            return np.flatnonzero(mask)
        order = store.view_order(n)
        selected: np.ndarray = order[mask[order]]
        return selected


def compile_filter(text: str) -> Filter:
    """Parse filter text; raises FilterError (and nothing else) for a term that does not parse."""
    return Filter(text, parse_groups(text))


def group_mask(store: EventStore, terms: tuple[Term, ...], n: int) -> np.ndarray:
    """Rows [0, n) that satisfy every term of one alternative."""
    result = np.ones(n, bool)
    for term in terms:
        selected = term_mask(store, term, n)
        if term.negate:
            result &= ~selected
        else:
            result &= selected
    return result


def term_mask(store: EventStore, term: Term, n: int) -> np.ndarray:
    """Rows [0, n) that satisfy `term` (before negation)."""
    if term.field is None:
        return bare_word_mask(store, term, n)
    return field_mask(store, term.field, term.kind, term, n)


def bare_word_mask(store: EventStore, term: Term, n: int) -> np.ndarray:
    """Rows where any bare-word column matches `term` fuzzily.

    A column is a gather over every row (2-4 ms at 1M rows, six columns); instead the columns'
    hits are ORed per request group (`indexes.requests`: 139k groups for 1M events), the
    `pods/log` texts too (by each group's attributes), and gathered over the rows once (at 10M
    rows, 13 ms). A column the groups do not decide (never seen, but checked) is gathered alone."""
    requests = indexes.requests(store, n)
    per_group = np.zeros(requests.count, bool)
    alone: list[np.ndarray] = []
    for column in indexes.BARE_WORD_COLUMNS:
        table = _matching_codes(store, column, store.values(column), "fuzzy", term)
        if not table.any():
            continue
        codes = requests.columns.get(column)
        if codes is not None:
            per_group |= gather(table, codes)
        else:
            alone.append(gather(table, store.column(column, n)))
    match = lambda texts: match_values(texts, "fuzzy", term, "resource")  # noqa: E731
    paths = path_table(store, match, subresources_only=True)  # `pods/log`
    if paths.any():
        per_group |= gather(paths, requests.attributes)
    # the groups may cover more rows; a word found nowhere skips the gather (10M rows: 11 ms)
    result = take(per_group, requests.row_group[:n]) if per_group.any() else np.zeros(n, bool)
    for hits in alone:
        result |= hits
    return result


def field_mask(store: EventStore, name: str, kind: TermKind, term: Term, n: int) -> np.ndarray:
    """Rows [0, n) whose field `name` matches `term` as `kind` (before negation). A field the loaded
    policy decides (rule, level, written, ...) is an error without one, never "no rule matched"."""
    field = fields.by_filter_name[name]
    field_kind = field.kind
    if field.needs_policy and store.evaluator is None:
        raise FilterError(term.text, term.position, f"{name}: needs a policy (load one to filter on {name}:)")
    if field_kind == "string":
        column = _STRING_FIELDS[name]
        table = _matching_codes(store, column, store.values(column), kind, term)
        if not table.any():
            return np.zeros(n, bool)
        return gather(table, store.column(column, n))
    if field_kind == "resource":
        return _resource_mask(store, kind, term, n)
    if field_kind == "groups":
        return _group_mask(store, kind, term, n)
    if field_kind == "annotation":
        return _annotation_mask(store, kind, term, n)
    if field_kind in ("level", "candidate", "change"):
        if field_kind != "level" and store.candidate_evaluator is None:
            raise FilterError(term.text, term.position, f"{name}: needs a policy and a candidate (--candidate)")
        vocabulary = fields.CHANGES if field_kind == "change" else (*LEVELS, "unknown")  # index -2: unknown
        table = np.append(match_values(list(vocabulary), kind, term, name), False)  # index -1: no policy
        levels: np.ndarray = table[store.column(fields.by_filter_name[name].column, n)]  # int8: -1, -2 wrap
        return levels
    if field_kind in ("number", "rule"):
        return _number_mask(store, name, kind, term, n)
    if field_kind == "auditid":
        return _auditid_mask(store, kind, term, n)
    if field_kind == "time":
        assert isinstance(term.bound, TimeRange)
        every = received_times(store, len(store))  # "the end of the log" is over every loaded row
        return time_mask(every, term.bound)[:n]
    if field_kind == "duration":
        assert isinstance(term.bound, Comparison)
        try:
            latencies = store.column(fields.by_filter_name[name].column, n)
        except KeyError:  # a store from before the latency column
            raise FilterError(term.text, term.position, f"{name}: not recorded by this version's store") from None
        return latency_mask(latencies, term.bound)
    if field_kind == "flag":
        return _flag_mask(store, name, term, n)
    raise ValueError(f"field {name!r} cannot be filtered on")  # the parser knows no such field


_FEW_CODES = 4
"""Up to this many matching codes, comparing the codes column is cheaper than a gather."""


def gather(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """table[codes], tolerating codes of values added after the table was built.

    With a few matching codes, `codes == c` per code (a vectorised compare) beats the gather
    (a random read per row): a bare word often matches one resource or namespace in a million rows.
    """
    matching = np.flatnonzero(table)
    if len(matching) <= _FEW_CODES:
        result = np.zeros(len(codes), bool)
        for code in matching.tolist():
            result |= codes == code
        return result
    if len(codes) and len(table) <= int(codes.max(initial=0)):
        table = np.concatenate([table, np.zeros(int(codes.max()) + 1 - len(table), bool)])
    return take(table, codes)  # not np.take over all rows, nor indexing: see take.py


def gather_values(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """table[codes] for a signed integer table (-1 for codes of values added after it was built)."""
    if len(codes) and len(table) <= int(codes.max(initial=0)):
        table = np.concatenate([table, np.full(int(codes.max()) + 1 - len(table), -1, table.dtype)])
    return take(table, codes)


def _matching_codes(store: EventStore, column: str, values: list[Any], kind: TermKind, term: Term) -> np.ndarray:
    """Lookup table code -> matched; fuzzy and regex tables are cached (`indexes.term_table`)."""
    count = len(values)
    if kind == "exact":
        table = np.zeros(count, bool)
        index = store._dicts[column].index
        for value in term.values:
            code = index.get(value)
            if code is not None and code < count:
                table[code] = True
        return table
    if kind == "fuzzy":
        query = term.values[0]
        return indexes.term_table(
            store,
            (column, kind, term.values, None),
            count,
            lambda done, count: fuzzy_codes(store, column, values, done, count, query),
        )
    pattern = term.pattern.pattern if term.pattern else None
    return indexes.term_table(
        store,
        (column, kind, term.values, pattern),
        count,
        lambda done, count: match_values(values[done:count], kind, term, column),
    )


def match_values(values: list[str], kind: TermKind, term: Term, field: str) -> np.ndarray:
    """Which of `values` match: exact, regex search, substring or fuzzy score (the plain way:
    every value looked at, which the indexed paths are tested against)."""
    if not values:
        return np.zeros(0, bool)
    if kind == "exact":
        wanted = set(term.values)
        return np.fromiter((v in wanted for v in values), bool, len(values))
    if kind == "regex":
        assert term.pattern is not None
        search = term.pattern.search
        return np.fromiter((search(v) is not None for v in values), bool, len(values))
    query = term.values[0]
    lowered = [v.lower() for v in values]
    contains = np.fromiter((query in v for v in lowered), bool, len(values))
    if field in _SUBSTRING_FIELDS:
        return contains
    hits: np.ndarray = contains | fuzzy_hits(query, lowered)
    return hits


def fuzzy_codes(store: indexes.Cached, column: str, values: list[Any], done: int, count: int, query: str) -> np.ndarray:
    """Fuzzy match of values[done:count] through the column's cached SearchText (textsearch.py):
    a substring for the long columns, a substring or a close rapidfuzz score for the others."""
    if column == "uri" and not indexes.URI_SEPARATORS.intersection(query):
        return indexes.uri_hits(store, values, count, query)[done:count]
    search = indexes.search_text(store, column, values, count)
    if fields.by_column[column].substring or not typos_fit(store, column, search, query):  # matched.py says so
        return search.containing(query, done, count)
    return search.fuzzy(query, done, count)


def _resource_mask(store: EventStore, kind: TermKind, term: Term, n: int) -> np.ndarray:
    """resource:pods matches pods and its subresources; resource:pods/log only that subresource."""
    if kind != "exact":  # fuzzy and regex read resource/subresource as one text
        return path_mask(store, n, lambda texts: match_values(texts, kind, term, "resource"))
    resources = store.column("resource", n)
    subresources = store.column("subresource", n)
    resource_index = store._dicts["resource"].index
    sub_index = store._dicts["subresource"].index
    result = np.zeros(n, bool)
    for value in term.values:
        resource, slash, subresource = value.partition("/")
        code = resource_index.get(resource)
        if code is None:
            continue
        selected = resources == code
        if slash:
            sub_code = sub_index.get(subresource)
            if sub_code is None:
                continue
            selected &= subresources == sub_code
        result |= selected
    return result


def _group_mask(store: EventStore, kind: TermKind, term: Term, n: int) -> np.ndarray:
    """Rows whose user has at least one group that matches (groups are interned tuples)."""
    tuples = store.values("group")
    names = sorted({group for groups in tuples for group in groups})
    matched_names = match_values(names, kind, term, "group")
    wanted = {name for name, hit in zip(names, matched_names.tolist()) if hit}
    table = np.fromiter((any(g in wanted for g in groups) for groups in tuples), bool, len(tuples))
    return gather(table, store.column("group", n))


def _annotation_mask(store: EventStore, kind: TermKind, term: Term, n: int) -> np.ndarray:
    """Rows with an annotation that matches: exact `KEY` is present (whatever its value), exact
    `KEY=VALUE` that pair; fuzzy and regex search the `key=value` text. Rows hold interned tuples of
    `key=value` strings, so this decides each distinct tuple once and gathers."""
    tuples = store.values("annotations")
    members = sorted({member for pairs in tuples for member in pairs})
    if kind == "exact":
        wanted = set(term.values)
        hits = [member in wanted or member.split("=", 1)[0] in wanted for member in members]
    else:
        hits = match_values(members, kind, term, "annotation").tolist()
    matched = {member for member, hit in zip(members, hits) if hit}
    table = np.fromiter((any(m in matched for m in pairs) for pairs in tuples), bool, len(tuples))
    return gather(table, store.column("annotations", n))


def _number_mask(store: EventStore, name: str, kind: TermKind, term: Term, n: int) -> np.ndarray:
    """code and rule: exact numbers (and 4xx classes, rule none), or regex/fuzzy on their text, in
    the column's own dtype; an int16 column's distinct numbers by a count, not a sort of every row."""
    column = store.column(name, n)
    if kind == "exact":
        result = np.zeros(n, bool)
        for value in term.values:
            if value in ("none", "unknown"):  # -1 no rule matched, -2 unknown (policy.lossy)
                result |= column == (-1 if value == "none" else -2)
            elif value.endswith("xx"):
                low = int(value[0]) * 100
                result |= (column >= low) & (column < low + 100)
            else:  # numpy 2 compares a number an int16 cannot hold as unequal (tested)
                result |= column == int(value)
        return result
    if column.dtype == np.int16:
        biased = column.view(np.uint16) ^ np.uint16(0x8000)  # value + 32768, in the values' order
        table = np.zeros(1 << 16, bool)
        table[biased] = True  # not np.bincount: it casts to int64 first (see `gather`)
        present = np.flatnonzero(table)
        labels = [_number_label(name, value - 0x8000) for value in present.tolist()]
        table[present] = match_values(labels, kind, term, name)
        by_value: np.ndarray = table[biased]
        return by_value
    uniques, inverse = np.unique(column, return_inverse=True)
    labels = [_number_label(name, int(u)) for u in uniques.tolist()]
    matched: np.ndarray = match_values(labels, kind, term, name)[inverse.reshape(-1)]
    return matched


def _number_label(name: str, value: int) -> str:
    if name == "rule" and value == -2:
        return "unknown"
    if value < 0 or (name == "code" and value == 0):
        return "none"
    return str(value)


def _auditid_mask(store: EventStore, kind: TermKind, term: Term, n: int) -> np.ndarray:
    """auditID: exact against the column's keys (equal keys, equal IDs); regex/substring over the
    ID of each distinct request (`auditids.matching`), never a sort of every row."""
    column = store.column("auditid", n)
    if kind == "exact":
        result = np.zeros(n, bool)
        for value in term.values:
            key = store.auditid_key(value)
            if key is not None:
                result |= column == key
        return result
    substring = term.values[0] if kind == "fuzzy" else None  # auditID's fuzzy is a substring
    return auditids.matching(store, n, lambda texts: match_values(texts, kind, term, "auditid"), substring)


def _flag_mask(store: EventStore, name: str, term: Term, n: int) -> np.ndarray:
    """written (not omitted by the loaded policy) or drift (recorded level != the policy's level)
    is yes; an event whose recorded level is not a level (missing) is neither drift:yes nor no."""
    if name == "written":  # omitted: 0, 1, or 2 unknown (policy.lossy)
        omitted = store.column("omitted", n)
        yes = omitted == 0
        known = omitted != 2
    else:
        # int8 both (the level column is): at 10M rows int64 copies were 80 MB each, 0.4 s in all
        recorded, level = recorded_levels(store, n, np.int8), store.column("level", n)
        known = (recorded >= 0) & (level != -2)  # an unknown level (policy.lossy) is neither
        yes = known & (recorded != level)
    result = ~known if "unknown" in term.values else np.zeros(n, bool)
    if "yes" in term.values:
        result |= yes
    if "no" in term.values:
        result |= known & ~yes
    return result


def recorded_levels(store: EventStore, n: int, dtype: type[np.signedinteger[Any]] = np.int64) -> np.ndarray:
    """The recorded level of rows [0, n) as an index in LEVELS (`dtype`), -1 when not a level."""
    vocabulary = store.values("recorded")
    as_level = np.array([LEVELS.index(v) if v in LEVELS else -1 for v in vocabulary], dtype)
    return gather_values(as_level, store.column("recorded", n))
