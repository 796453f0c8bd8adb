"""`evaluate` and `explain` on real GKE LogEntries (tests/data/cloud): unknown where the lost
groups or stage decide, in a JSON shape that leaves raw lines as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8saudit_tui.cli import main
from tests.conftest import DATA
from tests.test_lossy_store import POLICY, RAW_LOG, gke_log

STREAM_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  omitStages: ["ResponseStarted"]
"""
"""Decides every request (no groups read); only the stage of a long-running request matters."""


def exec_log(tmp_path: Path) -> Path:
    """The real status patch entry, its method and resource turned into a pod exec (a generated
    envelope around a real entry: the one long-running request the samples lack)."""
    text = (DATA / "cloud" / "gke-logentry-khi-pods-status-patch.yaml").read_text()
    text = text.replace("io.k8s.core.v1.pods.status.patch", "io.k8s.core.v1.pods.exec.create")
    path = tmp_path / "exec.yaml"
    path.write_text(text.replace("-xf5f4/status", "-xf5f4/exec"))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    assert captured.err == ""
    return status, captured.out


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_evaluate_says_unknown_and_keeps_raw_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: Path
) -> None:
    _, raw_only = run(capsys, "evaluate", "--policy", str(policy), str(RAW_LOG))
    status, out = run(capsys, "evaluate", "--policy", str(policy), str(gke_log(tmp_path)), str(RAW_LOG))
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    create, patch = rows[:2]
    assert (create["rule"], create["level"], create["omitted"]) == (3, "Request", False)
    assert "unknown" not in create
    assert (patch["rule"], patch["level"], patch["omitted"]) == (None, None, None)
    assert patch["unknown"] == ["rule", "level", "omitted"]
    assert [json.loads(line) for line in raw_only.splitlines()] == rows[2:]


def test_evaluate_says_written_unknown_when_only_the_stage_decides(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "stream.yaml"
    policy.write_text(STREAM_POLICY)
    _, out = run(capsys, "evaluate", "--policy", str(policy), str(exec_log(tmp_path)))
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (row["rule"], row["level"], row["omitted"], row["unknown"]) == (0, "Metadata", None, ["omitted"])


def test_explain_names_the_lost_groups_at_the_rule_that_needs_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: Path
) -> None:
    status, out = run(capsys, "explain", "--policy", str(policy), str(gke_log(tmp_path)), "--line", "268")
    assert status == 0
    lines = out.splitlines()
    at = lines.index("rule 1 (line 7) level RequestResponse: CANNOT EVALUATE")
    assert lines[at + 1] == "  [?] userGroups: cannot evaluate: user groups are not present in GKE logs"
    assert "verdict: unknown: rule 1 (RequestResponse) or rule 2 (Metadata); level unknown" in lines
    assert lines[-1].startswith("whether this ResponseComplete event would be written is unknown")


def test_explain_of_a_request_an_earlier_rule_decides_is_known(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: Path
) -> None:
    _, out = run(capsys, "explain", "--policy", str(policy), str(gke_log(tmp_path)), "--line", "15")
    assert "verdict: rule 3, level Request" in out
    assert out.splitlines()[-1] == "this ResponseComplete event would be written at level Request"


def test_explain_names_the_lost_stage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "stream.yaml"
    policy.write_text(STREAM_POLICY)
    _, out = run(capsys, "explain", "--policy", str(policy), str(exec_log(tmp_path)), "--line", "15")
    assert out.splitlines()[-1] == (
        "whether this ResponseStarted event would be written is unknown: "
        "cannot evaluate: the stage is not present in GKE logs (one entry per request)"
    )


def test_report_counts_unknown_events_per_rule_and_overall(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: Path
) -> None:
    log = gke_log(tmp_path)
    _, out = run(capsys, "report", "--policy", str(policy), "--format", "json", str(log), str(RAW_LOG))
    report = json.loads(out)
    unknown = report["unknown"]["current"]
    assert (unknown["lossy_events"], unknown["events"], unknown["rule"], unknown["written"]) == (2, 1, 1, 1)
    assert unknown["by_rule"] == {"1": 1}
    assert unknown["maybe_by_rule"] == {"1": 1, "2": 1}  # the patch may be rule 1's or rule 2's
    rule_1, rule_2 = report["rules"][1], report["rules"][2]
    assert (rule_1["unknown"], rule_1["maybe"], rule_1["dead"]) == (1, 1, False)  # it may have matched: not dead
    assert (rule_2["unknown"], rule_2["maybe"], rule_2["dead"]) == (0, 1, False)
    assert report["rules"][0]["dead"] is True
    _, markdown = run(capsys, "report", "--policy", str(policy), str(log))
    assert "**1 events cannot be evaluated** (of 2 whose format lost user groups or the stage" in markdown
    assert "| current | 1 | 7 | RequestResponse | 0 | 0 | 0 | 0.0% | 1 unknown |" in markdown
    assert "| current | 2 | 10 | Metadata | 0 | 0 | 0 | 0.0% | may match 1 unknown |" in markdown
    assert markdown.splitlines()[0].startswith("**2 events** · 1 unknown · ")


def test_the_report_of_a_raw_log_has_no_unknown(capsys: pytest.CaptureFixture[str], policy: Path) -> None:
    _, out = run(capsys, "report", "--policy", str(policy), "--format", "json", str(RAW_LOG))
    report = json.loads(out)
    assert "unknown" not in report
    assert all("unknown" not in row for row in report["rules"])


GROUPS_DECIDE = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: {first}
  userGroups: ["system:masters"]
- level: Metadata
"""
"""The lost groups decide between the two rules; both write every stage: only the rule (and,
when the levels differ, the level) is unknown."""


@pytest.mark.parametrize(("first", "level_known"), [("Request", False), ("Metadata", True)])
def test_report_bytes_of_an_event_whose_rule_a_lost_field_decides(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, first: str, level_known: bool
) -> None:
    """A known level is costed with no rule to carry it; an unknown level is costed as no bytes and
    makes the bytes a lower bound (it once reached a bincount as a negative rule: a traceback)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(GROUPS_DECIDE.format(first=first))
    log = DATA / "cloud" / "gke-logentry-khi-pods-status-patch.yaml"
    status, out = run(capsys, "report", "--policy", str(policy), "--format", "json", str(log))
    report = json.loads(out)
    unknown = report["unknown"]["current"]
    assert (status, unknown["rule"], unknown["level"], unknown["written"]) == (0, 1, 0 if level_known else 1, 0)
    assert sum(row["bytes"] for row in report["rules"]) == 0
    assert (report["bytes"]["current"] > 0, report["bytes"]["lower_bound"]) == (level_known, not level_known)
