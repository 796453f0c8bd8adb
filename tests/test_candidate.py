"""Two policies, one log: candidate verdicts, change classes, their filters, security classes, drift.

The store computes change classes vectorised per (attributes code, stage); every test here checks
it against the plain per-event definition (`plain_change`), over random verdict pairs and over the
real logs of tests/data with corpus policies.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.fields import CHANGES
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import LEVELS, STAGES, GroupResources, Policy, PolicyRule, Verdict
from k8saudit_tui.engine.policy.decision import AttributeCodes, PolicyDecision
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.query import FilterError, compile_filter
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.engine.store.verdicts import Verdicts, VerdictTable
from k8saudit_tui.engine.workbench.changes import change_counts
from k8saudit_tui.engine.workbench.drift import DRIFT_THRESHOLD, drift
from k8saudit_tui.engine.workbench.security import SECURITY_CLASSES, security_coverage
from k8saudit_tui.ui.launch import run_tui
from k8saudit_tui.ui.session import open_session
from tests.auditlog_helpers import event, line, write_lines

DATA = Path(__file__).parent / "data"
POLICY_PAIRS = [
    ("kubernetes-website-audit-policy.yaml", "openshift-library-go-default.yaml"),
    ("kubernetes-gce-configure-helper.yaml", "kind-docs-minimal-metadata.yaml"),
    ("falco-k8saudit-plugin-audit-policy.yaml", "openshift-library-go-writerequestbodies.yaml"),
]


def plain_change(level: str, written: bool, candidate_level: str, candidate_written: bool) -> str:
    """The change class of one event, as the issue defines it."""
    if written and not candidate_written:
        return "dropped"
    if candidate_written and not written:
        return "added"
    if written and candidate_written and LEVELS.index(candidate_level) > LEVELS.index(level):
        return "up"
    if written and candidate_written and LEVELS.index(candidate_level) < LEVELS.index(level):
        return "down"
    return "same"


def evaluator(path: str) -> PolicyEvaluator:
    policy = load_policy_file(str(DATA / "policies" / path)).policy
    assert policy is not None
    return PolicyEvaluator(policy)


def corpus_store(current: str, candidate: str) -> EventStore:
    sources = expand_sources([str(DATA / "logs")])
    return StoreLoader(sources, evaluator(current), workers=1, candidate=evaluator(candidate)).load_all()


def written(verdict: Verdict | None, stage: str) -> bool:
    assert verdict is not None
    return verdict.emits(stage)


# ------------------------------------------------------------------------------ change classes

_VERDICT = st.tuples(st.sampled_from(LEVELS), st.lists(st.booleans(), min_size=len(STAGES), max_size=len(STAGES)))


def _table(verdicts: list[tuple[str, list[bool]]]) -> VerdictTable:
    """A table of the given (level, omitted per stage) verdicts; level None omits every stage."""
    dummy = PolicyEvaluator(Policy(rules=(PolicyRule(level="Metadata"),)))
    omits = [[level == "None" or omit for omit in omitted] for level, omitted in verdicts]
    return VerdictTable(
        dummy,
        tuple(Verdict(0, level, frozenset(), False) for level, _ in verdicts),
        np.zeros(len(verdicts), np.int16),
        np.array([LEVELS.index(level) for level, _ in verdicts], np.int8),
        np.array(omits, bool).reshape(len(verdicts), len(STAGES)),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_VERDICT, _VERDICT), min_size=1, max_size=30), st.data())
def test_change_classes_equal_the_plain_definition_over_random_verdict_pairs(
    pairs: list[tuple[tuple[str, list[bool]], tuple[str, list[bool]]]], data: st.DataObject
) -> None:
    verdicts = Verdicts(_table([p[0] for p in pairs]), _table([p[1] for p in pairs]))
    rows = data.draw(st.lists(st.integers(0, len(pairs) - 1), max_size=60))
    stages = data.draw(st.lists(st.integers(0, len(STAGES) - 1), min_size=len(rows), max_size=len(rows)))
    attr, stage = np.array(rows, np.int64), np.array(stages, np.int64)
    column = verdicts.column("change", attr, stage)
    for index, (row, code) in enumerate(zip(rows, stages)):
        (level, omitted), (candidate_level, candidate_omitted) = pairs[row]
        expected = plain_change(
            level,
            level != "None" and not omitted[code],
            candidate_level,
            candidate_level != "None" and not candidate_omitted[code],
        )
        assert CHANGES[int(column[index])] == expected
        assert verdicts.value("change", row, code) == expected


@pytest.mark.parametrize(("current", "candidate"), POLICY_PAIRS)
def test_change_classes_over_real_logs_equal_the_per_event_definition(current: str, candidate: str) -> None:
    store = corpus_store(current, candidate)
    assert len(store) > 100
    column = store.column("change")
    expected = []
    for row in range(len(store)):
        stage = str(store.value(row, "stage"))
        verdict, other = store.verdict(row), store.candidate_verdict(row)
        assert verdict is not None and other is not None
        assert store.value(row, "candidate_level") == other.level
        assert store.value(row, "candidate_rule") == other.rule
        expected.append(plain_change(verdict.level, written(verdict, stage), other.level, written(other, stage)))
        assert store.value(row, "change") == expected[-1]
    assert [CHANGES[c] for c in column.tolist()] == expected
    counts = change_counts(store)
    assert counts.as_dict() == {name: expected.count(name) for name in CHANGES if name != "unknown"}  # raw: never
    assert counts.changed > 0  # the pairs were chosen to differ on these logs


def test_the_candidate_alone_changes_nothing_and_the_same_policy_twice_is_all_same() -> None:
    store = corpus_store("kubernetes-website-audit-policy.yaml", "kubernetes-website-audit-policy.yaml")
    assert change_counts(store).as_dict() == {"same": len(store), "up": 0, "down": 0, "dropped": 0, "added": 0}
    store.set_candidate(None)
    with pytest.raises(ValueError, match="candidate"):
        change_counts(store)
    assert not store.column("change").any()


# ------------------------------------------------------------------------------ filters


@pytest.mark.parametrize(("current", "candidate"), POLICY_PAIRS[:2])
def test_candidate_and_change_filters_select_what_a_plain_walk_selects(current: str, candidate: str) -> None:
    store = corpus_store(current, candidate)
    rows = range(len(store))
    levels = [store.value(row, "candidate_level") for row in rows]
    changes = [store.value(row, "change") for row in rows]
    for text, wanted in [
        ("candidate:Metadata", lambda r: levels[r] == "Metadata"),
        ("candidate:none,requestresponse", lambda r: levels[r] in ("None", "RequestResponse")),
        ("change:dropped", lambda r: changes[r] == "dropped"),
        ("change:up,down", lambda r: changes[r] in ("up", "down")),
        ("!change:same", lambda r: changes[r] != "same"),
        ("change:/^(added|dropped)$/", lambda r: changes[r] in ("added", "dropped")),
        ("change:dropped | candidate:Request", lambda r: changes[r] == "dropped" or levels[r] == "Request"),
    ]:
        mask = compile_filter(text).mask(store)
        assert np.flatnonzero(mask).tolist() == [r for r in rows if wanted(r)], text


def test_candidate_and_change_filters_need_a_candidate_and_take_only_their_values() -> None:
    store = corpus_store("kubernetes-website-audit-policy.yaml", "kind-docs-minimal-metadata.yaml")
    store.set_candidate(None)
    for text in ("candidate:Metadata", "change:dropped"):
        with pytest.raises(FilterError, match="needs a policy and a candidate"):
            compile_filter(text).mask(store)
    with pytest.raises(FilterError, match="change must be one of"):
        compile_filter("change:lost")
    with pytest.raises(FilterError, match="candidate must be one of"):
        compile_filter("candidate:Everything")


# ------------------------------------------------------------------------------ security classes


def _security_log(tmp_path: Path) -> Path:
    """Events of every class and some of none, at several stages."""
    rows = [
        event(0, resource="pods", subresource="exec", verb="create"),
        event(1, resource="pods", subresource="portforward", verb="create", stage="ResponseStarted"),
        event(2, resource="secrets", verb="get"),
        event(3, resource="secrets", verb="list", namespace="kube-system"),
        event(4, resource="secrets", verb="create"),
        event(5, resource="clusterrolebindings", group="rbac.authorization.k8s.io", verb="create"),
        event(6, resource="roles", group="rbac.authorization.k8s.io", verb="get"),
        event(7, resource="serviceaccounts", subresource="token", verb="create"),
        event(8, resource="validatingwebhookconfigurations", group="admissionregistration.k8s.io", verb="patch"),
        event(9, resource="certificatesigningrequests", subresource="approval", group="certificates.k8s.io"),
        event(10, resource="nodes", subresource="proxy", namespace=""),
        event(11, user="system:anonymous", groups=("system:unauthenticated",), code=403),
        event(12, user="", groups=("system:unauthenticated",), code=401),
        event(13, impersonatedUser={"username": "bob"}),
        event(14, resource="configmaps"),
        event(15, resource="pods", verb="list", stage="RequestReceived"),
    ]
    return write_lines(tmp_path / "audit.log", [line(row) for row in rows])


def _plain_classes(store: EventStore, row: int) -> set[str]:
    """The classes of one event, decided from its values by hand."""
    v = store.value
    resource, sub, verb = v(row, "resource"), v(row, "subresource"), v(row, "verb")
    writes = verb in ("create", "update", "patch", "delete", "deletecollection")
    classes = {
        "exec": resource == "pods" and sub in ("exec", "attach", "portforward"),
        "secrets-read": resource == "secrets" and verb in ("get", "list", "watch"),
        "rbac-change": v(row, "apigroup") == "rbac.authorization.k8s.io" and writes,
        "token-request": (resource, sub) == ("serviceaccounts", "token"),
        "webhook-change": resource in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations") and writes,
        "csr-approval": (resource, sub) == ("certificatesigningrequests", "approval"),
        "node-proxy": (resource, sub) == ("nodes", "proxy"),
        "anonymous": v(row, "user") == "system:anonymous" or "system:unauthenticated" in str(v(row, "group")),
        "denied": v(row, "code") in (401, 403),
        "impersonation": v(row, "impersonated") != "",
    }
    return {name for name, yes in classes.items() if yes}


def test_security_class_counts_equal_plain_counts(tmp_path: Path) -> None:
    current = Policy(rules=(PolicyRule(level="RequestResponse"),), omit_stages=("RequestReceived",))
    candidate = Policy(
        rules=(
            PolicyRule(level="None", verbs=("get", "list", "watch")),
            PolicyRule(level="Metadata"),
        ),
        omit_stages=("RequestReceived", "ResponseStarted"),
    )
    store = StoreLoader(
        expand_sources([str(_security_log(tmp_path))]),
        PolicyEvaluator(current),
        workers=1,
        candidate=PolicyEvaluator(candidate),
    ).load_all()
    coverage = security_coverage(store)
    assert [c.security_class.name for c in coverage] == [c.name for c in SECURITY_CLASSES]
    for result in coverage:
        name = result.security_class.name
        members = [row for row in range(len(store)) if name in _plain_classes(store, row)]
        assert members, f"the log has no event of {name}"
        stage = [str(store.value(row, "stage")) for row in members]
        now = [written(store.verdict(row), s) for row, s in zip(members, stage)]
        then = [written(store.candidate_verdict(row), s) for row, s in zip(members, stage)]
        assert result.events == len(members), name
        assert result.current == sum(now), name
        assert result.candidate == sum(then), name
        assert result.lost == sum(a and not b for a, b in zip(now, then)), name
        assert result.lowered == sum(a and b for a, b in zip(now, then)), name  # RequestResponse -> Metadata
        assert result.flagged == bool(result.lost or result.lowered)
    by_name = {c.security_class.name: c for c in coverage}
    assert by_name["secrets-read"].lost == 2 and by_name["secrets-read"].candidate == 0
    assert by_name["exec"].lost == 1  # the ResponseStarted stage the candidate omits


def test_security_coverage_without_a_candidate_counts_the_current_policy_only(tmp_path: Path) -> None:
    policy = PolicyEvaluator(Policy(rules=(PolicyRule(level="Metadata"),)))
    store = StoreLoader(expand_sources([str(_security_log(tmp_path))]), policy, workers=1).load_all()
    for result in security_coverage(store):
        assert result.candidate is None and result.lost is None and result.lowered is None
        assert not result.flagged
        assert result.current == result.events > 0


# ------------------------------------------------------------------------------ drift


def test_drift_groups_by_rule_recorded_and_evaluated_level(tmp_path: Path) -> None:
    rows = [event(n, resource="secrets", level="Metadata") for n in range(6)]  # rule 0 says Request
    rows += [event(10 + n, resource="pods", level="Metadata") for n in range(90)]  # rule 1 agrees
    rows += [event(200 + n, resource="pods", level="Request") for n in range(3)]  # rule 1 says Metadata
    rows += [event(300, resource="pods", level="Bogus"), event(301, resource="configmaps", level="None")]
    policy = Policy(
        rules=(
            PolicyRule(level="Request", resources=_group("secrets")),
            PolicyRule(level="Metadata", resources=_group("pods")),
        )
    )
    log = write_lines(tmp_path / "audit.log", [line(row) for row in rows])
    store = StoreLoader(expand_sources([str(log)]), PolicyEvaluator(policy), workers=1).load_all()
    result = drift(store)
    plain = Counter(
        (store.value(r, "rule"), store.value(r, "recorded"), store.value(r, "level"))
        for r in range(len(store))
        if store.value(r, "recorded") in LEVELS and store.value(r, "recorded") != store.value(r, "level")
    )
    assert {(g.rule, g.recorded, g.evaluated): g.events for g in result.groups} == dict(plain)
    assert [(g.rule, g.recorded, g.evaluated, g.events) for g in result.groups] == [
        (0, "Metadata", "Request", 6),
        (1, "Request", "Metadata", 3),
    ]
    assert result.compared == 100 and result.disagree == 9  # Bogus is not compared; None agrees (no rule)
    assert result.share > DRIFT_THRESHOLD
    assert result.verdict == "this log was not recorded under this policy: 9% of events disagree"


def test_drift_verdict_says_agreement_below_the_threshold_without_rounding_up_to_all(tmp_path: Path) -> None:
    rows = [event(n, level="Metadata") for n in range(999)] + [event(999, level="Request")]
    log = write_lines(tmp_path / "audit.log", [line(row) for row in rows])
    policy = PolicyEvaluator(Policy(rules=(PolicyRule(level="Metadata"),)))
    store = StoreLoader(expand_sources([str(log)]), policy, workers=1).load_all()
    result = drift(store)
    assert not result.drifted and result.disagree == 1
    assert result.verdict == "the recorded levels agree with this policy for 99.9% of events"
    store.set_policy(None)
    with pytest.raises(ValueError, match="needs a policy"):
        drift(store)


def _group(*resources: str) -> tuple[GroupResources, ...]:
    return (GroupResources(group="", resources=resources),)


# ------------------------------------------------------------------------------ publishing whole


def test_set_candidate_publishes_whole_while_readers_read(tmp_path: Path) -> None:
    """A reader of candidate_level/change during set_candidate sees one candidate's answer, never
    a half table (IndexError) nor a change code without its candidate."""
    lines = [line(event(n, user=f"user-{n}", verb=("get", "list", "create")[n % 3])) for n in range(3000)]
    log = write_lines(tmp_path / "audit.log", lines)
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    store.set_policy(PolicyEvaluator(Policy(rules=(PolicyRule(level="Metadata"),))))
    candidates = [
        PolicyEvaluator(Policy(rules=(PolicyRule(level="RequestResponse"),))),
        PolicyEvaluator(Policy(rules=(PolicyRule(level="None", verbs=("get",)), PolicyRule(level="Metadata")))),
    ]
    allowed = {("RequestResponse", "up"), ("None", "dropped"), ("Metadata", "same")}
    store.set_candidate(candidates[1])
    stop = threading.Event()
    failures: list[BaseException] = []

    def swap() -> None:
        try:
            for round_ in range(60):
                store.set_candidate(candidates[round_ % 2])
        except BaseException as error:
            failures.append(error)
        finally:
            stop.set()

    writer = threading.Thread(target=swap)
    writer.start()
    seen: set[object] = set()
    try:
        while not stop.is_set():
            for row in range(0, len(store), 7):
                seen.add(store.value(row, "candidate_level"))
                store.value(row, "change")
            changes = store.column("change")
            assert len(changes) == len(store)
    finally:
        stop.set()
        writer.join()
    assert not failures
    assert seen <= {"RequestResponse", "None", "Metadata"}
    pairs = {(store.value(r, "candidate_level"), store.value(r, "change")) for r in range(len(store))}
    assert pairs <= allowed


# ------------------------------------------------------------------------------ the command line


def test_candidate_option_loads_both_policies_into_the_store(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "audit.log", [line(event(n, verb="get")) for n in range(20)])
    policies = DATA / "policies"
    session = open_session(
        str(policies / "kind-docs-minimal-metadata.yaml"),
        [str(log)],
        str(policies / "openshift-library-go-none.yaml"),
    )
    for _ in session.load(threading.Event()):
        pass
    assert session.store is not None and session.store.candidate_evaluator is not None
    assert change_counts(session.store).dropped == 20


def test_candidate_option_refuses_a_missing_file_a_non_policy_and_no_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_lines(tmp_path / "audit.log", [line(event(0))])
    policy = str(DATA / "policies" / "kind-docs-minimal-metadata.yaml")
    assert run_tui(["--policy", policy, "--candidate", str(tmp_path / "missing.yaml"), str(log)]) == 2
    assert "no such policy file" in capsys.readouterr().err
    assert run_tui(["--policy", policy, "--candidate", str(log), str(log)]) == 2
    assert "cannot use as the candidate" in capsys.readouterr().err
    assert run_tui(["--candidate", policy, str(log)]) == 2
    assert "give --policy POLICY too" in capsys.readouterr().err


def test_attributes_are_interned_once_for_both_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The candidate costs one decision per distinct request, not per event."""
    decided: dict[str, int] = Counter()
    first_rules = PolicyDecision.first_rules

    def counting(self: PolicyDecision, codes: AttributeCodes, start: int = 0, stop: int | None = None) -> np.ndarray:
        result = first_rules(self, codes, start, stop)
        decided[self.policy.rules[0].level] += len(result)
        return result

    monkeypatch.setattr(PolicyDecision, "first_rules", counting)
    log = write_lines(tmp_path / "audit.log", [line(event(n, verb=("get", "list")[n % 2])) for n in range(500)])
    base = PolicyEvaluator(Policy(rules=(PolicyRule(level="Metadata"),)))
    candidate = PolicyEvaluator(Policy(rules=(PolicyRule(level="Request"),)))
    store = StoreLoader(expand_sources([str(log)]), base, workers=1, candidate=candidate).load_all()
    assert decided["Request"] == decided["Metadata"] == len(store.values("attr")) == 2
