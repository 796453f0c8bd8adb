"""`explain --auditid`: the request explained once, then each of its stage events with whether it
would be written; stages found across rotated logs; not found is exit 1; --line xor --auditid."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from k8saudit_tui.cli import main

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    users: ["system:kube-proxy"]
  - level: Metadata
"""


def event_line(audit_id: str, stage: str, user: str = "alice", **fields: Any) -> bytes:
    data: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": audit_id,
        "stage": stage,
        "requestURI": "/api/v1/namespaces/default/pods/web",
        "verb": "get",
        "user": {"username": user, "groups": ["system:authenticated"]},
        "objectRef": {"resource": "pods", "namespace": "default", "name": "web", "apiVersion": "v1"},
    }
    data.update(fields)
    return orjson.dumps(data)


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = main(["explain", *args])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def test_the_request_is_explained_once_then_each_stage(
    capsys: pytest.CaptureFixture[str], policy: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(
        event_line("a-1", "RequestReceived")
        + b"\n"
        + event_line("other", "ResponseComplete", user="bob")
        + b"\n"
        + event_line("a-1", "ResponseComplete")
        + b"\n"
    )
    status, out, err = run(capsys, "--policy", str(policy), str(log), "--auditid", "a-1")
    assert (status, err) == (0, "")
    assert out[0] == f"auditID a-1: 2 events ({log}:1 RequestReceived, {log}:3 ResponseComplete)"
    assert out[1].startswith('request: user "alice"')
    assert sum(line.startswith("request:") for line in out) == 1  # one explanation: one request
    assert "verdict: rule 1, level Metadata, omitStages [RequestReceived], omitManagedFields false" in out
    assert out[-2:] == [
        f"{log}:1: this RequestReceived event would not be written: stage RequestReceived is omitted",
        f"{log}:3: this ResponseComplete event would be written at level Metadata",
    ]


def test_stages_are_found_across_rotated_and_compressed_logs(
    capsys: pytest.CaptureFixture[str], policy: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "logs"
    directory.mkdir()
    (directory / "audit.log.1").write_bytes(gzip.compress(event_line("r-9", "RequestReceived") + b"\n"))
    (directory / "audit.log").write_bytes(event_line("r-9", "ResponseComplete") + b"\n")
    status, out, _ = run(capsys, "--policy", str(policy), str(directory), "--auditid", "r-9")
    assert status == 0
    notes = [line for line in out if "would" in line]
    assert len(notes) == 2
    assert any("audit.log.1:1: this RequestReceived event would not be written" in line for line in notes)
    assert any("audit.log:1: this ResponseComplete event would be written at level Metadata" in line for line in notes)


def test_an_id_shared_by_two_requests_explains_each(
    capsys: pytest.CaptureFixture[str], policy: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(
        event_line("dup", "ResponseComplete") + b"\n" + event_line("dup", "ResponseComplete", user="system:kube-proxy")
    )
    status, out, _ = run(capsys, "--policy", str(policy), str(log), "--auditid", "dup")
    assert status == 0
    assert out[1] == "note: these events share the auditID but not the request: 2 requests, each explained"
    assert sum(line.startswith("request:") for line in out) == 2
    assert out[-1] == f"{log}:2: this ResponseComplete event would not be written: level None"


def test_a_line_holding_the_id_that_is_no_event_is_reported_and_skipped(
    capsys: pytest.CaptureFixture[str], policy: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b'{"auditID": "z-1", truncated\n' + event_line("z-1", "ResponseComplete") + b"\n")
    status, out, err = run(capsys, "--policy", str(policy), str(log), "--auditid", "z-1")
    assert status == 0
    assert f"{log}:1:" in err
    assert out[0] == f"auditID z-1: 1 event ({log}:2 ResponseComplete)"


def test_an_unknown_id_is_exit_1_with_a_message(
    capsys: pytest.CaptureFixture[str], policy: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(event_line("a-1", "ResponseComplete") + b"\n")
    status, out, err = run(capsys, "--policy", str(policy), str(log), "--auditid", "a-")  # a prefix is not the ID
    assert status == 1 and out == []
    assert f"no event with auditID a- in {log}" in err


@pytest.mark.parametrize("which", [[], ["--line", "1", "--auditid", "a-1"]])
def test_exactly_one_of_line_and_auditid(
    capsys: pytest.CaptureFixture[str], policy: Path, tmp_path: Path, which: list[str]
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(event_line("a-1", "ResponseComplete") + b"\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", "--policy", str(policy), str(log), *which])
    assert exit_info.value.code == 2
    assert "--line" in capsys.readouterr().err
