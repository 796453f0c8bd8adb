"""The headless `evaluate` and `explain` commands: the output contract scripts rely on."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from k8saudit_tui.cli import main
from k8saudit_tui.commands import evaluate as evaluate_command

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    users: ["system:kube-proxy"]
  - level: RequestResponse
    resources:
      - group: ""
        resources: ["secrets"]
    omitManagedFields: true
  - level: Metadata
    nonResourceURLs: ["/healthz*"]
"""


def event_line(**fields: Any) -> bytes:
    data: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "id-1",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/secrets/s",
        "verb": "get",
        "user": {"username": "alice", "groups": ["devs"]},
        "objectRef": {"resource": "secrets", "namespace": "default", "name": "s", "apiVersion": "v1"},
    }
    data.update(fields)
    return orjson.dumps({k: v for k, v in data.items() if v is not None})


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def log(tmp_path: Path) -> Path:
    lines = [
        event_line(),
        b"",
        event_line(auditID="id-2", stage="RequestReceived"),
        b'{"truncated": ',
        event_line(auditID="id-3", user={"username": "system:kube-proxy"}),
        event_line(auditID="id-4", objectRef=None, requestURI="/healthz/etcd", verb="get"),
        event_line(auditID="id-5", objectRef=None, requestURI="/metrics", verb="get"),
    ]
    path = tmp_path / "audit.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run_cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    status = main(list(args))
    captured = capsysbinary.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    return status, rows, captured.err.decode()


def test_one_output_line_per_non_blank_input_line(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path
) -> None:
    status, rows, _ = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(log))
    assert status == 0
    assert [row["line"] for row in rows] == [1, 3, 4, 5, 6, 7]
    first = rows[0]
    assert first == {
        "file": str(log),
        "line": 1,
        "auditID": "id-1",
        "stage": "ResponseComplete",
        "rule": 1,
        "level": "RequestResponse",
        "omitted": False,
        "omitManagedFields": True,
        "recordedLevel": "Metadata",
    }


def test_verdicts_follow_the_policy(capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path) -> None:
    _, rows, _ = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(log))
    by_line = {row["line"]: row for row in rows}
    assert by_line[3]["omitted"] is True  # RequestReceived is in the policy's omitStages (M13)
    assert set(by_line[4]) == {"file", "line", "error"}
    assert "truncated" in by_line[4]["error"] and ":4:" in by_line[4]["error"]
    assert (by_line[5]["rule"], by_line[5]["level"], by_line[5]["omitted"]) == (0, "None", True)
    assert (by_line[6]["rule"], by_line[6]["level"]) == (2, "Metadata")
    assert (by_line[7]["rule"], by_line[7]["level"], by_line[7]["omitted"]) == (None, "None", True)


def test_gzip_and_stdin_give_the_same_verdicts(
    capsysbinary: pytest.CaptureFixture[bytes],
    policy: Path,
    log: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, plain, _ = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(log))
    compressed = tmp_path / "audit.log.gz"
    compressed.write_bytes(gzip.compress(log.read_bytes()))
    _, zipped, _ = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(compressed))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(log.read_bytes())))
    _, piped, _ = run_cli(capsysbinary, "evaluate", "--policy", str(policy), "-")
    strip = lambda rows: [{k: v for k, v in row.items() if k not in ("file", "error")} for row in rows]  # noqa: E731
    assert strip(zipped) == strip(plain) == strip(piped)
    assert zipped[0]["file"] == str(compressed) and piped[0]["file"] == "-"


def test_a_big_file_split_across_processes_gives_the_same_output(
    capfdbinary: pytest.CaptureFixture[bytes], policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [event_line(auditID=f"id-{n}", verb=("get", "list", "watch")[n % 3]) for n in range(3000)]
    lines[1234] = b"not json"
    path = tmp_path / "big.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    main(["evaluate", "--policy", str(policy), str(path)])
    sequential = capfdbinary.readouterr().out
    monkeypatch.setattr(evaluate_command, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(evaluate_command.os, "cpu_count", lambda: 3)
    main(["evaluate", "--policy", str(policy), str(path)])
    parallel = capfdbinary.readouterr().out
    assert parallel == sequential
    assert len(parallel.splitlines()) == 3000


def test_an_unusable_policy_exits_2(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, log: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: metadata\n")
    status, rows, err = run_cli(capsysbinary, "evaluate", "--policy", str(bad), str(log))
    assert status == 2
    assert rows == []
    assert f"{bad}:4: rules[0].level" in err


def test_a_missing_log_is_a_message_not_a_traceback(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, tmp_path: Path
) -> None:
    status, _, err = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(tmp_path / "nope.log"))
    assert status == 1
    assert "No such file or directory" in err and "Traceback" not in err


def test_evaluate_piped_into_head_exits_quietly(policy: Path, tmp_path: Path) -> None:
    path = tmp_path / "many.log"
    path.write_bytes(b"\n".join(event_line(auditID=f"id-{n}") for n in range(20000)) + b"\n")
    shell = f'"{sys.executable}" -m k8saudit_tui evaluate --policy "{policy}" "{path}" | head -n 1'
    result = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=60)
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1


def test_explain_prints_every_rule_tried(capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path) -> None:
    status = main(["explain", "--policy", str(policy), str(log), "--line", "6"])
    out = capsysbinary.readouterr().out.decode()
    assert status == 0
    assert "rule 0 (line 5) level None: no match" in out
    assert '[x] users: user "alice" not in ["system:kube-proxy"]' in out
    assert "rule 1 (line 7) level RequestResponse: no match" in out
    assert "a rule with resources applies to resource requests only" in out
    assert "rule 2 (line 12) level Metadata: MATCH" in out
    assert '[+] nonResourceURLs: path "/healthz/etcd" matches "/healthz*"' in out
    assert "verdict: rule 2, level Metadata, omitStages [RequestReceived]" in out
    assert "would be written at level Metadata" in out


def test_explain_of_a_broken_line_names_it(capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path) -> None:
    assert main(["explain", "--policy", str(policy), str(log), "--line", "4"]) == 1
    assert f"{log}:4: truncated JSON" in capsysbinary.readouterr().err.decode()
    assert main(["explain", "--policy", str(policy), str(log), "--line", "99"]) == 1
    assert "there is no line 99" in capsysbinary.readouterr().err.decode()


def test_explain_shows_hostile_strings_escaped(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, tmp_path: Path
) -> None:
    path = tmp_path / "hostile.log"
    path.write_bytes(event_line(user={"username": "\x1b]52;c;aGk=\x07[b]x[/b]\u202e"}) + b"\n")
    main(["explain", "--policy", str(policy), str(path), "--line", "1"])
    out = capsysbinary.readouterr().out.decode()
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]52;c;aGk=\\x07[b]x[/b]\\u202e" in out
