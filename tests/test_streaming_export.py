"""Streamed export (engine.streaming) against the store-based export: the same bytes, problems and
counts for every filter; the prefilter against its per-line reading; out-of-order input; the pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.commands.common import load_policy_or_exit
from k8saudit_tui.engine.export import export_rows
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.engine.streaming import pipeline
from k8saudit_tui.engine.streaming.export import stream_export
from k8saudit_tui.engine.streaming.prefilter import prefilter
from k8saudit_tui.engine.streaming.ranges import _line_starts
from k8saudit_tui.sample import write_log
from tests.auditlog_helpers import event, line

from .strategies import STREAM_FILTER_VALUES as FILTER_VALUES
from .strategies import stream_filters as filters

ROOT = Path(__file__).parent.parent
POLICY = ROOT / "k8saudit_tui" / "data" / "demo-policy.yaml"

SPECIAL = [
    b"host-1 " + line(event(1, verb="create", user="carol")),  # a prefixed line: its event is the JSON part
    b"{broken",
    b"",
    b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":['
    + line(event(2, verb="create"))
    + b","
    + line(event(3, verb="get"))
    + b"]}",
    line(event(4, verb="delete")).replace(b'"verb":"delete"', b'"verb":"cre\\u0061te"'),  # an escaped value
    line(event(5, verb="update", uri="/api/v1/namespaces/default/pods?a=1&b=2")).replace(b"&", b"\\u0026"),
    line(event(6, user="alice@example.com", verb="create")) + b"\r",
    b'{"kind":"Event","stage":"ResponseComplete","verb":"create","user":"not an object"}',
    b"not json at all",
]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated log with hostile strings, then lines of every unusual kind, the last without newline."""
    path = tmp_path_factory.mktemp("streaming") / "audit.log"
    write_log(path, 1500, seed=7, hostile=0.05)
    with open(path, "ab") as handle:
        handle.write(b"\n".join(SPECIAL) + b"\n" + line(event(7, verb="create")))
    return path


@pytest.fixture(scope="module")
def policies() -> tuple[PolicyEvaluator, PolicyEvaluator]:
    evaluator = load_policy_or_exit(str(POLICY))
    candidate = load_policy_or_exit("@gke")
    assert evaluator is not None and candidate is not None
    return evaluator, candidate


@pytest.fixture(scope="module")
def store(log: Path, policies: tuple[PolicyEvaluator, PolicyEvaluator]) -> EventStore:
    evaluator, candidate = policies
    return StoreLoader(expand_sources([str(log)]), evaluator, candidate=candidate, workers=1).load_all()


def _expected(store: EventStore, text: str, fmt: str, out: Path, redact: bool = False) -> bytes:
    export_rows(store, compile_filter(text).apply(store), fmt, out, force=True, redact=redact)  # type: ignore[arg-type]
    return out.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=filters(), fmt=st.sampled_from(["jsonl", "json", "csv"]), redact=st.booleans())
def test_streamed_export_writes_what_the_store_writes(
    tmp_path: Path,
    log: Path,
    store: EventStore,
    policies: tuple[PolicyEvaluator, PolicyEvaluator],
    text: str,
    fmt: str,
    redact: bool,
) -> None:
    evaluator, candidate = policies
    expected = _expected(store, text, fmt, tmp_path / "store.out", redact)
    result = stream_export(
        expand_sources([str(log)]),
        compile_filter(text),
        fmt,
        str(tmp_path / "streamed.out"),
        evaluator=evaluator,
        candidate=candidate,
        force=True,
        redact=redact,
        workers=1,
    )
    assert (tmp_path / "streamed.out").read_bytes() == expected
    assert result.events == len(store)
    assert [str(problem) for problem in result.problems] == [str(problem) for problem in store.problems]
    assert result.first_pass == pipeline.reads_the_end(compile_filter(text))


def test_the_special_lines_are_read_as_the_store_reads_them(tmp_path: Path, log: Path, store: EventStore) -> None:
    """verb:create finds the prefixed line's event, an EventList item, the escaped value and the CRLF line."""
    expected = _expected(store, "verb:create", "jsonl", tmp_path / "store.out")
    stream_export(expand_sources([str(log)]), compile_filter("verb:create"), "jsonl", str(tmp_path / "s.out"))
    written = (tmp_path / "s.out").read_bytes()
    assert written == expected
    assert b'"verb":"cre\\u0061te"' in written and b'"user":"carol"' in written.replace(b'"username"', b'"user"')
    assert line(event(2, verb="create")) + b"\n" in written
    assert written.endswith(line(event(7, verb="create")) + b"\n")


def test_ranges_in_the_pool_give_the_same_bytes_and_line_numbers(
    tmp_path: Path,
    log: Path,
    store: EventStore,
    policies: tuple[PolicyEvaluator, PolicyEvaluator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline, "RANGE_BYTES", 16 << 10)
    monkeypatch.setattr(pipeline.split, "TASK_BYTES", 64 << 10)
    evaluator, candidate = policies
    sources = expand_sources([str(log)])
    assert len(pipeline.plan(sources).tasks) > 10
    for text in ("verb:create", "user:~alice | level:RequestResponse", "time:-20s..", ""):
        expected = _expected(store, text, "jsonl", tmp_path / "store.out")
        result = stream_export(
            sources, compile_filter(text), "jsonl", str(tmp_path / "s.out"), evaluator=evaluator,
            candidate=candidate, force=True, workers=2, in_process_bytes=0,
        )  # fmt: skip
        assert (tmp_path / "s.out").read_bytes() == expected, text
        assert [str(problem) for problem in result.problems] == [str(problem) for problem in store.problems]


def test_out_of_order_input_is_written_in_time_order(tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    """Rotated logs named so that the newer one comes first: the selection is sorted at the end."""
    newer, older = tmp_path / "a-newer.log", tmp_path / "b-older.log"
    write_log(newer, 300, seed=1, start="2026-11-20T10:00:00Z")
    write_log(older, 300, seed=2, start="2026-11-20T09:00:00Z")
    paths = [str(newer), str(older)]
    store = StoreLoader(expand_sources(paths), workers=1).load_all()
    for fmt in ("jsonl", "json", "csv"):
        expected = _expected(store, "verb:get,list", fmt, tmp_path / "store.out")
        result = stream_export(
            expand_sources(paths), compile_filter("verb:get,list"), fmt, str(tmp_path / "s.out"), force=True
        )
        assert result.sorted
        assert (tmp_path / "s.out").read_bytes() == expected
        capfdbinary.readouterr()
        stream_export(expand_sources(paths), compile_filter("verb:get,list"), fmt, "-")
        assert capfdbinary.readouterr().out == expected
    assert not list(tmp_path.glob(".*.part"))


def test_a_filter_read_against_the_end_anchors_at_the_latest_event_of_every_range() -> None:
    selection = compile_filter("time:-1m.. | verb:get time:09:00..09:30")
    anchored = pipeline.anchored(selection, 10**18)
    assert not pipeline.reads_the_end(anchored)
    assert pipeline.anchored(selection, None) is selection


LINE_PARTS = st.sampled_from(
    [b'"create"', b'"get"', b"create", b"\\u0063", b"\\/", b"\\", b"u", b'"kube-system"', b'"pods"', b"x", b" ", b"/"]
)


@settings(max_examples=300, deadline=None)
@given(
    text=filters(policy=False),
    lines=st.lists(st.lists(LINE_PARTS, max_size=8).map(b"".join), min_size=1, max_size=30),
    final=st.booleans(),
)
def test_the_prefilter_finds_what_its_per_line_reading_finds(text: str, lines: list[bytes], final: bool) -> None:
    data = b"\n".join(lines) + (b"" if final else b"\n")
    screen = prefilter(compile_filter(text))
    starts = _line_starts(data, True)
    pieces = [data[a : b - 1] for a, b in zip(starts[:-1].tolist(), starts[1:].tolist())]
    assert np.array_equal(screen.candidates(data, starts), screen.plain_candidates(pieces))


def test_the_prefilter_uses_only_literal_positive_exact_terms() -> None:
    assert prefilter(compile_filter("verb:create user:~bob")).groups == (((b'"create"',),),)
    assert not prefilter(compile_filter("!verb:create")).active
    assert not prefilter(compile_filter("verb:create | level:None")).active
    assert not prefilter(compile_filter('ns:""')).active
    assert prefilter(compile_filter("resource:pods/log")).groups == (((b'"pods"',),),)
    assert prefilter(compile_filter("uri:/healthz")).slash
    assert set(FILTER_VALUES) >= {"verb", "user", "ns"}
