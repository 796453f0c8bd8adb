"""The timeline: how many events of a view fall in each stretch of time, split by class.

Why a module of its own: the explorer draws a histogram strip over the events list and turns a
range of its buckets into a `time:A..B` filter term, so the buckets must be exactly what the
filter language would select. Hence the time of an event is the filter's (`received_times`: the
request's receive time), a bucket is `[start + i*size, start + (i+1)*size)` as `time:A..B` is
`A <= time < B`, and bucket edges are whole seconds (sizes from `NICE_SIZES`, aligned on the
epoch), which RFC 3339 writes exactly.

Contract: `build` is vectorised (a bincount on `bucket * classes + class` per chunk of rows, < 100
ms at 1M rows) and equals `plain_counts` (a per-row reading, the property tests' reference). Rows without a time
(0) are counted apart (`Timeline.unknown`). A `Timeline` is immutable (read-only arrays) so a
worker builds it and the UI swaps it in whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.query.timefilter import DAY, MINUTE, SECOND, received_times
from k8saudit_tui.engine.store import EventStore

Split = Literal["level", "written"]
"""What a bucket's counts are split by: the level (the policy's, else the recorded one) or
whether the loaded policy writes the event."""

HOUR = 60 * MINUTE
NICE_SIZES: tuple[int, ...] = (
    SECOND,
    5 * SECOND,
    10 * SECOND,
    30 * SECOND,
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    7 * DAY,
    30 * DAY,
    365 * DAY,
)
"""Bucket sizes, smallest first; beyond the last, whole multiples of it."""

MIN_CELLS = 4
"""Fewer buckets are never asked for: a span of the whole int64 range then needs a size past it."""

LEVEL_CLASSES: tuple[str, ...] = (*LEVELS, "unknown")
"""Classes of the level split: the four levels, then recorded levels that are none of them, and
policy levels a lossy format leaves unknown (policy.lossy)."""
WRITTEN_CLASSES: tuple[str, ...] = ("written", "dropped")
"""Classes of the written split (without a policy every event was written: it is in the log);
`unknown` follows when some event's is (the store's omitted code 2, policy.lossy)."""


@dataclass(frozen=True, slots=True, eq=False)
class Timeline:
    """Counts per bucket and class of one view. `counts[i, c]`: events of class `classes[c]`
    whose time is in bucket i, `[start + i*size, start + (i+1)*size)`."""

    start: int
    size: int
    counts: np.ndarray
    """int64, shape (buckets, classes), read-only."""
    classes: tuple[str, ...]
    split: Split
    unknown: int
    """Rows without a time (not in any bucket)."""

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    @property
    def totals(self) -> np.ndarray:
        """Events per bucket, all classes."""
        result: np.ndarray = self.counts.sum(axis=1)
        return result

    @property
    def total(self) -> int:
        """Events in the buckets (the view's rows minus `unknown`)."""
        return int(self.counts.sum())

    def bucket_start(self, index: int) -> int:
        """Nanoseconds since the epoch where bucket `index` starts (`index == len`: the end)."""
        return self.start + index * self.size

    def bucket_of(self, time: int) -> int | None:
        """The bucket holding `time`, or None (unknown time, or outside the buckets)."""
        if time == 0 or not len(self) or time < self.start:
            return None
        index = (time - self.start) // self.size
        return index if index < len(self) else None

    def range_term(self, first: int, last: int) -> str:
        """The filter term selecting exactly the events of buckets first..last (inclusive)."""
        first, last = min(first, last), max(first, last)
        low, high = rfc3339(self.bucket_start(first)), rfc3339(self.bucket_start(last + 1))
        # an edge past year 9999 (or before year 1) is no RFC 3339 time: past the data, an open
        # end selects the same events
        return f"time:{low or ''}..{high or ''}"


EMPTY = Timeline(0, SECOND, np.zeros((0, len(LEVEL_CLASSES)), np.int64), LEVEL_CLASSES, "level", 0)
"""The timeline of no events."""


def rfc3339(nanos: int) -> str | None:
    """A time as RFC 3339 UTC (`2024-05-01T10:00:00Z`), what `time:` reads back; None outside
    the years 1-9999."""
    seconds, fraction = divmod(nanos, SECOND)
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return None
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    return f"{text}.{fraction:09d}Z" if fraction else f"{text}Z"


def bucket_size(low: int, high: int, cells: int) -> int:
    """The smallest nice size whose buckets, aligned on the epoch, cover [low, high] in at most
    `cells` buckets (at least 4: so that a size fits in int64 whatever the span)."""
    cells = max(MIN_CELLS, cells)

    def fits(size: int) -> bool:
        return high // size - low // size + 1 <= cells

    for size in NICE_SIZES:
        if fits(size):
            return size
    largest = NICE_SIZES[-1]
    multiple = max(1, -(-(high - low) // (largest * cells)))
    while not fits(largest * multiple):
        multiple += 1
    return largest * multiple


def build(
    times: np.ndarray, classes: np.ndarray, names: Sequence[str], cells: int, split: Split, chunk: int = 0
) -> Timeline:
    """The timeline of rows whose times are `times` (int64 ns, 0 unknown) and class indexes
    `classes` (into `names`), in at most `cells` buckets: CHUNK rows at a time, so that the known
    times, their buckets and the int64 classes are never 8 bytes a row of the whole view (four
    80 MB temporaries at 10M rows, each mapped and faulted in afresh). `chunk`: tests' smaller one."""
    chunk = chunk or CHUNK
    low = high = None
    for begin in range(0, len(times), chunk):
        known_times = times[begin : begin + chunk][times[begin : begin + chunk] != 0]
        if len(known_times):
            first, last = int(known_times.min()), int(known_times.max())
            low, high = (first, last) if low is None or high is None else (min(low, first), max(high, last))
    if low is None or high is None:
        unknown = len(times)
        return Timeline(0, SECOND, _frozen(np.zeros((0, len(names)), np.int64)), tuple(names), split, unknown)
    size = bucket_size(low, high, cells)
    start = (low // size) * size
    buckets = high // size - low // size + 1
    counts = np.zeros(buckets * len(names), np.int64)
    unknown = 0
    for begin in range(0, len(times), chunk):
        part = times[begin : begin + chunk]
        known = part != 0
        unknown += int(len(part) - np.count_nonzero(known))
        index = part[known] // size - low // size  # not (time - start) // size: that can overflow
        flat = index * len(names) + classes[begin : begin + chunk][known].astype(np.int64)
        counts += np.bincount(flat, minlength=buckets * len(names))
    return Timeline(start, size, _frozen(counts.reshape(buckets, len(names))), tuple(names), split, unknown)


CHUNK = 1 << 20
"""Rows a timeline counts at a time (see `build`)."""


def plain_counts(times: Sequence[int], classes: Sequence[int], size: int, start: int) -> Counter[tuple[int, int]]:
    """The per-row reading `build` must equal: (bucket, class) -> events, unknown times left out."""
    counts: Counter[tuple[int, int]] = Counter()
    for time, cls in zip(times, classes, strict=True):
        if time != 0:
            counts[((time - start) // size, cls)] += 1
    return counts


def store_timeline(store: EventStore, rows: np.ndarray, cells: int, split: Split = "level") -> Timeline:
    """The timeline of store `rows` (a view: the filter's rows, maybe collapsed)."""
    n = len(store)
    rows = np.asarray(rows, np.int64)
    rows = rows[rows < n]
    times = received_times(store, n)[rows]
    if split == "written":
        classes = store.column("omitted", n)[rows].astype(np.int8)
        names = (*WRITTEN_CLASSES, "unknown") if (classes == 2).any() else WRITTEN_CLASSES
        return build(times, classes, names, cells, split)
    if store.evaluator is not None:
        levels = store.column("level", n)[rows]
        return build(times, np.where(levels == -2, len(LEVELS), levels), LEVEL_CLASSES, cells, split)
    recorded = store.values("recorded")
    lookup = np.array([LEVELS.index(v) if v in LEVELS else len(LEVELS) for v in recorded] or [0], np.int8)
    return build(times, lookup[store.column("recorded", n)[rows]], LEVEL_CLASSES, cells, split)


def row_time(store: EventStore, row: int) -> int:
    """The time `store_timeline` buckets row `row` by (0: unknown)."""
    if not 0 <= row < len(store):
        return 0
    return int(received_times(store, row + 1)[row])


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
