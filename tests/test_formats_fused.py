"""Unwrapping and parsing in one worker task (`normalise(parse=True)`, `LogSource.parsed`) against
the two passes it replaces (unwrap into the spool, then the loader parses the spool): the same
store, row for row (values, verdicts, lines of the original file, bytes re-read from the spool)
and the same problems; and an envelope's rows against the raw log's."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.formats import inplace, reader
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import COLUMNS, EventStore, StoreLoader
from k8saudit_tui.engine.store import loader as loader_module
from tests import test_formats_inplace
from tests.auditlog_helpers import simple_policy
from tests.test_formats_properties import EVENTS, KINDS, record

Snapshot = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]


def snapshot(store: EventStore) -> Snapshot:
    """Every row (each column's value, its verdict, where it is, its bytes) and every problem."""
    names = [name for name in COLUMNS if name != "file"]
    rows = [
        (
            *(store.value(row, name) for name in names),
            store.verdict(row),
            store.location(row),
            store.raw(row),
            int(store.column("format")[row]),
        )
        for row in range(len(store))
    ]
    problems = sorted((p.file, p.line or 0, p.field, p.message, p.severity) for p in store.problems)
    return rows, problems  # sorted: a streamed file's unwrapping problems come when it ends


def load(path: Path, parse: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Snapshot, bool, bool]:
    """The store of `path` read through the worker pool (small ranges, no in-process shortcut);
    also whether the loader was handed parsed batches (and then asked its own pool for nothing),
    and whether the file was read in place (no spool)."""
    monkeypatch.setattr(split, "TASK_BYTES", min(split.TASK_BYTES, 16 << 10))
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)
    (source,) = expand_sources([str(path)], format="raw")
    source = reader.normalise(source, workers=2, parse=parse)
    handed = source.parsed is not None or source.stream is not None
    in_place = source.path == str(path)
    pooled: list[object] = []
    real = loader_module.parse_in_workers

    def spy(tasks: list[split.Task], workers: int) -> object:
        pooled.extend(tasks)
        return real(tasks, workers)

    monkeypatch.setattr(loader_module, "parse_in_workers", spy)
    store = StoreLoader([source], PolicyEvaluator(simple_policy()), workers=2).load_all()
    assert not (handed and pooled), "parsed batches were parsed again"
    return snapshot(store), handed, in_place


def envelope(kinds: list[str], path: Path) -> Path:
    """An envelope file whose first record decides the mode (a CloudWatch one)."""
    lines = [record("cloudwatch", EVENTS[0], 0)]
    lines += [record(kind, EVENTS[index % len(EVENTS)], index) for index, kind in enumerate(kinds, 1)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_parsed_where_unwrapped_gives_the_store_of_the_two_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = envelope([KINDS[index % len(KINDS)] for index in range(2000)], tmp_path / "mixed.jsonl")
    two_passes, handed, _ = load(path, False, monkeypatch)
    assert not handed
    fused, handed, _ = load(path, True, monkeypatch)
    assert handed
    assert fused == two_passes
    rows, problems = fused
    assert len(rows) > 500 and problems  # the file mixes formats, good and bad records
    assert max(line for *_, (_, line), _, _ in rows) > 1500  # rows name the original file's lines


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=30, max_size=300))
def test_any_mix_of_records_gives_the_same_store_both_ways(
    kinds: list[str], tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = envelope(kinds, tmp_path_factory.mktemp("fused") / "envelope.jsonl")
    assert load(path, True, monkeypatch)[0] == load(path, False, monkeypatch)[0]


def test_an_envelope_loads_the_rows_and_verdicts_of_its_raw_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [EVENTS[index % len(EVENTS)] for index in range(1500)]
    raw = tmp_path / "audit.log"
    raw.write_bytes(b"\n".join(events) + b"\n")
    wrapped = tmp_path / "cloudwatch.jsonl"
    wrapped.write_bytes(
        b"".join(
            orjson.dumps({"timestamp": index, "message": event.decode(), "logStreamName": "kube-apiserver-audit-x"})
            + b"\n"
            for index, event in enumerate(events)
        )
    )
    (raw_rows, raw_problems), _, _ = load(raw, True, monkeypatch)
    (rows, problems), handed, _ = load(wrapped, True, monkeypatch)
    assert handed and not problems and not raw_problems

    def seen(row: tuple[object, ...]) -> tuple[object, ...]:
        """Values, verdict, line and bytes: not the file's name, nor the format."""
        *values, verdict, (_, line), data, _ = row
        return (*values, verdict, line, data)

    assert list(map(seen, rows)) == list(map(seen, raw_rows))
    assert {name for *_, (name, _), _, _ in rows} == {str(wrapped)}


S3_KINDS = st.sampled_from(test_formats_inplace.KINDS)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    drawn=st.lists(st.tuples(S3_KINDS, st.sampled_from(test_formats_inplace.APISERVER)), min_size=20, max_size=60),
    clean=st.booleans(),
)
def test_an_s3_export_checked_by_the_pool_gives_the_store_of_the_check_in_one_process(
    drawn: list[tuple[str, bytes]],
    clean: bool,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In place (or not) exactly when the check in one process says so, with the same rows, its
    ranges checked by the pool whether they are parsed there too or by the loader after; a file
    of good lines (`clean`) is taken in place, its ranges parsed where they were checked."""
    if clean:
        drawn = [("good", event) for _, event in drawn]
    path = tmp_path_factory.mktemp("s3") / "000000"
    path.write_bytes(b"".join(test_formats_inplace.line(kind, event) + b"\n" for kind, event in drawn))
    monkeypatch.setattr(split, "TASK_BYTES", 4 << 10)
    fused, handed, in_place = load(path, True, monkeypatch)
    checked, _, checked_in_place = load(path, False, monkeypatch)
    with monkeypatch.context() as patch:  # the check in one process, the store's own pool after
        patch.setattr(reader, "s3_pooled", lambda source, workers, parse: inplace.s3_in_place(source))
        alone, _, alone_in_place = load(path, False, monkeypatch)
    assert fused == checked == alone
    assert in_place == checked_in_place == alone_in_place
    if clean:  # in place, its ranges parsed where the pool checked them
        assert in_place and handed


def test_a_cancelled_load_stops_unwrapping_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool stops with the load; the source, its spool cut short, is a problem, not half a file."""
    monkeypatch.setattr(split, "TASK_BYTES", 16 << 10)
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)
    path = envelope(["cloudwatch"] * 1500, tmp_path / "cloudwatch.jsonl")
    (source,) = expand_sources([str(path)], parse=True)
    assert source.stream is not None
    loader = StoreLoader([source], workers=2)
    progress = loader.run()
    next(progress)
    loader.cancel.set()
    assert list(progress)[-1].cancelled
    assert source.stream is None and source.problem is not None
    assert "cancelled" in source.problem.message
    assert 0 < len(loader.store) < 1501
