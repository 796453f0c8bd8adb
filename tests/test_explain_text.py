"""What users read from `explain`: the clauses that decided, one line for the unset ones, no spec codes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import convert_event
from k8saudit_tui.engine.model import RequestAttributes
from k8saudit_tui.engine.policy.explain import explain, format_explanation
from k8saudit_tui.engine.policy.loader import load_policy_text, policy_from_data
from tests.test_conformance_checker import EVALUATION_CASES

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
  verbs: ["watch"]
  resources:
  - group: ""
    resources: ["endpoints", "services", "services/status"]
- level: Metadata
"""

SPEC_CODE = re.compile(r"\([A-Z]\d+(, [A-Z]\d+)*\)")


def _policy_text_explained(attrs: RequestAttributes) -> str:
    load = load_policy_text(POLICY)
    assert load.policy is not None, load.problems
    return format_explanation(explain(load.policy, attrs))


def test_a_match_shows_the_deciding_clauses_then_one_line_for_the_unset_ones() -> None:
    attrs = RequestAttributes(
        "system:kube-proxy", ("system:authenticated",), "watch", True, resource="endpoints", path="/api/v1/endpoints"
    )
    assert _policy_text_explained(attrs).splitlines() == [
        'request: user "system:kube-proxy" (groups ["system:authenticated"]), verb "watch", resource "endpoints" '
        'in core group, no namespace (cluster scope or all), name ""',
        "rule 0 (line 5) level None: MATCH",
        '  [+] users: user "system:kube-proxy" in ["system:kube-proxy"]',
        '  [+] verbs: verb "watch" in ["watch"]',
        '  [+] resources: "endpoints" in core group matches ["endpoints", "services", "services/status"]',
        "  other clauses not set (any value): userGroups, namespaces, nonResourceURLs",
        "verdict: rule 0, level None, omitStages [RequestReceived], omitManagedFields false",
    ]


def test_misses_read_without_spec_codes_and_a_catch_all_says_so() -> None:
    attrs = RequestAttributes("alice", ("system:authenticated",), "get", False, path="/healthz")
    assert _policy_text_explained(attrs).splitlines()[1:] == [
        "rule 0 (line 5) level None: no match",
        '  [x] users: user "alice" not in ["system:kube-proxy"]',
        '  [x] verbs: verb "get" not in ["watch"]',
        "  [x] resources: a rule with resources applies to resource requests only",
        "  other clauses not set (any value): userGroups, namespaces, nonResourceURLs",
        "rule 1 (line 11) level Metadata: MATCH",
        "  no clause set: the rule matches every request",
        "verdict: rule 1, level Metadata, omitStages [RequestReceived], omitManagedFields false",
    ]


def test_no_rule_matched_reads_without_a_spec_code() -> None:
    load = policy_from_data(
        {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None", "users": ["x"]}]}
    )
    assert load.policy is not None
    text = format_explanation(explain(load.policy, RequestAttributes(None, (), "get", False, path="/")))
    assert text.splitlines()[-1] == "verdict: no rule matched, level None, omitStages [], omitManagedFields false"
    assert "  [x] users: request has no authenticated user" in text.splitlines()


@pytest.mark.parametrize("case", EVALUATION_CASES, ids=[case["name"] for case in EVALUATION_CASES])
def test_every_set_clause_has_its_line_and_unset_ones_are_named_once(case: dict[str, Any]) -> None:
    load = policy_from_data(case["policy"])
    assert load.policy is not None
    explanation = explain(load.policy, request_attributes(convert_event(case["event"])))
    text = format_explanation(explanation)
    assert SPEC_CODE.search(text) is None, text
    assert "not set: any value" not in text
    blocks = re.split(r"\n(?=rule \d+ )", text.split("\nverdict: ")[0])[1:]
    assert len(blocks) == len(explanation.rules)
    for trace, block in zip(explanation.rules, blocks):
        clause_lines = block.splitlines()[1:]
        shown = [clause for clause in trace.clauses if clause.is_set]
        unset = [clause.name for clause in trace.clauses if not clause.is_set]
        assert [line.split("] ", 1)[1].split(":", 1)[0] for line in clause_lines[: len(shown)]] == [
            clause.name for clause in shown
        ]
        if not shown:
            expected_tail = ["  no clause set: the rule matches every request"]
        else:
            expected_tail = [f"  other clauses not set (any value): {', '.join(unset)}"] if unset else []
        assert clause_lines[len(shown) :] == expected_tail
