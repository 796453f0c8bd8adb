"""The filter language's time ranges, latency comparisons, written/drift and ` | ` alternatives,
each against a plain per-row reading, with the examples of the README and the parse errors."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import FIELDS, FilterError, compile_filter, look_ahead, suggest
from k8saudit_tui.engine.query.filter import term_mask
from k8saudit_tui.engine.query.timefilter import (
    DAY,
    MINUTE,
    SECOND,
    Comparison,
    TimePoint,
    TimeRange,
    latency_mask,
    latest_time,
    parse_comparison,
    parse_time_point,
    plain_latency_match,
    plain_time_match,
    received_times,
    time_mask,
)
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, simple_policy, write_lines


def ns(text: str) -> int:
    """Nanoseconds since the epoch of an ISO date-time written with an explicit zone."""
    return calendar.timegm(datetime.fromisoformat(text).astimezone(UTC).utctimetuple()) * SECOND


# ------------------------------------------------------------------ time: the parse


@pytest.mark.parametrize(
    ("text", "anchor", "nanos", "unit"),
    [
        ("2024-05-01", "absolute", ns("2024-05-01T00:00:00+00:00"), DAY),
        ("2024-05-01T10:00:00", "absolute", ns("2024-05-01T10:00:00+00:00"), SECOND),  # no zone: UTC
        ("2024-05-01T10:00:00Z", "absolute", ns("2024-05-01T10:00:00+00:00"), SECOND),
        ("2024-05-01T10:00:00+02:00", "absolute", ns("2024-05-01T08:00:00+00:00"), SECOND),
        ("2024-05-01T01:00:00-03:30", "absolute", ns("2024-05-01T04:30:00+00:00"), SECOND),
        ("2024-05-01T10:00", "absolute", ns("2024-05-01T10:00:00+00:00"), MINUTE),
        ("2024-05-01T10:00:00.25Z", "absolute", ns("2024-05-01T10:00:00+00:00") + SECOND // 4, SECOND // 100),
        ("10:15", "clock", (10 * 60 + 15) * MINUTE, MINUTE),
        ("10:15:30", "clock", (10 * 60 + 15) * MINUTE + 30 * SECOND, SECOND),
        ("00:00:00.000000001", "clock", 1, 1),
        ("-15m", "ago", 15 * MINUTE, 0),
        ("-2h", "ago", 120 * MINUTE, 0),
        ("-7d", "ago", 7 * DAY, 0),
        ("-30s", "ago", 30 * SECOND, 0),
        ("-1h30m", "ago", 90 * MINUTE, 0),
    ],
)
def test_time_points_read_as_documented(text: str, anchor: str, nanos: int, unit: int) -> None:
    assert parse_time_point(text) == TimePoint(anchor, nanos, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("time:yesterday", "bad time"),
        ("time:2024-02-30", "no such day"),
        ("time:25:00", "hours 00-23"),
        ("time:2024-05-01T10:00:00+25:00", "bad offset"),
        ("time:-", "bad duration"),
        ("time:-15x..", "bad duration"),
        ("time:-15m", "a duration alone is no range"),
        ("time:1..2..3", "one '..'"),
        ("time:~2024", "bad time"),
        ("time:/2024/", "bad time"),
        ("latency:1s", "an operator"),
        ("latency:>1", "a unit"),
        ("latency:>1h", "a unit"),
        ("latency:>>1s", "bad latency"),
        ("written:maybe", "yes or no"),
        ("drift:", "missing value"),
    ],
)
def test_bad_values_name_the_term_and_what_is_expected(text: str, words: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(f"verb:get {text}")
    assert caught.value.term == text and caught.value.position == 9
    assert words in caught.value.message


# ------------------------------------------------------------------ time: masks against the plain reading

TIMES = st.integers(-(2**40), 2**62) | st.sampled_from([0, DAY, DAY - 1, 5 * DAY + 3])
POINTS = st.builds(
    TimePoint,
    st.sampled_from(["absolute", "clock", "ago"]),
    st.integers(0, 2**50) | st.integers(-(2**62), 2**62),
    st.sampled_from([1, SECOND, MINUTE, DAY]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(TIMES, max_size=30), st.none() | POINTS, st.none() | POINTS)
def test_time_mask_equals_the_plain_reading(times: list[int], start: TimePoint | None, end: TimePoint | None) -> None:
    span = TimeRange(start, end)
    column = np.array(times, np.int64)
    known = [t for t in times if t != 0]
    latest = max(known) if known else None
    assert time_mask(column, span).tolist() == [plain_time_match(t, span, latest) for t in times]


@settings(max_examples=300, deadline=None)
@given(st.lists(TIMES | st.integers(-(2**62), 0), max_size=30))
def test_latest_time_is_the_latest_known_time(times: list[int]) -> None:
    """The one-pass reading (the maximum, unless it is the unknown 0) against the plain one."""
    known = [t for t in times if t != 0]
    assert latest_time(np.array(times, np.int64)) == (max(known) if known else None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**12), min_size=1, max_size=20), st.integers(1, 10**12))
def test_a_single_value_spans_the_unit_it_names(offsets: list[int], day: int) -> None:
    base = ns("2024-05-01T00:00:00+00:00")
    times = np.array([base + o % (2 * DAY) - DAY // 2 for o in offsets], np.int64)
    whole_day = compile_filter("time:2024-05-01").terms[0].bound
    assert isinstance(whole_day, TimeRange)
    assert time_mask(times, whole_day).tolist() == [base <= t < base + DAY for t in times.tolist()]


# ------------------------------------------------------------------ time and drift end to end

BASE = "2024-05-01T"
STAMPED = [
    event(0, time=f"{BASE}09:59:59.999999Z", verb="get", stage="RequestReceived"),
    event(1, time=f"{BASE}10:00:00.000000Z", verb="delete", namespace="prod"),
    event(2, time=f"{BASE}10:15:30.000000Z", verb="deletecollection", namespace="prod", level="RequestResponse"),
    event(3, time=f"{BASE}10:16:00.000000Z", verb="create", resource="secrets", stage="RequestReceived"),
    event(4, time="not a time", verb="get", user="system:kube-proxy", level="None"),
    event(5, time="2024-04-30T23:59:59.000000Z", verb="list", level=""),  # no recorded level
    event(6, time=f"{BASE}10:30:00.000000Z", verb="update", resource="secrets", level="RequestResponse"),
]


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    log = write_lines(tmp_path_factory.mktemp("t") / "audit.log", [line(e) for e in STAMPED])
    return StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1).load_all()


def rows(store: Any, text: str) -> list[int]:
    return sorted(compile_filter(text).apply(store).tolist())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("time:2024-05-01T10:00:00Z..2024-05-01T10:16:00Z", [1, 2]),  # A included, B excluded
        ("time:2024-05-01T12:00:00+02:00..", [1, 2, 3, 6]),
        ("time:..2024-05-01", [5]),
        ("time:2024-05-01", [0, 1, 2, 3, 6]),  # a date alone: that day
        ("time:10:15", [2]),  # a time of day alone: that minute, on the latest event's date
        ("time:10:00..10:16", [1, 2]),
        ("time:-15m..", [2, 3, 6]),  # the last 15 minutes of the log: from 10:15:00
        ("time:-30m..-14m", [1, 2]),
        ("time:..", [0, 1, 2, 3, 5, 6]),  # every event with a known time
        ("!time:..", [4]),  # an unknown time never matches a range
        ("!time:2024-05-01", [4, 5]),
    ],
)
def test_time_terms_on_a_store(stamped: EventStore, text: str, expected: list[int]) -> None:
    assert rows(stamped, text) == expected


def test_written_and_drift_equal_the_per_row_verdict(stamped: EventStore) -> None:
    n = len(stamped)
    written = [i for i in range(n) if not stamped.value(i, "omitted")]
    drift = [i for i in range(n) if stamped.value(i, "recorded") in LEVELS]
    drift = [i for i in drift if stamped.value(i, "recorded") != stamped.value(i, "level")]
    undecided = [i for i in range(n) if stamped.value(i, "recorded") not in LEVELS]
    assert rows(stamped, "written:yes") == written and 0 < len(written) < n
    assert rows(stamped, "written:no") == sorted(set(range(n)) - set(written))
    assert rows(stamped, "drift:yes") == drift and 0 < len(drift) < n
    assert rows(stamped, "drift:no") == sorted(set(range(n)) - set(drift) - set(undecided))
    assert undecided == [5] and rows(stamped, "drift:yes,no") == [i for i in range(n) if i != 5]
    assert 4 not in written and 0 not in written  # level None; RequestReceived omitted by rule 3


def test_written_and_drift_need_a_policy(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "a.log", [line(e) for e in STAMPED])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    for text in ("written:yes", "!drift:no", "verb:get | drift:yes"):
        with pytest.raises(FilterError) as caught:
            compile_filter(text).apply(store)
        assert "needs a policy" in caught.value.message
    assert fields.by_filter_name["written"].needs_policy and fields.by_filter_name["drift"].needs_policy


# ------------------------------------------------------------------ OR


def test_or_examples(stamped: EventStore) -> None:
    assert rows(stamped, "verb:delete | resource:secrets") == [1, 3, 6]
    assert rows(stamped, "ns:prod verb:delete | ns:prod verb:deletecollection") == [1, 2]
    assert rows(stamped, "verb:get | verb:list time:2024-05-01") == [0, 4]  # AND binds tighter


def test_a_pipe_in_quotes_a_regex_or_a_word_is_text(stamped: EventStore) -> None:
    assert len(compile_filter('user:"a | b"').groups) == 1
    assert len(compile_filter("verb:/get | list/").groups) == 1
    assert len(compile_filter("a|b").groups) == 1
    assert rows(stamped, "verb:/^get$|^list$/") == [0, 4, 5]


@pytest.mark.parametrize(("text", "position"), [("| verb:get", 0), ("verb:get |", 9), ("a | | b", 4)])
def test_an_empty_alternative_is_an_error(text: str, position: int) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(text)
    assert caught.value.term == "|" and caught.value.position == position
    assert "empty alternative" in caught.value.message


ALTERNATIVE_TERMS = st.sampled_from(
    ["verb:get", "verb:delete,update", "!ns:prod", "resource:secrets", "time:10:00..10:20", "time:-20m..",
     "written:yes", "drift:yes", "!stage:RequestReceived", "secrets", "code:2xx", "level:Metadata"]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(ALTERNATIVE_TERMS, min_size=1, max_size=3), min_size=1, max_size=4))
def test_or_equals_each_alternative_ored(stamped: EventStore, alternatives: list[list[str]]) -> None:
    text = " | ".join(" ".join(terms) for terms in alternatives)
    expected: set[int] = set()
    for terms in alternatives:
        expected |= set(rows(stamped, " ".join(terms)))
    assert rows(stamped, text) == sorted(expected)


def test_suggestions_and_look_ahead_read_the_term_after_a_pipe(stamped: EventStore) -> None:
    assert [s.term for s in suggest("verb:get | us", stamped)] == ["user:"]
    assert [s.term for s in suggest("verb:get | !wr", stamped)] == ["!written:"]
    assert suggest("verb:get |", stamped) == ()
    assert suggest("time:", stamped) == () and suggest("latency:", stamped) == ()
    look_ahead(stamped, "verb:get | s")  # parses through the pipe without raising
    look_ahead(stamped, "verb:get |")


def test_the_new_fields_are_in_the_table_and_the_help() -> None:
    for name in ("time", "latency", "written", "drift"):
        assert name in fields.FILTER_NAMES and FIELDS[name]
    assert fields.by_column["recorded"].name == "recorded"  # drift reads it but does not own it


# ------------------------------------------------------------------ latency


@pytest.mark.parametrize(
    ("text", "op", "nanos"),
    [
        (">1s", ">", SECOND),
        ("<=100ms", "<=", 100_000_000),
        ("<2.5s", "<", 2_500_000_000),
        (">=250us", ">=", 250_000),
        ("=7ns", "=", 7),
        (">1.5m", ">", 90 * SECOND),
    ],
)
def test_latency_comparisons_parse(text: str, op: str, nanos: int) -> None:
    assert parse_comparison(text) == Comparison(op, nanos)


LATENCIES = st.integers(-1, 5 * SECOND) | st.sampled_from([-1, 0, 1, 2, 3, SECOND, SECOND + 1])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(LATENCIES, max_size=30),
    st.sampled_from([">", ">=", "<", "<=", "="]),
    st.decimals(0, 3, places=3, allow_nan=False),
    st.sampled_from(["ns", "us", "ms", "s"]),
)
def test_latency_mask_equals_comparing_each_row(latencies: list[int], op: str, number: Decimal, unit: str) -> None:
    comparison = parse_comparison(f"{op}{number}{unit}")
    threshold = number * {"ns": 1, "us": 1000, "ms": 10**6, "s": 10**9}[unit]
    plain = {">": Decimal.__gt__, ">=": Decimal.__ge__, "<": Decimal.__lt__, "<=": Decimal.__le__}
    expected = [
        lat >= 0 and (Decimal(lat) == threshold if op == "=" else plain[op](Decimal(lat), threshold))
        for lat in latencies
    ]
    column = np.array(latencies, np.int64)
    assert latency_mask(column, comparison).tolist() == expected
    assert [plain_latency_match(lat, comparison) for lat in latencies] == expected


class _LatencyStub:
    """A store whose only column is `latency` (the real store has none yet)."""

    def __init__(self, latencies: list[int]) -> None:
        self.latencies = np.array(latencies, np.int64)

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        assert name == "latency"
        return self.latencies[:n]


def test_latency_terms_read_the_latency_column() -> None:
    stub = _LatencyStub([-1, 0, 100_000_000, 999_999_999, SECOND, 2 * SECOND])
    for text, expected in [
        ("latency:>1s", [5]),
        ("latency:>=1s", [4, 5]),
        ("latency:<=100ms", [1, 2]),
        ("latency:<2.5s", [1, 2, 3, 4, 5]),
        ("latency:=0ns", [1]),
    ]:
        term = compile_filter(text).terms[0]
        assert np.flatnonzero(term_mask(stub, term, 6)).tolist() == expected, text  # type: ignore[arg-type]


def test_latency_end_to_end(tmp_path: Path) -> None:
    slow = event(0, requestReceivedTimestamp="2024-05-01T10:00:00.000000Z", stageTimestamp="2024-05-01T10:00:02.5Z")
    fast = event(1, requestReceivedTimestamp="2024-05-01T10:00:00.000000Z", stageTimestamp="2024-05-01T10:00:00.01Z")
    log = write_lines(tmp_path / "a.log", [line(slow), line(fast)])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    assert rows(store, "latency:>1s") == [0]
    assert rows(store, "latency:<=100ms") == [1]


class _StageTimeStub:
    """A store with the stage time in `time` and `latency` = stage - received (-1 unknown)."""

    def __init__(self, times: list[int], latencies: list[int]) -> None:
        self.columns = {"time": np.array(times, np.int64), "latency": np.array(latencies, np.int64)}
        self.match_cache: dict[tuple[Any, ...], Any] = {}

    def __len__(self) -> int:
        return len(self.columns["time"])

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        return self.columns[name][:n]


def test_time_ranges_read_the_received_time_not_the_stage_time() -> None:
    start = ns("2024-05-01T10:00:00+00:00")
    # received 09:59:59 and completed 10:00:01; received and completed 10:00:30; latency unknown.
    stub = _StageTimeStub([start + SECOND, start + 30 * SECOND, start + 40 * SECOND], [2 * SECOND, 0, -1])
    for text, expected in [("time:10:00..", [1, 2]), ("time:..10:00", [0]), ("time:-1s..", [2])]:
        term = compile_filter(text).terms[0]
        assert np.flatnonzero(term_mask(stub, term, 3)).tolist() == expected, text  # type: ignore[arg-type]


def test_received_times_are_kept_and_follow_appended_rows() -> None:
    """Kept once computed (a time filter does not subtract a million times again), and rows
    appended later (follow mode) get theirs: the cached array never answers for rows it lacks."""
    stub = _StageTimeStub([10 * SECOND, 20 * SECOND], [SECOND, -1])
    first = received_times(stub, 2)
    assert first.tolist() == [9 * SECOND, 20 * SECOND]
    assert received_times(stub, 1) is not None and received_times(stub, 1).tolist() == [9 * SECOND]
    stub.columns = {k: np.append(v, extra) for (k, v), extra in zip(stub.columns.items(), (40 * SECOND, 5 * SECOND))}
    assert received_times(stub, 3).tolist() == [9 * SECOND, 20 * SECOND, 35 * SECOND]


def test_the_end_of_the_log_is_the_same_whatever_rows_are_asked(tmp_path: Path) -> None:
    """`time:-15m..` over a subset of rows reads "the end of the log" over every loaded row, not
    the subset's latest (a subset ending early would move the window back)."""
    early = event(0, time="2024-05-01T09:00:00.000000Z")
    late = event(1, time="2024-05-01T10:00:00.000000Z")
    log = write_lines(tmp_path / "a.log", [line(early), line(late)])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    whole = compile_filter("time:-15m..")
    assert rows(store, "time:-15m..") == [1]
    assert whole.apply(store, np.array([0])).tolist() == []
