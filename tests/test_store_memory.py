"""The store's compact representations (issue 15, "Memory") against the plain ones they replace:
attributes sharing the column dictionaries' strings, the request groups' narrow codes, the
narrow offset and latency columns."""

from __future__ import annotations

import calendar
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.batch import parse_lines
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import RequestAttributes
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import compile_filter, indexes
from k8saudit_tui.engine.store import EventStore, StoreLoader, codes, narrow
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.cache_files import CacheDir
from tests.auditlog_helpers import event, line, simple_policy

WORDS = st.sampled_from(["", "a", "kube-system", "pod-1", "système", "x" * 40])


def _copy(text: str | None) -> str | None:
    """An equal string that is another object (as unpickling makes them)."""
    return None if text is None else "".join(["", *text]) if len(text) > 1 else (text + ".")[:-1] if text else text


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), WORDS), WORDS, WORDS, WORDS, WORDS), max_size=12), st.booleans())
def test_attributes_share_the_column_dictionaries_strings_and_stay_equal(
    rows: list[tuple[str | None, str, str, str, str]], known_first: bool
) -> None:
    shared, plain = codes.Codes(), codes.Codes()
    tuples = [
        (user, ("g",), verb, True, "/p/" + name, "", resource, "", namespace, name)
        for user, verb, resource, namespace, name in rows
    ]
    for source in (shared, plain):
        if known_first:  # the string columns are remapped before "attr" in a batch
            for user, verb, resource, namespace, name in rows:
                for column, value in (
                    ("user", user),
                    ("verb", verb),
                    ("resource", resource),
                    ("ns", namespace),
                    ("name", name),
                    ("uri", "/p/" + name),  # the path is the URI without its query
                ):
                    if value is not None:
                        source.strings[column].code(value)
            source.groups.code(("g",))
    copies = [tuple(_copy(v) if isinstance(v, str) else v for v in t) for t in tuples]
    assert shared.attributes.remap(copies).tolist() == plain.attributes.remap(tuples).tolist()
    assert shared.attributes.values == [RequestAttributes(*t) for t in dict.fromkeys(tuples)]
    if known_first:
        held = {id(v) for d in shared.strings.values() for v in d.values} | {id(v) for v in shared.groups.values}
        for attributes in shared.attributes.values:
            fields = (attributes.namespace, attributes.name, attributes.path, attributes.groups)
            assert all(id(field) in held for field in fields)
            assert attributes.username is None or id(attributes.username) in held


class Columns:
    """What `indexes.requests` reads of a store; each column's dtype may widen between reads."""

    def __init__(self, columns: dict[str, list[int]]) -> None:
        self.columns = columns
        self.dtypes = {name: np.dtype(np.uint8) for name in columns}
        self.match_cache: dict[object, object] = {}

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        values = self.columns[name][:n]
        return np.asarray(values, self.dtypes[name] if max(values, default=0) < 256 else np.uint16)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 300)), min_size=1, max_size=30),
    st.lists(st.integers(1, 30), max_size=4),
    st.sampled_from([1, 2, 3, indexes.REQUEST_CHUNK_ROWS]),
)
@example([(1, 0, 5), (0, 0, 1), (1, 0, 5), (0, 0, 1)], [2], indexes.REQUEST_CHUNK_ROWS)  # the interners' rebuild
def test_request_groups_narrow_codes_equal_each_rows_codes(
    rows: list[tuple[int, int, int]], cuts: list[int], chunk: int
) -> None:
    """Built from row 0 or extended (follow mode), a chunk of rows at a time (REQUEST_CHUNK_ROWS)."""
    default, indexes.REQUEST_CHUNK_ROWS = indexes.REQUEST_CHUNK_ROWS, chunk
    try:
        grouped_as_planned(rows, cuts)
    finally:
        indexes.REQUEST_CHUNK_ROWS = default


def grouped_as_planned(rows: list[tuple[int, int, int]], cuts: list[int]) -> None:
    attr = [a for a, _, _ in rows]
    # user follows the attributes (folded); uri is part of the key (folded); name too
    columns = {c: [a for a, _, _ in rows] for c in indexes.BARE_WORD_COLUMNS}
    columns["name"] = [b for _, b, _ in rows]
    columns["uri"] = [u for _, _, u in rows]
    store = Columns({"attr": attr, **columns})
    for position, n in enumerate([*sorted({c for c in cuts if c < len(rows)}), len(rows)]):
        grouped = indexes.requests(store, n)  # type: ignore[arg-type]
        keys = rows[:n]  # a group is one (attributes, name, URI): the plain grouping
        group = grouped.row_group.tolist()
        assert all((group[i] == group[j]) == (keys[i] == keys[j]) for i in range(n) for j in range(n))
        assert grouped.attributes[grouped.row_group].tolist() == attr[:n]
        assert (grouped.pairs is None) == (position == 0)  # built from row 0: no interners held
    assert set(grouped.columns) == set(indexes.BARE_WORD_COLUMNS)
    for column, per_group in grouped.columns.items():
        assert per_group.dtype.itemsize <= store.column(column).dtype.itemsize
        assert per_group[grouped.row_group].tolist() == columns[column]


# ------------------------------------------------------------------------------ narrow columns

OFFSETS = st.lists(st.one_of(st.integers(0, 2**17), st.integers(0, 2**33), st.integers(0, 2**62)), max_size=30)
LATENCIES = st.lists(
    st.one_of(
        st.just(-1),  # unknown
        st.integers(0, 10**10).map(lambda us: us * 1000),  # whole microseconds, some past int32
        st.integers(-(2**63), 2**63 - 1),  # anything else the encoder could produce
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(narrow.SPLIT)), OFFSETS, st.data())
def test_split_columns_give_back_the_int64_values(name: str, values: list[int], data: st.DataObject) -> None:
    values = [v % narrow.LIMITS[name] for v in values]
    low, high = narrow.encode_split(name, np.asarray(values, np.int64))
    assert low.dtype.itemsize * 8 == narrow.SPLIT[name] and high.dtype.itemsize <= 4
    assert (high.dtype == np.uint8) == (max(values, default=0) < 255 << narrow.SPLIT[name])
    arrays = {name: low, narrow.high(name): high}
    assert narrow.decode(arrays, [], name, len(values)).tolist() == values
    rows = np.asarray(data.draw(st.lists(st.integers(0, max(len(values) - 1, 0)), max_size=10)) if values else [])
    assert narrow.gather(arrays, [], name, rows.astype(np.int64)).tolist() == [values[r] for r in rows.tolist()]
    assert [narrow.split_at(arrays, name, row) for row in range(len(values))] == values


def test_a_value_out_of_range_is_refused_not_wrapped() -> None:
    with pytest.raises(ValueError, match="line values must be"):
        narrow.encode_split("line", np.array([3, -1]))
    with pytest.raises(ValueError, match="length values must be"):
        narrow.encode_split("length", np.array([narrow.LIMITS["length"]]))


@settings(max_examples=300, deadline=None)
@given(LATENCIES, st.data())
def test_narrow_latencies_give_back_the_int64_latencies(latencies: list[int], data: st.DataObject) -> None:
    others = codes.Dictionary()
    held = narrow.encode_latencies(np.asarray(latencies, np.int64), others.code)
    assert held.dtype == np.int32
    assert len(others.values) == len({v for v in latencies if v != -1 and (v < 0 or v % 1000 or v >= 2**31 * 1000)})
    arrays = {"latency": held}
    assert narrow.decode(arrays, others.values, "latency", len(latencies)).tolist() == latencies
    rows = np.asarray(data.draw(st.lists(st.integers(0, max(len(latencies) - 1, 0)), max_size=10)) if latencies else [])
    gathered = narrow.gather(arrays, others.values, "latency", rows.astype(np.int64))
    assert gathered.tolist() == [latencies[r] for r in rows.tolist()]
    assert [narrow.latency_at(arrays, others.values, row) for row in range(len(latencies))] == latencies


TIMES = st.lists(
    st.one_of(
        st.just(0),  # unknown
        st.integers(1_600_000_000 * 10**6, 1_900_000_000 * 10**6).map(lambda us: us * 1000),  # whole us
        st.integers(-(2**63), 2**63 - 1),  # any int64
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(TIMES, st.data())
def test_narrow_times_give_back_the_int64_values(times: list[int], data: st.DataObject) -> None:
    windows = codes.Dictionary()
    low, high = narrow.encode_times(np.asarray(times, np.int64), windows.code)
    assert low.dtype == np.uint32 and high.dtype == np.uint8  # few windows: a byte each
    arrays = {"time": low, "time_high": high}
    assert narrow.decode(arrays, windows.values, "time", len(times)).tolist() == times
    rows = np.asarray(data.draw(st.lists(st.integers(0, max(len(times) - 1, 0)), max_size=10)) if times else [])
    assert narrow.gather(arrays, windows.values, "time", rows.astype(np.int64)).tolist() == [
        times[r] for r in rows.tolist()
    ]
    assert [narrow.time_at(arrays, windows.values, row) for row in range(len(times))] == times
    assert len(windows.values) == len({(t // 1000 >> 32, t % 1000) for t in times})  # one per window


def test_a_day_of_microsecond_times_takes_a_byte_of_window_an_event() -> None:
    day = np.arange(0, 86_400 * 10**6, 997_003, dtype=np.int64) * 1000 + 1_780_000_000 * 10**9
    windows = codes.Dictionary()
    low, high = narrow.encode_times(day, windows.code)
    assert high.dtype == np.uint8 and len(windows.values) <= 22  # 24 h / 71.6 min, rounded up
    assert narrow.decode_times(low, high, windows.values).tolist() == day.tolist()


def _timed_event(n: int, received: str, stage: str) -> bytes:
    value = event(n)
    value["requestReceivedTimestamp"], value["stageTimestamp"] = received, stage
    return line(value)


TIMED = [  # (received, stage, latency ns)
    ("2026-11-20T10:00:00.000001Z", "2026-11-20T10:00:00.250001Z", 250_000_000),
    ("2026-11-20T10:00:00.000000Z", "2026-11-20T12:00:00.000000Z", 7_200 * 10**9),  # 2 h: past int32 us
    ("2026-11-20T10:00:00.000000001Z", "2026-11-20T10:00:00.000000500Z", 499),  # nanoseconds
    ("2026-11-20T10:00:01.000000Z", "2026-11-20T10:00:00.000000Z", -1),  # stage before received: unknown
    ("2026-11-20T10:00:00.000000Z", "2026-11-20T10:00:00.000000Z", 0),
]


def test_a_store_and_its_cache_give_latencies_offsets_and_lines_exactly(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(_timed_event(n, r, s) + b"\n" * (1 + n % 2) for n, (r, s, _) in enumerate(TIMED)))
    expected = [latency for _, _, latency in TIMED]
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    for reopen in (False, True):  # loaded, then reopened from the cache
        store = _open(log, cache)
        assert cache.last.startswith("reopened") == reopen, cache.last
        assert store.column("latency").tolist() == expected
        assert [store.value(row, "latency") for row in range(len(store))] == [None if v == -1 else v for v in expected]
        assert store.gather("latency", np.array([4, 1, 2])).tolist() == [expected[4], expected[1], expected[2]]
        stage_times = [_nanoseconds(stage) for _, stage, _ in TIMED]  # the time column, narrow (narrow.py)
        assert store.column("time").tolist() == stage_times and store.column("time").dtype == np.int64
        assert store.gather("time", np.array([2, 0])).tolist() == [stage_times[2], stage_times[0]]
        assert store._arrays["time"].dtype == np.uint32 and len(store._codes.times.values) == 3  # 2 windows, 1 ns
        lines = log.read_bytes().split(b"\n")
        starts = np.cumsum([0] + [len(part) + 1 for part in lines])[:-1]
        wanted = [int(starts[i]) for i, part in enumerate(lines) if part]
        assert store.column("offset").tolist() == wanted
        assert store.column("line").tolist() == [i + 1 for i, part in enumerate(lines) if part]
        assert store.column("length").tolist() == [len(part) for part in lines if part]
        assert [store.location(row)[1] for row in range(len(store))] == store.column("line").tolist()
        assert [store.raw(row) for row in range(len(store))] == [part for part in lines if part]
        assert list(store.raw_many(np.array([3, 0]))) == [store.raw(3), store.raw(0)]
    assert len(store._codes.latencies.values) == 2  # reopened: the exact ones came back from the cache


def _nanoseconds(stamp: str) -> int:
    """An RFC 3339 UTC time with 0-9 fraction digits, as ns since the epoch (the plain way)."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(fraction.ljust(9, "0"))


def _open(log: Path, cache: StoreCache) -> EventStore:
    return StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1, cache=cache).load_all()


def test_file_numbers_widen_past_255_files_and_lines_past_65535(tmp_path: Path) -> None:
    paths = []
    for n in range(300):
        path = tmp_path / f"audit-{n}.log"
        path.write_bytes(line(event(n)) + b"\n")
        paths.append(str(path))
    big = tmp_path / "big.log"
    big.write_bytes(b"\n" * 70_000 + line(event(0)) + b"\n")
    paths.append(str(big))
    store = StoreLoader(expand_sources(paths), PolicyEvaluator(simple_policy()), workers=1).load_all()
    assert len(store) == 301 and store._arrays["file"].dtype == np.uint16
    assert [store.location(row) for row in range(len(store))] == [(p, 1) for p in paths[:-1]] + [(str(big), 70_001)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["code", "release", "read"]), st.text("abc", max_size=3)), max_size=40))
def test_a_released_index_comes_back_equal_and_codes_stay(steps: list[tuple[str, str]]) -> None:
    dictionary, plain = codes.Dictionary(), {}
    for step, value in steps:
        if step == "code":
            assert dictionary.code(value) == plain.setdefault(value, len(plain))
        elif step == "release":
            dictionary.release_index()
        else:
            assert dictionary.index.get(value) == plain.get(value)
    assert dictionary.writable() == plain and dictionary.values == list(plain)


def test_exact_filters_and_follow_work_on_released_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(line(event(n, name=f"pod-{n % 7}", user=f"u{n % 3}")) + b"\n" for n in range(50)))

    def load() -> EventStore:
        return StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1).load_all()

    kept = load()
    monkeypatch.setattr(codes, "RELEASED_SIZE", 1)
    released = load()
    assert released._codes.strings["name"]._index is None and kept._codes.strings["name"]._index is not None
    assert isinstance(released._codes.strings["name"].index, codes.Scan)  # readers build nothing
    for text in ("name:pod-3", "name:pod-3,pod-5 user:u1", "!name:pod-0", "uri:/api/v1/namespaces/default/pods/pod-2"):
        expected = compile_filter(text).apply(kept).tolist()
        assert expected and compile_filter(text).apply(released).tolist() == expected, text
    assert released._codes.strings["name"]._index is None  # the filters scanned, built nothing
    more = parse_lines(b"".join(line(event(n, name=f"pod-{n}")) + b"\n" for n in range(5, 9)), 0, 0, True)
    for store in (kept, released):  # follow mode appends: known names keep their codes, new ones get new
        store.append(more, 0, 50)
    assert released.values("name") == kept.values("name")
    assert released.column("name").tolist() == kept.column("name").tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="/?&=\nabcW-", max_size=20), min_size=1, max_size=15),
    st.text(alphabet="/=abcw-", min_size=1, max_size=4),
    st.data(),
)
def test_uri_hits_over_fewer_uris_than_indexed_equal_a_plain_search(
    values: list[str], query: str, data: st.DataObject
) -> None:
    """A filter thread may ask about the first `count` URIs after follow mode indexed more."""
    store = EventStore()
    indexes.uri_tokens(store, values, len(values))
    count = data.draw(st.integers(0, len(values)))
    assert indexes.uri_hits(store, values, count, query).tolist() == [query in v.lower() for v in values[:count]]
