"""The mergeable report: the parts of any split of a log, merged in any grouping and order, give
the report of one store over the whole log (same JSON, same problems at the same lines).

The reference is built the plain way, independently of the shards: `StoreLoader` over the whole
file with both policies, and each policy's bytes by `CostTally.add_lines` over every line."""

from __future__ import annotations

import gzip
import itertools
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui import sample
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.store import StoreLoader
from k8saudit_tui.engine.workbench.cost import CostSummary, CostTally
from k8saudit_tui.engine.workbench.report import as_json
from k8saudit_tui.engine.workbench.report_part import ReportPart, combine, empty_part, merge, report_of, store_part
from k8saudit_tui.engine.workbench.shards import Shard, plan, read_shard, read_sources

DATA = Path(__file__).resolve().parent / "data"
CANDIDATE = DATA / "policies" / "kubernetes-gce-configure-helper.yaml"
BROKEN = (b'{"kind": "Event", broken\n', b"not json at all\n", b"\n", b'{"kind":"Event","verb":7}\n')


def evaluator(path: Path) -> PolicyEvaluator:
    loaded = load_policy_file(str(path))
    assert loaded.policy is not None
    return PolicyEvaluator(loaded.policy)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated log (some hostile requests) with unreadable lines spread through it."""
    path = tmp_path_factory.mktemp("parts") / "audit.log"
    sample.write_log(path, 900, seed=7, hostile=0.05, bodies=0.2)
    lines = path.read_bytes().splitlines(keepends=True)
    for number, bad in enumerate(BROKEN):
        lines.insert((number + 1) * len(lines) // (len(BROKEN) + 1), bad)
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture(scope="module")
def evaluators() -> tuple[PolicyEvaluator, PolicyEvaluator]:
    return evaluator(sample.DEMO_POLICY), evaluator(CANDIDATE)


References = dict[int, tuple[dict[str, Any], list[Problem], list[CostSummary]]]


@pytest.fixture(scope="module")
def references(log: Path, evaluators: tuple[PolicyEvaluator, PolicyEvaluator]) -> References:
    """policies used (1 or 2) -> (report JSON, problems, each policy's plain cost summary with
    `unreadable` 0: a shard counts its store's problems there) of one store over the whole log."""
    result: References = {}
    for count in (1, 2):
        chosen = evaluators[:count]
        store = StoreLoader(
            expand_sources([str(log)]), chosen[0], workers=1, candidate=chosen[1] if count > 1 else None
        )
        loaded = store.load_all()
        try:
            with log.open("rb") as stream:
                lines = list(stream)
            tallies = [CostTally().add_lines(e, lines) for e in chosen]
            report = report_of(store_part(loaded, tallies), *(e.policy for e in chosen))
            plain = [replace(tally.summary(), unreadable=0) for tally in tallies]
            result[count] = (as_json(report), list(loaded.problems), plain)
        finally:
            loaded.close()
    assert result[2][0]["events"] >= 900 and len(result[2][1]) >= 3  # the log has something to split
    return result


def line_starts(log: Path) -> list[int]:
    data = log.read_bytes()
    return [0] + [i + 1 for i, byte in enumerate(data) if byte == 0x0A and i + 1 < len(data)]


SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data(), count=st.sampled_from((1, 2)))
def test_byte_range_shards_merged_in_any_order_equal_one_store(
    log: Path, evaluators: tuple[PolicyEvaluator, ...], references: References, data: st.DataObject, count: int
) -> None:
    starts = line_starts(log)
    size = log.stat().st_size
    cuts = data.draw(st.lists(st.sampled_from(starts[1:]), max_size=8, unique=True).map(sorted), label="cuts")
    bounds = [0, *cuts, size]
    shards = [Shard(str(log), str(log), a, b) for a, b in itertools.pairwise(bounds)]
    chosen = evaluators[:count]
    parts = [read_shard(chosen, shard) for shard in shards]
    random.Random(data.draw(st.integers(0, 1000), label="order")).shuffle(parts)
    # merge in a random grouping: combine is associative, as a tree reduction needs
    while len(parts) > 1:
        at = data.draw(st.integers(0, len(parts) - 2), label="pair")
        parts[at : at + 2] = [combine(parts[at : at + 2])]
    expected, problems, costs = references[count]
    assert as_json(report_of(parts[0], *(e.policy for e in chosen))) == expected
    assert parts[0].problems() == problems
    # every group of the bytes, not only what the report words: the shards' store-made tallies add up
    assert [replace(tally.summary(), unreadable=0) for tally in parts[0].costs] == costs


@SETTINGS
@given(data=st.data())
def test_a_log_split_into_files_merges_to_the_report_of_the_whole(
    tmp_path_factory: pytest.TempPathFactory,
    log: Path,
    evaluators: tuple[PolicyEvaluator, ...],
    references: References,
    data: st.DataObject,
) -> None:
    """30 days of a fleet are many files: one part per file (some gzip), merged == one store."""
    content = log.read_bytes()
    starts = line_starts(log)
    cuts = data.draw(st.lists(st.sampled_from(starts[1:]), min_size=1, max_size=5, unique=True).map(sorted))
    bounds = [0, *cuts, len(content)]
    folder = tmp_path_factory.mktemp("split")
    parts: list[ReportPart] = []
    for number, (a, b) in enumerate(itertools.pairwise(bounds)):
        path = folder / f"audit-{number}.log"
        packed = data.draw(st.booleans(), label=f"gzip {number}")
        path.write_bytes(gzip.compress(content[a:b]) if packed else content[a:b])
        parts.append(read_shard(evaluators, Shard(str(path), str(path))))
    assert as_json(merge(parts, *(e.policy for e in evaluators))) == references[2][0]


def test_the_whole_file_planned_in_small_shards_equals_one_store(
    log: Path, evaluators: tuple[PolicyEvaluator, ...], references: References, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plan` cuts at split.cut's boundaries; `read_sources` is the report command's reading, in
    this process or in the worker pool (parts pickled back, in shard order)."""
    from k8saudit_tui.engine.logs import split

    monkeypatch.setattr(split, "TASK_BYTES", 20_000)
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)  # so that workers=2 is the engine's worker pool
    shards, unread = plan(expand_sources([str(log)]))
    assert unread == [] and len(shards) > 3
    assert [s.start for s in shards[1:]] == [s.end for s in shards[:-1]] and shards[-1].end == log.stat().st_size
    for workers in (1, 2):
        part = read_sources(expand_sources([str(log)]), evaluators, workers=workers)
        assert as_json(report_of(part, *(e.policy for e in evaluators))) == references[2][0]
        assert part.problems() == references[2][1]


def test_an_input_that_cannot_be_read_is_an_unread_problem(
    tmp_path: Path, evaluators: tuple[PolicyEvaluator, ...]
) -> None:
    missing = tmp_path / "gone.log"
    part = read_shard(evaluators, Shard(str(missing), str(missing)))
    assert part.events == 0 and [str(p) for p in part.unread] == [f"{missing}: cannot read: No such file or directory"]
    vanished = read_shard(evaluators, Shard("gone.log", str(missing), 0, 100))
    assert [p.message for p in vanished.unread] == ["cannot read: No such file or directory"]


def test_parts_of_other_policies_do_not_merge(evaluators: tuple[PolicyEvaluator, ...]) -> None:
    with pytest.raises(ValueError, match="different policies"):
        combine([empty_part([evaluators[0].policy]), empty_part([e.policy for e in evaluators])])


def test_no_parts_is_the_report_of_no_events(evaluators: tuple[PolicyEvaluator, ...]) -> None:
    report = merge([], evaluators[0].policy, evaluators[1].policy)
    assert report.events == 0 and report.changes is not None and report.changes.changed == 0
    assert all(row.hits == 0 for row in report.rules) and report.current.bytes == 0


def test_an_unwrapped_cloud_log_reads_as_its_store_does(
    tmp_path: Path, evaluators: tuple[PolicyEvaluator, ...]
) -> None:
    """AKS diagnostic records unwrapped into a spool: rows and problems name the original lines."""
    lines = (DATA / "cloud" / "aks-diagnostic-storage-datadog.jsonl").read_bytes().splitlines(keepends=True)
    log = tmp_path / "aks.jsonl"
    log.write_bytes(b"".join([*lines[:5], b'{"category": "kube-audit", broken\n', *lines[5:]]))
    store = StoreLoader(expand_sources([str(log)]), evaluators[0], workers=1, candidate=evaluators[1]).load_all()
    try:
        spool = [source.path for source in expand_sources([str(log)])]
        with open(spool[0], "rb") as stream:
            tallies = [CostTally().add_lines(e, list(stream)) for e in evaluators[:1]]
        with open(spool[0], "rb") as stream:
            tallies.append(CostTally().add_lines(evaluators[1], list(stream)))
        expected = as_json(report_of(store_part(store, tallies), *(e.policy for e in evaluators)))
        problems = list(store.problems)
    finally:
        store.close()
    part = read_sources(expand_sources([str(log)]), evaluators, workers=1)
    assert expected["events"] == 21 and problems and all(p.file == str(log) for p in problems)
    assert as_json(report_of(part, *(e.policy for e in evaluators))) == expected
    assert part.problems() == problems
    assert read_shard(evaluators, Shard(str(log), str(log))).problems() == problems  # the fleet's whole shard
