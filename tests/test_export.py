"""Export: byte-exact JSON lines, CSV, JSON array, 0600, no overwrite, atomic, symlinks, redaction;
and the `export` command end to end."""

from __future__ import annotations

import csv
import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from k8saudit_tui.engine import export as export_module
from k8saudit_tui.engine.export import CSV_COLUMNS, export_rows, redact_event
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.private_file import ExportError
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, simple_policy, write_lines

ROOT = Path(__file__).parent.parent


def make_store(tmp_path: Path, policy: bool = True) -> tuple[EventStore, list[bytes]]:
    lines = [
        line(event(0, user="alice", verb="get")),
        b"host-1 " + line(event(1, user="=cmd|calc", verb="list", resource="pods", subresource="log")),
        line(
            event(
                2,
                user="bob",
                verb="create",
                resource="secrets",
                namespace="kube-system",
                code=201,
                impersonatedUser={"username": "system:serviceaccount:ci:deployer"},
                annotations={"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC"},
                requestReceivedTimestamp="2026-11-20T10:00:01.500000Z",
            )
        ),
        b"{broken",
        line(event(3, user="carol", verb="update", resource="leases", group="coordination.k8s.io")) + b"\r",
    ]
    log = write_lines(tmp_path / "audit.log", lines)
    evaluator = PolicyEvaluator(simple_policy()) if policy else None
    return StoreLoader(expand_sources([str(log)]), evaluator, workers=1).load_all(), lines


def test_jsonl_is_byte_exact_in_view_order(tmp_path: Path) -> None:
    store, lines = make_store(tmp_path)
    out = tmp_path / "out.jsonl"
    result = export_rows(store, np.array([3, 0, 2]), "jsonl", out)
    assert out.read_bytes() == lines[4] + b"\n" + lines[0] + b"\n" + lines[2] + b"\n"
    assert (result.count, result.path, result.bytes) == (3, str(out), out.stat().st_size)


def test_jsonl_of_a_prefixed_line_is_its_json(tmp_path: Path) -> None:
    store, lines = make_store(tmp_path)
    out = tmp_path / "out.jsonl"
    export_rows(store, [1], "jsonl", out)
    assert out.read_bytes() == lines[1][len(b"host-1 ") :] + b"\n"


def test_csv_header_and_rows(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    out = tmp_path / "out.csv"
    export_rows(store, compile_filter("").apply(store), "csv", out)
    table = list(csv.reader(io.StringIO(out.read_text())))
    assert table[0] == [
        "time",
        "stage",
        "user",
        "verb",
        "apigroup",
        "resource",
        "subresource",
        "namespace",
        "name",
        "code",
        "recorded level",
        "rule",
        "level",
        # appended by issue 10: scripts that read the columns above by position keep working
        "auditID",
        "requestReceivedTimestamp",
        "stageTimestamp",
        "source IP",
        "user agent",
        "request URI",
        "impersonated user",
        "authorization decision",
    ]
    assert len(table[0]) == len(CSV_COLUMNS) and len(table) == 5
    assert table[1][:4] == ["2026-11-20T10:00:00.000000Z", "ResponseComplete", "alice", "get"]
    assert table[2][2] == "'=cmd|calc"  # not a spreadsheet formula
    assert table[2][5:7] == ["pods", "log"] and table[2][11:13] == ["2", "Request"]
    assert table[3][9] == "201" and table[3][12] == "RequestResponse"
    assert table[1][13:] == [
        "00000000-0000-0000-0000-000000000000",
        "2026-11-20T10:00:00.000000Z",
        "2026-11-20T10:00:00.000000Z",
        "10.0.0.1",
        "kubectl/v1.29",
        "/api/v1/namespaces/default/pods",
        "",
        "",
    ]
    assert table[3][13:] == [
        "00000000-0000-0000-0000-000000000002",
        "2026-11-20T10:00:01.500000Z",  # received: derived as stage time - latency
        "2026-11-20T10:00:02.000002Z",
        "10.0.0.1",
        "kubectl/v1.29",
        "/api/v1/namespaces/kube-system/secrets",
        "system:serviceaccount:ci:deployer",
        "allow",
    ]


def test_csv_without_policy_leaves_verdict_empty(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path, policy=False)
    out = tmp_path / "out.csv"
    export_rows(store, [0], "csv", out)
    assert list(csv.reader(io.StringIO(out.read_text())))[1][11:13] == ["", ""]


def test_json_array_of_original_events(tmp_path: Path) -> None:
    store, lines = make_store(tmp_path)
    out = tmp_path / "out.json"
    export_rows(store, [0, 3], "json", out)
    assert orjson.loads(out.read_bytes()) == [orjson.loads(lines[0]), orjson.loads(lines[4])]
    export_rows(store, [], "json", tmp_path / "empty.json")
    assert orjson.loads((tmp_path / "empty.json").read_bytes()) == []


def test_file_mode_is_0600(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    old = os.umask(0)
    try:
        export_rows(store, [0], "jsonl", tmp_path / "out.jsonl")
    finally:
        os.umask(old)
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o600


def test_existing_file_needs_force(tmp_path: Path) -> None:
    store, lines = make_store(tmp_path)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_rows(store, [0], "jsonl", out)
    assert out.read_bytes() == b"keep me"
    export_rows(store, [0], "jsonl", out, force=True)
    assert out.read_bytes() == lines[0] + b"\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_symlink_is_refused_even_with_force(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    for force in (False, True):
        with pytest.raises(ExportError, match="symbolic link"):
            export_rows(store, [0], "jsonl", link, force=force)
    assert victim.read_bytes() == b"precious"
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ExportError, match="symbolic link"):
        export_rows(store, [0], "jsonl", dangling)
    assert not (tmp_path / "nowhere").exists()


def test_failed_write_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = make_store(tmp_path)

    def broken(*args: object) -> object:
        yield b"partial"
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "_render", broken)
    out = tmp_path / "out.jsonl"
    with pytest.raises(ExportError, match="disk full"):
        export_rows(store, [0], "jsonl", out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["audit.log"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_permission_error_is_clear(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ExportError, match="permission denied"):
        export_rows(store, [0], "jsonl", locked / "out.jsonl")


def test_missing_directory_is_clear(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    with pytest.raises(ExportError, match="does not exist"):
        export_rows(store, [0], "jsonl", tmp_path / "no" / "out.jsonl")


def test_unknown_format(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    with pytest.raises(ExportError, match="unknown format"):
        export_rows(store, [0], "xml", tmp_path / "x")  # type: ignore[arg-type]


def test_stdout(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    store, lines = make_store(tmp_path)
    result = export_rows(store, [2], "jsonl", "-")
    assert capsysbinary.readouterr().out == lines[2] + b"\n" and result.path == "-"


def test_redaction_masks_secrets_tokens_and_authorization() -> None:
    secret = event(
        1,
        resource="secrets",
        verb="create",
        requestObject={
            "kind": "Secret",
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"k": "v"},
            "metadata": {"name": "db"},
        },
        responseObject={"kind": "Secret", "data": {"password": "aHVudGVyMg=="}},
    )
    patch = event(2, resource="secrets", verb="patch", requestObject={"data": {"token": "c2VjcmV0"}})
    listing = event(
        3, resource="secrets", verb="list", responseObject={"kind": "SecretList", "items": [{"data": {"a": "Yg=="}}]}
    )
    review = event(
        4,
        resource="tokenreviews",
        group="authentication.k8s.io",
        verb="create",
        requestObject={"kind": "TokenReview", "spec": {"token": "eyJhbGciOi"}},
        responseObject={"kind": "TokenReview", "spec": {"token": "eyJhbGciOi"}, "status": {}},
    )
    request = event(
        5,
        resource="serviceaccounts",
        subresource="token",
        verb="create",
        responseObject={"kind": "TokenRequest", "status": {"token": "eyJz", "expirationTimestamp": "x"}},
    )
    headers = event(6, requestObject={"spec": {"headers": {"Authorization": ["Bearer abc"], "Accept": ["*/*"]}}})
    for value in (secret, patch, listing, review, request, headers):
        assert redact_event(value)
    text = orjson.dumps([secret, patch, listing, review, request, headers]).decode()
    for leaked in ("aHVudGVyMg", '"v"', "c2VjcmV0", "Yg==", "eyJ", "Bearer"):
        assert leaked not in text
    assert secret["requestObject"]["metadata"] == {"name": "db"}
    assert headers["requestObject"]["spec"]["headers"]["Accept"] == ["*/*"]
    assert request["responseObject"]["status"]["expirationTimestamp"] == "x"
    assert not redact_event(event(7))


def test_redacted_export_keeps_clean_lines_byte_exact(tmp_path: Path) -> None:
    clean = line(event(0))
    secret = line(event(1, resource="secrets", requestObject={"kind": "Secret", "data": {"p": "cA=="}}))
    log = write_lines(tmp_path / "audit.log", [clean, secret])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    out = tmp_path / "out.jsonl"
    export_rows(store, [0, 1], "jsonl", out, redact=True)
    first, second = out.read_bytes().splitlines()
    assert (
        first == clean and b"cA==" not in second and orjson.loads(second)["requestObject"]["data"] == {"p": "REDACTED"}
    )


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "k8saudit_tui", "export", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )


def test_command_filters_merges_and_writes(tmp_path: Path) -> None:
    a = write_lines(tmp_path / "a.log", [line(event(n, verb="get" if n % 2 else "create")) for n in (0, 2, 4)])
    b = write_lines(tmp_path / "b.log", [line(event(n, verb="create")) for n in (1, 3)] + [b"oops"])
    out = tmp_path / "out.jsonl"
    done = run_cli(str(a), str(b), "--filter", "verb:create", "-o", str(out))
    assert done.returncode == 0, done.stderr
    exported = [orjson.loads(x)["auditID"][-1] for x in out.read_bytes().splitlines()]
    assert exported == ["0", "1", "2", "3", "4"]
    assert b"b.log:3" in done.stderr and b"exported 5 of 5" in done.stderr
    assert run_cli(str(a), "-o", str(out)).returncode == 1  # exists, no --force
    assert run_cli(str(a), "-o", str(out), "--force", "--format", "csv").returncode == 0
    assert out.read_text().startswith("time,stage,user")


def test_command_stdin_to_stdout_and_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verbs: [get]\n- level: Metadata\n"
    )
    data = b"\n".join(line(event(n, verb=("get", "list")[n % 2])) for n in range(4)) + b"\n"
    done = run_cli("-", "--policy", str(policy), "--filter", "level:None", "-o", "-", stdin=data)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"".join(x + b"\n" for x in data.splitlines()[0::2])


def test_command_bad_filter_and_bad_policy_exit_2(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "a.log", [line(event(0))])
    bad = run_cli(str(log), "--filter", "verb:get colour:red", "-o", "-")
    assert bad.returncode == 2 and b"unknown field" in bad.stderr and b"colour:red" in bad.stderr
    policy = tmp_path / "policy.yaml"
    policy.write_text("kind: Policy\nrules: []\n")
    assert run_cli(str(log), "--policy", str(policy), "-o", "-").returncode == 2


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_events_whose_followed_file_was_truncated_are_left_out_and_said(tmp_path: Path, fmt: str) -> None:
    from k8saudit_tui.engine.store import follow

    log = write_lines(tmp_path / "audit.log", [line(event(0)), line(event(1))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    write_lines(log, [line(event(7))])  # copytruncate: emptied in place, written again
    for _ in follow(store, None, interval=0.01):
        break
    assert len(store) == 3
    result = export_rows(store, np.array([0, 2, 1]), fmt, tmp_path / f"out.{fmt}")  # type: ignore[arg-type]
    text = (tmp_path / f"out.{fmt}").read_bytes()
    if fmt == "csv":  # from the columns: every event, nothing left out
        assert result.count == 3 and not result.left_out and text.count(b"\n") == 4
        return
    assert result.count == 1 and result.left_out == f"2 events whose file was truncated after they were read ({log})"
    assert text.count(event(7)["auditID"].encode()) == 1
    assert event(0)["auditID"].encode() not in text and event(1)["auditID"].encode() not in text
