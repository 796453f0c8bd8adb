"""The headless `evaluate` and `explain` commands: the output contract scripts rely on."""

from __future__ import annotations

import gzip
import io
import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from k8saudit_tui.cli import main
from k8saudit_tui.engine.logs import split, worker

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
    """Ranges cut by the store's splitter and evaluated in the worker pool: same bytes, same line
    numbers (blank lines and a broken line inside ranges, a range boundary on every 64 KiB)."""
    lines = [event_line(auditID=f"id-{n}", verb=("get", "list", "watch")[n % 3]) for n in range(3000)]
    lines[1234] = b"not json"
    lines[2000] = b""
    path = tmp_path / "big.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    main(["evaluate", "--policy", str(policy), str(path)])
    sequential = capfdbinary.readouterr().out
    monkeypatch.setattr(split, "TASK_BYTES", 64 << 10)
    main(["evaluate", "--policy", str(policy), str(path)])
    in_ranges = capfdbinary.readouterr().out
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)
    monkeypatch.setattr(worker, "default_workers", lambda: 3)
    main(["evaluate", "--policy", str(policy), str(path)])
    parallel = capfdbinary.readouterr().out
    assert parallel == in_ranges == sequential
    assert len(parallel.splitlines()) == 2999
    assert json.loads(parallel.splitlines()[-1])["line"] == 3000


def test_a_gzip_file_named_like_a_rotated_log_evaluates_like_the_plain_file(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path, tmp_path: Path
) -> None:
    """logrotate's `audit.log.1` may be gzip without a .gz suffix: gzip is known by its magic
    number, as the store and `export` know it (it printed "invalid JSON" for every line)."""
    _, plain, _ = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(log))
    rotated = tmp_path / "audit.log.1"
    rotated.write_bytes(gzip.compress(log.read_bytes()))
    status, zipped, err = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(rotated))
    assert status == 0 and err == ""
    assert zipped == [json.loads(json.dumps(row).replace(str(log), str(rotated))) for row in plain]
    assert {row["file"] for row in zipped} == {str(rotated)}


def test_a_damaged_gzip_evaluates_what_it_holds_and_exits_1(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "audit.log.2.gz"
    lines = b"".join(event_line(auditID=f"id-{n * 7919 % 100003}") + b"\n" for n in range(40000))
    damaged.write_bytes(gzip.compress(lines)[:-30])
    status, rows, err = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(damaged))
    assert status == 1
    assert "gzip data is damaged" in err and str(damaged) in err
    assert 0 < len(rows) < 40000 and [row["line"] for row in rows] == list(range(1, len(rows) + 1))


def test_a_directory_is_evaluated_log_by_log(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "audit"
    directory.mkdir()
    (directory / "audit.log").write_bytes(log.read_bytes())
    (directory / "audit.log.1").write_bytes(gzip.compress(event_line(auditID="rotated") + b"\n"))
    (directory / "notes.txt").write_text("not a log")
    status, rows, _ = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(directory))
    assert status == 0
    files = [row["file"] for row in rows]
    assert files == [str(directory / "audit.log")] * 6 + [str(directory / "audit.log.1")]
    assert rows[-1]["auditID"] == "rotated" and rows[-1]["line"] == 1


def test_an_empty_directory_is_a_message_and_exit_1(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, tmp_path: Path
) -> None:
    status, rows, err = run_cli(capsysbinary, "evaluate", "--policy", str(policy), str(tmp_path))
    assert status == 1 and rows == []
    assert "no audit logs in this directory" in err


def test_explain_reads_a_directory_gzip_and_stdin(
    capsysbinary: pytest.CaptureFixture[bytes],
    policy: Path,
    log: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["explain", "--policy", str(policy), str(log), "--line", "6"]) == 0
    expected = capsysbinary.readouterr().out
    assert b"rule 2 (line 12) level Metadata: MATCH" in expected
    directory = tmp_path / "one"
    directory.mkdir()
    (directory / "audit.log.1").write_bytes(gzip.compress(log.read_bytes()))
    assert main(["explain", "--policy", str(policy), str(directory), "--line", "6"]) == 0
    assert capsysbinary.readouterr().out == expected
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(log.read_bytes())))
    assert main(["explain", "--policy", str(policy), "-", "--line", "6"]) == 0
    assert capsysbinary.readouterr().out == expected


def test_explain_asks_which_log_of_a_directory(
    capsysbinary: pytest.CaptureFixture[bytes], policy: Path, log: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "two"
    directory.mkdir()
    (directory / "audit.log").write_bytes(log.read_bytes())
    (directory / "audit.log.1").write_bytes(log.read_bytes())
    assert main(["explain", "--policy", str(policy), str(directory), "--line", "6"]) == 1
    captured = capsysbinary.readouterr()
    assert captured.out == b""
    assert b"holds 2 logs" in captured.err and b"audit.log.1" in captured.err


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
    assert f"{tmp_path / 'nope.log'}: no such file or directory" in err and "Traceback" not in err


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


def test_stdin_is_evaluated_as_it_comes(tmp_path: Path) -> None:
    """`kubectl logs -f ... | k8saudit-tui evaluate --policy P -`: each event's verdict is written
    while the pipe is still open, not when it ends (a spooled stdin printed nothing until EOF)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    line = Path(__file__).parent.joinpath("data/logs/audit2rbac-demo.jsonl").read_bytes().splitlines()[0]
    process = subprocess.Popen(
        [sys.executable, "-m", "k8saudit_tui", "evaluate", "--policy", str(policy), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(line + b"\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no verdict while stdin is open: stdin was read to its end first"
        first = orjson.loads(process.stdout.readline())
        assert first["file"] == "-"
        assert first["line"] == 1
        assert first["auditID"] == orjson.loads(line)["auditID"]
    finally:
        process.stdin.close()
        process.wait(timeout=30)
    assert process.returncode == 0
