"""The timeline histogram: its bincount against a plain per-row count, its nice bucket sizes, and
its range terms, which the filter language must read back as exactly the chosen buckets."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.query.timefilter import DAY, MINUTE, SECOND, received_times
from k8saudit_tui.engine.query.timeline import (
    LEVEL_CLASSES,
    NICE_SIZES,
    WRITTEN_CLASSES,
    bucket_size,
    build,
    plain_counts,
    rfc3339,
    row_time,
    store_timeline,
)
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, simple_policy, write_lines

INT64 = st.integers(-(2**63) + 1, 2**63 - 1)
NEAR = st.integers(1_700_000_000 * SECOND, 1_700_000_000 * SECOND + 40 * DAY)


def _counter(counts: np.ndarray) -> Counter[tuple[int, int]]:
    return Counter({(int(b), int(c)): int(counts[b, c]) for b, c in zip(*np.nonzero(counts), strict=True)})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.just(0), NEAR, INT64), st.integers(0, 4)), max_size=60),
    st.integers(4, 300),
    st.integers(0, 70),
)
def test_counts_equal_a_plain_count(rows: list[tuple[int, int]], cells: int, chunk: int) -> None:
    """Rows counted in chunks of 1-70 rows too (0: the module's CHUNK, all of them here)."""
    times = np.array([t for t, _ in rows], np.int64)
    classes = np.array([c for _, c in rows], np.int8)
    timeline = build(times, classes, LEVEL_CLASSES, cells, "level", chunk)
    assert timeline.unknown == sum(1 for t, _ in rows if t == 0)
    assert timeline.total + timeline.unknown == len(rows)
    assert len(timeline) <= cells
    assert _counter(timeline.counts) == plain_counts(times.tolist(), classes.tolist(), timeline.size, timeline.start)
    assert not timeline.counts.flags.writeable


@settings(max_examples=300, deadline=None)
@given(st.one_of(NEAR, INT64), st.one_of(NEAR, INT64), st.integers(4, 300))
def test_the_bucket_size_is_the_smallest_nice_one_that_fits(a: int, b: int, cells: int) -> None:
    low, high = min(a, b), max(a, b)
    size = bucket_size(low, high, cells)
    assert high // size - low // size + 1 <= cells
    if size in NICE_SIZES:
        smaller = NICE_SIZES[: NICE_SIZES.index(size)]
        assert all(high // s - low // s + 1 > cells for s in smaller)
    else:
        assert size % NICE_SIZES[-1] == 0


@pytest.mark.parametrize(
    ("span", "cells", "size"),
    [
        (59 * SECOND, 60, SECOND),
        (60 * SECOND, 60, 5 * SECOND),  # 61 one-second buckets do not fit
        (3 * 3600 * SECOND, 80, 5 * MINUTE),
        (19 * 3600 * SECOND, 80, 15 * MINUTE),
        (20 * 3600 * SECOND, 80, 30 * MINUTE),  # 81 buckets of 15 minutes: the end is inclusive
        (3 * DAY, 80, HOUR := 3600 * SECOND),
        (19 * DAY, 80, 6 * HOUR),
        (200 * DAY, 80, 7 * DAY),
    ],
)
def test_bucket_sizes_fit_the_span(span: int, cells: int, size: int) -> None:
    base = 1_700_000_000 * SECOND - (1_700_000_000 * SECOND) % DAY
    assert bucket_size(base, base + span, cells) == size


def test_no_time_no_buckets() -> None:
    timeline = build(np.zeros(3, np.int64), np.zeros(3, np.int8), LEVEL_CLASSES, 80, "level")
    assert (len(timeline), timeline.unknown, timeline.total) == (0, 3, 0)
    assert timeline.bucket_of(5) is None


def test_rfc3339_reads_back_through_the_filter_language() -> None:
    assert rfc3339(1_714_557_600 * SECOND) == "2024-05-01T10:00:00Z"
    assert rfc3339(1_714_557_600 * SECOND + 5) == "2024-05-01T10:00:00.000000005Z"
    assert rfc3339(253_402_300_800 * SECOND) is None  # year 10000


# ------------------------------------------------------------------ on a store, with the filter

BASE = 1_714_557_600  # 2024-05-01T10:00:00Z


def _stamp(seconds: int, micros: int = 0) -> str:
    return rfc3339(seconds * SECOND)[:-1] + f".{micros:06d}Z"  # type: ignore[index]


def _events() -> list[dict[str, object]]:
    events = []
    for n in range(240):
        seconds = BASE + (n * 37) % 5000 - 1000
        stamp = _stamp(seconds, n * 4111 % 1_000_000)
        kind = n % 6
        user = "system:kube-proxy" if kind == 0 else "alice"
        resource = "secrets" if kind == 1 else ("pods" if kind != 2 else "configmaps")
        stage = "RequestReceived" if kind == 3 else "ResponseComplete"
        one = event(n, user=user, resource=resource, stage=stage, time=stamp)
        if n % 7 == 0:  # a slow request: received well before its stage time
            one["stageTimestamp"] = _stamp(seconds + 90)
        events.append(one)
    events.append(event(999, time="not a time"))
    return events


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    log = write_lines(tmp_path_factory.mktemp("tl") / "audit.log", [line(e) for e in _events()])
    return StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1).load_all()


@pytest.mark.parametrize("split", ["level", "written"])
@pytest.mark.parametrize("text", ["", "user:alice", "resource:secrets,pods"])
def test_store_counts_equal_the_view(store: EventStore, text: str, split: str) -> None:
    rows = compile_filter(text).apply(store) if text else np.arange(len(store))
    timeline = store_timeline(store, rows, 60, split)  # type: ignore[arg-type]
    assert timeline.total + timeline.unknown == len(rows)
    assert timeline.unknown == 1  # the event without a time (alice, pods)
    times = received_times(store, len(store))[rows]
    column = "level" if split == "level" else "omitted"
    classes = store.column(column)[rows].astype(np.int64)
    expected = plain_counts(times.tolist(), classes.tolist(), timeline.size, timeline.start)
    assert _counter(timeline.counts) == expected
    assert timeline.classes == (LEVEL_CLASSES if split == "level" else WRITTEN_CLASSES)
    if split == "written":
        assert timeline.counts[:, 1].sum() == int(store.column("omitted")[rows].sum()) > 0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_range_term_selects_exactly_its_buckets(store: EventStore, data: st.DataObject) -> None:
    cells = data.draw(st.integers(5, 120))
    timeline = store_timeline(store, np.arange(len(store)), cells)
    first = data.draw(st.integers(0, len(timeline) - 1))
    last = data.draw(st.integers(first, len(timeline) - 1))
    selected = set(compile_filter(timeline.range_term(first, last)).apply(store).tolist())
    expected = {row for row in range(len(store)) if timeline.bucket_of(row_time(store, row)) in range(first, last + 1)}
    assert selected == expected
    assert len(selected) == int(timeline.totals[first : last + 1].sum())


def test_without_a_policy_the_recorded_level_splits(tmp_path: Path) -> None:
    events = [event(0, level="Metadata"), event(1, level="RequestResponse"), event(2, level="")]
    log = write_lines(tmp_path / "audit.log", [line(e) for e in events])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    timeline = store_timeline(store, np.arange(3), 80)
    per_class = dict(zip(timeline.classes, timeline.counts.sum(axis=0).tolist(), strict=True))
    assert per_class == {"None": 0, "Metadata": 1, "Request": 0, "RequestResponse": 1, "unknown": 1}


def test_a_million_rows_in_under_100_ms() -> None:
    rng = np.random.default_rng(7)
    times = BASE * SECOND + rng.integers(0, 6 * 3600 * SECOND, 1_000_000)
    times[::1000] = 0
    classes = rng.integers(0, 4, 1_000_000).astype(np.int8)
    build(times, classes, LEVEL_CLASSES, 120, "level")  # warm up
    best = min(_timed(lambda: build(times, classes, LEVEL_CLASSES, 120, "level")) for _ in range(3))
    assert best < 0.1


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started
