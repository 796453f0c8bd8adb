"""Every headless command (and the explorer before Textual starts) words an unusable input alike.

The same problem gets the same line on stderr and the same exit status whichever command meets
it: `k8saudit-tui: PATH: no such file or directory`, `PATH is an audit Policy, not a log`, and
2 for a command line that names the wrong thing. Before, `evaluate` printed the OS's capitalised
words and evaluated a policy file as a log, line after failing line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from k8saudit_tui.cli import SUBCOMMANDS, main
from tests.conftest import DATA

POLICY = DATA / "policies" / "kubernetes-website-audit-policy.yaml"
LOG = DATA / "logs" / "audit2rbac-demo.jsonl"

POLICY_COMMANDS = {
    "validate": lambda policy: ["validate", policy],
    "evaluate": lambda policy: ["evaluate", "--policy", policy, str(LOG)],
    "export": lambda policy: ["export", "--policy", policy, str(LOG), "-o", "-"],
    "explain": lambda policy: ["explain", "--policy", policy, str(LOG), "--line", "1"],
    "explorer": lambda policy: ["--policy", policy, str(LOG)],
}


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", sorted(POLICY_COMMANDS))
def test_a_missing_policy_is_the_same_line_and_status_everywhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "nope.yaml"
    assert _run(capsys, POLICY_COMMANDS[command](str(missing))) == (
        2,
        "",
        f"k8saudit-tui: {missing}: no such file or directory\n",
    )


@pytest.mark.parametrize("command", sorted(POLICY_COMMANDS))
def test_a_log_given_as_the_policy_is_named_everywhere(capsys: pytest.CaptureFixture[str], command: str) -> None:
    assert _run(capsys, POLICY_COMMANDS[command](str(LOG))) == (
        2,
        "",
        f"k8saudit-tui: {LOG} is an audit log, not a Policy\n",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--policy", str(POLICY), str(LOG), str(POLICY)],
        ["export", str(LOG), str(POLICY), "-o", "-"],
        [str(LOG), str(POLICY)],
        ["explain", "--policy", str(POLICY), str(POLICY), "--line", "1"],
    ],
    ids=["evaluate", "export", "explorer", "explain"],
)
def test_a_policy_given_as_a_log_says_use_policy(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """Refused before any output: evaluate used to print one error line per line of the policy."""
    assert _run(capsys, argv) == (
        2,
        "",
        f"k8saudit-tui: {POLICY} is an audit Policy, not a log: use --policy {POLICY}\n",
    )


def test_evaluate_names_a_missing_log_in_lowercase_and_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.log"
    code, out, err = _run(capsys, ["evaluate", "--policy", str(POLICY), str(missing), str(LOG)])
    assert code == 1
    assert err == f"k8saudit-tui: {missing}: no such file or directory\n"
    assert len(out.splitlines()) == sum(1 for line in LOG.read_text().splitlines() if line.strip())


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_help_keeps_the_paragraphs_of_every_command(capsys: pytest.CaptureFixture[str], name: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    doc = __import__(SUBCOMMANDS[name], fromlist=["__doc__"]).__doc__
    assert doc is not None and "\n\n" in doc.strip()
    second_paragraph_start = doc.strip().split("\n\n")[1].splitlines()[0]
    assert f"\n\n{second_paragraph_start}\n" in out  # its own line, after a blank one: not run together


def test_explain_names_a_missing_log_in_lowercase(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.log"
    assert _run(capsys, ["explain", "--policy", str(POLICY), str(missing), "--line", "1"]) == (
        1,
        "",
        f"k8saudit-tui: {missing}: no such file or directory\n",
    )
