"""The one filter suggester: completions of the term being typed, read as the language reads it.

The filter bar's inline completion and any list of suggestions come from here, so that nothing is
ever suggested that the parser would reject or read differently: only `!` negates (`-ve` is a bare
word, it gets no field), a value that needs quotes gets them, a value the language cannot hold
exactly (a double quote inside) or that cannot be typed (a control character) is not offered.

Ranking: field names in the field table's order; values of a field exact match first, then the
values starting with the typed part, then those containing it, each group by how many events hold
the value; then the values `field:~typed` matches within a typo (the filter's own fuzzy search,
`SearchText.fuzzy`, so a suggestion never promises what `~` would not find), fewest edits first,
then by events: `verb:wacth` still offers `verb:watch`. Counting reads every row, so counts are
kept until the policy changes or the rows grow by a sixteenth (`indexes.value_counts`); a
keystroke only walks the kept list (at most `MAX_VALUES` values, the most frequent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import OSA

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.query import indexes
from k8saudit_tui.engine.query.ahead import typos_fit
from k8saudit_tui.engine.query.facets import facet
from k8saudit_tui.engine.query.language import FIELDS, NEGATION, quote, split_terms
from k8saudit_tui.engine.query.textsearch import edits_allowed, fuzzy_hits
from k8saudit_tui.engine.store import EventStore

MAX_VALUES = 50_000
"""Values of one field kept for suggestions, the most frequent first (a hostile log may have a
distinct user per event; walking all of them would cost tens of ms a keystroke)."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One completion of the term being typed."""

    term: str
    """The whole term as it is to be typed: `!verb:`, `user:"system:kube proxy"`, `verb:get,list`."""
    count: int | None
    """Events holding the value; None for a field name."""
    note: str = ""
    """What a field matches (field names only)."""


@dataclass(frozen=True, slots=True)
class _Value:
    text: str
    typed: str
    """`text` as it is typed (quoted when it must be)."""
    lowered: str
    count: int


def suggest(text: str, store: EventStore | None, limit: int = 20) -> tuple[Suggestion, ...]:
    """Completions of the last term of `text` when the text ends inside it (nothing after a space)."""
    tokens = split_terms(text, partial=True)
    if not tokens or tokens[-1][1] + len(tokens[-1][0]) != len(text):
        return ()
    token = tokens[-1][0]
    negate = NEGATION if token.startswith(NEGATION) else ""
    body = token[len(negate) :]
    field, colon, value = body.partition(":")
    if not colon or field.startswith('"'):
        typed = body.lower()
        names = [name for name in FIELDS if name.startswith(typed)]
        return tuple(Suggestion(f"{negate}{name}:", None, FIELDS[name]) for name in names[:limit])
    name = field.lower()
    if name not in FIELDS or store is None or value.startswith("~"):
        return ()
    head, last = _last_value(value)
    partial = last.removeprefix('"').removesuffix('"').lower() if last.startswith('"') else last.lower()
    exact: list[_Value] = []
    prefix: list[_Value] = []
    inside: list[_Value] = []
    for candidate in _values(store, name):
        if partial and candidate.lowered == partial:
            exact.append(candidate)
        elif candidate.lowered.startswith(partial):
            prefix.append(candidate)
        elif partial in candidate.lowered:
            inside.append(candidate)
        if len(prefix) >= limit and (exact or not partial):
            break  # enough to show; without an exact match yet, one may still come (it goes first)
    ranked = exact + prefix + inside
    if len(ranked) < limit:
        ranked += _fuzzy(store, name, partial, {id(v) for v in ranked})
    ranked = ranked[:limit]
    return tuple(Suggestion(f"{negate}{field}:{head}{v.typed}", v.count) for v in ranked)


_TOKEN = re.compile(r"[a-z0-9]+")


def _fuzzy(store: EventStore, name: str, partial: str, taken: set[int]) -> list[_Value]:
    """The values of `name` that `name:~partial` matches and that are not `taken` (by id), by
    fewest edits (to the value or one of its tokens), then by events. None for a substring
    field (its `~` finds only what the substring tier found), a word that allows no edit, a
    subresource being typed, or a column whose typo index would pass the memory limit."""
    field = fields.by_filter_name[name]
    if field.substring or not edits_allowed(len(partial)):
        return []
    if field.kind == "resource" and "/" in partial:  # a subresource is being typed: `pods` is none
        return []
    candidates = [v for v in _values(store, name) if id(v) not in taken]
    if field.kind in ("string", "resource"):
        values = store.values(field.column)
        search = indexes.search_text(store, field.column, values, len(values))
        if not typos_fit(store, field.column, search, partial):  # its typo index would pass the memory limit
            return []
        matched = {str(values[i]).lower() for i in np.flatnonzero(search.fuzzy(partial)).tolist()}
        found = [v for v in candidates if v.lowered in matched]
    else:  # a few numbers or level names: matched one by one
        hits = fuzzy_hits(partial, [v.lowered for v in candidates]).tolist()
        found = [v for v, hit in zip(candidates, hits) if hit]
    return sorted(found, key=lambda v: (_edits(partial, v.lowered), -v.count))


def _edits(partial: str, lowered: str) -> int:
    """Edits from `partial` to the value or its closest token."""
    return min(OSA.distance(partial, part) for part in (lowered, *_TOKEN.findall(lowered)))


def complete(text: str, store: EventStore | None) -> str | None:
    """`text` with its last term completed: the first suggestion that extends what was typed
    (ignoring case), as an inline completion shows it; None when there is none."""
    tokens = split_terms(text, partial=True) if text else []
    if not tokens:
        return None
    typed = tokens[-1][0].casefold()
    before = text[: tokens[-1][1]]
    for suggestion in suggest(text, store):
        candidate = suggestion.term.casefold()
        if candidate != typed and candidate.startswith(typed):
            return before + suggestion.term
    return None


def _last_value(value: str) -> tuple[str, str]:
    """`a,b,"c` -> ("a,b,", '"c'): the values already typed, and the one being typed."""
    quoted, cut = False, 0
    for i, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            cut = i + 1
    return value[:cut], value[cut:]


def _values(store: EventStore, name: str) -> tuple[_Value, ...]:
    """The values of field `name` worth suggesting, most frequent first (counts kept a while: see
    `indexes.value_counts`)."""
    policy = store.evaluator if fields.by_filter_name[name].needs_policy else None
    return indexes.value_counts(store, name, len(store), policy, lambda: _count(store, name))


def _count(store: EventStore, name: str) -> tuple[_Value, ...]:
    """The values of `name` and their events, most first, as the facets count them; a resource
    also gets the events of all its subresources (`resource:pods` matches `pods/log` too)."""
    field = fields.by_filter_name[name]
    if field.kind in ("auditid", "time", "duration", "flag", "candidate", "change"):  # one each, typed, or no facet
        return ()
    pairs = [(value.label, value.events) for value in facet(store, name, limit=MAX_VALUES).values]
    if field.kind == "number":
        pairs = [(label, count) for label, count in pairs if label != "0"]  # 0: no response code
    elif field.kind == "resource":
        totals: dict[str, int] = {}
        for label, count in pairs:
            resource, slash, _ = label.partition("/")
            if slash:
                totals[label] = count
            totals[resource] = totals.get(resource, 0) + count
        pairs = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
    kept: list[_Value] = []
    for label, count in pairs:
        typed = quote(label)
        if typed and label.isprintable():
            kept.append(_Value(label, typed, label.lower(), count))
            if len(kept) == MAX_VALUES:
                break
    return tuple(kept)
