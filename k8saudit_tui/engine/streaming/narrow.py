"""Deciding a filter on each decoded line, without a store, when every term allows it.

Why: a streamed export must decode every line anyway (a line's problems and the event count are
those of a full parse), and `EventFields` is the decoder that says whether a line is an Event.
Building a store of the range on top (encoding every column, request attributes, the filter's code
tables) cost ten times the decode of the few candidates it kept. For a filter whose every term is
an exact (or negated exact) value of a field stored as one string of the event as is, the decoded
`EventFields` already hold what the store's filter compares: the term holds when that string is
one of the values, as `filter._matching_codes` finds its code.

Contract (`narrow_range`): for the lines of a range that the parser would take in its fast pass
(the line starts with `{`, decodes as `EventFields`, `kind` is Event or absent, a known stage and a
verb: `batch._fast_block`'s check), the selected line indices, their stage times (as the
encoder's "time" column) and the count of such events; every other line (blank, prefixed,
EventList, refused, escaped beyond the decoder, deeply nested) is listed in `rest` for the store
path (`ranges`), which reads it exactly as the parser does. A line is one or the other: the parse
is the same line for line, so the union is the store's reading (tested against it with random
lines and filters: `tests/test_streaming_narrow.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from k8saudit_tui.engine.logs.event import EventFields
from k8saudit_tui.engine.logs.timestamps import parse_times
from k8saudit_tui.engine.model import STAGES

if TYPE_CHECKING:  # read, never imported here: a worker of the narrow path boots without them (~0.1 s)
    from k8saudit_tui.engine.query.filter import Filter
    from k8saudit_tui.engine.query.language import Term

BLOCK_LINES = 256
"""`batch.BLOCK_LINES` (a test keeps them equal), not imported: `batch` brings the encoder and
its columns, which a worker of the narrow path never uses."""

Getter = Callable[[list[EventFields]], list[str]]
"""A field's stored value for each event of a block (the encoder's reading: "" when absent)."""

_DECODE = msgspec.json.Decoder(EventFields).decode
_DECODE_LINES = msgspec.json.Decoder(EventFields).decode_lines
_KIND, _STAGE, _VERB = attrgetter("kind"), attrgetter("stage"), attrgetter("verb")
_USER, _REF, _IPS = attrgetter("user"), attrgetter("objectRef"), attrgetter("sourceIPs")
_USERNAME, _NAMESPACE, _NAME = attrgetter("username"), attrgetter("namespace"), attrgetter("name")
_RESOURCE, _SUBRESOURCE = attrgetter("resource"), attrgetter("subresource")
_EVENT_KINDS = frozenset({None, "Event"})
_STAGE_NAMES = frozenset(STAGES)
_BRACE, _CLOSING, _NEWLINE = ord("{"), ord("}"), ord("\n")

NARROW_THRESHOLDS = (8 << 20, 32 << 20)
"""(mmap, trim) heap thresholds of a worker reading narrowly: a range's bytes (4-6 MB) come from
the heap and its freed block serves the next range, instead of a new mapping faulted in page by
page (a tenth of a worker's CPU, measured: 0.11 -> 0.05 s system time for 200k events). The trim
threshold is above what a range frees at the heap's top at once (its bytes and the newline mask
of `narrow_range`, 8-12 MB): at 8 MB the heap was given back and faulted in again at every range
(1,500 page faults a range, 0.6 CPU-s of system time per 1M events over the workers; the peak
resident size is the same)."""


def _plain(getter: Callable[[EventFields], str]) -> Getter:
    return lambda events: list(map(getter, events))


def _users(events: list[EventFields]) -> list[str]:
    return [user.username if user is not None else "" for user in map(_USER, events)]


def _of_ref(getter: Callable[[object], str]) -> Getter:
    def values(events: list[EventFields]) -> list[str]:
        return [getter(ref) if ref is not None else "" for ref in map(_REF, events)]

    return values


def _ips(events: list[EventFields]) -> list[str]:
    return [ips[0] if ips else "" for ips in map(_IPS, events)]


def references(events: list[EventFields]) -> list[tuple[str, str]]:
    """(resource, subresource): the store's two columns ("" and "" without an objectRef)."""
    return [(ref.resource, ref.subresource) if ref is not None else ("", "") for ref in map(_REF, events)]


GETTERS: dict[str, Getter] = {
    "verb": _plain(_VERB),
    "stage": _plain(_STAGE),
    "ua": _plain(attrgetter("userAgent")),
    "uri": _plain(attrgetter("requestURI")),
    "user": _users,
    "ns": _of_ref(_NAMESPACE),
    "name": _of_ref(_NAME),
    "ip": _ips,
}
"""The string fields the encoder stores as the event's own string (or "" when absent)."""

Test = Callable[[list[EventFields]], list[bool]]
"""Whether a term holds (before negation) for each event of a block."""


@dataclass(frozen=True)
class NarrowTerm:
    """One term: whether it holds for each event of a block, and whether it is negated."""

    test: Test
    negate: bool

    def holds(self, events: list[EventFields]) -> list[bool]:
        found = self.test(events)
        return [not hit for hit in found] if self.negate else found


Narrow = tuple[tuple[NarrowTerm, ...], ...]
"""Alternatives, each terms that must all hold."""

Spec = tuple[tuple[tuple[str, tuple[str, ...], bool], ...], ...]
"""A narrow filter as plain data: alternatives of (field, exact values, negated) terms. It is what
a worker is sent (a `Filter` would import the query and store packages there: ~0.1 s a worker)."""


def spec_of(selection: Filter) -> Spec | None:
    """The filter as plain terms (() for the empty filter: every event is selected), or None
    when a term needs the store (anything but exact terms on GETTERS' fields and resource)."""
    groups = []
    for group in selection.groups:
        terms = []
        for term in group:
            if not _narrow_term(term):
                return None
            terms.append((str(term.field), tuple(term.values), term.negate))
        groups.append(tuple(terms))
    return tuple(groups)


def _narrow_term(term: Term) -> bool:
    return term.kind == "exact" and (term.field in GETTERS or term.field == "resource")


def compile_spec(spec: Spec) -> Narrow:
    """The per-event tests of a spec."""
    return tuple(tuple(NarrowTerm(_test(name, values), negate) for name, values, negate in group) for group in spec)


def narrow_filter(selection: Filter) -> Narrow | None:
    """`compile_spec(spec_of(selection))`, or None when the filter is not narrow."""
    spec = spec_of(selection)
    return None if spec is None else compile_spec(spec)


def _test(name: str, values: tuple[str, ...]) -> Test:
    if name == "resource":
        return _resource_test(values)
    getter = GETTERS[name]
    wanted = frozenset(values)
    return lambda events: [value in wanted for value in getter(events)]


def _resource_test(values: tuple[str, ...]) -> Test:
    """resource:pods holds for pods and its subresources, resource:pods/log for that one
    (`filter._resource_mask`: the value is cut at its first `/`)."""
    parts = [value.partition("/") for value in values]
    bare = frozenset(resource for resource, slash, _ in parts if not slash)
    whole = frozenset((resource, subresource) for resource, slash, subresource in parts if slash)

    def test(events: list[EventFields]) -> list[bool]:
        return [pair[0] in bare or pair in whole for pair in references(events)]

    return test


@dataclass
class NarrowRange:
    """A range decided line by line: see the module's contract. Line indices are 0-based."""

    starts: np.ndarray
    """Where each line starts in the range, and one past the last line's newline."""
    selected: np.ndarray
    times: np.ndarray
    events: int
    rest: np.ndarray
    """Per line: whether the store path must read it."""
    kept: list[Any]
    """With a `keep`, what it read of the selected events, in order (`times` is then empty)."""


Keep = Callable[[list[EventFields]], list[Any]]
"""What a caller reads of some selected events instead of their stage times (`narrow_top`)."""


def narrow_range(data: bytes, final: bool, groups: Narrow, keep: Keep | None = None) -> NarrowRange:
    """Decide the lines of `data` (the parser's line split: a last line without newline only
    when `final`) under `groups` (alternatives of terms that must all hold); of the selected
    events, keep their stage times, or with `keep` what it reads of them."""
    text = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(text == _NEWLINE)
    if final and len(data) and data[-1] != _NEWLINE:
        ends = np.append(ends, len(data))  # the last line, without its newline
    n = len(ends)
    starts = np.zeros(n + 1, np.int64)
    starts[1:] = ends + 1
    lengths = ends - starts[:-1]
    last = max(len(data) - 1, 0)
    opens = (lengths > 0) & (text[np.minimum(starts[:-1], last)] == _BRACE) if n else lengths > 0
    whole = opens & (text[np.maximum(ends - 1, 0)] == _CLOSING) if n else opens
    view = memoryview(data)
    rest = np.zeros(n, bool)
    selected: list[int] = []
    stamps: list[str] = []
    kept: list[Any] = []
    for begin in range(0, n, BLOCK_LINES):
        end = min(begin + BLOCK_LINES, n)
        closed = bool(whole[begin:end].all())
        events = _lines_block(view[starts[begin] : starts[end]], end - begin) if closed else None
        block: list[bytes] = []
        if events is None and not closed and opens[begin:end].all():  # a closed block failed line by line too
            block = _pieces(data, starts[begin:end], ends[begin:end])
            events = _plain_block(block)
        if events is None:  # line by line: which are plain Events, which need the store path
            block = block or _pieces(data, starts[begin:end], ends[begin:end])
            events, numbers = [], []
            for number, piece in enumerate(block, begin):
                event = _plain_line(piece) if opens[number] else None
                if event is None:
                    rest[number] = True
                else:
                    events.append(event)
                    numbers.append(number)
            chosen = _decide(events, groups)
            selected.extend(numbers[index] for index in chosen)
        else:
            chosen = _decide(events, groups)
            selected.extend(begin + index for index in chosen)
        if keep is None:
            stamps.extend(events[index].stage_time for index in chosen)
        elif chosen:
            kept.extend(keep(events if len(chosen) == len(events) else [events[index] for index in chosen]))
    events_read = n - int(np.count_nonzero(rest))
    return NarrowRange(starts, np.array(selected, np.int64), parse_times(stamps), events_read, rest, kept)


def _pieces(data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[bytes]:
    return [data[first:stop] for first, stop in zip(starts.tolist(), ends.tolist())]


def _lines_block(lines: memoryview, count: int) -> list[EventFields] | None:
    """The events of `count` lines (each starting with `{` and ending with `}`) decoded in one
    pass without splitting them (a tenth of a worker's CPU was the split's copies, measured),
    when every line is a plain Event, else None.

    Why this is the per-line reading: `decode_lines` reads whitespace-separated values, which may
    share a line or span lines; but no value spans a line that ends with `}` into one that starts
    with `{` (inside a container a `}` is followed by `,`, `]` or `}`, and a string cannot hold a
    raw newline), so each line holds whole values, at least one; `count` values are then exactly
    one a line, decoded from the line's own bytes."""
    try:
        events = _DECODE_LINES(lines)
    except Exception:  # any failure: the block is read line by line
        return None
    if len(events) != count:
        return None
    return events if _all_plain(events) else None


def _plain_block(block: list[bytes]) -> list[EventFields] | None:
    """The block's events when every line is a plain Event (one C-level pass), else None."""
    try:
        events = list(map(_DECODE, block))
    except Exception:  # any failure: the line-by-line reading says which
        return None
    return events if _all_plain(events) else None


def _all_plain(events: list[EventFields]) -> bool:
    """Whether every event is one the parser's fast pass takes (`batch._fast_block`'s check)."""
    return (
        _EVENT_KINDS.issuperset(map(_KIND, events))
        and _STAGE_NAMES.issuperset(map(_STAGE, events))
        and "" not in map(_VERB, events)
    )


def _plain_line(piece: bytes) -> EventFields | None:
    """The line's event when the parser's fast pass would take it alone, else None."""
    try:
        event = _DECODE(piece)
    except Exception:
        return None
    if event.kind in _EVENT_KINDS and event.stage in _STAGE_NAMES and event.verb != "":
        return event
    return None


def _decide(events: list[EventFields], groups: Narrow) -> list[int]:
    """Indices of the events some alternative selects (in order); without one, every event."""
    if not events:
        return []
    if not groups:
        return list(range(len(events)))
    if len(groups) == 1 and len(groups[0]) == 1:
        return [index for index, hit in enumerate(groups[0][0].holds(events)) if hit]
    result = np.zeros(len(events), bool)
    for group in groups:
        holds = np.ones(len(events), bool)
        for term in group:
            holds &= np.array(term.holds(events), bool)
        result |= holds
    chosen: list[int] = np.flatnonzero(result).tolist()
    return chosen
