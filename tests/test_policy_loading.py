"""Loading policy files like kube-apiserver's LoadPolicyFromBytes (L1-L5) without ever raising."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.model import LEVELS, STAGES, GroupResources, Policy, PolicyRule
from k8saudit_tui.engine.policy import yaml_tree
from k8saudit_tui.engine.policy.loader import (
    MAX_POLICY_BYTES,
    PolicyLoad,
    load_policy_file,
    load_policy_text,
    policy_from_data,
    rule_span,
    rule_text,
)
from k8saudit_tui.engine.policy.yaml_tree import MAX_NODES
from tests.conftest import DATA

CASES: dict[str, Any] = json.loads((DATA / "conformance" / "upstream_cases.json").read_text())
POLICIES = DATA / "policies"
HEADER = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"


def bare(rule: PolicyRule) -> PolicyRule:
    """A rule without its source position, for comparing what was decoded."""
    resources = tuple(dataclasses.replace(gr, line=None) for gr in rule.resources)
    return dataclasses.replace(rule, line=None, end_line=None, resources=resources)


def bare_rules(policy: Policy) -> list[PolicyRule]:
    return [bare(rule) for rule in policy.rules]


def messages(load: PolicyLoad) -> list[str]:
    return [str(problem) for problem in load.problems]


# --- upstream reader_test.go cases -----------------------------------------------------------


@pytest.mark.parametrize("case", CASES["loading"], ids=[c["name"] for c in CASES["loading"]])
def test_upstream_loading_case(case: dict[str, Any]) -> None:
    """TestParser, TestParsePolicyWithNoVersionOrKind, ...UnknownField, TestPolicyCntCheck, v1beta1."""
    load = load_policy_text(case["yaml"], "policy.yaml")
    assert load.apiserver_accepts == case["loadable"]
    if "errorContains" in case:
        assert any(case["errorContains"] in p.message for p in load.errors), messages(load)
    if "policy" in case:
        expected = policy_from_data(case["policy"]).decoded
        assert expected is not None and load.policy is not None
        assert bare_rules(load.policy) == bare_rules(expected)
        assert load.policy.omit_stages == expected.omit_stages
    if "warning" in case:
        assert load.warnings and "verbs" in load.warnings[0].field
    if not case["loadable"]:
        assert load.errors


def test_v1beta1_is_refused_by_apiserver_but_usable() -> None:
    """L2: same schema; kube-apiserver >= 1.24 refuses it, we keep the policy for analysis."""
    load = load_policy_text("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: Metadata\n", "p.yaml")
    assert not load.apiserver_accepts
    assert load.policy is not None and load.policy.api_version == "audit.k8s.io/v1beta1"
    assert [p.field for p in load.errors] == ["apiVersion"]
    assert "1.24" in load.errors[0].message and load.errors[0].line == 1


def test_v1alpha1_too() -> None:
    load = load_policy_text("apiVersion: audit.k8s.io/v1alpha1\nkind: Policy\nrules:\n- level: None\n")
    assert load.policy is not None and not load.apiserver_accepts


def test_invalid_v1beta1_policy_is_not_usable() -> None:
    """A legacy version plus a validation error: nothing usable."""
    load = load_policy_text("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: All\n")
    assert load.policy is None and load.decoded is not None and len(load.errors) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apiVersion: v1\nkind: Policy\nrules: [{level: None}]\n", 'version "v1"'),
        ("apiVersion: audit.k8s.io/v2\nkind: Policy\nrules: [{level: None}]\n", "audit.k8s.io/v1"),
        ("apiVersion: audit.k8s.io/v1\nkind: Event\nrules: [{level: None}]\n", 'found "Event"'),
        ("kind: Policy\nrules: [{level: None}]\n", "unknown group version field"),
        ("apiVersion: 1\nkind: Policy\n", "expected a string, found a number (1)"),
    ],
)
def test_wrong_version_or_kind_is_fatal(text: str, expected: str) -> None:
    load = load_policy_text(text)
    assert load.policy is None and load.decoded is None
    assert any(expected in p.message for p in load.errors), messages(load)


def test_missing_kind_with_v1_loads_with_a_warning() -> None:
    """The decoder defaults an absent kind from the target type (gvkWithDefaults)."""
    load = load_policy_text("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n")
    assert load.apiserver_accepts
    assert [p.field for p in load.warnings] == ["kind"]


def test_json_policy_loads_with_lines() -> None:
    """L1: JSON is YAML, so lines are kept."""
    text = '{\n "apiVersion": "audit.k8s.io/v1",\n "kind": "Policy",\n "rules": [\n  {"level": "Metadata"}\n ]\n}\n'
    load = load_policy_text(text)
    assert load.apiserver_accepts and load.policy is not None
    assert load.policy.rules[0].line == 5


def test_tab_indented_json_loads_with_lines() -> None:
    """Tabs are JSON whitespace but not YAML indentation; lines are still found."""
    text = '{\n\t"apiVersion": "audit.k8s.io\\/v1",\n\t"kind": "Policy",\n\t"rules": [\n\t\t{"level": "None"}\n\t]\n}'
    load = load_policy_text(text)
    assert load.apiserver_accepts and load.policy is not None
    assert load.policy.api_version == "audit.k8s.io/v1" and load.policy.rules[0].line == 5


def test_json_scalars_are_typed_as_json() -> None:
    """`1e3` is a JSON number (a YAML 1.1 reader would call it a string): a type error."""
    load = load_policy_text('{"apiVersion": "audit.k8s.io/v1", "kind": "Policy",\n "rules": [{"level": 1e3}]}')
    assert [(p.line, p.field) for p in load.errors] == [(2, "rules[0].level")]
    assert "a number (1e3)" in load.errors[0].message


def test_a_yaml_flow_mapping_document_is_read_as_json_like_kube_apiserver() -> None:
    """Input starting with `{` is JSON to kube-apiserver (IsJSONBuffer): YAML flow style fails."""
    load = load_policy_text("{apiVersion: audit.k8s.io/v1, kind: Policy, rules: [{level: None}]}")
    assert not load.apiserver_accepts
    assert "JSON syntax error" in load.errors[0].message
    assert "read as JSON" in load.errors[0].message


def test_invalid_json_is_reported_as_json() -> None:
    load = load_policy_text('{"apiVersion": "audit.k8s.io/v1",\n "kind": "Policy"\n "rules": []}')
    assert load.errors[0].line == 3 and "JSON syntax error" in load.errors[0].message


def test_only_the_first_yaml_document_is_read() -> None:
    load = load_policy_text(HEADER + "rules:\n- level: None\n---\nrules: 5\n")
    assert load.apiserver_accepts
    assert "first YAML document" in load.warnings[0].message


# --- the corpus: kube-apiserver's verdict on every real policy -------------------------------

CORPUS = sorted(POLICIES.glob("*.yaml"))
LEGACY = {p.name for p in CORPUS if "v1beta1" in p.name}
WITH_WARNINGS = {
    "datadog-docs-kubernetes-audit-logs.yaml": [
        (41, "rules[3].resources[0].verbs", "rule 3 now applies to every verb")
    ],
    "kubernetes-apiserver-reader-test-unknown-field.yaml": [
        (10, "rules[0].resources[0].verbs", "rule 0 now applies to every verb")
    ],
    "openshift-library-go-allrequestbodies.yaml": [(38, "rules[2].resources[4].resource", "did you mean resources?")],
    "openshift-library-go-multipleCr.yaml": [
        (38, "rules[2].resources[4].resource", "every resource of group"),
        (70, "rules[5].resources[4].resource", "every resource of group"),
    ],
    "openshift-library-go-oauth.yaml": [(38, "rules[2].resources[4].resource", "resources")],
    "openshift-library-go-writerequestbodies.yaml": [(38, "rules[2].resources[4].resource", "resources")],
}


def test_the_corpus_is_complete() -> None:
    assert len(CORPUS) == 28 and len(LEGACY) == 4


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_policy_verdict(path: Path) -> None:
    """INVALID-* refused with a clear message, v1beta1 refused but usable, the rest accepted."""
    load = load_policy_file(path)
    assert all(p.file == str(path) for p in load.problems)
    if path.name.startswith("INVALID-"):
        assert not load.apiserver_accepts and load.policy is None
        assert any("0 rules" in p.message or "unknown group version field" in p.message for p in load.errors), messages(
            load
        )
        return
    assert load.policy is not None and load.policy.rules
    assert load.policy.text == path.read_text()
    if path.name in LEGACY:
        assert not load.apiserver_accepts
        assert [p.field for p in load.errors] == ["apiVersion"]
    else:
        assert load.apiserver_accepts, messages(load)
    expected = WITH_WARNINGS.get(path.name, [])
    assert [(p.line, p.field) for p in load.warnings] == [(line, f) for line, f, _ in expected]
    for problem, (_, _, effect) in zip(load.warnings, expected, strict=True):
        assert problem.message.startswith("unknown field ignored by kube-apiserver")
        assert effect in problem.message


def test_misplaced_verbs_are_dropped_so_the_rule_covers_every_verb() -> None:
    """L3 (TestParsePolicyWithUnknownField): the rule has no verbs after loading."""
    load = load_policy_file(POLICIES / "datadog-docs-kubernetes-audit-logs.yaml")
    assert load.policy is not None
    rule = load.policy.rules[3]
    assert rule.verbs == () and rule.resources == (GroupResources("", ("pods",), (), 39),)


def test_rule_spans_cover_each_rule_exactly() -> None:
    """Each rule's line span is its YAML text (for the UI), comments between rules excluded."""
    load = load_policy_file(POLICIES / "datadog-docs-kubernetes-audit-logs.yaml")
    assert load.policy is not None
    assert [rule_span(r) for r in load.policy.rules] == [(7, 13), (16, 22), (25, 31), (34, 41), (44, 46)]
    assert rule_text(load.policy, 4) == ("    - level: Metadata\n      omitStages:\n          - RequestReceived")
    assert load.policy.rules[3].field_lines == {
        "level": 34,
        "omitStages": 35,
        "omitStages[0]": 36,
        "resources": 37,
        "resources[0]": 39,
        "resources[0].group": 39,
        "resources[0].resources": 40,
        "resources[0].resources[0]": 40,
    }


def test_rule_span_of_flow_and_block_scalars() -> None:
    text = HEADER + "rules:\n- {level: None,\n   users: [a]}\n- level: >-\n    Metadata\n- level: Request\n"
    load = load_policy_text(text)
    assert load.policy is not None
    assert [rule_span(r) for r in load.policy.rules] == [(4, 5), (6, 7), (8, 8)]
    assert load.policy.rules[1].level == "Metadata"


def test_rule_text_without_source() -> None:
    load = policy_from_data({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None"}]})
    assert load.policy is not None and rule_span(load.policy.rules[0]) is None
    assert rule_text(load.policy, 0) == ""


# --- L3: unknown fields, duplicates, type errors ---------------------------------------------


@pytest.mark.parametrize(
    ("rule_yaml", "field", "effect"),
    [
        ("- Level: Metadata\n", "rules[0].Level", "field names are case-sensitive: did you mean level?"),
        (
            "- level: None\n  resources:\n  - resource: [pods]\n",
            "rules[0].resources[0].resource",
            "resources[0] of rule 0 now matches every resource of the core group",
        ),
        ("- level: None\n  verb: [get]\n", "rules[0].verb", "rule 0 now applies to every verb"),
        (
            "- level: None\n  resources:\n  - group: apps\n    namespaces: [a]\n",
            "rules[0].resources[0].namespaces",
            "rule 0 now applies in every namespace",
        ),
        (
            "- level: None\n  verbs: [get]\n  resources:\n  - group: apps\n    verbs: [list]\n",
            "rules[0].resources[0].verbs",
            "the rule's own verbs (line 5) still applies",
        ),
        ("- level: None\n  group: apps\n", "rules[0].group", "belongs inside a resources entry"),
        (
            "- level: None\n  resources:\n  - groups: apps\n",
            "rules[0].resources[0].groups",
            'now selects the core group ("")',
        ),
        (
            "- level: None\n  resources:\n  - group: apps\n    resourceName: [x]\n    resources: [a]\n",
            "rules[0].resources[0].resourceName",
            "now matches objects of any name",
        ),
        ("- level: None\n  colour: blue\n", "rules[0].colour", "kube-apiserver"),
    ],
)
def test_unknown_field_warning_names_field_line_and_effect(rule_yaml: str, field: str, effect: str) -> None:
    load = load_policy_text(HEADER + "rules:\n" + rule_yaml, "policy.yaml")
    unknown = [p for p in load.warnings if p.field == field]
    assert len(unknown) == 1, messages(load)
    assert effect in unknown[0].message
    key = field.rsplit(".", 1)[1]
    rule_lines = rule_yaml.splitlines()
    expected_line = 4 + max(i for i, line in enumerate(rule_lines) if f"{key}:" in line)
    assert unknown[0].line == expected_line
    assert str(unknown[0]).startswith(f"policy.yaml:{expected_line}: {field}: unknown field")


def test_case_mismatched_level_loads_but_then_fails_validation() -> None:
    """`Level:` is dropped (L3), so level is empty: Required (V2)."""
    load = load_policy_text(HEADER + "rules:\n- Level: Metadata\n")
    assert [p.field for p in load.warnings] == ["rules[0].Level"]
    assert [str(p) for p in load.errors] == ["<policy>:4: rules[0].level: Required value"]


def test_top_level_unknown_and_misplaced_fields() -> None:
    load = load_policy_text(HEADER + "level: None\nspec: {}\nrules:\n- level: None\n")
    assert load.apiserver_accepts
    assert [(p.line, p.field) for p in load.warnings] == [(3, "level"), (4, "spec")]
    assert "not of the policy" in load.warnings[0].message


def test_duplicate_keys_warn_and_keep_the_last_value() -> None:
    """L3 / open question 10: strict decoding fails, the lenient retry keeps the last value."""
    load = load_policy_text(HEADER + "rules:\n- level: None\n  level: Metadata\n", "p.yaml")
    assert load.apiserver_accepts and load.policy is not None
    assert load.policy.rules[0].level == "Metadata"
    assert [str(p) for p in load.warnings] == [
        "p.yaml:5: rules[0].level: duplicate field (first at line 4): kube-apiserver keeps only this last value"
    ]


def test_odd_keys_are_quoted_in_field_paths() -> None:
    load = load_policy_text(HEADER + 'rules:\n- level: None\n  "a\\x1bb c": 1\n')
    (warning,) = load.warnings
    assert warning.field == 'rules[0]."a\\x1bb c"' and "\x1b" not in str(warning)


@pytest.mark.parametrize(
    ("body", "line", "field", "expected"),
    [
        ("rules:\n- level: 5\n", 4, "rules[0].level", "expected a string, found a number (5)"),
        ("rules:\n- level: yes\n", 4, "rules[0].level", "found a bool (yes; quote it"),
        (
            "rules:\n- level: None\n  verbs: get\n",
            5,
            "rules[0].verbs",
            'expected a list of strings, found a string "get"; write it as a list: [get]',
        ),
        ("rules:\n- level: None\n  verbs: [get, 1]\n", 5, "rules[0].verbs[1]", "a number (1)"),
        ("rules:\n- level: None\n  users: [n]\n", 5, "rules[0].users[0]", "a bool (n;"),
        ("rules:\n- level: None\n  verbs: {a: b}\n", 5, "rules[0].verbs", "found an object"),
        ("rules:\n- level: None\n  resources: {group: apps}\n", 5, "rules[0].resources", "found an object"),
        ("rules:\n- level: None\n  resources: [apps]\n", 5, "rules[0].resources[0]", 'found a string "apps"'),
        (
            "rules:\n- level: None\n  resources:\n  - group: [apps]\n",
            6,
            "rules[0].resources[0].group",
            "expected a string, found a list",
        ),
        ("rules:\n- [level, None]\n", 4, "rules[0]", "expected a rule (an object), found a list"),
        ("rules: {level: None}\n", 3, "rules", "expected a list of rules, found an object"),
        (
            "rules:\n- level: None\n  omitManagedFields: 'true'\n",
            5,
            "rules[0].omitManagedFields",
            'expected true or false, found a string "true"',
        ),
        ("omitManagedFields: 1\nrules:\n- level: None\n", 3, "omitManagedFields", "a number"),
        ("omitStages: Panic\nrules:\n- level: None\n", 3, "omitStages", "a list of strings"),
        ("metadata: [a]\nrules:\n- level: None\n", 3, "metadata", "expected an object"),
    ],
)
def test_type_errors_are_fatal_with_field_and_line(body: str, line: int, field: str, expected: str) -> None:
    """L3: type errors are not strict-decoding errors: kube-apiserver refuses the file."""
    load = load_policy_text(HEADER + body, "p.yaml")
    assert load.policy is None and load.decoded is None and not load.apiserver_accepts
    matching = [p for p in load.errors if p.field == field]
    assert matching, messages(load)
    assert matching[0].line == line and expected in matching[0].message, messages(load)


def test_every_type_error_is_reported() -> None:
    load = load_policy_text(HEADER + "rules:\n- level: 1\n  verbs: get\n- level: true\n")
    assert [p.field for p in load.errors] == ["rules[0].level", "rules[0].verbs", "rules[1].level"]


def test_nulls_read_as_go_zero_values() -> None:
    """null in a string field is "", in a list is empty, a null rule has no level (Required)."""
    load = load_policy_text(
        HEADER + "omitStages: ~\nrules:\n- level: None\n  verbs: ~\n  omitManagedFields: null\n  resources: [~]\n-\n"
    )
    assert load.decoded is not None
    assert load.decoded.rules[0].verbs == () and load.decoded.rules[0].omit_managed_fields is None
    assert load.decoded.rules[0].resources == (GroupResources(line=8),)
    assert [p.field for p in load.errors] == ["rules[1].level"]


def test_yaml_merge_keys_and_anchors() -> None:
    text = HEADER + "rules:\n- &base {level: None, verbs: [get]}\n- <<: *base\n  level: Metadata\n"
    load = load_policy_text(text)
    assert load.policy is not None
    assert [(r.level, r.verbs) for r in load.policy.rules] == [("None", ("get",)), ("Metadata", ("get",))]


def test_zero_rules_only_after_validation() -> None:
    """L5: validation errors win over the zero-rule error; an empty file fails too."""
    bad = load_policy_text(HEADER + "omitStages: [Nope]\nrules: []\n")
    assert [p.field for p in bad.errors] == ["omitStages[0]"]
    empty_rules = load_policy_text(HEADER + "rules: []\n")
    assert [p.message for p in empty_rules.errors] == ["loaded illegal policy with 0 rules"]
    for text in ("", "\n# just a comment\n", "---\n", "~\n"):
        load = load_policy_text(text)
        assert not load.apiserver_accepts and "empty" in load.errors[0].message


# --- hostile input ---------------------------------------------------------------------------

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_fails_fast() -> None:
    """An alias bomb (9^9 nodes) is refused after MAX_NODES, quickly and without raising."""
    start = time.perf_counter()
    load = load_policy_text(HEADER + "rules:\n- level: None\n" + BOMB, "bomb.yaml")
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    (problem,) = load.problems
    assert problem.file == "bomb.yaml" and "alias bomb" in problem.message
    assert f"{MAX_NODES:,}" in problem.message and problem.line is not None


def test_huge_documents_are_refused_by_node_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """Composing stops at MAX_NODES nodes: time and memory stay bounded (small cap for speed)."""
    monkeypatch.setattr(yaml_tree, "MAX_NODES", 300)
    assert load_policy_text(HEADER + "rules:\n" + "- level: None\n" * 90).apiserver_accepts
    load = load_policy_text(HEADER + "rules:\n" + "- level: None\n" * 110)
    (problem,) = load.problems
    assert "more than 300 nodes" in problem.message
    assert problem.line is not None and 95 <= problem.line <= 113


def test_recursive_alias() -> None:
    load = load_policy_text(HEADER + "rules: &r\n- level: None\n  users: *r\n")
    assert "recursive alias" in load.errors[0].message


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        ("[" * 5000 + "]" * 5000, "deeper than 100 levels", 1),
        ("- " * 5000 + "x", "nests too deeply", None),
        ("a: " + "[" * 150 + "]" * 150, "deeper than 100 levels", 1),
        (HEADER + "rules:\n\t- level: None\n", "tabs", 4),
        (HEADER + "rules:\n- level: None\n   bad: [\n", "YAML syntax error", 5),
        (HEADER + "rules:\n- level: \x00\n", "unacceptable character #x0000", 4),
        ('{"apiVersion": ', "JSON syntax error", 1),
        ("- 1\n- 2\n", "found a list", 1),
        ("just a string\n", 'found a string "just a string"', 1),
        ("? [a]\n: b\n", "mapping key must be a plain string", 1),
        ("a: [b]\n" + "[" * 100_000, "deeper than 100 levels", 2),
    ],
    ids=[
        "deep-flow",
        "deep-block",
        "deep-flow-150",
        "tab",
        "syntax",
        "nul",
        "json",
        "list",
        "string",
        "complex-key",
        "unclosed-brackets",
    ],
)
def test_malformed_text_gives_one_clear_error(text: str, expected: str, line: int | None) -> None:
    load = load_policy_text(text, "x.yaml")
    assert load.policy is None and len(load.errors) == 1
    assert expected in load.errors[0].message and load.errors[0].line == line


def test_non_utf8_bytes() -> None:
    load = load_policy_text(HEADER.encode() + b"rules:\n- level: \xff\n", "x.yaml")
    assert str(load.errors[0]) == "x.yaml:4: not UTF-8 text: invalid byte 0xff at offset 57"


def test_utf8_bom_is_accepted() -> None:
    load = load_policy_text(b"\xef\xbb\xbf" + HEADER.encode() + b"rules:\n- level: None\n")
    assert load.apiserver_accepts


def test_file_errors(tmp_path: Path) -> None:
    """A directory, a missing path, an unreadable or oversized file: one error each, no raise."""
    assert "directory" in load_policy_file(tmp_path).errors[0].message
    assert "no such file" in load_policy_file(tmp_path / "nope.yaml").errors[0].message
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_POLICY_BYTES + 1)
    load = load_policy_file(big)
    assert "too large" in load.errors[0].message and load.errors[0].file == str(big)
    if os.geteuid() != 0:
        locked = tmp_path / "locked.yaml"
        locked.write_text(HEADER)
        locked.chmod(0)
        assert "permission denied" in load_policy_file(locked).errors[0].message


def test_oversized_text() -> None:
    assert "too large" in load_policy_text(b" " * (MAX_POLICY_BYTES + 1)).errors[0].message
    assert "too large" in load_policy_text(" " * (MAX_POLICY_BYTES + 1)).errors[0].message


def test_policy_from_data_rejects_odd_python_objects() -> None:
    assert "unsupported value" in policy_from_data({"a": object()}).errors[0].message
    cyclic: list[object] = []
    cyclic.append(cyclic)
    assert "cycle" in policy_from_data({"rules": cyclic}).errors[0].message
    assert "must be a string" in policy_from_data({1: 2}).errors[0].message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.binary()))
def test_never_raises_on_arbitrary_input(data: str | bytes) -> None:
    load = load_policy_text(data, "fuzz")
    assert isinstance(load, PolicyLoad)
    assert load.apiserver_accepts == (load.policy is not None and not load.errors)
    for problem in load.problems:
        assert str(problem).startswith("fuzz")


_YAMLISH = st.sampled_from(
    [
        "apiVersion: audit.k8s.io/v1\n",
        "kind: Policy\n",
        "rules:\n",
        "- level: None\n",
        "  verbs: [get]\n",
        "  resources:\n",
        "  - group: apps\n",
        "    resources: [pods]\n",
        "&a ",
        "*a\n",
        "<<: *a\n",
        "- ",
        "  ",
        "{",
        "}",
        "[",
        "]",
        ": ",
        "\t",
        "~\n",
        "yes\n",
        "'",
        '"',
        "#",
        "\n",
        "---\n",
        "!!binary ",
        "? ",
        "1.5\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_YAMLISH, max_size=40).map("".join))
def test_never_raises_on_yaml_like_fragments(text: str) -> None:
    assert isinstance(load_policy_text(text), PolicyLoad)


# --- round trip ------------------------------------------------------------------------------

_WORD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
_GROUP = st.sampled_from(["", "*", "apps", "rbac.authorization.k8s.io", "x-1.example.com"])
_URL = st.one_of(st.just("*"), st.from_regex(r"/[a-z/]{0,8}\*?", fullmatch=True))


@st.composite
def rules(draw: st.DrawFn) -> PolicyRule:
    """Valid rules only: resource rules or non-resource rules (V6), valid groups (V4)."""
    non_resource = draw(st.booleans())
    resources: tuple[GroupResources, ...] = ()
    if not non_resource:
        resources = tuple(
            draw(
                st.lists(
                    st.builds(
                        lambda g, r, n: GroupResources(g, r, n if r else ()),
                        _GROUP,
                        st.lists(_WORD, max_size=3).map(tuple),
                        st.lists(_WORD, max_size=2).map(tuple),
                    ),
                    max_size=3,
                )
            )
        )
    words = st.lists(_WORD, max_size=3).map(tuple)
    return PolicyRule(
        level=draw(st.sampled_from(LEVELS)),
        users=draw(words),
        user_groups=draw(words),
        verbs=draw(words),
        resources=resources,
        namespaces=() if non_resource else draw(words),
        non_resource_urls=draw(st.lists(_URL, max_size=3).map(tuple)) if non_resource else (),
        omit_stages=draw(st.lists(st.sampled_from(STAGES), max_size=3).map(tuple)),
        omit_managed_fields=draw(st.sampled_from([None, True, False])),
    )


def to_data(policy: Policy) -> dict[str, Any]:
    """The v1 document of a policy (what a user would write)."""

    def rule_data(rule: PolicyRule) -> dict[str, Any]:
        data: dict[str, Any] = {"level": rule.level}
        for key, value in (
            ("users", rule.users),
            ("userGroups", rule.user_groups),
            ("verbs", rule.verbs),
            ("namespaces", rule.namespaces),
            ("nonResourceURLs", rule.non_resource_urls),
            ("omitStages", rule.omit_stages),
        ):
            if value:
                data[key] = list(value)
        if rule.resources:
            data["resources"] = [
                {"group": g.group, "resources": list(g.resources), "resourceNames": list(g.resource_names)}
                for g in rule.resources
            ]
        if rule.omit_managed_fields is not None:
            data["omitManagedFields"] = rule.omit_managed_fields
        return data

    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": list(policy.omit_stages),
        "omitManagedFields": policy.omit_managed_fields,
        "rules": [rule_data(rule) for rule in policy.rules],
    }


class GoSafeDumper(yaml.SafeDumper):
    """PyYAML writes `y`/`n` bare, but go-yaml v2 (kube-apiserver) reads them as booleans."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "'" if value in ("y", "Y", "n", "N") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


GoSafeDumper.add_representer(str, _represent_str)


def test_bare_y_is_a_bool_like_go_yaml() -> None:
    """Why GoSafeDumper: `users: [y]` is refused by kube-apiserver, `users: ['y']` is fine."""
    assert not load_policy_text(HEADER + "rules:\n- level: None\n  users: [y]\n").apiserver_accepts
    assert load_policy_text(HEADER + "rules:\n- level: None\n  users: ['y']\n").apiserver_accepts


@settings(max_examples=100, deadline=None)
@given(
    st.lists(rules(), min_size=1, max_size=5),
    st.lists(st.sampled_from(STAGES), max_size=2),
    st.booleans(),
    st.sampled_from(
        [
            {"default_flow_style": False},
            {"default_flow_style": None},
            {"indent": 4},
            {"explicit_start": True, "width": 20},
        ]
    ),
)
def test_round_trip_of_valid_policies(
    generated: list[PolicyRule], stages: list[str], omit_mf: bool, style: dict[str, Any]
) -> None:
    """Dump a valid policy to YAML, load it: same rules, accepted, and every span is in range."""
    policy = Policy(rules=tuple(generated), omit_stages=tuple(stages), omit_managed_fields=omit_mf)
    text = yaml.dump(to_data(policy), Dumper=GoSafeDumper, allow_unicode=True, sort_keys=False, **style)
    load = load_policy_text(text)
    assert load.apiserver_accepts, [str(p) for p in load.problems]
    assert load.policy is not None
    assert bare_rules(load.policy) == list(policy.rules)
    assert load.policy.omit_stages == policy.omit_stages
    assert load.policy.omit_managed_fields == omit_mf
    total = len(text.splitlines())
    for rule in load.policy.rules:
        span = rule_span(rule)
        assert span is not None and 1 <= span[0] <= span[1] <= total
        assert all(1 <= line <= total for line in rule.field_lines.values())
    assert policy_from_data(to_data(policy)).policy is not None
