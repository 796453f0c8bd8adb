"""The store's verdicts of GKE entries (format lost user.groups and stage) beside a raw log: unknown
rule/level/written codes, the filter language's `unknown`, top values, the workbench change class,
and raw rows exactly as without the GKE file (tests/data/cloud: real KHI LogEntries)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from k8saudit_tui.engine.logs.formats import BY_NAME
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_text
from k8saudit_tui.engine.query.facets import facet
from k8saudit_tui.engine.query.filter import compile_filter
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.conftest import DATA

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-proxy"]
- level: RequestResponse
  userGroups: ["system:nodes"]
  resources: [{group: "", resources: ["pods/status"]}]
- level: Metadata
  resources: [{group: "", resources: ["pods/status"]}]
  omitStages: ["ResponseComplete"]
- level: Request
  omitStages: ["ResponseStarted"]
"""
"""Rule 1 reads the groups a GKE entry lost; the node's status patch reaches it (rule and level
unknown, and written: rule 1 writes ResponseComplete, rule 2 omits it). The controller's pod create
is decided by rule 3 whatever its groups, and a create is only ever ResponseComplete: written."""

RAW_LOG = DATA / "logs" / "audit2rbac-demo.jsonl"
GKE_SAMPLES = ("gke-logentry-khi-pods-create.yaml", "gke-logentry-khi-pods-status-patch.yaml")


def evaluator() -> PolicyEvaluator:
    loaded = load_policy_text(POLICY, "policy.yaml")
    assert loaded.policy is not None
    return PolicyEvaluator(loaded.policy)


def gke_log(tmp_path: Path) -> Path:
    """The two real LogEntries as `gcloud logging read` prints several: YAML documents."""
    path = tmp_path / "gke.yaml"
    path.write_text("---\n".join((DATA / "cloud" / name).read_text() for name in GKE_SAMPLES))
    return path


def load(*paths: Path) -> EventStore:
    return StoreLoader(expand_sources([str(p) for p in paths]), evaluator(), workers=1).load_all()


@pytest.fixture
def mixed(tmp_path: Path) -> EventStore:
    store = load(RAW_LOG, gke_log(tmp_path))
    assert not store.problems, [str(p) for p in store.problems]
    return store


def gke_rows(store: EventStore) -> list[int]:
    return np.flatnonzero(store.column("format") == BY_NAME["gke"].code).tolist()


def test_gke_entries_get_unknown_where_their_lost_groups_decide(mixed: EventStore) -> None:
    rows = gke_rows(mixed)
    assert [mixed.value(row, "verb") for row in rows] == ["create", "patch"]
    assert [[mixed.value(row, name) for name in ("rule", "level", "omitted")] for row in rows] == [
        [3, "Request", 0],
        ["unknown", "unknown", 2],
    ]
    assert [mixed.value(row, "unknown_at") for row in rows] == [-1, 1]
    assert mixed.rule_counts(np.array(rows)) == {3: 1}  # the unknown one is counted by no rule


def test_raw_rows_keep_their_exact_verdicts(mixed: EventStore) -> None:
    raw = load(RAW_LOG)
    n = len(raw)
    assert gke_rows(mixed) == [n, n + 1]  # files load in order
    for column in ("rule", "level", "omitted", "unknown_at"):
        assert mixed.column(column)[:n].tolist() == raw.column(column).tolist(), column
    assert raw.column("omitted").dtype == bool  # no lossy rows: no lossy table, nothing changes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rule:unknown", ["patch"]),
        ("level:unknown", ["patch"]),
        ("written:unknown", ["patch"]),
        ("rule:3", ["create"]),
        ("!written:unknown written:yes", ["create"]),
        ("written:no", []),
        ("rule:none", []),
    ],
)
def test_the_filter_language_names_unknown(mixed: EventStore, text: str, expected: list[str]) -> None:
    rows = compile_filter(text).apply(mixed)
    assert [mixed.value(int(row), "verb") for row in rows if int(row) in gke_rows(mixed)] == expected


def test_unknown_is_not_a_raw_row_value(mixed: EventStore) -> None:
    for text in ("rule:unknown", "level:unknown", "written:unknown"):
        assert set(compile_filter(text).apply(mixed).tolist()) <= set(gke_rows(mixed)), text


def test_top_values_count_unknown(mixed: EventStore) -> None:
    rows = np.array(gke_rows(mixed))
    assert {value.label: value.events for value in facet(mixed, "level", rows).values} == {"Request": 1, "unknown": 1}
    assert {value.label: value.events for value in facet(mixed, "rule", rows).values} == {"3": 1, "unknown": 1}


def test_a_candidate_gives_change_unknown_not_same(mixed: EventStore) -> None:
    mixed.set_candidate(evaluator())  # the same policy: every exact row is `same`
    rows = gke_rows(mixed)
    assert [mixed.value(row, "change") for row in rows] == ["same", "unknown"]
    assert set(mixed.column("change")[: rows[0]].tolist()) == {0}
    assert compile_filter("change:unknown").apply(mixed).tolist() == [rows[1]]
