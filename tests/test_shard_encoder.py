"""The report shard's lean encoder (workbench/shard_encoder.py) against the full Encoder it stands in
for: over generated events (users without names, no objectRef, v1alpha1 groups, missing stage
times, impersonation, odd status codes) and every real Event line of tests/data/logs, a store
loaded through it holds exactly the full store's values in every column the report reads, and
blanks in the others; the report part of a shard equals the part of the full store."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.batch import Encoder, parse_lines
from k8saudit_tui.engine.logs.columns import LATENCY_UNKNOWN
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.store import EventStore
from k8saudit_tui.engine.workbench.report import as_json
from k8saudit_tui.engine.workbench.report_part import ReportPart, report_of, store_part
from k8saudit_tui.engine.workbench.shard_encoder import BLANK_COLUMNS, ShardEncoder
from k8saudit_tui.engine.workbench.shards import Shard, read_shard, shard_costs
from tests.auditlog_helpers import event, line
from tests.cloud_helpers import real_event_lines
from tests.test_event_columns import draw_times

ROOT = Path(__file__).resolve().parent.parent
READ_BY_THE_REPORT = (
    "verb",
    "stage",
    "recorded",
    "user",
    "group",
    "resource",
    "subresource",
    "ns",
    "name",
    "apigroup",
    "uri",
    "impersonated",
    "attr",
)
"""Coded columns a report part reads (verdicts through attr; groups, security classes, costs)."""

stamps = st.sampled_from(["2026-11-20T10:00:00.000001Z", "2026-11-20T10:31:00.5Z", "", "not a time", None])


@st.composite
def generated_event(draw: st.DrawFn, n: int) -> dict[str, Any]:
    value = event(
        n,
        user=draw(st.sampled_from(["alice", "", "system:anonymous", "system:serviceaccount:kube-system:x"])),
        groups=draw(st.sampled_from([(), ("system:authenticated",), ("system:unauthenticated", "g")])),
        verb=draw(st.sampled_from(["get", "list", "create", "patch", "delete", "watch"])),
        resource=draw(st.sampled_from(["pods", "secrets", "roles", None, "serviceaccounts"])),
        subresource=draw(st.sampled_from(["", "exec", "token", "log"])),
        namespace=draw(st.sampled_from(["default", "", "kube-system"])),
        name=draw(st.sampled_from(["", "a", "b"])),
        group=draw(st.sampled_from(["", "rbac.authorization.k8s.io", "apps"])),
        code=draw(st.sampled_from([200, 403, 401, 404, 40000, -5])),
        stage=draw(st.sampled_from(["ResponseComplete", "RequestReceived", "ResponseStarted", "Panic"])),
        level=draw(st.sampled_from(["Metadata", "Request", "RequestResponse", "None", "Odd"])),
        ua=draw(st.sampled_from(["kubectl", ""])),
    )
    draw_times(draw, value, stamps)
    if draw(st.booleans()):
        value["impersonatedUser"] = {"username": draw(st.sampled_from(["", "bob"]))}
    if draw(st.booleans()):
        value["annotations"] = {"authorization.k8s.io/decision": "allow"}
    if value["user"]["username"] == "" and draw(st.booleans()):
        del value["user"]["username"]  # E2: present through its groups, or absent
    if draw(st.integers(0, 9)) == 0:
        del value["user"]
    if draw(st.integers(0, 9)) == 0:
        del value["responseStatus"]
    if "objectRef" in value and draw(st.integers(0, 5)) == 0:  # v1alpha1: the group is in objectRef.apiVersion
        value["apiVersion"] = "audit.k8s.io/v1alpha1"
        value["objectRef"].pop("apiGroup", None)
        value["objectRef"]["apiVersion"] = "batch/v1"
    return value


def _policies() -> list[PolicyEvaluator]:
    names = ("k8saudit_tui/data/demo-policy.yaml", "tests/data/policies/kubernetes-gce-configure-helper.yaml")
    policies = []
    for name in names:
        loaded = load_policy_file(ROOT / name)
        assert loaded.policy is not None
        policies.append(PolicyEvaluator(loaded.policy))
    return policies


POLICIES = _policies()


def _store(data: bytes, encoder: Encoder, cut: int, path: str) -> EventStore:
    """A store of `data` (Event lines) under both policies, parsed in two batches of one stream."""
    store = EventStore()
    store.set_policy(POLICIES[0])
    store.set_candidate(POLICIES[1])
    store.add_file("x", path)
    lines = data.split(b"\n")
    first = b"".join(piece + b"\n" for piece in lines[:cut])
    batch = parse_lines(first, 0, 0, False, encoder)
    store.append(batch, 0, 0)
    store.append(parse_lines(data[len(first) :], len(first), 0, True, encoder), 0, batch.lines)
    return store


def _same_columns(data: bytes, cut: int, path: str) -> None:
    full, lean = _store(data, Encoder(), cut, path), _store(data, ShardEncoder(), cut, path)
    assert len(full) == len(lean)
    for name in READ_BY_THE_REPORT:
        assert [full.values(name)[c] for c in full.column(name).tolist()] == [
            lean.values(name)[c] for c in lean.column(name).tolist()
        ], name
    for name in ("time", "code", "file", "offset", "length", "line", "rule", "candidate_rule", "change", "omitted"):
        assert np.array_equal(full.column(name), lean.column(name)), name
    assert full.problems == lean.problems
    assert set(lean.values("ua")) <= {""} and set(lean.values("ip")) <= {""}
    assert set(lean.values("annotations")) <= {()}
    assert (lean.column("latency") == LATENCY_UNKNOWN).all()
    assert not lean.column("auditid").any()
    assert {"ua", "ip", "annotations", "auditid", "latency"} == set(BLANK_COLUMNS)
    assert _report(store_part(full, shard_costs(full, 0))) == _report(store_part(lean, shard_costs(lean, 0)))


def _report(part: ReportPart) -> dict[str, Any]:
    """The part as the report's JSON, and its problems (a CostTally has no equality of its own)."""
    return {**as_json(report_of(part, POLICIES[0].policy, POLICIES[1].policy)), "problems": part.problems()}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 30).flatmap(lambda count: st.tuples(*(generated_event(n) for n in range(count)))), st.data())
def test_generated_events_read_the_same_through_the_lean_encoder(
    values: tuple[dict[str, Any], ...], data: st.DataObject
) -> None:
    lines = [line(value) for value in values]
    cut = data.draw(st.integers(0, len(lines)))
    with tempfile.TemporaryDirectory() as folder:  # the costs read the lines a policy rewrites
        log = Path(folder) / "x.jsonl"
        log.write_bytes(b"\n".join(lines) + b"\n")
        _same_columns(log.read_bytes(), cut, str(log))


def test_every_real_event_line_reads_the_same_through_the_lean_encoder(tmp_path: Path) -> None:
    lines = real_event_lines()
    assert len(lines) > 100
    log = tmp_path / "real.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    _same_columns(log.read_bytes(), len(lines) // 2, str(log))


def test_a_shard_read_with_its_loaded_bytes_equals_the_full_store_part(tmp_path: Path) -> None:
    """`read_shard` (lean encoder, flags from the bytes it read) against a full store of the same
    lines whose costs read the file again."""
    lines = real_event_lines()
    log = tmp_path / "real.jsonl"
    log.write_bytes(b"\r\n".join(lines[:50]) + b"\n" + b"\n".join(lines[50:]) + b"\n")  # some lines end in CR
    data = log.read_bytes()
    start = data.index(b"\n", len(data) // 3) + 1
    for low, high in ((0, start), (start, len(data))):
        part = read_shard(POLICIES, Shard("real.jsonl", str(log), low, high))
        store = EventStore()
        store.set_policy(POLICIES[0])
        store.set_candidate(POLICIES[1])
        store.add_file("real.jsonl", str(log))
        store.append(parse_lines(data[low:high], low, 0, True, Encoder()), 0, 0)
        expected = store_part(store, shard_costs(store, 0), part.pieces)
        assert _report(part) == _report(expected)
        assert part.events > 0
