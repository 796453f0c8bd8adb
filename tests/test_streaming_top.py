"""Streamed `top` (engine.streaming.top) against the store's facet: the same values, events,
requests and totals for every field and filter, in-process and across ranges in the pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.commands.common import load_policy_or_exit
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.query.facets import TOP_FIELDS, facet
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.engine.streaming import narrow_top, pipeline, top
from k8saudit_tui.engine.streaming.narrow import spec_of
from k8saudit_tui.engine.streaming.top import stream_top
from k8saudit_tui.sample import write_log
from tests.auditlog_helpers import event, line

from .strategies import stream_filters as filters

POLICY = Path(__file__).parent.parent / "k8saudit_tui" / "data" / "demo-policy.yaml"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated log, then events without an auditID, with a long one, a short one, upper and lower
    case UUIDs, and a bad line."""
    path = tmp_path_factory.mktemp("top") / "audit.log"
    write_log(path, 1200, seed=11, hostile=0.05)
    extra = [
        line(event(1, audit_id="", verb="create")),
        line(event(2, audit_id="", verb="create")),
        line(event(3, audit_id="x" * 50, verb="create", stage="RequestReceived")),
        line(event(3, audit_id="x" * 50, verb="create", code=201)),
        line(event(4, audit_id="not-a-uuid", verb="create", stage="RequestReceived")),
        line(event(4, audit_id="not-a-uuid", verb="create", code=201)),
        line(event(5, audit_id="0000000A-0000-0000-0000-000000000005", verb="create")),  # upper case: its own ID
        line(event(5, audit_id="0000000a-0000-0000-0000-000000000005", verb="create")),
        b"{broken",
    ]
    with open(path, "ab") as handle:
        handle.write(b"\n".join(extra) + b"\n")
    return path


@pytest.fixture(scope="module")
def clean_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log the narrow path reads whole (every line a plain Event), with the same auditID cases."""
    path = tmp_path_factory.mktemp("top-clean") / "audit.log"
    write_log(path, 1200, seed=12, hostile=0)
    extra = [
        line(event(1, audit_id="", verb="create")),
        line(event(2, audit_id="", verb="create", code=-5)),
        line(event(3, audit_id="x" * 50, verb="create", stage="RequestReceived", code=70000)),
        line(event(3, audit_id="x" * 50, verb="create", code=201, subresource="status")),
        line(event(4, audit_id="not-a-uuid", verb="create", stage="RequestReceived", resource=None)),
        line(event(4, audit_id="not-a-uuid", verb="create", code=201, user="")),
        line(event(5, audit_id="0000000A-0000-0000-0000-000000000005", verb="create")),  # upper case: its own ID
        line(event(5, audit_id="0000000a-0000-0000-0000-000000000005", verb="create")),
    ]
    with open(path, "ab") as handle:
        handle.write(b"\n".join(extra) + b"\n")
    return path


@pytest.fixture(scope="module")
def evaluator() -> PolicyEvaluator:
    loaded = load_policy_or_exit(str(POLICY))
    assert loaded is not None
    return loaded


@pytest.fixture(scope="module")
def store(log: Path, evaluator: PolicyEvaluator) -> EventStore:
    return StoreLoader(expand_sources([str(log)]), evaluator, workers=1).load_all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=filters(policy=False), name=st.sampled_from(TOP_FIELDS), limit=st.sampled_from([1, 3, 10, 1000]))
def test_streamed_top_counts_what_the_store_counts(
    log: Path, store: EventStore, evaluator: PolicyEvaluator, text: str, name: str, limit: int
) -> None:
    selection = compile_filter(text)
    expected = facet(store, name, selection.apply(store), limit)
    counted = stream_top(expand_sources([str(log)]), name, selection, limit, evaluator=evaluator, workers=1)
    assert counted.facet == expected
    assert [str(problem) for problem in counted.problems] == [str(problem) for problem in store.problems]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=filters(policy=False), name=st.sampled_from(TOP_FIELDS), split=st.booleans())
def test_the_narrow_path_counts_what_the_store_counts(
    clean_log: Path, evaluator: PolicyEvaluator, text: str, name: str, split: bool
) -> None:
    """A narrow filter on a field the decoded lines hold is counted without a store of any range
    (the store path is made to fail), and counts what the store counts, in one range or many."""
    store = StoreLoader(expand_sources([str(clean_log)]), evaluator, workers=1).load_all()
    selection = compile_filter(text)
    narrow = name in narrow_top.LABELS and spec_of(selection) is not None
    with pytest.MonkeyPatch.context() as patch:
        if narrow:
            patch.setattr(top, "count", _no_store)
        if split:
            patch.setattr(pipeline, "RANGE_BYTES", 64 << 10)
            patch.setattr(pipeline, "FULL_PARSE_RANGE_BYTES", 64 << 10)
        counted = stream_top(expand_sources([str(clean_log)]), name, selection, 1000, evaluator=evaluator, workers=1)
    assert counted.facet == facet(store, name, selection.apply(store), 1000)
    assert counted.problems == []


@pytest.mark.parametrize("name", sorted(narrow_top.LABELS))
@pytest.mark.parametrize("text", ["", "verb:create", "!ns:kube-system resource:pods,pods/status"])
def test_every_narrow_field_counts_what_the_store_counts(
    clean_log: Path, evaluator: PolicyEvaluator, monkeypatch: pytest.MonkeyPatch, text: str, name: str
) -> None:
    store = StoreLoader(expand_sources([str(clean_log)]), evaluator, workers=1).load_all()
    selection = compile_filter(text)
    assert spec_of(selection) is not None
    monkeypatch.setattr(top, "count", _no_store)
    counted = stream_top(expand_sources([str(clean_log)]), name, selection, 1000, evaluator=evaluator, workers=1)
    assert counted.facet == facet(store, name, selection.apply(store), 1000)


def _no_store(*_: object) -> None:
    raise AssertionError("a range of plain Events under a narrow filter went through the store path")


def test_requests_spanning_ranges_in_the_pool_and_spilled_pairs_count_once(
    log: Path, store: EventStore, evaluator: PolicyEvaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "RANGE_BYTES", 16 << 10)
    monkeypatch.setattr(pipeline, "FULL_PARSE_RANGE_BYTES", 16 << 10)
    monkeypatch.setattr(top, "_FLUSH_PAIRS", 50)  # the pairs go through their files on disk
    sources = expand_sources([str(log)])
    assert len(pipeline.plan(sources).tasks) > 10
    for name, text in (("user", ""), ("code", "verb:create"), ("rule", "!verb:get"), ("level", "time:-30s..")):
        selection = compile_filter(text)
        counted = stream_top(sources, name, selection, 10, evaluator=evaluator, workers=2, in_process_bytes=0)
        assert counted.facet == facet(store, name, selection.apply(store), 10), (name, text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-3, 3),
            st.sampled_from([bytes(16), bytes(8) + b"\xff" * 8, b"\xff" * 8 + bytes(8), b"\xff" * 16]),
        ),
        max_size=40,
    ),
    st.lists(st.tuples(st.integers(-(2**31), 2**31 - 1), st.binary(min_size=16, max_size=16)), max_size=20),
)
def test_distinct_pairs_and_ids_are_numpys_unique(few: list[tuple[int, bytes]], many: list[tuple[int, bytes]]) -> None:
    """The sort-based distinct pairs equal `np.unique` up to order (few values and IDs: many
    repeats, IDs equal in one half only; any values and IDs), and so does the count of IDs."""
    pairs = np.array(few + many, narrow_top.PAIR)
    distinct = narrow_top.distinct_pairs(pairs)
    assert sorted(distinct.tolist()) == sorted(np.unique(pairs).tolist())
    assert narrow_top.distinct_ids(pairs) == len(np.unique(pairs["id"]))
