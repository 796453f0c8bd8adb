"""Policy lint: a built-in resource under a group that does not serve it warns, and nothing else does.

The corpus test pins every warning the real policies in tests/data/policies give; each was checked
by hand against the Kubernetes API reference (deployments are served by apps only, tokenreviews
by authentication.k8s.io only), and every other corpus policy, the GCE helper's long list of
group/resource pairs included, gives none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from k8saudit_tui.cli import main
from k8saudit_tui.engine.policy.builtin_resources import BUILTIN_RESOURCES, groups_serving
from k8saudit_tui.engine.policy.lint import lint_policy, misplaced
from k8saudit_tui.engine.policy.loader import load_policy_file, load_policy_text
from tests.conftest import DATA

POLICIES = DATA / "policies"
CORE_DEPLOYMENTS = 'deployments is not in the core group (""); it is served by apps: this entry never matches it'
CORE_TOKENREVIEWS = (
    'tokenreviews is not in the core group (""); it is served by authentication.k8s.io: this entry never matches it'
)

CORPUS_WARNINGS = {
    "falco-k8saudit-plugin-audit-policy.yaml": [(13, "rules[0].resources[0].resources[1]", CORE_DEPLOYMENTS)],
    "kics-test-audit-policy-insecure.yaml": [
        (8, "rules[0].resources[0].resources[2]", CORE_TOKENREVIEWS),
        (12, "rules[1].resources[0].resources[1]", CORE_DEPLOYMENTS),
    ],
    "kics-test-audit-policy-secure.yaml": [
        (10, "rules[0].resources[0].resources[2]", CORE_TOKENREVIEWS),
        (14, "rules[1].resources[0].resources[1]", CORE_DEPLOYMENTS),
    ],
}


def _policy(resources: str) -> str:
    return f"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  resources:\n{resources}"


def _warnings(resources: str) -> list[str]:
    load = load_policy_text(_policy(resources), "p.yaml")
    assert load.decoded is not None and not load.problems
    return [str(problem) for problem in lint_policy(load.decoded)]


UNDECODABLE = {"INVALID-kubernetes-apiserver-reader-test-no-version-or-kind.yaml"}


def test_only_the_policy_without_apiversion_has_nothing_to_lint() -> None:
    undecodable = {path.name for path in POLICIES.glob("*.yaml") if load_policy_file(path).decoded is None}
    assert undecodable == UNDECODABLE


@pytest.mark.parametrize(
    "path", [p for p in sorted(POLICIES.glob("*.yaml")) if p.name not in UNDECODABLE], ids=lambda path: path.name
)
def test_corpus_policies_warn_exactly_where_checked_by_hand(path: Path) -> None:
    load = load_policy_file(path)
    assert load.decoded is not None
    found = [(p.line, p.field, p.message, p.severity, p.file) for p in lint_policy(load.decoded)]
    expected = [
        (line, field, message, "warning", str(path)) for line, field, message in CORPUS_WARNINGS.get(path.name, [])
    ]
    assert found == expected


def test_validate_prints_the_warning_and_still_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    path = POLICIES / "falco-k8saudit-plugin-audit-policy.yaml"
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"warning: {path}:13: rules[0].resources[0].resources[1]: {CORE_DEPLOYMENTS}"]
    assert captured.err.strip().endswith("kube-apiserver would load it (11 rules, 1 warning)")


def test_lint_warnings_stand_in_line_order_among_the_loader_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
        "- level: Metadata\n  resources:\n  - group: apps\n    resources:\n    - pods\n"
        "- level: metadata\n"
    )
    assert main(["validate", str(policy)]) == 1  # the refused level decides the status, not the lint
    assert capsys.readouterr().out.splitlines() == [
        f"warning: {policy}:8: rules[0].resources[0].resources[0]:"
        f' pods is not in the apps group; it is served by the core group (""): this entry never matches it',
        f'{policy}:9: rules[1].level: Unsupported value: "metadata":'
        f' supported values: "None", "Metadata", "Request", "RequestResponse"',
    ]


@pytest.mark.parametrize(
    ("group", "resource", "message"),
    [
        ("", "deployments", CORE_DEPLOYMENTS),
        (
            "",
            "deployments/scale",
            'deployments/scale is not in the core group (""); it is served by apps: this entry never matches it',
        ),
        (
            "apps",
            "pods/log",
            'pods/log is not in the apps group; it is served by the core group (""): this entry never matches it',
        ),
        (
            "apps",
            "pods/madeup",
            'pods/madeup is not in the apps group; it is served by the core group (""): this entry never matches it',
        ),
        (
            "batch",
            "events",
            'events is not in the batch group; it is served by the core group ("") and '
            "events.k8s.io: this entry never matches it",
        ),
        (
            "rbac.authorization.k8s.io",
            "leases",
            "leases is not in the rbac.authorization.k8s.io group; it is served by "
            "coordination.k8s.io: this entry never matches it",
        ),
        (
            "extensions",
            "ingresses",
            "the extensions group serves nothing since Kubernetes 1.22; ingresses is served "
            "by networking.k8s.io: this entry never matches ingresses on kube-apiserver >= 1.22",
        ),
        (
            "extensions",
            "deployments/scale",
            "the extensions group serves nothing since Kubernetes 1.22; deployments/scale is "
            "served by apps: this entry never matches deployments/scale on kube-apiserver >= 1.22",
        ),
        (
            "extensions",
            "podsecuritypolicies",
            "the extensions group serves nothing since Kubernetes 1.22:"
            " this entry never matches podsecuritypolicies on kube-apiserver >= 1.22",
        ),
        (
            "",
            "deployments/\x1b[2J",
            'deployments/\\x1b[2J is not in the core group (""); it is served by apps: this entry never matches it',
        ),
    ],
)
def test_a_misplaced_builtin_resource_names_its_group(group: str, resource: str, message: str) -> None:
    assert misplaced(group, resource) == message


@pytest.mark.parametrize(
    ("group", "resource"),
    [
        ("", "pods"),  # where it lives
        ("", "pods/log"),
        ("", "pods/newsubresource"),  # a subresource newer than the table, of a resource the group serves
        ("events.k8s.io", "events"),  # served by two groups
        ("", "events"),
        ("", "widgets"),  # unknown everywhere: maybe a CRD
        ("", "Deployments"),  # not a known name (case matters to kube-apiserver too): not sure, so silent
        ("example.com", "pods"),  # a CRD group: it may serve a resource called pods
        ("metrics.k8s.io", "pods"),  # an aggregated group the table does not know
        ("*", "deployments"),  # every group
        ("", "*"),
        ("", "*/scale"),  # a pattern matches what exists
        ("apps", "deployments/*"),
        ("extensions", "*"),
    ],
)
def test_whatever_may_match_never_warns(group: str, resource: str) -> None:
    assert misplaced(group, resource) is None


def test_a_whole_group_entry_never_warns_not_even_extensions() -> None:
    """`- group: extensions` beside the current groups is how policies stay valid for old servers."""
    assert _warnings("  - group: extensions\n  - group: apps\n  - group: ''\n") == []


def test_every_resource_of_the_table_is_silent_in_its_own_groups_and_warns_elsewhere() -> None:
    for group, names in BUILTIN_RESOURCES.items():
        for name in names:
            assert misplaced(group, name) is None, (group, name)
            assert group in groups_serving(name)
            for other in BUILTIN_RESOURCES:
                if other not in groups_serving(name):
                    warning = misplaced(other, name)
                    assert warning is not None and warning.endswith("this entry never matches it"), (other, name)


def test_the_table_holds_what_an_audit_policy_names_most() -> None:
    """Spot checks against the API reference, so a typo in the table cannot silence a warning."""
    assert groups_serving("deployments") == ("apps",)
    assert groups_serving("ingresses") == ("networking.k8s.io",)
    assert groups_serving("events") == ("", "events.k8s.io")
    assert groups_serving("pods/exec") == ("",)
    assert groups_serving("serviceaccounts/token") == ("",)
    assert groups_serving("tokenreviews") == ("authentication.k8s.io",)
    assert groups_serving("subjectaccessreviews") == ("authorization.k8s.io",)
    assert groups_serving("horizontalpodautoscalers") == ("autoscaling",)
    assert groups_serving("cronjobs") == ("batch",)
    assert groups_serving("leases") == ("coordination.k8s.io",)
    assert groups_serving("customresourcedefinitions") == ("apiextensions.k8s.io",)
    assert "extensions" not in BUILTIN_RESOURCES
    assert all(name == name.lower() and "*" not in name for names in BUILTIN_RESOURCES.values() for name in names)


def test_the_line_is_the_resource_items_own(tmp_path: Path) -> None:
    load = load_policy_text(_policy("  - group: ''\n    resources:\n    - pods\n    - deployments\n"), "p.yaml")
    assert load.decoded is not None
    assert [(p.line, p.field) for p in lint_policy(load.decoded)] == [(9, "rules[0].resources[0].resources[1]")]
