"""The `top` command end to end: the aligned table, the json document and the exit statuses."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from k8saudit_tui.cli import main
from tests.auditlog_helpers import event, line, write_lines

POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
  resources: [{group: "", resources: [secrets]}]
- level: Metadata
"""


@pytest.fixture
def log(tmp_path: Path) -> Path:
    lines = [
        line(event(1, stage="RequestReceived", verb="create", user="alice", audit_id="r1", code=0)),
        line(event(1, verb="create", user="alice", audit_id="r1", code=201)),
        line(event(2, verb="get", user="bob", audit_id="r2")),
        line(event(3, verb="get", user="\x1b[31mevil", audit_id="r3", resource="secrets", namespace="")),
    ]
    return write_lines(tmp_path / "audit.log", lines)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["top", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_text_is_an_aligned_table_with_safe_strings(capsys: pytest.CaptureFixture[str], log: Path) -> None:
    status, out, _ = run(capsys, "--by", "user", str(log))
    assert status == 0
    assert out.splitlines() == [
        "user          events  share  requests",
        "alice              2  50.0%         1",
        "\\x1b[31mevil       1  25.0%         1",
        "bob                1  25.0%         1",
        "total: 4 events, 3 requests",
    ]


def test_limit_says_how_many_more(capsys: pytest.CaptureFixture[str], log: Path) -> None:
    status, out, _ = run(capsys, "--by", "verb", "--limit", "1", str(log))
    assert status == 0
    assert out.splitlines()[1:] == ["create       2  50.0%         1", "+1 more", "total: 4 events, 3 requests"]


def test_json_is_one_document_with_filter_terms(capsys: pytest.CaptureFixture[str], log: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    status, out, _ = run(
        capsys, "--by", "ns", "--filter", "!verb:create", "--policy", str(policy), "--format", "json", str(log)
    )
    assert status == 0
    assert orjson.loads(out) == {
        "field": "ns",
        "events": 2,
        "requests": 2,
        "values": [
            {"value": "", "events": 1, "requests": 1, "share": 0.5, "filter": 'ns:""'},
            {"value": "default", "events": 1, "requests": 1, "share": 0.5, "filter": "ns:default"},
        ],
        "more": 0,
    }
    status, out, _ = run(capsys, "--by", "level", "--policy", str(policy), "--format", "json", str(log))
    assert status == 0
    levels = {value["value"]: value["events"] for value in orjson.loads(out)["values"]}
    assert levels == {"Metadata": 3, "RequestResponse": 1}


@pytest.mark.parametrize(
    "args",
    [
        ("--by", "rule"),  # rule needs --policy
        ("--by", "level"),
        ("--by", "user", "--filter", "verb:"),  # bad filter
        ("--by", "user", "--policy", "/nonexistent/policy.yaml"),
    ],
)
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], log: Path, args: tuple[str, ...]) -> None:
    status, out, err = run(capsys, *args, str(log))
    assert status == 2 and out == "" and err


@pytest.mark.parametrize(
    "args", [("--by", "nope"), ("--by", "user", "--limit", "0"), ("--by", "user", "--format", "x")]
)
def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str], log: Path, args: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["top", *args, str(log)])
    assert exit_info.value.code == 2


def test_an_unreadable_log_exits_1_after_counting_the_others(capsys: pytest.CaptureFixture[str], log: Path) -> None:
    status, out, err = run(capsys, "--by", "verb", "/nonexistent/audit.log", str(log))
    assert status == 1
    assert "cannot read" in err and "total: 4 events, 3 requests" in out


def test_a_bad_line_is_skipped_not_a_failure(capsys: pytest.CaptureFixture[str], log: Path) -> None:
    log.write_bytes(log.read_bytes() + b"oops\n")
    status, out, err = run(capsys, "--by", "verb", str(log))
    assert status == 0 and "skipped" in err and "total: 4 events" in out


def test_top_of_event_lines_leaves_the_cache_alone(
    capsys: pytest.CaptureFixture[str], log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log of Event lines is streamed: no index to reopen, so the cache directory is not made."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    status, _, _ = run(capsys, "--by", "user", str(log))
    assert status == 0
    assert not (tmp_path / "cache").exists()
