"""The command line says what went wrong and never opens the explorer by mistake (issue 12).

Each case runs `python -m k8saudit_tui` as a user would: stdin from /dev/null, stdout a pipe. Before
these checks a typo, a forgotten --policy or a missing file opened the explorer on nothing, and
without a terminal it wrote escape codes to the pipe or spun in Textual's input thread.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import k8saudit_tui
from k8saudit_tui import cli
from k8saudit_tui.commands import common

from .conftest import DATA

ROOT = Path(__file__).resolve().parent.parent
POLICY = DATA / "policies" / "aks-engine-audit-policy.yaml"
LOG = DATA / "logs" / "audit2rbac-demo.jsonl"
ESC = b"\x1b"
TIMEOUT = 60
"""Far above a refusal's cost (well under a second): a run that opened the TUI would hit it."""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), TERM="xterm-256color")


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """The command with stdin from /dev/null and stdout, stderr captured."""
    return subprocess.run(
        [sys.executable, "-m", "k8saudit_tui", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=cwd,
        env=_env(),
        timeout=TIMEOUT,
    )


def refused(result: subprocess.CompletedProcess[bytes], status: int, message: str) -> None:
    """Exited with `status`, the one line `k8saudit-tui: message` on stderr, nothing on stdout."""
    assert (result.returncode, result.stderr.decode()) == (status, f"k8saudit-tui: {message}\n")
    assert result.stdout == b""


# ------------------------------------------------------------------------------ mistyped commands


def test_a_mistyped_command_names_the_closest_command(tmp_path: Path) -> None:
    shutil.copy(POLICY, tmp_path / "policy.yaml")
    result = run_cli("valdiate", "policy.yaml", cwd=tmp_path)
    refused(result, 2, "'valdiate' is not a command; did you mean 'validate'?")


def test_a_word_like_no_command_is_refused_without_spinning(tmp_path: Path) -> None:
    """`k8saudit-tui frobnicate </dev/null` spun at 100% CPU for minutes in Textual's input thread."""
    result = run_cli("frobnicate", cwd=tmp_path)
    refused(
        result,
        2,
        "'frobnicate' is neither a command (validate, evaluate, explain, export, top, apply, report, presets, fleet)"
        " nor a file",
    )


def test_a_file_named_like_a_word_is_still_a_log(tmp_path: Path) -> None:
    shutil.copy(LOG, tmp_path / "valdiate")
    result = run_cli("valdiate", cwd=tmp_path)
    assert b"not a command" not in result.stderr
    assert b"needs a terminal" in result.stderr  # it got as far as opening the log in the explorer
    assert result.stdout == b""


def test_not_a_command_leaves_paths_and_options_alone(tmp_path: Path) -> None:
    assert cli.not_a_command("valdiate") == "'valdiate' is not a command; did you mean 'validate'?"
    assert cli.not_a_command("exprot") == "'exprot' is not a command; did you mean 'export'?"
    for argument in ("audit.log", "logs/", "-", "--policy", str(tmp_path / "missing"), str(tmp_path)):
        assert cli.not_a_command(argument) is None


# ------------------------------------------------------------------------------ a policy as a log


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_a_policy_given_as_a_log_says_use_policy(tmp_path: Path, suffix: str) -> None:
    policy = yaml.safe_load(POLICY.read_text())
    text = yaml.safe_dump(policy) if suffix == "yaml" else json.dumps(policy, indent=2)
    (tmp_path / f"policy.{suffix}").write_text(text)
    shutil.copy(LOG, tmp_path / "audit.log")
    result = run_cli(f"policy.{suffix}", "audit.log", cwd=tmp_path)
    refused(result, 2, f"policy.{suffix} is an audit Policy, not a log: use --policy policy.{suffix}")


def _is_policy_document(document: object) -> bool:
    """The plain reading: a top-level mapping with kind Policy and an audit.k8s.io apiVersion."""
    return (
        isinstance(document, dict)
        and document.get("kind") == "Policy"
        and str(document.get("apiVersion", "")).startswith("audit.k8s.io/")
    )


def test_the_policy_sniff_agrees_with_parsing_on_every_corpus_file() -> None:
    policies = sorted((DATA / "policies").glob("*.yaml"))
    logs = sorted((DATA / "logs").glob("*"))
    assert len(policies) > 20 and len(logs) > 5
    for path in policies:
        head = path.read_bytes()[: common.SNIFF_BYTES]
        assert common.looks_like_policy(head) == _is_policy_document(yaml.safe_load(path.read_text())), path
    for path in logs:
        assert not common.looks_like_policy(path.read_bytes()[: common.SNIFF_BYTES]), path


_top_level = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["Policy", "Event", "EventList", "policy", "ConfigMap", ""]),
        "apiVersion": st.sampled_from(["audit.k8s.io/v1", "audit.k8s.io/v1beta1", "v1", "audit.k8s.io", "x/v1"]),
        "rules": st.lists(st.fixed_dictionaries({"level": st.sampled_from(["None", "Metadata"])}), max_size=3),
        "omitStages": st.lists(st.sampled_from(["RequestReceived", "Panic"]), max_size=2),
    },
)


@given(_top_level, st.sampled_from(["yaml", "json", "json-indented", "yaml-crlf", "yaml-bom", "yaml-indented"]))
def test_the_policy_sniff_agrees_with_parsing(document: dict[str, object], form: str) -> None:
    """The fast look at the first bytes against loading the document, over top-level keys."""
    if form.startswith("yaml"):
        text = yaml.safe_dump(document, sort_keys=bool(len(document) % 2))
        text = text.replace("\n", "\r\n") if form == "yaml-crlf" else text
        text = "\ufeff" + text if form == "yaml-bom" else text
        text = "".join("  " + line for line in text.splitlines(True)) if form == "yaml-indented" else text
    else:
        text = json.dumps(document, indent=2 if form == "json-indented" else None)
    assert common.looks_like_policy(text.encode()) == _is_policy_document(document)


# ------------------------------------------------------------------------------ missing inputs


def test_a_missing_log_is_named() -> None:
    refused(run_cli("/nope.log"), 1, "/nope.log: no such file or directory")
    refused(run_cli("--policy", POLICY, "/etc/passwd/x.log"), 1, "/etc/passwd/x.log: not a directory")


def test_a_missing_policy_is_named() -> None:
    refused(run_cli("--policy", "/nope.yaml", LOG), 2, "/nope.yaml: no such file or directory")


# ------------------------------------------------------------------------------ no terminal


def test_without_a_terminal_the_explorer_refuses() -> None:
    """No arguments opens the demo: with stdout a pipe it must not write escape codes there."""
    for args in ([], [LOG], ["--policy", POLICY, LOG]):
        result = run_cli(*args)
        assert result.returncode == 2
        assert b"needs a terminal" in result.stderr
        assert result.stdout == b""


def _pty_run(args: list[str], stdin: bytes | None, controlling: bool) -> tuple[int, bytes]:
    """Run with stdout and stderr on a new pseudo-terminal (80x24), stdin a pipe carrying `stdin`
    (or /dev/null). `controlling` makes the pty the session's terminal (/dev/tty opens); else the
    process has none. Sends `q` once the screen has been drawn and gone quiet."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def become_session_leader() -> None:
        os.setsid()
        if controlling:
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "k8saudit_tui", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=_env(),
        preexec_fn=become_session_leader,
        pass_fds=(slave,),
    )
    os.close(slave)
    screen = b""
    try:
        if process.stdin is not None:
            process.stdin.write(stdin or b"")
            process.stdin.close()
        deadline = time.monotonic() + TIMEOUT
        quiet_since = time.monotonic()
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(master, 1 << 16)
                except OSError:  # the child closed the terminal
                    break
                quiet_since = time.monotonic()
            elif screen and time.monotonic() - quiet_since > 1.5:
                os.write(master, b"q")
                quiet_since = time.monotonic()
        status = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return status, screen


def test_a_piped_log_is_explored_when_a_terminal_exists() -> None:
    """`kubectl logs ... | k8saudit-tui -`: the log comes on stdin, keys from /dev/tty."""
    status, screen = _pty_run(["--policy", str(POLICY), "-"], LOG.read_bytes(), controlling=True)
    assert status == 0
    assert b"\x1b[?1049h" in screen  # the explorer took the screen
    assert b"system:admin" in screen  # and shows the piped events


def test_a_piped_log_without_a_terminal_to_read_keys_is_refused() -> None:
    status, screen = _pty_run(["--policy", str(POLICY), "-"], LOG.read_bytes(), controlling=False)
    assert status == 2
    assert screen.replace(b"\r\n", b"\n") == (
        b"k8saudit-tui: the log comes on stdin and there is no terminal (/dev/tty) to read keys from\n"
    )


def test_stdin_not_a_terminal_and_no_tty_to_read_keys_is_refused() -> None:
    status, screen = _pty_run([str(LOG)], None, controlling=False)
    assert status == 2
    assert b"stdin is not one and /dev/tty cannot be opened" in screen
    assert ESC not in screen


# ------------------------------------------------------------------------------ --version


def test_version_is_printed() -> None:
    result = run_cli("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"k8saudit-tui 0.1.0\n", b"")


def test_version_falls_back_to_the_package_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    monkeypatch.setattr(k8saudit_tui, "__version__", "9.8.7")
    assert cli.version() == "9.8.7"


# ------------------------------------------------------------------------------ export


def test_export_of_a_missing_log_writes_nothing(tmp_path: Path) -> None:
    result = run_cli("export", "/nope", "-o", "y.jsonl", cwd=tmp_path)
    refused(result, 1, "/nope: no such file or directory")
    assert not (tmp_path / "y.jsonl").exists()


def test_export_of_one_missing_log_among_good_ones_writes_nothing(tmp_path: Path) -> None:
    result = run_cli("export", LOG, "/nope", "-o", "y.jsonl", cwd=tmp_path)
    refused(result, 1, "/nope: no such file or directory")
    assert not (tmp_path / "y.jsonl").exists()


def test_export_of_a_policy_given_as_a_log_says_use_policy(tmp_path: Path) -> None:
    shutil.copy(POLICY, tmp_path / "policy.yaml")
    result = run_cli("export", LOG, "policy.yaml", "-o", "y.jsonl", cwd=tmp_path)
    refused(result, 2, "policy.yaml is an audit Policy, not a log: use --policy policy.yaml")
    assert not (tmp_path / "y.jsonl").exists()


@pytest.mark.parametrize(
    ("text", "names"), [("level:None", "level:"), ("verb:get !rule:3 level:Metadata", "rule: and level:")]
)
def test_export_filter_on_a_policy_field_needs_a_policy(tmp_path: Path, text: str, names: str) -> None:
    result = run_cli("export", LOG, "--filter", text, "-o", "y.jsonl", cwd=tmp_path)
    message = f"--filter: a filter on {names} needs --policy (an event's level and rule come from evaluating one)"
    refused(result, 2, message)
    assert not (tmp_path / "y.jsonl").exists()


def test_export_filter_on_a_policy_field_with_a_policy_exports(tmp_path: Path) -> None:
    result = run_cli("export", LOG, "--policy", POLICY, "--filter", "level:None", "-o", "y.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    exported = (tmp_path / "y.jsonl").read_bytes().splitlines()
    assert len(exported) == 23  # what the policy drops of the 37
    assert set(exported) <= set(LOG.read_bytes().splitlines())


def test_a_policy_nested_in_another_document_is_not_sniffed_as_one() -> None:
    """Only top-level keys count: a ConfigMap carrying a policy is not a policy file."""
    nested = yaml.safe_dump({"kind": "ConfigMap", "data": {"policy": yaml.safe_load(POLICY.read_text())}})
    assert "\n    kind: Policy" in nested
    assert not common.looks_like_policy(nested.encode())


def test_export_into_a_directory_that_takes_no_files_says_so() -> None:
    """/proc exists but refuses new files with ENOENT: not "directory does not exist"."""
    result = run_cli("export", LOG, "-o", "/proc/x.jsonl")
    assert result.returncode == 1
    assert b"cannot create files in this directory" in result.stderr
    assert b"does not exist" not in result.stderr
