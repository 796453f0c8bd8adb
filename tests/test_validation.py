"""ValidatePolicy (V1-V7): every upstream and derived validation case, upstream texts, lines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule, Problem
from k8saudit_tui.engine.policy.goquote import go_quote
from k8saudit_tui.engine.policy.loader import load_policy_text, policy_from_data
from k8saudit_tui.engine.policy.validation import validate_policy
from tests.conftest import DATA

CASES: dict[str, Any] = json.loads((DATA / "conformance" / "upstream_cases.json").read_text())
VALIDATION_CASES = CASES["validation"] + CASES["derivedValidation"]

_TYPES = {"Required value": "Required", "Invalid value": "Invalid", "Unsupported value": "NotSupported"}


def error_type(problem: Problem) -> str:
    """Upstream's field.ErrorType name for one of our messages."""
    for prefix, name in _TYPES.items():
        if problem.message.startswith(prefix):
            return name
    raise AssertionError(f"not an upstream-style message: {problem.message}")


def test_case_counts() -> None:
    """Guards against a truncated copy (spec section 9: 22 + 13 cases)."""
    assert len(CASES["validation"]) == 22
    assert len(CASES["derivedValidation"]) == 13


@pytest.mark.parametrize("case", VALIDATION_CASES, ids=[c["name"] for c in VALIDATION_CASES])
def test_upstream_validation_case(case: dict[str, Any]) -> None:
    """V1-V6 verdicts, field paths, error types and details; L5 for `loadable`."""
    load = policy_from_data(case["policy"], "case.json")
    assert load.decoded is not None
    problems = validate_policy(load.decoded)
    assert (not problems) == case["valid"]
    assert [(p.field, error_type(p)) for p in problems] == [(e["field"], e["type"]) for e in case["errors"]]
    for problem, expected in zip(problems, case["errors"], strict=True):
        if "detail" in expected:
            assert expected["detail"] in problem.message
    assert load.apiserver_accepts == case["loadable"]
    assert (load.policy is not None) == case["loadable"]


def test_messages_match_upstream_field_error_texts() -> None:
    """`field.Error` bodies: Required value / Unsupported value / Invalid value: %q: detail."""
    policy = Policy(
        rules=(
            PolicyRule(level=""),
            PolicyRule(level="metadata", non_resource_urls=("logs",), namespaces=("a",)),
            PolicyRule(level="None", resources=(GroupResources("Apps", (), ("x", "y")),)),
        ),
        omit_stages=("foo",),
    )
    assert [str(p) for p in validate_policy(policy)] == [
        '<policy>: omitStages[0]: Invalid value: "foo": allowed stages are '
        "RequestReceived,ResponseStarted,ResponseComplete,Panic",
        "<policy>: rules[0].level: Required value",
        '<policy>: rules[1].level: Unsupported value: "metadata": supported values: "None", '
        '"Metadata", "Request", "RequestResponse"',
        '<policy>: rules[1].nonResourceURLs[0]: Invalid value: "logs": non-resource URL rules '
        "must begin with a '/' character",
        '<policy>: rules[1].nonResourceURLs: Invalid value: []string{"logs"}: rules cannot apply '
        "to both regular resources and non-resource URLs",
        '<policy>: rules[2].resources.group: Invalid value: "Apps": a lowercase RFC 1123 subdomain'
        " must consist of lower case alphanumeric characters, '-' or '.', and must start and end"
        " with an alphanumeric character (e.g. 'example.com', regex used for validation is"
        r" '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        '<policy>: rules[2].resources.resourceNames: Invalid value: []string{"x", "y"}: using '
        "resourceNames requires at least one resource",
    ]


@pytest.mark.parametrize(
    ("group", "valid"),
    [
        ("", True),
        ("*", True),
        ("apps", True),
        ("rbac.authorization.k8s.io", True),
        ("a" * 253, True),
        ("a" * 254, False),
        ("-apps", False),
        ("apps-", False),
        ("apps.", False),
        ("ap_ps", False),
        ("*.k8s.io", False),
        ("apps/v1", False),
        ("äpps", False),
        ("1.2.3", True),
    ],
)
def test_group_is_a_dns1123_subdomain_or_star(group: str, valid: bool) -> None:
    """V4: lowercase DNS-1123 subdomain, <= 253 characters; "*" since 1.36.0."""
    policy = Policy(rules=(PolicyRule("None", resources=(GroupResources(group),)),))
    assert (validate_policy(policy) == []) == valid


def test_overlong_group_reports_the_length_too() -> None:
    """V4: IsDNS1123Subdomain joins its messages with ','."""
    policy = Policy(rules=(PolicyRule("None", resources=(GroupResources("A" * 254),)),))
    (problem,) = validate_policy(policy)
    assert "must be no more than 253 characters,a lowercase RFC 1123" in problem.message


def test_every_problem_of_every_rule_is_reported_with_its_line() -> None:
    """L4: all field errors together, each with the file line of its field."""
    text = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - RequestReceived
  - Requestreceived
rules:
  - level: Metadata
    nonResourceURLs:
      - /ok
      - "**"
  - level: Bogus
    resources:
      - group: apps
      - group: Apps
        resourceNames: [leader]
    omitStages: [Panic, panic]
  - users: [alice]
"""
    load = load_policy_text(text, "p.yaml")
    assert not load.apiserver_accepts and load.policy is None
    assert load.decoded is not None
    assert [str(p).split(": Invalid value")[0].split(": Unsupported")[0] for p in load.errors] == [
        "p.yaml:5: omitStages[1]",
        "p.yaml:10: rules[0].nonResourceURLs[1]",
        "p.yaml:10: rules[0].nonResourceURLs[1]",
        "p.yaml:11: rules[1].level",
        "p.yaml:14: rules[1].resources.group",
        "p.yaml:15: rules[1].resources.resourceNames",
        "p.yaml:16: rules[1].omitStages[1]",
        "p.yaml:17: rules[2].level: Required value",
    ]


def test_policy_level_lines_are_recovered_without_the_loader() -> None:
    """validate_policy(policy) alone still finds the line of a policy-level omitStages entry."""
    load = load_policy_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages:\n- Nope\nrules:\n- level: None\n")
    assert load.decoded is not None
    (problem,) = validate_policy(load.decoded)
    assert (problem.line, problem.field) == (4, "omitStages[0]")


def test_v7_free_form_fields_are_not_validated() -> None:
    """V7: users, userGroups, verbs, namespaces, resourceNames and resources strings pass."""
    rule = PolicyRule(
        "Metadata",
        users=("",),
        user_groups=("*",),
        verbs=("GET", "*"),
        namespaces=("", "*"),
        resources=(GroupResources("", ("*/*", "Pods", ""), ("",)),),
    )
    assert validate_policy(Policy(rules=(rule, rule))) == []


def test_bad_values_are_quoted_so_control_characters_stay_inert() -> None:
    """Untrusted strings appear Go-quoted (%q): no raw escape sequence reaches a terminal."""
    policy = Policy(rules=(PolicyRule("\x1b[2J\u202e"),))
    (problem,) = validate_policy(policy)
    assert "\x1b" not in str(problem) and "\u202e" not in str(problem)
    assert '"\\x1b[2J\\u202e"' in problem.message
    assert go_quote('a"b\\c\n') == r'"a\"b\\c\n"'
