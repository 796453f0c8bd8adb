"""`apply` and the byte cost of a policy: byte exactness, the fast path against a plain per-event
implementation, lower bounds, stdin streaming and exit statuses."""

from __future__ import annotations

import copy
import json
import os
import select
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.cli import main
from k8saudit_tui.commands.apply import apply_lines, apply_range, assembled
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import convert_event
from k8saudit_tui.engine.model import LEVELS, STAGES, Policy, PolicyRule
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.workbench.apply import apply_line
from k8saudit_tui.engine.workbench.cost import CostTally, cost_of_lines
from k8saudit_tui.sample import write_log
from k8saudit_tui.sample.writer import load_evaluator
from tests import strategies
from tests.auditlog_helpers import event, line

ROOT = Path(__file__).resolve().parent.parent

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
omitManagedFields: true
rules:
- level: None
  users: [system:kube-proxy]
- level: RequestResponse
  resources: [{group: "", resources: [pods]}]
  omitManagedFields: false
- level: RequestResponse
  resources: [{group: apps}]
- level: Request
  resources: [{group: "", resources: [configmaps, secrets]}]
- level: Metadata
"""

METADATA_ONLY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
"""

EVERYTHING = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
"""


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def recorded(tmp_path: Path, policy: Path) -> Path:
    """A log the generator wrote as a server running POLICY would: bodies, managedFields and all."""
    path = tmp_path / "audit.log"
    write_log(path, 3000, seed=7, evaluator=load_evaluator(policy))
    return path


def run_cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    status = main(list(args))
    captured = capsysbinary.readouterr()
    return status, captured.out, captured.err.decode()


def evaluator_of(text: str, tmp_path: Path) -> PolicyEvaluator:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return load_evaluator(path)


# ------------------------------------------------------------------------------ byte exactness


def test_the_recording_policy_reproduces_the_log_and_costs_its_size(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, recorded: Path
) -> None:
    data = recorded.read_bytes()
    assert b'"managedFields"' in data and b'"responseObject"' in data  # the log has what could change
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(policy), str(recorded))
    assert status == 0 and err == ""
    assert out == data
    summary = cost_of_lines(load_evaluator(policy), data.splitlines(keepends=True))
    assert summary.bytes == len(data) and summary.written == summary.events == data.count(b"\n")
    assert not summary.lower_bound
    assert sum(share.bytes for share in summary.by_user.values()) == len(data)


def test_a_lower_policy_rewrites_only_what_changes(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, recorded: Path
) -> None:
    lower = tmp_path / "metadata.yaml"
    lower.write_text(METADATA_ONLY)
    status, out, _ = run_cli(capsysbinary, "apply", "--policy", str(lower), str(recorded))
    assert status == 0
    originals = recorded.read_bytes().splitlines()
    written = out.splitlines()
    assert len(written) == len(originals)  # every recorded event is written: no stage omitted
    rewritten = 0
    for before, after in zip(originals, written, strict=True):
        source, result = orjson.loads(before), orjson.loads(after)
        if source["level"] == "Metadata":
            assert after == before
            continue
        rewritten += 1
        assert result["level"] == "Metadata"
        assert "requestObject" not in result and "responseObject" not in result
        kept = {key: value for key, value in source.items() if key not in ("requestObject", "responseObject")}
        assert list(result) == list(kept) and result == {**kept, "level": "Metadata"}  # key order kept
    assert rewritten > 100


def test_prefix_bom_and_crlf_are_left_out_of_an_unchanged_event(tmp_path: Path) -> None:
    evaluator = evaluator_of(METADATA_ONLY, tmp_path)
    text = line(event(1))
    for raw in (b"host-1 " + text + b"\r\n", b"\xef\xbb\xbf" + text + b"\n", text):
        assert apply_line(evaluator, raw).text == text


# ------------------------------------------------------------------------------ the plain implementation


def plain_apply(policy: Policy, data: dict[str, Any], text: bytes) -> tuple[bytes | None, bool]:
    """Every rule of the module docstring, the slow obvious way: parse, copy, compare."""
    verdict = PolicyEvaluator(policy).evaluate(request_attributes(convert_event(data)))
    if verdict.level == "None" or data["stage"] in verdict.omit_stages:
        return None, False
    rank = LEVELS.index
    recorded = data.get("level")
    if recorded in LEVELS[1:]:
        level = LEVELS[min(rank(verdict.level), rank(recorded))]
        lower = rank(recorded) < rank(verdict.level)
    else:
        level, lower = verdict.level, True
    result = copy.deepcopy(data)
    result["level"] = level
    if rank(level) < rank("Request"):
        result.pop("requestObject", None)
    if rank(level) < rank("RequestResponse"):
        result.pop("responseObject", None)
    if verdict.omit_managed_fields:
        for key in ("requestObject", "responseObject"):
            body = result.get(key)
            if not isinstance(body, dict) or (key == "requestObject" and data["verb"] == "patch"):
                continue
            objects = [body]
            objects += body.get("items", []) if isinstance(body.get("items"), list) else []
            if body.get("kind") == "Table":
                objects += [row.get("object") for row in body.get("rows", []) if isinstance(row, dict)]
            for item in objects:
                if isinstance(item, dict) and isinstance(item.get("metadata"), dict):
                    item["metadata"].pop("managedFields", None)
    return (text if result == data else orjson.dumps(result)), lower


def test_managed_fields_go_as_upstream_drops_them(tmp_path: Path) -> None:
    evaluator = evaluator_of(POLICY, tmp_path)  # configmaps at Request, omitManagedFields true

    def applied(**fields: Any) -> dict[str, Any]:
        text = apply_line(evaluator, line(event(1, resource="configmaps", **{"level": "Request", **fields}))).text
        assert text is not None
        return dict(orjson.loads(text))

    assert "managedFields" not in applied(verb="update", requestObject=_object(True))["requestObject"]["metadata"]
    # a patch's requestObject is the raw patch (LogRequestPatch): upstream leaves it as sent
    assert applied(verb="patch", requestObject=_object(True))["requestObject"] == _object(True)
    listed = applied(verb="list", level="RequestResponse", responseObject={"items": [_object(True)] * 2})
    assert "responseObject" not in listed  # written at Request: the response is dropped whole
    evaluator = evaluator_of(POLICY.replace("omitManagedFields: false", "omitManagedFields: true"), tmp_path)
    pod = apply_line(evaluator, line(event(1, level="RequestResponse", responseObject={"items": [_object(True)]})))
    assert pod.text is not None
    assert orjson.loads(pod.text)["responseObject"] == {"items": [_object(False)]}  # each list item's


MANAGED = [{"manager": "kubectl", "operation": "Update"}]
TRICKY = '"managedFields" "requestObject" "responseObject"'


def _object(managed: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "x", "annotations": {"note": TRICKY}}
    if managed:
        metadata["managedFields"] = MANAGED
    return {"kind": "Pod", "metadata": metadata, "spec": {"x": 1}}


bodies = st.one_of(
    st.booleans().map(_object),
    st.lists(st.booleans().map(_object), max_size=3).map(lambda items: {"kind": "PodList", "items": items}),
    st.lists(st.booleans().map(_object), max_size=3).map(
        lambda objects: {"kind": "Table", "rows": [{"cells": [1], "object": item} for item in objects]}
    ),
    st.just({"spec": {"replicas": 2}}),
)


@st.composite
def recorded_events(draw: st.DrawFn) -> dict[str, Any]:
    resource = draw(st.sampled_from((*strategies.RESOURCES[:-1], None)))
    data = event(
        draw(st.integers(0, 10_000)),
        user=draw(st.sampled_from(strategies.USERS[:-1])),
        groups=tuple(draw(st.lists(st.sampled_from(strategies.GROUPS), max_size=2))),
        verb=draw(st.sampled_from(("get", "list", "create", "update", "patch", "delete"))),
        resource=resource,
        namespace=draw(st.sampled_from(strategies.NAMESPACES)),
        stage=draw(st.sampled_from(STAGES)),
        level=draw(st.sampled_from((*LEVELS[1:], "Metadata", "", "metadata"))),
    )
    for key in ("requestObject", "responseObject"):
        if draw(st.booleans()):
            data[key] = draw(bodies)
    return data


def _writing(policy: Policy) -> Policy:
    """The policy with every rule writing at least Metadata at every stage, and a catch-all last:
    most drawn policies write few events, and these tests are about the ones written."""
    rules = tuple(
        replace(rule, level=max(rule.level, "Metadata", key=LEVELS.index), omit_stages=()) for rule in policy.rules
    )
    return replace(policy, rules=(*rules, PolicyRule(level="Metadata")), omit_stages=())


some_policies = st.one_of(strategies.policies, strategies.policies.map(_writing))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=some_policies, data=recorded_events(), spaced=st.booleans())
def test_the_fast_path_writes_what_the_plain_implementation_does(
    policy: Policy, data: dict[str, Any], spaced: bool
) -> None:
    text = json.dumps(data).encode() if spaced else orjson.dumps(data)  # unchanged must mean these bytes
    applied = apply_line(PolicyEvaluator(policy), text + b"\n")
    expected, lower = plain_apply(policy, data, text)
    assert applied.text == expected
    assert applied.size == (0 if expected is None else len(expected) + 1)
    assert applied.lower_bound == (lower and expected is not None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=some_policies,
    requests=st.lists(recorded_events(), min_size=1, max_size=3),
    variations=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(STAGES), st.sampled_from((*LEVELS[1:], ""))),
        min_size=1,
        max_size=12,
    ),
)
def test_the_command_loop_writes_what_the_plain_implementation_does_for_each_line(
    policy: Policy, requests: list[dict[str, Any]], variations: list[tuple[int, str, str]]
) -> None:
    """`apply_lines` decides a writing once per (rule, stage, recorded level) and reuses it: the
    block must still be each event's plain answer, in order (a few requests recorded at several
    stages and levels, so the keys meet again)."""
    events = [{**requests[index % len(requests)], "stage": stage, "level": level} for index, stage, level in variations]
    texts = [orjson.dumps(data) for data in events]
    block = apply_lines(PolicyEvaluator(policy), "log", [text + b"\n" for text in texts])
    expected = [plain_apply(policy, data, text) for data, text in zip(events, texts, strict=True)]
    written = [text + b"\n" for text, _ in expected if text is not None]
    assert assembled(block.pieces, None) == b"".join(written)  # no offsets without a start
    assert (block.events, block.written) == (len(events), len(written))
    assert block.lower_bound == sum(1 for text, lower in expected if lower and text is not None)


line_shapes = st.sampled_from(("plain", "spaced", "crlf", "prefix", "blank", "junk"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=some_policies,
    events=st.lists(st.tuples(recorded_events(), line_shapes), min_size=1, max_size=10),
    final_newline=st.booleans(),
    task_bytes=st.integers(200, 4000),
)
def test_runs_of_unchanged_lines_read_back_from_the_file_give_the_same_output(
    tmp_path_factory: pytest.TempPathFactory,
    policy: Policy,
    events: list[tuple[dict[str, Any], str]],
    final_newline: bool,
    task_bytes: int,
) -> None:
    """The ranges' runs of unchanged lines are offsets the parent reads back: the output must be
    the bytes the same lines give when every written line is sent whole."""
    shaped: dict[str, Callable[[bytes], bytes]] = {
        "plain": lambda text: text + b"\n",
        "spaced": lambda text: json.dumps(orjson.loads(text)).encode() + b"\n",
        "crlf": lambda text: text + b"\r\n",
        "prefix": lambda text: b"node-1 " + text + b"\n",
        "blank": lambda text: b"\n",
        "junk": lambda text: b"not an event\n",
    }
    lines = [shaped[shape](orjson.dumps(data)) for data, shape in events]
    lines[-1] = lines[-1] if final_newline else lines[-1].rstrip(b"\n")
    path = tmp_path_factory.mktemp("runs") / "audit.log"
    path.write_bytes(b"".join(lines))
    evaluator = PolicyEvaluator(policy)
    whole = apply_lines(evaluator, "log", lines)
    output: list[bytes] = []
    problems: list[str] = []
    first_line = 1
    with path.open("rb") as log_file:
        for task in split.cut(0, str(path), 0, path.stat().st_size, task_bytes):
            count, block = apply_range(evaluator, ("log", first_line, task, None))
            first_line += count
            output.append(assembled(block.pieces, log_file.fileno()))
            problems.extend(block.problems)
    assert b"".join(output) == assembled(whole.pieces, None)
    assert problems == list(whole.problems)


def test_a_log_cut_short_before_its_runs_are_read_back_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b"x" * 100)
    with path.open("rb") as log_file:
        assert assembled([b"a", (10, 20)], log_file.fileno()) == b"a" + b"x" * 10
        with pytest.raises(OSError, match="cut short"):
            assembled([(90, 120)], log_file.fileno())


# ------------------------------------------------------------------------------ lower bounds and cost


def test_events_recorded_below_the_policy_keep_their_content_and_make_a_lower_bound(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, policy: Path, recorded: Path
) -> None:
    higher = tmp_path / "everything.yaml"
    higher.write_text(EVERYTHING)
    data = recorded.read_bytes()
    below = sum(orjson.loads(text)["level"] != "RequestResponse" for text in data.splitlines())
    assert below > 0
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(higher), str(recorded))
    assert status == 0 and out == data  # nothing can be invented: the log as it was
    assert f"{below:,} events are recorded below the level this policy gives them" in err
    summary = cost_of_lines(load_evaluator(higher), data.splitlines())
    assert summary.lower_bound and summary.lower_bound_events == below
    assert summary.bytes == len(data)


def test_cost_groups_add_up_and_scale_to_a_day(tmp_path: Path) -> None:
    evaluator = evaluator_of(POLICY, tmp_path)
    lines = [
        line(event(0, user="alice", verb="get", resource="pods", time="2026-11-20T10:00:00Z")),
        line(event(1, user="bob", verb="create", resource="configmaps", time="2026-11-20T11:00:00.5Z")),
        line(event(2, user="system:kube-proxy", time="2026-11-20T12:00:00Z")),  # level None: not written
        line(event(3, user="bob", stage="RequestReceived", time="2026-11-20T10:30:00Z")),  # omitted stage
        b"not json",
    ]
    summary = cost_of_lines(evaluator, lines)
    assert (summary.events, summary.written, summary.unreadable) == (4, 2, 1)
    assert summary.bytes == len(lines[0]) + 1 + len(lines[1]) + 1
    assert dict(summary.by_user) == {
        "alice": (share := summary.by_rule[1]),
        "bob": summary.by_rule[3],
    }
    assert share.written == 1 and share.bytes == len(lines[0]) + 1
    assert set(summary.by_verb) == {"get", "create"} and set(summary.by_namespace) == {"default"}
    assert summary.span_seconds == 7200.0  # the span is over the events read, written or not
    assert summary.bytes_per_day == pytest.approx(summary.bytes * 12)
    halves = CostTally().add_lines(evaluator, lines[:2]).merge(CostTally().add_lines(evaluator, lines[2:]))
    assert halves.summary() == summary


# ------------------------------------------------------------------------------ the command


def test_lines_that_are_not_events_are_reported_and_not_written(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, policy: Path
) -> None:
    log = tmp_path / "audit.log"
    good = line(event(1, resource="nodes"))
    log.write_bytes(good + b"\n\n" + b'{"truncated": \n' + good + b"\n")
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(policy), str(log))
    assert status == 0
    assert out == good + b"\n" + good + b"\n"
    assert err.splitlines() == [f"k8saudit-tui: {log}:3: truncated JSON (line cut short)"]


def test_stdin_is_applied_line_by_line_as_it_comes(policy: Path) -> None:
    command = [sys.executable, "-m", "k8saudit_tui", "apply", "--policy", str(policy), "-"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env) as process:
        assert process.stdin is not None and process.stdout is not None
        first = line(event(1, resource="configmaps", level="RequestResponse", requestObject={"a": 1}))
        process.stdin.write(first + b"\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "no output while stdin is still open: the input was not streamed"
        written = orjson.loads(process.stdout.readline())
        assert written["level"] == "Request" and written["requestObject"] == {"a": 1}
        process.stdin.close()
        assert process.stdout.read() == b""
        assert process.wait(20) == 0


def test_output_file_is_private_and_not_overwritten(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, policy: Path, recorded: Path
) -> None:
    target = tmp_path / "applied.log"
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(policy), str(recorded), "-o", str(target))
    assert status == 0 and out == b""
    assert target.read_bytes() == recorded.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    events = recorded.read_bytes().count(b"\n")
    assert f"wrote {events:,} of {events:,} events ({recorded.stat().st_size:,} bytes)" in err
    status, _, err = run_cli(capsysbinary, "apply", "--policy", str(policy), str(recorded), "-o", str(target))
    assert status == 1 and "already exists" in err


def test_exit_statuses(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, policy: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(line(event(1)) + b"\n")
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(policy), str(tmp_path / "gone.log"), str(log))
    assert status == 1 and out == line(event(1)) + b"\n"  # the readable log is still applied
    assert "gone.log: no such file or directory" in err
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(tmp_path / "nope.yaml"), str(log))
    assert status == 2 and out == b""
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(policy), str(policy))
    assert status == 2 and out == b"" and "is an audit Policy, not a log" in err
    status, out, err = run_cli(capsysbinary, "apply", "--policy", str(log), str(log))
    assert status == 2 and out == b"" and "is an audit log, not a Policy" in err


def test_a_rewritten_event_keeps_its_numbers_or_is_refused() -> None:
    """A number orjson reads as a float (below -2**63) is kept exactly; one JSON cannot write
    back (1e400 reads as infinity) refuses the event instead of writing `Infinity`."""
    from k8saudit_tui.engine.logs.event import EventError
    from k8saudit_tui.engine.workbench.apply import rewrite

    body = b'{"level":"RequestResponse","requestObject":{"metadata":{"managedFields":[1]}},"responseObject":{"n":'
    small = rewrite(body + b"-9223372036854775809}}", "RequestResponse", True, False)
    assert json.loads(small)["responseObject"]["n"] == -9223372036854775809  # orjson would read a float
    assert b"-9223372036854775809" in small
    with pytest.raises(EventError):
        rewrite(body + b"1e400}}", "RequestResponse", True, False)
