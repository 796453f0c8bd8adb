"""Tests of the sample audit-log generator and the bundled demo log (spec sections 4-6)."""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import k8saudit_tui.sample as samplegen
from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.batch import format_time
from k8saudit_tui.engine.logs.event import decode_event
from k8saudit_tui.engine.model import LEVELS, STAGES
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file, load_policy_text
from k8saudit_tui.sample import (
    DEMO_LOG,
    DEMO_POLICY,
    SampleGenerator,
    generate_events,
    make_demo,
    write_log,
)
from k8saudit_tui.sample.helpers import Clock, parse_start

LONG_RUNNING_SUBRESOURCES = {"exec", "attach", "log", "portforward", "proxy"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

# A second policy, so evaluator tests do not only see the demo policy: RequestReceived is written
# for most requests, a rule omits ResponseComplete, and managedFields are stripped (M13, M14).
OTHER_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
- level: None
  users: ["system:kube-proxy"]
- level: RequestResponse
  resources:
  - group: coordination.k8s.io
  omitStages: ["ResponseComplete"]
- level: None
  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]
- level: Request
  verbs: ["create", "update", "patch"]
- level: RequestResponse
  userGroups: ["oidc:sre", "oidc:developers"]
- level: Metadata
"""


def demo_evaluator() -> PolicyEvaluator:
    loaded = load_policy_file(DEMO_POLICY)
    assert loaded.policy is not None, loaded.errors
    return PolicyEvaluator(loaded.policy)


def other_evaluator() -> PolicyEvaluator:
    loaded = load_policy_text(OTHER_POLICY, "other.yaml")
    assert loaded.policy is not None, loaded.errors
    return PolicyEvaluator(loaded.policy)


def parsed(lines: list[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in lines]


def is_long_running(event: dict[str, Any]) -> bool:
    """S3: watch and proxy verbs, and the long-running subresources."""
    ref = event.get("objectRef") or {}
    return event["verb"] in ("watch", "proxy") or ref.get("subresource") in LONG_RUNNING_SUBRESOURCES


@pytest.fixture(scope="module")
def plain() -> list[bytes]:
    return list(generate_events(20_000, seed=7, hostile=0.02, bodies=0.2))


@pytest.fixture(scope="module")
def demo_lines() -> list[bytes]:
    return DEMO_LOG.read_bytes().splitlines()


# ---- determinism ---------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    first = list(generate_events(3000, seed=11, hostile=0.05))
    assert first == list(generate_events(3000, seed=11, hostile=0.05))
    assert first != list(generate_events(3000, seed=12, hostile=0.05))


def test_same_seed_and_policy_same_bytes() -> None:
    assert list(generate_events(2000, 5, evaluator=demo_evaluator())) == list(
        generate_events(2000, 5, evaluator=demo_evaluator())
    )


def test_count_is_exact_and_lines_have_no_newline(plain: list[bytes]) -> None:
    assert len(plain) == 20_000
    assert not any(b"\n" in line for line in plain)
    assert list(generate_events(0)) == []


# ---- event shapes ----------------------------------------------------------------------------------


def test_every_line_decodes_as_a_v1_event(plain: list[bytes]) -> None:
    for line in plain:
        event = decode_event(line)
        assert event.kind == "Event" and event.apiVersion == "audit.k8s.io/v1"
        assert event.level in LEVELS[1:]  # S1: a logged event is never None
        assert event.stage in STAGES
        assert TIMESTAMP.match(event.requestReceivedTimestamp)
        assert TIMESTAMP.match(event.stageTimestamp)


def test_lines_are_in_stage_timestamp_order(plain: list[bytes]) -> None:
    stamps = [event["stageTimestamp"] for event in parsed(plain)]
    assert stamps == sorted(stamps)


def test_stage_sequences_per_request_follow_s3_s4(plain: list[bytes]) -> None:
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in parsed(plain):
        by_id[event["auditID"]].append(event)
    sequences = set()
    for events in by_id.values():
        stages = [event["stage"] for event in events]
        sequences.add(tuple(stages))
        first = events[0]
        assert len({event["requestReceivedTimestamp"] for event in events}) == 1
        if first.get("user") == {}:  # E2: failed authentication
            assert stages == ["ResponseStarted"]
            continue
        assert stages[0] == "RequestReceived"
        assert first["stageTimestamp"] == first["requestReceivedTimestamp"]
        allowed = (
            ["RequestReceived", "ResponseStarted", "ResponseComplete"]
            if is_long_running(first)
            else ["RequestReceived", "ResponseComplete"]
        )
        for end in ("ResponseComplete", "Panic"):
            candidate = [stage for stage in allowed if stage != "ResponseComplete"] + [end]
            if stages == candidate[: len(stages)]:
                break
        else:
            pytest.fail(f"bad stage sequence {stages} for {first['requestURI']}")
    # a log cut at an arbitrary point still has complete sequences of every kind
    assert ("RequestReceived", "ResponseComplete") in sequences
    assert ("RequestReceived", "ResponseStarted", "ResponseComplete") in sequences
    assert ("ResponseStarted",) in sequences


def test_request_received_carries_only_url_derived_fields(plain: list[bytes]) -> None:
    """E1, E8, S3: no responseStatus, annotations or impersonatedUser before the handler runs."""
    for event in parsed(plain):
        if event["stage"] == "RequestReceived":
            assert "responseStatus" not in event and "annotations" not in event
            assert "impersonatedUser" not in event
            assert "requestObject" not in event and "responseObject" not in event
        else:
            assert set(event["responseStatus"]) >= {"metadata", "code"}


def test_impersonation_appears_after_request_received(plain: list[bytes]) -> None:
    impersonating = [event for event in parsed(plain) if "impersonatedUser" in event]
    assert impersonating
    for event in impersonating:
        assert event["user"]["username"] in ("bob@example.com", "kubernetes-admin")
        assert event["impersonatedUser"]["username"] != event["user"]["username"]


def test_create_on_collection_gains_its_name_after_request_received(plain: list[bytes]) -> None:
    """E8: RequestReceived's objectRef has no name; later stages show the body's name."""
    received: dict[str, dict[str, Any]] = {}
    gained = 0
    for event in parsed(plain):
        ref = event.get("objectRef")
        if event["verb"] != "create" or ref is None or ref.get("subresource"):
            continue
        if ref["resource"].endswith("reviews"):  # review objects have no name at all
            continue
        if event["stage"] == "RequestReceived":
            received[event["auditID"]] = ref
        elif event["auditID"] in received and event["responseStatus"]["code"] == 201:
            assert "name" not in received[event["auditID"]]
            assert ref["name"] and ref["uid"]
            attrs = request_attributes(decode_event(orjson.dumps(event)))
            assert attrs.name == ""  # M10: the policy saw no name
            gained += 1
    assert gained > 10


def test_namespace_object_has_its_own_name_as_namespace(plain: list[bytes]) -> None:
    """E6: GET /api/v1/namespaces/foo has objectRef namespace foo."""
    seen = 0
    for event in parsed(plain):
        ref = event.get("objectRef") or {}
        if ref.get("resource") == "namespaces" and "name" in ref and event["verb"] == "get":
            assert ref["namespace"] == ref["name"]
            assert event["requestURI"].split("?")[0] == f"/api/v1/namespaces/{ref['name']}"
            seen += 1
    assert seen


def test_failed_authentication_events_have_empty_user_and_401(plain: list[bytes]) -> None:
    """E2, S3: a single ResponseStarted, `"user": {}`, code 401, no authorization annotations."""
    failed = [event for event in parsed(plain) if event["user"] == {}]
    assert failed
    kinds = set()
    for event in failed:
        assert event["stage"] == "ResponseStarted"
        assert event["responseStatus"]["code"] == 401
        assert "annotations" not in event
        kinds.add("objectRef" in event)
        assert ("objectRef" in event) == event["requestURI"].startswith("/api/v1/namespaces/")
        assert request_attributes(decode_event(orjson.dumps(event))).username is None
    assert kinds == {True, False}


def test_non_resource_requests_have_no_objectref_and_verb_get(plain: list[bytes]) -> None:
    paths = set()
    for event in parsed(plain):
        if "objectRef" not in event:
            assert event["verb"] == "get"
            assert "requestObject" not in event and "responseObject" not in event  # S2
            paths.add(event["requestURI"].split("?")[0])
    assert {"/healthz", "/livez", "/readyz", "/version", "/api", "/apis", "/openapi/v2", "/metrics"} <= paths


def test_objectref_omits_empty_fields(plain: list[bytes]) -> None:
    for event in parsed(plain):
        ref = event.get("objectRef")
        if ref is not None:
            assert all(value != "" for value in ref.values())
            assert ref["resource"] and ref["apiVersion"]


def test_verbs_and_codes_of_a_busy_cluster(plain: list[bytes]) -> None:
    events = parsed(plain)
    verbs = {event["verb"] for event in events}
    assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= verbs
    codes = {event["responseStatus"]["code"] for event in events if "responseStatus" in event}
    assert {101, 200, 201, 401, 403, 404} <= codes
    users = {event["user"].get("username", "") for event in events}
    assert any(user.startswith("system:node:") for user in users)
    assert "system:kube-proxy" in users and "system:kube-scheduler" in users
    assert any(user.startswith("system:serviceaccount:kube-system:") for user in users)
    leases = [
        event
        for event in events
        if (event.get("objectRef") or {}).get("resource") == "leases"
        and event["verb"] == "update"
        and event["user"]["username"].startswith("system:node:")
    ]
    assert leases and all(event["objectRef"]["namespace"] == "kube-node-lease" for event in leases)
    assert any("?watch=true" in event["requestURI"] or "&watch=true" in event["requestURI"] for event in events)
    assert any(event["requestURI"].endswith("?limit=500") for event in events)


def test_bodies_only_at_request_levels_with_secret_and_token_review() -> None:
    """S2: Metadata has no bodies; Request adds requestObject; RequestResponse adds responseObject."""
    events = parsed(list(generate_events(6000, seed=3, bodies=1.0)))
    kinds = set()
    for event in events:
        if event["level"] == "Metadata" or event["stage"] != "ResponseComplete":
            assert "requestObject" not in event and "responseObject" not in event
        if event["level"] == "Request":
            assert "responseObject" not in event
        for key in ("requestObject", "responseObject"):
            if key in event:
                kinds.add(event[key].get("kind"))
                if event[key].get("kind") == "Secret":
                    assert event[key]["data"]
                if event[key].get("kind") == "TokenReview" and key == "requestObject":
                    assert event[key]["spec"]["token"].startswith("eyJ")
    assert {"Secret", "TokenReview", "Pod", "Lease"} <= kinds


def test_bodies_fraction_drives_levels() -> None:
    events = parsed(list(generate_events(10_000, seed=4, bodies=0.05)))
    share = sum(event["level"] != "Metadata" for event in events) / len(events)
    assert 0.02 < share < 0.1
    assert {event["level"] for event in parsed(list(generate_events(3000, seed=4, bodies=0.0)))} == {"Metadata"}


def test_average_line_is_about_a_kilobyte(plain: list[bytes]) -> None:
    default = list(generate_events(20_000, seed=9))
    average = sum(map(len, default)) / len(default)
    assert 600 < average < 1600


# ---- hostile strings ------------------------------------------------------------------------------


def test_hostile_strings_are_present_and_still_valid_json() -> None:
    lines = list(generate_events(4000, seed=8, hostile=0.3))
    text = "\n".join(
        " ".join(
            (
                event.requestURI,
                event.userAgent,
                event.user.username if event.user else "",
                event.objectRef.name if event.objectRef else "",
                event.objectRef.namespace if event.objectRef else "",
            )
        )
        for event in map(decode_event, lines)
    )
    for needle in (
        "[b]root[/b]",
        "[/]",
        "[link=https://x]y[/link]",
        "[red]",
        "\x1b[31m",
        "\x1b[2J",
        "\x1b]0;title\x07",
        "\x1b]52;c;aGVsbG8=\x07",
        "\x1b]8;;",
        "\x00",
        "\x9b",
        "\u202e",
        "\u200b",
        "\u7ba1\u7406",
        "\U0001f525",
    ):
        assert needle in text, repr(needle)
    assert max(len(decode_event(line).userAgent) for line in lines) >= 5000
    for line in lines:
        orjson.loads(line)
        assert b"\x1b" not in line and b"\x00" not in line  # control characters are JSON-escaped


def test_hostile_fraction_zero_has_no_hostile_strings(plain: list[bytes]) -> None:
    clean = b"\n".join(generate_events(3000, seed=7))
    assert b"\\u001b" not in clean and b"evil.example" not in clean


# ---- policy-driven output -----------------------------------------------------------------------


@pytest.mark.parametrize("make_evaluator", [demo_evaluator, other_evaluator], ids=["demo", "other"])
def test_levels_and_stages_follow_the_evaluator(make_evaluator: Any) -> None:
    """S1, S5: level = verdict for the request's attributes; no omitted stage; no None requests."""
    evaluator = make_evaluator()
    generator = SampleGenerator(21, evaluator=evaluator, hostile=0.05)
    lines = list(generator.events(8000))
    assert len(lines) == 8000
    check = PolicyEvaluator(evaluator.policy)
    stages = set()
    for line in lines:
        event = decode_event(line)
        verdict = check.evaluate(request_attributes(event))
        assert event.level == verdict.level != "None"
        assert verdict.emits(event.stage)
        stages.add(event.stage)
    assert generator.stats.unlogged_requests > 0
    assert stages >= {"ResponseStarted", "ResponseComplete"}


def test_other_policy_writes_request_received_and_strips_managed_fields() -> None:
    lines = list(generate_events(8000, 2, evaluator=other_evaluator()))
    events = parsed(lines)
    assert any(event["stage"] == "RequestReceived" for event in events)
    leases = [event for event in events if (event.get("objectRef") or {}).get("apiGroup") == "coordination.k8s.io"]
    assert leases and all(event["stage"] != "ResponseComplete" for event in leases)
    assert any("requestObject" in event for event in events)
    assert not any(b'"managedFields"' in line for line in lines)  # M14
    assert not any(event["user"].get("username") == "system:kube-proxy" for event in events)
    plain_bodies = b"\n".join(generate_events(3000, 2, bodies=1.0))
    assert b'"managedFields"' in plain_bodies


def test_a_policy_that_logs_nothing_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_policy_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n")
    assert loaded.policy is not None
    monkeypatch.setattr(SampleGenerator, "MAX_SILENT_REQUESTS", 500)
    assert list(generate_events(10, evaluator=PolicyEvaluator(loaded.policy))) == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        SampleGenerator(hostile=1.5)
    with pytest.raises(ValueError):
        list(generate_events(-1))


# Microseconds from 1970-01-01T00:00:01 to 2262-04-11: the times the engine's int64 nanoseconds hold.
MICROS = st.integers(min_value=1_000_000, max_value=(2**63 - 1) // 1000)


@given(st.lists(MICROS, min_size=1, max_size=50), st.integers(min_value=0, max_value=3_000_000))
def test_clock_writes_what_the_engine_formats(instants: list[int], step: int) -> None:
    """The cached Clock (the hot path) against the engine's format_time, with cache hits and misses."""
    clock = Clock()
    moments = [*instants, *(instants[0] + step * i for i in range(5)), instants[0]]
    assert [clock(micros) for micros in moments] == [format_time(micros * 1000) for micros in moments]


def test_clock_writes_the_first_second_of_the_epoch() -> None:
    """format_time reads 0 as "no time": the Clock must still write second 0."""
    assert Clock()(0) == "1970-01-01T00:00:00.000000Z"
    assert Clock()(999_999) == "1970-01-01T00:00:00.999999Z"


@given(st.integers(min_value=1_000_000, max_value=(2**63 - 1) // 1000 - 1_000_000))
def test_start_is_read_back_from_what_the_clock_writes(micros: int) -> None:
    """Up to the last whole second the engine's int64 nanoseconds hold (2262-04-11T23:47:15)."""
    assert parse_start(Clock()(micros)) == micros


@pytest.mark.parametrize("start", ["yesterday", "", "2026-13-01T00:00:00Z", "2026-11-20 9am"])
def test_an_unreadable_start_is_refused(start: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        SampleGenerator(start=start)


def test_cli_refuses_an_unreadable_start_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        samplegen.main(["--events", "5", "--start", "yesterday", "-o", str(out)])
    assert exit_info.value.code == 2
    assert "--start" in capsys.readouterr().err
    assert not out.exists()


def test_cli_shows_a_policy_problem_without_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad\x1b[31m.yaml"
    bad.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n")
    assert samplegen.main(["--events", "5", "--policy", str(bad), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "bad\\x1b[31m.yaml" in err


# ---- the demo ----------------------------------------------------------------------------------------


def test_demo_policy_is_the_kubernetes_docs_example() -> None:
    loaded = load_policy_file(DEMO_POLICY)
    assert loaded.policy is not None and not loaded.errors
    assert len(loaded.policy.rules) == 9
    assert loaded.policy.omit_stages == ("RequestReceived",)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, samplegen.GenStats]:
    target = tmp_path_factory.mktemp("demo") / "demo.log"
    return target, make_demo(target)


def test_regenerating_the_demo_gives_identical_bytes(regenerated: tuple[Path, samplegen.GenStats]) -> None:
    assert regenerated[0].read_bytes() == DEMO_LOG.read_bytes()


def test_demo_hits_every_rule_of_the_demo_policy(
    regenerated: tuple[Path, samplegen.GenStats], demo_lines: list[bytes]
) -> None:
    evaluator = demo_evaluator()
    rules = evaluator.policy.rules
    stats = regenerated[1]
    assert set(stats.rules) == set(range(len(rules)))  # None rules included: their requests are unlogged
    logged = {evaluator.evaluate(request_attributes(decode_event(line))).rule for line in demo_lines}
    assert logged == {index for index, rule in enumerate(rules) if rule.level != "None"}


def test_demo_is_consistent_with_its_policy(demo_lines: list[bytes]) -> None:
    evaluator = demo_evaluator()
    assert 2800 <= len(demo_lines) <= 3200
    stages = set()
    for line in demo_lines:
        event = decode_event(line)
        verdict = evaluator.evaluate(request_attributes(event))
        assert event.level == verdict.level and verdict.emits(event.stage)
        stages.add(event.stage)
    assert stages == {"ResponseStarted", "ResponseComplete", "Panic"}  # RequestReceived is omitted


def test_demo_has_hostile_failed_auth_and_impersonation(demo_lines: list[bytes]) -> None:
    events = parsed(demo_lines)
    hostile = [event for event in events if "evil.example" in event["user"].get("username", "")]
    assert 0.005 < len(hostile) / len(events) < 0.05
    assert any(event["user"] == {} and event["responseStatus"]["code"] == 401 for event in events)
    assert any("impersonatedUser" in event for event in events)
    assert any(event["responseStatus"]["code"] == 403 for event in events)
    long_complete = [event for event in events if event["stage"] == "ResponseComplete" and is_long_running(event)]
    assert long_complete


# ---- files and CLI ---------------------------------------------------------------------------------------


def test_write_log_gzip_is_byte_stable(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    write_log(first, 500, 3, gzip=True)
    write_log(second, 500, 3, gzip=True)
    assert first.read_bytes() == second.read_bytes()
    lines = gzip.decompress(first.read_bytes()).splitlines()
    assert lines == list(generate_events(500, 3))


def test_cli_writes_the_requested_events(tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    assert (
        samplegen.main(
            ["--events", "300", "--seed", "4", "--policy", str(DEMO_POLICY), "--hostile", "0.1", "-o", str(out)]
        )
        == 0
    )
    data = out.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 300
    assert data.splitlines() == list(generate_events(300, 4, evaluator=demo_evaluator(), hostile=0.1))


def test_cli_reports_a_broken_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n")
    assert samplegen.main(["--events", "5", "--policy", str(bad), "-o", str(tmp_path / "x")]) == 2
    assert "bad.yaml" in capsys.readouterr().err
