"""Facets: counts in events and requests against a plain Counter over the rows, and terms that
select exactly the counted events."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k8saudit_tui.engine.query.facets as facets_module
from k8saudit_tui.engine.logs.batch import parse_lines
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import auditids, compile_filter, prepare
from k8saudit_tui.engine.query.facets import FACET_FIELDS, TOP_FIELDS, Facet, facet, facets, stored_columns, term
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, simple_policy, write_lines

DATA = Path(__file__).parent / "data" / "logs"


def _load(path: Path, policy: bool = True) -> EventStore:
    evaluator = PolicyEvaluator(simple_policy()) if policy else None
    return StoreLoader(expand_sources([str(path)]), evaluator, workers=1).load_all()


def _labels(store: EventStore, row: int, field: str) -> list[str]:
    """A row's values of `field` as a facet labels them, the plain way (one row at a time)."""
    if field == "group":
        return sorted(set(store.values("group")[int(store.column("group")[row])]))
    if field == "annotation":
        return sorted(set(store.values("annotations")[int(store.column("annotations")[row])]))
    return [_label(store, row, field)]


def _label(store: EventStore, row: int, field: str) -> str:
    if field == "resource":
        resource, subresource = store.value(row, "resource"), store.value(row, "subresource")
        return f"{resource}/{subresource}" if subresource else str(resource)
    if field == "rule":
        rule = store.value(row, "rule")
        return "none" if rule is None else str(rule)
    if field == "code":
        return str(store.value(row, "code") or 0)
    return str(store.value(row, field))


def _plain(store: EventStore, field: str, rows: list[int]) -> tuple[Counter[str], Counter[str], int]:
    """(events per label, requests per label, requests) counted one row at a time; an event
    without an auditID is a request of its own."""
    events: Counter[str] = Counter()
    pairs: set[tuple[object, str]] = set()
    requests: set[object] = set()
    for row in rows:
        audit_id = store.value(row, "auditid") or ("row", row)
        requests.add(audit_id)
        for label in _labels(store, row, field):
            events[label] += 1
            pairs.add((audit_id, label))
    return events, Counter(label for _, label in pairs), len(requests)


def _check(store: EventStore, result: Facet, rows: list[int], limit: int) -> None:
    events, requests, total_requests = _plain(store, result.field, rows)
    assert result.events == len(rows)
    assert result.requests == total_requests
    expected = sorted(events.items(), key=lambda item: (-item[1], _natural(result.field, item[0])))[:limit]
    assert [(v.label, v.events) for v in result.values] == expected
    assert [v.requests for v in result.values] == [requests[label] for label, _ in expected]
    assert [v.share for v in result.values] == [count / len(rows) for _, count in expected]
    assert result.more == len(events) - len(expected)


def _natural(field: str, label: str) -> Any:
    if field in ("code", "rule"):
        return -1 if label == "none" else int(label)
    if field == "level":
        return ("None", "Metadata", "Request", "RequestResponse").index(label)
    return label


LOGS = sorted(DATA.glob("*.jsonl"))


@pytest.mark.parametrize("log", LOGS, ids=[log.name for log in LOGS])
def test_facets_of_real_logs_equal_a_plain_count(log: Path) -> None:
    store = _load(log)
    rows = list(range(len(store)))
    for result in facets(store, FACET_FIELDS, limit=5):
        _check(store, result, rows, 5)
    half = compile_filter("!verb:get").apply(store)
    for result in facets(store, TOP_FIELDS, rows=half, limit=3):
        _check(store, result, half.tolist(), 3)


def test_three_stages_of_one_request_are_three_events_and_one_request(tmp_path: Path) -> None:
    lines = [
        line(event(1, stage=stage, verb="create", audit_id="a" * 8, code=code))
        for stage, code in (("RequestReceived", 0), ("ResponseStarted", 0), ("ResponseComplete", 201))
    ]
    lines.append(line(event(2, verb="create", audit_id="b" * 8)))
    store = _load(write_lines(tmp_path / "audit.log", lines))
    verbs = facet(store, "verb")
    assert (verbs.events, verbs.requests) == (4, 2)
    assert [(v.label, v.events, v.requests) for v in verbs.values] == [("create", 4, 2)]
    codes = facet(store, "code")  # request a has code 0 at two stages, 201 at the third
    assert [(v.label, v.events, v.requests) for v in codes.values] == [("0", 2, 1), ("200", 1, 1), ("201", 1, 1)]


def test_events_without_an_audit_id_are_each_a_request(tmp_path: Path) -> None:
    lines = [line({**event(n), "auditID": ""}) for n in range(3)]
    store = _load(write_lines(tmp_path / "audit.log", lines))
    assert facet(store, "user").values[0].requests == 3


def test_audit_ids_longer_than_the_column_are_told_apart(tmp_path: Path) -> None:
    prefix = "x" * 40
    lines = [line(event(n, audit_id=f"{prefix}-{n % 2}")) for n in range(4)]
    store = _load(write_lines(tmp_path / "audit.log", lines))
    assert facet(store, "user").requests == 2


def test_rule_and_level_without_a_policy_say_so(tmp_path: Path) -> None:
    store = _load(write_lines(tmp_path / "audit.log", [line(event(1))]), policy=False)
    for name in ("rule", "level"):
        result = facet(store, name)
        assert result.needs_policy and result.values == () and result.events == 1


@pytest.mark.parametrize(
    ("field", "label", "expected"),
    [
        ("ns", "", 'ns:""'),
        ("user", "system:kube-proxy", "user:system:kube-proxy"),
        ("ua", "kubectl/v1 (linux)", 'ua:"kubectl/v1 (linux)"'),
        ("resource", "pods", 'resource:pods subresource:""'),
        ("resource", "pods/log", "resource:pods/log"),
        ("rule", "none", "rule:none"),
        ("code", "404", "code:404"),
        ("user", 'say "hi"', ""),
        ("resource", "", 'resource:"" subresource:""'),
    ],
)
def test_term_quotes_as_the_language_reads(field: str, label: str, expected: str) -> None:
    assert term(field, label) == expected


@pytest.mark.parametrize(
    ("field", "label", "expected"),
    [("resource", "pods", "!resource:pods/"), ("resource", "", "!resource:/"), ("ns", "", '!ns:""')],
)
def test_negated_terms_are_one_term(field: str, label: str, expected: str) -> None:
    assert term(field, label, negate=True) == expected


def _check_terms(store: EventStore, rows: np.ndarray | None) -> None:
    for result in facets(store, FACET_FIELDS, rows=rows, limit=1000):
        for value in result.values:
            text = term(result.field, value.label)
            negated = term(result.field, value.label, negate=True)
            if text:  # "" only for a value holding a double quote, which no test log has
                assert len(compile_filter(text).apply(store, rows)) == value.events, (text, value)
                assert len(compile_filter(negated).apply(store, rows)) == result.events - value.events, negated
            else:
                assert '"' in value.label and negated == ""


@pytest.mark.parametrize("log", LOGS, ids=[log.name for log in LOGS])
def test_each_term_selects_exactly_the_counted_events(log: Path) -> None:
    store = _load(log)
    _check_terms(store, None)
    _check_terms(store, compile_filter("!stage:RequestReceived").apply(store))


_ids = st.sampled_from(["", "a", "b", "c", "x" * 40 + "1", "x" * 40 + "2", "00000000-0000-0000-0000-000000000001"])


@st.composite
def _logs(draw: st.DrawFn) -> list[bytes]:
    count = draw(st.integers(1, 30))
    lines = []
    for n in range(count):
        data = event(
            n,
            user=draw(st.sampled_from(["alice", "bob", "", "a b", "system:kube-proxy"])),
            verb=draw(st.sampled_from(["get", "create", "list"])),
            resource=draw(st.sampled_from(["pods", "secrets", None])),
            subresource=draw(st.sampled_from(["", "log"])),
            namespace=draw(st.sampled_from(["", "default", "kube-system"])),
            code=draw(st.sampled_from([0, 200, 404])),
            stage=draw(st.sampled_from(["RequestReceived", "ResponseComplete"])),
            groups=tuple(draw(st.lists(st.sampled_from(["system:authenticated", "dev", "ops"]), max_size=3))),
        )
        data["auditID"] = draw(_ids)
        lines.append(line(data))
    return lines


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_logs(), data=st.data())
def test_facets_of_random_stores_and_selections_equal_a_plain_count(
    tmp_path: Path, lines: list[bytes], data: st.DataObject
) -> None:
    store = _load(write_lines(tmp_path / "audit.log", lines))
    chosen = data.draw(st.sets(st.integers(0, len(store) - 1)))
    rows = np.array(sorted(chosen), np.int64)
    limit = data.draw(st.integers(1, 4))
    for result in facets(store, FACET_FIELDS, rows=rows, limit=limit):
        _check(store, result, rows.tolist(), limit)
    _check_terms(store, rows)
    store.close()


def test_a_value_a_request_comes_back_to_counts_once(tmp_path: Path) -> None:
    """Codes 0, 200, 0 within one request: the adjacent-run count would say 2 for code 0."""
    lines = [line(event(n, audit_id="r" * 8, code=code)) for n, code in enumerate((0, 200, 0, 0, 200))]
    lines.append(line(event(9, audit_id="s" * 8, code=0)))
    store = _load(write_lines(tmp_path / "audit.log", lines))
    codes = facet(store, "code")
    assert [(v.label, v.events, v.requests) for v in codes.values] == [("0", 4, 2), ("200", 2, 1)]
    _check(store, codes, list(range(len(store))), 10)


def test_group_counts_each_group_of_a_row(tmp_path: Path) -> None:
    lines = [
        line(event(1, groups=("system:authenticated", "ops"))),
        line(event(2, groups=("system:authenticated",))),
        line(event(3, groups=())),
    ]
    store = _load(write_lines(tmp_path / "audit.log", lines))
    groups = facet(store, "group")
    assert [(v.label, v.events, v.requests) for v in groups.values] == [("system:authenticated", 2, 2), ("ops", 1, 1)]
    assert groups.events == 3 and groups.values[1].share == 1 / 3
    assert len(compile_filter(term("group", "ops")).apply(store)) == 1


def _requests_log(tmp_path: Path) -> EventStore:
    lines = [line(event(n, audit_id=f"{n % 5:08d}-0000-0000-0000-000000000000", user=f"u{n % 3}")) for n in range(40)]
    return _load(write_lines(tmp_path / "audit.log", lines))


def test_an_audit_id_hash_collision_falls_back_to_exact_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _requests_log(tmp_path)
    monkeypatch.setattr(auditids, "hash_ids", lambda column: np.zeros(len(column), np.int64))  # every ID collides
    users = facet(store, "user")
    assert users.requests == 5
    assert auditids.grouped(store, len(store)).exact
    _check(store, users, list(range(len(store))), 10)


def test_grouping_is_extended_over_appended_rows_also_after_a_collision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for collide in (False, True):
        store = _requests_log(tmp_path)
        assert facet(store, "user").requests == 5
        if collide:
            monkeypatch.setattr(auditids, "hash_ids", lambda column: np.zeros(len(column), np.int64))
        more = [line(event(n, audit_id=f"{n % 7:08d}-0000-0000-0000-000000000000")) for n in range(40, 50)]
        store.append(parse_lines(b"\n".join(more) + b"\n", 0, 0, True), 0, 1)
        result = facet(store, "user")
        assert result.requests == 7
        assert auditids.grouped(store, len(store)).exact == collide
        _check(store, result, list(range(len(store))), 10)
        monkeypatch.undo()


def test_prepare_builds_the_grouping_so_the_first_facet_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _requests_log(tmp_path)
    prepare(store)

    def built_again(*args: object) -> None:
        raise AssertionError("the grouping is built again")

    monkeypatch.setattr(auditids, "_extend", built_again)
    assert facet(store, "user").requests == 5
    read: list[str] = []
    monkeypatch.setattr(store, "column", lambda name, n=None: read.append(name) or EventStore.column(store, name, n))
    grouped = auditids.grouped(store, len(store))
    answers = [auditids.constant(store, grouped, column) for name in TOP_FIELDS for column in stored_columns(name)]
    assert read == []  # checked by prepare, not again
    assert answers[:2] == [False, True]  # user varies within a request here, verb does not


def test_hash_ids_equal_bytes_equal_hash() -> None:
    column = np.array([b"a", b"ab", b"a", b"", b"x" * 36], "S36")
    hashes = auditids.hash_ids(column)
    assert hashes[0] == hashes[2] and len(set(hashes.tolist())) == 4


@st.composite
def _constant_logs(draw: st.DrawFn) -> list[bytes]:
    """Logs whose requests keep user, verb, resource, namespace (and so their verdict) across
    stages, as kube-apiserver writes them; only stage and code vary within a request."""
    count = draw(st.integers(1, 30))
    requests: dict[str, dict[str, Any]] = {}
    lines = []
    for n in range(count):
        audit_id = draw(_ids)
        shared = requests.setdefault(
            audit_id,
            {
                "user": draw(st.sampled_from(["alice", "bob", "", "system:kube-proxy"])),
                "verb": draw(st.sampled_from(["get", "create", "list"])),
                "resource": draw(st.sampled_from(["pods", "secrets", None])),
                "subresource": draw(st.sampled_from(["", "log"])),
                "namespace": draw(st.sampled_from(["", "default", "kube-system"])),
            },
        )
        data = event(
            n,
            **shared,
            code=draw(st.sampled_from([0, 200, 404])),
            stage=draw(st.sampled_from(["RequestReceived", "ResponseComplete"])),
        )
        data["auditID"] = audit_id
        lines.append(line(data))
    return lines


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_constant_logs(), data=st.data())
def test_fields_constant_within_requests_count_like_a_plain_count(
    tmp_path: Path, lines: list[bytes], data: st.DataObject
) -> None:
    """The fast path (requests counted at one row of each request) against the plain count, with
    selections in any order and rows listed twice."""
    store = _load(write_lines(tmp_path / "audit.log", lines))
    grouped = auditids.grouped(store, len(store))
    for column in ("user", "verb", "resource", "subresource", "ns", "attr"):
        assert auditids.constant(store, grouped, column), column  # so the fast path is what runs
    chosen = data.draw(st.lists(st.integers(0, len(store) - 1)))
    limit = data.draw(st.integers(1, 4))
    usual, facets_module.COUNT_CHUNK = facets_module.COUNT_CHUNK, data.draw(st.sampled_from([1, 3, 1 << 20]))
    try:  # counted in chunks of one row, three, or all at once
        for rows in (None, np.array(chosen, np.int64)):
            plain = list(range(len(store))) if rows is None else sorted(set(chosen))
            for result in facets(store, TOP_FIELDS, rows=rows, limit=limit):
                _check(store, result, plain, limit)
    finally:
        facets_module.COUNT_CHUNK = usual
    store.close()


def test_a_field_that_starts_to_vary_within_a_request_is_counted_exactly(tmp_path: Path) -> None:
    """The constant check is per row count: a later stage with another user (follow mode) makes
    user vary within request a, which then counts once for each of its users."""
    store = _load(
        write_lines(tmp_path / "audit.log", [line(event(n, audit_id="a" * 8, user="alice")) for n in range(2)])
    )
    assert [(v.label, v.requests) for v in facet(store, "user").values] == [("alice", 1)]
    more = [line(event(2, audit_id="a" * 8, user="bob"))]
    store.append(parse_lines(b"\n".join(more) + b"\n", 0, 0, True), 0, 1)
    assert not auditids.constant(store, auditids.grouped(store, len(store)), "user")
    users = facet(store, "user")
    assert [(v.label, v.events, v.requests) for v in users.values] == [("alice", 2, 1), ("bob", 1, 1)]
    _check(store, users, list(range(len(store))), 10)


def test_a_long_auditid_that_starts_with_a_uuid_is_another_request(tmp_path: Path) -> None:
    """kube-apiserver takes any Audit-ID header: `<uuid>-retry` is a request of its own, not the
    `<uuid>` one (the store's column holds 36 bytes; the full ID of a longer one is kept aside)."""
    uuid = "11111111-1111-1111-1111-111111111111"
    log = write_lines(
        tmp_path / "a.log",
        [line(event(0, audit_id=uuid, user="alice")), line(event(1, audit_id=uuid + "-retry", user="bob"))],
    )
    store = StoreLoader(expand_sources([str(log)]), None, workers=1).load_all()
    users = facet(store, "user")
    assert users.requests == 2
    assert {(v.label, v.events, v.requests) for v in users.values} == {("alice", 1, 1), ("bob", 1, 1)}
    assert sorted(compile_filter(f"auditid:{uuid}").apply(store).tolist()) == [0]
    assert sorted(compile_filter(f"auditid:{uuid}-retry").apply(store).tolist()) == [1]
