"""`k8saudit-tui validate POLICY`: one line per problem, exit 0 iff kube-apiserver would load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from k8saudit_tui.cli import main
from tests.conftest import DATA

POLICIES = DATA / "policies"
REPO = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_clean_policy_exits_0_and_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    path = POLICIES / "kubernetes-website-audit-policy.yaml"
    code, out, err = run(capsys, str(path))
    assert (code, out) == (0, [])
    assert err.strip() == f"{path}: kube-apiserver would load it (9 rules)"


def test_warnings_are_printed_but_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """L3: an unknown field is only a warning; the line names file, line, field and effect."""
    path = POLICIES / "datadog-docs-kubernetes-audit-logs.yaml"
    code, out, err = run(capsys, str(path))
    assert code == 0
    assert out == [
        f"warning: {path}:41: rules[3].resources[0].verbs: unknown field ignored by kube-apiserver"
        " (verbs is a field of the rule, not of a resources entry: check the indentation); "
        "rule 3 now applies to every verb"
    ]
    assert "would load it (5 rules, 1 warning)" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("INVALID-kubernetes-apiserver-reader-test-no-rules.yaml", ["{path}: loaded illegal policy with 0 rules"]),
        (
            "INVALID-kubernetes-apiserver-reader-test-no-version-or-kind.yaml",
            [
                "{path}:2: apiVersion: unknown group version field: the policy has no apiVersion "
                "(kube-apiserver needs apiVersion: audit.k8s.io/v1, kind: Policy)"
            ],
        ),
        (
            "audit2rbac-demo-policy-v1beta1.yaml",
            [
                "{path}:2: apiVersion: audit.k8s.io/v1beta1 was removed in Kubernetes 1.24: "
                "kube-apiserver >= 1.24 refuses this file (the schema is unchanged: write apiVersion: "
                "audit.k8s.io/v1); loaded anyway for analysis"
            ],
        ),
    ],
)
def test_refused_policies_exit_1(capsys: pytest.CaptureFixture[str], name: str, expected: list[str]) -> None:
    path = POLICIES / name
    code, out, err = run(capsys, str(path))
    assert code == 1
    assert out == [line.format(path=path) for line in expected]
    assert "would refuse it" in err


def test_every_validation_error_is_listed_in_file_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
        "- level: metadata\n  Verbs: [get]\n"
        "- level: None\n  nonResourceURLs: [healthz]\n  namespaces: [a]\n"
    )
    code, out, _ = run(capsys, str(policy))
    assert code == 1
    assert out == [
        f'{policy}:4: rules[0].level: Unsupported value: "metadata": supported values: "None", '
        '"Metadata", "Request", "RequestResponse"',
        f"warning: {policy}:5: rules[0].Verbs: unknown field ignored by kube-apiserver (field "
        "names are case-sensitive: did you mean verbs?); rule 0 now applies to every verb",
        f'{policy}:7: rules[1].nonResourceURLs[0]: Invalid value: "healthz": non-resource URL '
        "rules must begin with a '/' character",
        f'{policy}:7: rules[1].nonResourceURLs: Invalid value: []string{{"healthz"}}: rules '
        "cannot apply to both regular resources and non-resource URLs",
    ]


def test_no_policy_file_to_judge_exits_2_and_says_why(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A missing path is bad input (2, like every command), not a policy kube-apiserver refuses (1)."""
    missing = tmp_path / "missing.yaml"
    code, out, err = run(capsys, str(missing))
    assert (code, out) == (2, [])
    assert err == f"k8saudit-tui: {missing}: no such file or directory\n"
    code, out, err = run(capsys, str(tmp_path))
    assert (code, out, err) == (2, [], f"k8saudit-tui: {tmp_path}: is a directory, not a policy file\n")
    log = DATA / "logs" / "audit2rbac-demo.jsonl"
    code, out, err = run(capsys, str(log))
    assert (code, out, err) == (2, [], f"k8saudit-tui: {log} is an audit log, not a Policy\n")


def test_help_keeps_the_paragraphs_of_the_docstring(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Output (stdout), one line per problem, in file order:\n\n    FILE:LINE: FIELD: MESSAGE" in out
    assert "\n\nExit status: 0 when kube-apiserver" in out


def test_hostile_strings_do_not_reach_the_terminal_raw(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: "\\e[2J"\n  "\\e]0;x\\a": 1\n')
    code, out, _ = run(capsys, str(policy))
    assert code == 1 and len(out) == 2
    assert all("\x1b" not in line and "\x07" not in line for line in out)


def test_missing_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate"])
    assert exit_info.value.code == 2
    assert "POLICY" in capsys.readouterr().err.upper()


def test_runs_as_a_module_in_a_subprocess(tmp_path: Path) -> None:
    """`python -m k8saudit_tui validate` — the real entry point, stdout and exit status."""
    policy = tmp_path / "p.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: Request\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "k8saudit_tui", "validate", str(policy)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{policy}:1: apiVersion: audit.k8s.io/v1beta1 was removed in Kubernetes 1.24: "
        "kube-apiserver >= 1.24 refuses this file (the schema is unchanged: write apiVersion: "
        "audit.k8s.io/v1); loaded anyway for analysis"
    ]
    assert result.stderr.strip() == f"{policy}: kube-apiserver would refuse it (1 rule, 1 error)"
    ok = policy.with_name("ok.yaml")
    ok.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Request\n")
    result = subprocess.run(
        [sys.executable, "-m", "k8saudit_tui", "validate", str(ok)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "")
