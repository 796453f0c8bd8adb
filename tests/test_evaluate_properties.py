"""Invariants of evaluation that must hold for any policy and request (M1, M2, M13, M14)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.model import Policy, RequestAttributes
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator, first_matching_rule, rule_matches
from k8saudit_tui.engine.policy.explain import explain

from .strategies import policies, requests, rules


@given(policies, requests(), st.lists(rules, max_size=3))
def test_rules_after_the_match_never_change_the_verdict(policy: Policy, attrs: RequestAttributes, extra: list) -> None:
    """M1: first match wins; appending rules only matters when nothing matched."""
    before = PolicyEvaluator(policy).evaluate(attrs)
    after = PolicyEvaluator(replace(policy, rules=policy.rules + tuple(extra))).evaluate(attrs)
    if before.rule is not None:
        assert after == before


@given(policies, requests())
def test_no_earlier_rule_matches(policy: Policy, attrs: RequestAttributes) -> None:
    verdict = PolicyEvaluator(policy).evaluate(attrs)
    limit = len(policy.rules) if verdict.rule is None else verdict.rule
    assert not any(rule_matches(rule, attrs) for rule in policy.rules[:limit])
    if verdict.rule is not None:
        assert rule_matches(policy.rules[verdict.rule], attrs)


@given(policies, requests())
def test_verdict_fields_follow_the_matched_rule(policy: Policy, attrs: RequestAttributes) -> None:
    """M2 (no match: None, policy stages), M13 (union of stages), M14 (rule's flag wins)."""
    verdict = PolicyEvaluator(policy).evaluate(attrs)
    if verdict.rule is None:
        assert verdict.level == "None"
        assert verdict.omit_stages == frozenset(policy.omit_stages)
        assert verdict.omit_managed_fields == policy.omit_managed_fields
        return
    rule = policy.rules[verdict.rule]
    assert verdict.level == rule.level
    assert verdict.omit_stages == frozenset(policy.omit_stages) | frozenset(rule.omit_stages)
    expected_flag = policy.omit_managed_fields if rule.omit_managed_fields is None else rule.omit_managed_fields
    assert verdict.omit_managed_fields == expected_flag


@given(policies, requests())
def test_explain_traces_every_rule_until_the_match(policy: Policy, attrs: RequestAttributes) -> None:
    explanation = explain(policy, attrs)
    for trace in explanation.rules:
        assert trace.matched == rule_matches(policy.rules[trace.index], attrs)
    assert explanation.verdict.rule == first_matching_rule(policy, attrs)


@given(policies, requests())
def test_unauthenticated_requests_never_match_user_rules(policy: Policy, attrs: RequestAttributes) -> None:
    """E2, M5, M6: without a user, rules naming users or groups never match."""
    anonymous = attrs._replace(username=None, groups=())
    for rule in policy.rules:
        if rule.users or rule.user_groups:
            assert not rule_matches(rule, anonymous)
