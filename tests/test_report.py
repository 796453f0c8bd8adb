"""`report`: its JSON numbers against plain per-event computations on corpus logs and policies,
every `--fail-if` condition both ways with its exit status, the Markdown's key lines, bad input."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.cli import main
from k8saudit_tui.engine.logs.event import EventError
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import LEVELS, Policy
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.store import StoreLoader
from k8saudit_tui.engine.workbench.apply import Applied, apply_line
from k8saudit_tui.engine.workbench.cost import CostTally, cost_of_lines
from k8saudit_tui.engine.workbench.shards import Shard, read_shard
from k8saudit_tui.engine.workbench.store_cost import store_costs
from tests import strategies
from tests.auditlog_helpers import event, line, write_lines
from tests.test_apply import recorded_events

DATA = Path(__file__).resolve().parent / "data"

CORPUS = [
    ("audit2rbac-demo-2017-full.jsonl", "audit2rbac-demo-policy.yaml", "kubernetes-website-audit-policy.yaml"),
    ("falco-k8s-audit-traces.jsonl", "falco-k8saudit-plugin-audit-policy.yaml", "kubernetes-gce-configure-helper.yaml"),
    ("sysdig-aks-audit-log-samples.jsonl", "kubespray-apiserver-audit-policy.yaml", "aks-engine-audit-policy.yaml"),
]

METADATA = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
NO_GETS = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verbs: [get]\n- level: Metadata\n"
NO_SECRETS = (
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
    "- level: None\n  resources: [{group: '', resources: [secrets]}]\n- level: Metadata\n"
)
DEAD_RULE = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: [nobody]\n- level: Metadata\n"
SHADOWED = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n- level: None\n  users: [alice]\n"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main(["report", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def report_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> dict[str, Any]:
    status, out, _ = run(capsys, *args, "--format", "json")
    assert status == 0
    result: dict[str, Any] = json.loads(out)
    return result


def applied_events(policy: Path, log: Path) -> list[Applied]:
    """Every event of the log under the policy, one apply_line at a time (the plain computation)."""
    loaded = load_policy_file(str(policy))
    assert loaded.policy is not None
    evaluator = PolicyEvaluator(loaded.policy)
    result = []
    for raw in log.read_bytes().splitlines(keepends=True):
        if raw.strip():
            try:
                result.append(apply_line(evaluator, raw))
            except EventError:
                pass
    return result


def plain_rules(applied: list[Applied], rules: int) -> list[tuple[int, int, int]]:
    """(hits, written, bytes) per rule."""
    rows = [[0, 0, 0] for _ in range(rules)]
    for one in applied:
        if one.verdict.rule is not None:
            row = rows[one.verdict.rule]
            row[0] += 1
            row[1] += one.line is not None
            row[2] += one.size
    return [(hits, written, size) for hits, written, size in rows]


def plain_change(now: Applied, then: Applied) -> str:
    if now.line is not None and then.line is None:
        return "dropped"
    if now.line is None and then.line is not None:
        return "added"
    if now.line is not None and then.line is not None:
        rank_now, rank_then = LEVELS.index(now.verdict.level), LEVELS.index(then.verdict.level)
        return "up" if rank_then > rank_now else "down" if rank_then < rank_now else "same"
    return "same"


@pytest.mark.parametrize(("log", "current", "candidate"), CORPUS)
def test_json_numbers_equal_plain_per_event_computations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log: str, current: str, candidate: str
) -> None:
    log_path, current_path, candidate_path = (
        DATA / "logs" / log,
        DATA / "policies" / current,
        DATA / "policies" / candidate,
    )
    result = report_json(capsys, "--policy", current_path, "--candidate", candidate_path, log_path)
    now, then = applied_events(current_path, log_path), applied_events(candidate_path, log_path)
    assert result["events"] == len(now) == len(then) > 0
    changes = {name: 0 for name in ("same", "up", "down", "dropped", "added")}
    for a, b in zip(now, then, strict=True):
        changes[plain_change(a, b)] += 1
    assert result["changes"] == changes
    for name, applied in (("current", now), ("candidate", then)):
        rows = [row for row in result["rules"] if row["policy"] == name]
        plain = plain_rules(applied, len(rows))
        assert [(row["hits"], row["written"], row["bytes"]) for row in rows] == plain
        assert [row["dead"] for row in rows] == [hits == 0 for hits, _, _ in plain]
        assert result["bytes"][name] == sum(size for _, _, size in plain)
        # the bytes are what `apply` writes with that policy
        out = tmp_path / f"{name}.jsonl"
        assert (
            main(
                [
                    "apply",
                    "--policy",
                    str(current_path if name == "current" else candidate_path),
                    str(log_path),
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        assert out.stat().st_size == result["bytes"][name]
    capsys.readouterr()


def test_current_policy_over_its_own_log_costs_the_log_size(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(METADATA)
    log = write_lines(tmp_path / "audit.log", [line(event(n)) for n in range(5)])
    result = report_json(capsys, "--policy", policy, log)
    assert result["bytes"]["current"] == log.stat().st_size
    assert result["bytes"]["candidate"] is None and "changes" not in result
    assert result["rules"] == [
        {
            "policy": "current",
            "index": 0,
            "line": 4,
            "level": "Metadata",
            "hits": 5,
            "written": 5,
            "bytes": log.stat().st_size,
            "share": 1.0,
            "dead": False,
            "shadowed_by": [],
            "shadowed": False,
        }
    ]


@pytest.fixture
def traffic(tmp_path: Path) -> Path:
    """Gets, lists and a secret read by alice."""
    lines = [line(event(n, verb="get" if n % 2 else "list")) for n in range(10)]
    lines.append(line(event(10, verb="get", resource="secrets", name="token")))
    return write_lines(tmp_path / "audit.log", lines)


def policy_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("condition", "current", "candidate", "holds"),
    [
        ("bytes>+10%", NO_GETS, METADATA, True),
        ("bytes>+10%", METADATA, NO_GETS, False),
        ("bytes>+0%", NO_GETS, METADATA, True),
        ("bytes>+0%", METADATA, METADATA, False),
        ("bytes>+1000%", NO_GETS, METADATA, False),
        ("security-lost", METADATA, NO_SECRETS, True),
        ("security-lost", METADATA, NO_GETS.replace("[get]", "[list]"), False),
        ("dropped>0", METADATA, NO_GETS, True),
        ("dropped>0", NO_GETS, METADATA, False),
        ("dead-rules", DEAD_RULE, None, True),
        ("dead-rules", METADATA, None, False),
        ("dead-rules", METADATA, DEAD_RULE, True),
        ("shadowed-rules", SHADOWED, None, True),
        ("shadowed-rules", METADATA, None, False),
    ],
)
def test_each_fail_if_condition_decides_the_exit_status(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    traffic: Path,
    condition: str,
    current: str,
    candidate: str | None,
    holds: bool,
) -> None:
    args: list[str | Path] = ["--policy", policy_file(tmp_path, "current.yaml", current)]
    if candidate is not None:
        args += ["--candidate", policy_file(tmp_path, "candidate.yaml", candidate)]
    status, out, err = run(capsys, *args, traffic, "--fail-if", condition)
    assert out.startswith("**11 events**")
    if holds:
        assert status == 1
        assert f"k8saudit-tui: fail-if {condition}: " in err
    else:
        assert status == 0
        assert "fail-if" not in err


def test_only_the_conditions_that_hold_are_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, traffic: Path
) -> None:
    current, candidate = policy_file(tmp_path, "c.yaml", METADATA), policy_file(tmp_path, "n.yaml", NO_SECRETS)
    status, _, err = run(
        capsys,
        "--policy",
        current,
        "--candidate",
        candidate,
        traffic,
        "--fail-if",
        "security-lost",
        "--fail-if",
        "bytes>+0%",
        "--fail-if",
        "dropped>0",
    )
    assert status == 1
    named = [text.split(":")[1].strip() for text in err.splitlines() if "fail-if" in text]
    assert named == ["fail-if security-lost", "fail-if dropped>0"]
    assert "security classes lost: secrets-read" in err


@pytest.mark.parametrize("condition", ["bytes>10%", "bytes>+x%", "security", "dropped>1", ""])
def test_a_bad_condition_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, traffic: Path, condition: str
) -> None:
    status, out, err = run(
        capsys, "--policy", policy_file(tmp_path, "p.yaml", METADATA), traffic, "--fail-if", condition
    )
    assert (status, out) == (2, "")
    assert "not a condition" in err


@pytest.mark.parametrize("condition", ["bytes>+10%", "security-lost", "dropped>0"])
def test_a_condition_needing_a_candidate_without_one_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, traffic: Path, condition: str
) -> None:
    status, out, err = run(
        capsys, "--policy", policy_file(tmp_path, "p.yaml", METADATA), traffic, "--fail-if", condition
    )
    assert (status, out) == (2, "")
    assert err == f"k8saudit-tui: --fail-if {condition} needs --candidate\n"


def test_unusable_policies_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, traffic: Path) -> None:
    good = policy_file(tmp_path, "p.yaml", METADATA)
    broken = policy_file(tmp_path, "broken.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n")
    for args in (
        ["--policy", tmp_path / "missing.yaml", traffic],
        ["--policy", broken, traffic],
        ["--policy", good, "--candidate", broken, traffic],
        ["--policy", good, good],  # a policy given as a log
    ):
        status, out, _ = run(capsys, *args)
        assert (status, out) == (2, "")


def test_markdown_key_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path, traffic: Path) -> None:
    current = policy_file(tmp_path, "current.yaml", NO_GETS)
    candidate = policy_file(tmp_path, "evil\x1b[31m.yaml", NO_SECRETS)
    status, out, _ = run(capsys, "--policy", current, "--candidate", candidate, traffic)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("**11 events** · ")
    assert "(+" in lines[0] and "% )" not in lines[0]
    assert "0 up, 0 down, 0 dropped, 5 added" in lines[0]
    assert "security classes lost: none" in lines[0]
    assert "dead rules: none" in lines[0] and "shadowed rules: none" in lines[0]
    assert "\x1b" not in out and "evil\\x1b[31m.yaml" in lines[2]
    assert "| same | up | down | dropped | added |" in lines
    assert "| 6 | 0 | 0 | 0 | 5 |" in lines
    assert "| current | 0 | 4 | None | 6 | 0 | 0 | 0.0% |  |" in lines
    assert "| secrets reads | 1 | 0 | 0 | 0 | 0 |" in lines


def test_markdown_names_dead_and_shadowed_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, traffic: Path
) -> None:
    current = policy_file(tmp_path, "current.yaml", SHADOWED)
    status, out, _ = run(capsys, "--policy", current, traffic)
    assert status == 0
    lines = out.splitlines()
    assert "dead rules: current 1" in lines[0] and "shadowed rules: current 1" in lines[0]
    assert "| current | 1 | 5 | None | 0 | 0 | 0 | 0.0% | dead; shadowed by 0 |" in lines


def test_a_missing_log_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(capsys, "--policy", policy_file(tmp_path, "p.yaml", METADATA), tmp_path / "nope.log")
    assert (status, out) == (1, "")
    assert "no such file" in err


ODD_LINES = st.sampled_from((b"", b"host-1 ", b"\xef\xbb\xbf")).flatmap(lambda prefix: st.just(prefix))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    current=strategies.policies,
    candidate=strategies.policies,
    events=st.lists(st.tuples(recorded_events(), ODD_LINES, st.booleans()), max_size=12),
)
def test_the_one_pass_cost_of_two_policies_is_each_policys_plain_cost(
    tmp_path_factory: pytest.TempPathFactory,
    current: Policy,
    candidate: Policy,
    events: list[tuple[dict[str, Any], bytes, bool]],
) -> None:
    """The bytes from the store's columns are each policy's plain cost, one apply_line per line,
    every figure but `unreadable` (there the store's problems): over a loaded store (store_cost,
    the TUI's) and over a shard's own store as the report reads it (its tallies, `shard_costs`);
    a summary made a tally again (`CostTally.of`) is the same summary."""
    lines = [prefix + orjson.dumps(data) + (b"\r" if crlf else b"") for data, prefix, crlf in events]
    lines.insert(len(lines) // 2, b'{"kind": "Event", broken')
    log = write_lines(tmp_path_factory.mktemp("cost") / "audit.log", lines)
    evaluators = [PolicyEvaluator(current), PolicyEvaluator(candidate)]
    store = StoreLoader(expand_sources([str(log)]), evaluators[0], candidate=evaluators[1]).load_all()
    try:
        fast = store_costs(store)
    finally:
        store.close()
    assert fast is not None
    part = read_shard(evaluators, Shard(str(log), str(log), 0, log.stat().st_size))
    with log.open("rb") as stream:
        raw = list(stream)
    plain = [cost_of_lines(evaluator, raw) for evaluator in evaluators]
    assert [replace(summary, unreadable=0) for summary in fast] == [replace(s, unreadable=0) for s in plain]
    assert [replace(tally.summary(), unreadable=0) for tally in part.costs] == [replace(s, unreadable=0) for s in plain]
    assert [tally.summary().unreadable for tally in part.costs] == [summary.unreadable for summary in fast] == [1, 1]
    assert [CostTally.of(summary).summary() for summary in plain] == plain


def test_a_gzip_log_costs_what_its_plain_content_does(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The cost pass reads the same spooled plain file as the store (and it is removed after)."""
    policy = policy_file(tmp_path, "p.yaml", METADATA)
    plain = write_lines(tmp_path / "audit.log", [line(event(n)) for n in range(7)])
    packed = tmp_path / "audit.log.1"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    result = report_json(capsys, "--policy", policy, packed)
    assert (result["events"], result["bytes"]["current"]) == (7, plain.stat().st_size)
