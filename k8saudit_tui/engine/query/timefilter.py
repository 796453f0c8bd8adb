"""Time ranges (`time:A..B`) and latency comparisons (`latency:>1s`): their parse and their masks.

Logs are history, so "now" is the end of the log, not the wall clock: a time of day and a duration
back (`-15m`) are read against `latest`, the latest known time among the loaded events, when the
filter runs (a followed log moves `time:-15m..` along with it). That is why a parsed point keeps
what it is anchored to (`TimePoint.anchor`) and `resolve` turns it into nanoseconds only then.

    time:A..B     A <= time < B (A inclusive, B exclusive); either end may be empty
    time:A        the unit A names: a date is that day (UTC), 10:15 that minute, 10:15:30 that
                  second, 10:15:30.5 that tenth of a second; a duration alone is an error
    A, B          2024-05-01 (00:00 UTC), 2024-05-01T10:00[:00[.fff]] with Z or +02:00 (no zone
                  is UTC); 10:00[:00[.fff]] on the UTC date of the latest event; -15m, -2h, -7d,
                  -30s, -1h30m back from the latest event
    latency:OPn   OP one of > >= < <= =, n a number with a unit ns us ms s m (stageTimestamp
                  minus requestReceivedTimestamp)

An unknown time (0) never matches a time range, an unknown latency (-1) never matches a
comparison: `!time:..` selects exactly the events without a time. Parse errors are `ValueError`s
whose text says what was expected; `language` turns them into FilterErrors naming the term (this
module knows no terms, so that the language and the matcher share it without an import cycle).
The masks are vectorised comparisons on the int64 column (rows need not be in time order); the
`plain_*` functions are the per-row readings they are tested against.
"""

from __future__ import annotations

import calendar
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol

import numpy as np

from k8saudit_tui.engine import fields

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
DAY = 86_400 * SECOND
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

Anchor = Literal["absolute", "clock", "ago"]

_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
_CLOCK = r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
_ZONE = r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})?"
_DATE_TIME = re.compile(rf"{_DATE}(?:[Tt]{_CLOCK}{_ZONE})?")
_TIME_OF_DAY = re.compile(_CLOCK)
_AGO = re.compile(r"-(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_AGO_UNITS = {"d": DAY, "h": 3600 * SECOND, "m": MINUTE, "s": SECOND}

EXPECTED_TIME = (
    "a date (2024-05-01), a date and time (2024-05-01T10:00:00Z, +02:00), a time of day (10:15)"
    " or a duration back from the latest event (-15m, -2h, -7d, -1h30m)"
)


@dataclass(frozen=True, slots=True)
class TimePoint:
    """One end of a time range: `nanos` since the epoch (absolute), since 00:00 of the latest
    event's UTC date (clock), or back from the latest event (ago); `unit` is the length of what
    the text names (a day, a minute, ...), which a single value without `..` spans."""

    anchor: Anchor
    nanos: int
    unit: int


@dataclass(frozen=True, slots=True)
class TimeRange:
    """`start <= time < end`; None is an open end."""

    start: TimePoint | None
    end: TimePoint | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """`latency OP nanos`."""

    op: str
    nanos: int


def parse_time_range(value: str) -> TimeRange:
    """`A..B`, `A..`, `..B`, `..` or a single A (the unit it names); ValueError when unreadable."""
    start_text, dots, end_text = value.partition("..")
    if not dots:
        point = parse_time_point(value)
        if point.anchor == "ago":
            raise ValueError(f"a duration alone is no range: write {value}.. for the time since then")
        return TimeRange(point, TimePoint(point.anchor, point.nanos + point.unit, point.unit))
    if ".." in end_text:
        raise ValueError("one '..' between the two ends (A..B)")
    start = parse_time_point(start_text) if start_text else None
    end = parse_time_point(end_text) if end_text else None
    return TimeRange(start, end)


def parse_time_point(text: str) -> TimePoint:
    """One end: RFC 3339 date or date-time, a time of day, or a duration back (-15m)."""
    if text.startswith("-"):
        ago = _AGO.fullmatch(text)
        if ago is None or text == "-":
            raise ValueError(f"bad duration {text!r}: expected -30s, -15m, -2h, -7d or -1h30m")
        return TimePoint("ago", sum(int(ago[unit] or 0) * size for unit, size in _AGO_UNITS.items()), 0)
    clock = _TIME_OF_DAY.fullmatch(text)
    if clock is not None:
        nanos, unit = _clock_nanos(clock, text)
        return TimePoint("clock", nanos, unit)
    moment = _DATE_TIME.fullmatch(text)
    if moment is None:
        raise ValueError(f"bad time {text!r}: expected {EXPECTED_TIME}")
    try:
        day = date(int(moment["year"]), int(moment["month"]), int(moment["day"]))
    except ValueError:
        raise ValueError(f"bad date {text!r}: no such day") from None
    nanos = calendar.timegm(day.timetuple()) * SECOND
    if moment["hour"] is None:
        return TimePoint("absolute", nanos, DAY)
    clock_nanos, unit = _clock_nanos(moment, text)
    zone = moment["zone"]
    if zone and zone not in "Zz":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad offset {zone!r} in {text!r}: expected +HH:MM")
        offset = (hours * 60 + minutes) * MINUTE
        nanos -= offset if zone[0] == "+" else -offset
    return TimePoint("absolute", nanos + clock_nanos, unit)


def _clock_nanos(match: re.Match[str], text: str) -> tuple[int, int]:
    """(nanoseconds since 00:00, the unit the text names) of HH:MM[:SS[.fff]]."""
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"]) if match["second"] is not None else 0
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"bad time of day in {text!r}: hours 00-23, minutes and seconds 00-59")
    nanos = ((hour * 60 + minute) * 60 + second) * SECOND
    fraction = match["fraction"]
    if fraction:
        return nanos + int(fraction.ljust(9, "0")), 10 ** (9 - len(fraction))
    return nanos, SECOND if match["second"] is not None else MINUTE


def resolve(point: TimePoint, latest: int) -> int:
    """Nanoseconds since the epoch of `point`, given the latest known event time."""
    if point.anchor == "absolute":
        return point.nanos
    if point.anchor == "clock":
        return latest - latest % DAY + point.nanos
    return latest - point.nanos


def latest_time(times: np.ndarray) -> int | None:
    """The latest known time (0 is unknown) of a time column, or None when no time is known.
    One pass when the latest is not 0 (the usual case: it is then the latest known one), not a
    copy of the known times (80 MB at 10M events)."""
    latest = int(times.max()) if len(times) else 0
    if latest != 0:
        return latest
    known = times[times != 0]
    return int(known.max()) if len(known) else None


def needs_latest(span: TimeRange) -> bool:
    """Whether an end is read against the latest event (a time of day or a duration back)."""
    return any(point is not None and point.anchor != "absolute" for point in (span.start, span.end))


def bounds(span: TimeRange, latest: int | None) -> tuple[int, int] | None:
    """[low, high) in nanoseconds, clamped to int64; None when an end needs a latest time that
    no event has (then nothing matches)."""
    if needs_latest(span) and latest is None:
        return None
    anchor = latest or 0
    low = _INT64_MIN if span.start is None else resolve(span.start, anchor)
    high = _INT64_MAX if span.end is None else resolve(span.end, anchor)
    return max(low, _INT64_MIN), min(high, _INT64_MAX)


def time_mask(times: np.ndarray, span: TimeRange) -> np.ndarray:
    """Rows whose known time is in `span` (vectorised; `times` in any order)."""
    limits = bounds(span, latest_time(times) if needs_latest(span) else None)
    if limits is None:
        return np.zeros(len(times), bool)
    low, high = limits
    result: np.ndarray = times != 0
    if span.start is not None:
        result &= times >= low
    if span.end is not None:
        result &= times < high
    return result


def plain_time_match(time: int, span: TimeRange, latest: int | None) -> bool:
    """The per-row reading `time_mask` must equal."""
    if time == 0:
        return False
    if span.start is not None and (latest is None and span.start.anchor != "absolute"):
        return False
    if span.end is not None and (latest is None and span.end.anchor != "absolute"):
        return False
    if span.start is not None and time < resolve(span.start, latest or 0):
        return False
    return span.end is None or time < resolve(span.end, latest or 0)


# ------------------------------------------------------------------------------ latency

_COMPARISON = re.compile(r"(?P<op>>=|<=|>|<|=)(?P<number>\d+(?:\.\d+)?|\.\d+)(?P<unit>ns|us|ms|s|m)")
_LATENCY_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": SECOND, "m": MINUTE}
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
}
EXPECTED_LATENCY = "an operator (> >= < <= =) and a duration with a unit (ns us ms s m): >1s, <=100ms, <2.5s"


def parse_comparison(value: str) -> Comparison:
    """`>1s`, `<=100ms`, `<2.5s`, `=0ns`; ValueError when unreadable."""
    match = _COMPARISON.fullmatch(value)
    if match is None:
        raise ValueError(f"bad latency {value!r}: expected {EXPECTED_LATENCY}")
    try:
        nanos = Decimal(match["number"]) * _LATENCY_UNITS[match["unit"]]
    except InvalidOperation:
        raise ValueError(f"bad latency {value!r}: expected {EXPECTED_LATENCY}") from None
    if nanos > _INT64_MAX:
        raise ValueError(f"latency {value!r} is too long")
    # A fraction of a nanosecond: > and <= compare with the whole part, >= and < with the next one.
    whole = int(nanos)
    if nanos != whole and match["op"] in (">=", "<"):
        whole += 1
    if nanos != whole and match["op"] == "=":
        return Comparison("=", -1)  # no integer latency equals it: matches nothing known
    return Comparison(match["op"], whole)


def latency_mask(latencies: np.ndarray, comparison: Comparison) -> np.ndarray:
    """Rows whose known latency (>= 0 ns) satisfies `comparison` (vectorised)."""
    compare = _OPERATORS[comparison.op]
    selected = np.asarray(compare(latencies, np.int64(comparison.nanos)), bool)
    result: np.ndarray = selected & (latencies >= 0)
    return result


def plain_latency_match(latency: int, comparison: Comparison) -> bool:
    """The per-row reading `latency_mask` must equal."""
    return latency >= 0 and bool(_OPERATORS[comparison.op](latency, comparison.nanos))


def first_at_or_after(times: np.ndarray, rows: np.ndarray, text: str) -> int:
    """Position in `rows` (a view, in its order) of the first event whose time in `times` (the
    received times of every row) is at or after `text`, in `time:`'s syntax (a time of day and
    `-15m` are read against the latest event). ValueError says what is wrong, for the user."""
    if not text:
        raise ValueError("type a time: 10:15, -15m or 2024-05-01T10:15:00Z")
    point = parse_time_point(text)
    if not len(rows):
        raise ValueError("no events to jump in")
    latest = latest_time(times)
    if latest is None:
        raise ValueError("no event has a time")
    at = resolve(point, latest)
    shown = times[np.asarray(rows, np.int64)]
    later = np.flatnonzero((shown != 0) & (shown >= at))
    if not len(later):
        raise ValueError(f"no event at or after {text} in this view")
    return int(later[0])


class TimedStore(Protocol):
    """What the received times need of a store."""

    match_cache: dict[tuple[Any, ...], Any]

    def __len__(self) -> int: ...

    def column(self, name: str, n: int | None = None) -> np.ndarray: ...


def received_times(store: TimedStore, n: int) -> np.ndarray:
    """requestReceivedTimestamp of rows [0, n), read-only. The store's `time` column is the
    stageTimestamp (the view's order); minus the latency where the store has one (stage -
    received), it is when the request was received. A store without a latency column gives the
    stage time. Kept for every row loaded (a row's times never change; rows are only appended),
    so a time filter or a cursor move on the timeline does not subtract a million times again."""
    key = ("joined", "received-times")
    known: np.ndarray | None = store.match_cache.get(key)
    if known is None or len(known) < n:
        rows = max(n, len(store))
        times = store.column(fields.by_filter_name["time"].column, rows)
        try:
            latencies = store.column(fields.by_filter_name["latency"].column, rows)
        except KeyError:
            latencies = np.full(len(times), -1, np.int64)
        if len(latencies) != len(times):
            latencies = np.full(len(times), -1, np.int64)
        known = np.where((latencies > 0) & (times != 0), times - latencies, times)
        known.flags.writeable = False
        store.match_cache[key] = known
    return known[:n]
