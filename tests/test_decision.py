"""A policy decided over coded requests (policy.decision) equals the rule-by-rule evaluator, for
any policy and any requests; and the store's verdict tables, built from it, equal `evaluate`."""

from __future__ import annotations

from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.model import LEVELS, STAGES, GroupResources, Policy, PolicyRule, RequestAttributes
from k8saudit_tui.engine.policy.decision import NO_RULE, AttributeCodes, PolicyDecision
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator, first_matching_rule
from k8saudit_tui.engine.store.verdicts import Verdicts

from .strategies import (
    API_GROUPS,
    GROUPS,
    NAMES,
    NAMESPACES,
    PATHS,
    PATTERNS,
    RESOURCES,
    SUBRESOURCES,
    URL_PATTERNS,
    USERS,
    VERBS,
    policies,
    requests,
)

_subset = st.lists(st.sampled_from(GROUPS), max_size=3).map(tuple)


def _often_empty(values: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    """No restriction half the time: rules that test one or two fields match often."""
    return st.one_of(st.just(()), st.lists(st.sampled_from(values), min_size=1, max_size=3).map(tuple))


sparse_rules = st.builds(
    PolicyRule,
    level=st.sampled_from(LEVELS),
    users=_often_empty(USERS),
    user_groups=_often_empty(GROUPS),
    verbs=_often_empty(VERBS),
    resources=st.one_of(
        st.just(()),
        st.lists(
            st.builds(
                GroupResources,
                group=st.sampled_from(API_GROUPS),
                resources=_often_empty(PATTERNS),
                resource_names=_often_empty(NAMES),
            ),
            min_size=1,
            max_size=2,
        ).map(tuple),
    ),
    namespaces=_often_empty(NAMESPACES),
    non_resource_urls=_often_empty(URL_PATTERNS),
    omit_stages=_often_empty(STAGES),
)
any_policy = st.one_of(
    policies, st.builds(Policy, rules=st.lists(sparse_rules, max_size=6).map(tuple), omit_stages=_often_empty(STAGES))
)
"""The shared strategy's policies, and policies whose rules restrict few fields."""

any_request = st.builds(
    RequestAttributes,
    username=st.sampled_from((*USERS, None)),
    groups=_subset,  # groups without a user too: the type allows it, and M6 must still say no
    verb=st.sampled_from(VERBS),
    resource_request=st.booleans(),
    path=st.sampled_from((*PATHS, "", "/api/v1/x")),  # a resource request's path is never read
    api_group=st.sampled_from(API_GROUPS),
    resource=st.sampled_from((*RESOURCES, "")),
    subresource=st.sampled_from(SUBRESOURCES),
    namespace=st.sampled_from(NAMESPACES),
    name=st.sampled_from(NAMES),
)
"""Every field drawn freely: a non-resource request with a resource, a resource request with a
path, so that what the coding leaves out (M7) is shown never to matter."""

request_lists = st.lists(st.one_of(requests(), any_request), min_size=1, max_size=60)


RESOURCE_SIDES = (("", "", "", "", ""), ("apps", "pods", "log", "default", "busybox"))


def _universe() -> list[RequestAttributes]:
    """Every combination of a few values of each field, kinds crossed with what the other kind
    reads (a resource request with a `/healthz` path, a non-resource one with a resource), and
    users absent with groups (M6 must say no): random requests meet a rule too seldom."""
    identities = [(None, ()), (None, ("devs",)), ("alice", ()), ("alice", ("devs",)), ("", ("system:nodes", "devs"))]
    identities += [("bob", ("system:authenticated",)), ("*", ("*",))]
    pairs = [("pods", ""), ("pods", "log"), ("pods", "exec"), ("secrets", ""), ("deployments", "scale")]
    pairs += [("*", ""), ("*", "*"), ("namespaces", "status")]
    out = [
        RequestAttributes(user, groups, verb, True, path, api_group, resource, sub, namespace, name)
        for (user, groups), verb, path, api_group, (resource, sub), namespace, name in product(
            identities,
            ("get", "create", "*"),
            ("/api/v1/x", "/healthz"),
            ("", "apps", "*"),
            pairs,
            ("", "default", "foo"),
            ("", "busybox"),
        )
    ]
    out += [
        RequestAttributes(user, groups, verb, False, path, *resource)
        for (user, groups), verb, path, resource in product(
            identities,
            ("get", "create", "*"),
            (*PATHS, "/", ""),
            RESOURCE_SIDES,
        )
    ]
    return out


UNIVERSE = _universe()


def plain(policy: Policy, attributes: list[RequestAttributes]) -> list[int]:
    return [NO_RULE if (rule := first_matching_rule(policy, a)) is None else rule for a in attributes]


@settings(max_examples=400)
@given(any_policy, request_lists)
def test_the_decision_is_the_first_matching_rule(policy: Policy, attributes: list[RequestAttributes]) -> None:
    codes = AttributeCodes()
    codes.extend(attributes)
    assert PolicyDecision(policy).first_rules(codes).tolist() == plain(policy, attributes)


@settings(max_examples=150)
@given(any_policy)
def test_the_decision_is_the_first_matching_rule_over_a_universe_of_requests(policy: Policy) -> None:
    codes = AttributeCodes()
    codes.extend(UNIVERSE)
    assert PolicyDecision(policy).first_rules(codes).tolist() == plain(policy, UNIVERSE)


@settings(max_examples=200)
@given(any_policy, request_lists, request_lists, st.data())
def test_coding_and_masks_grow_with_the_requests(
    policy: Policy, first: list[RequestAttributes], second: list[RequestAttributes], data: st.DataObject
) -> None:
    """As the store interns requests batch by batch: codes and each rule's masks are extended,
    and a range of requests is decided alone."""
    everything = first + second
    codes, decision = AttributeCodes(), PolicyDecision(policy)
    codes.extend(first)
    assert decision.first_rules(codes).tolist() == plain(policy, first)
    codes.extend(everything)
    assert len(codes) == len(everything)
    start = data.draw(st.integers(0, len(everything)))
    assert decision.first_rules(codes, start).tolist() == plain(policy, everything[start:])


@settings(max_examples=150)
@given(any_policy, any_policy, request_lists, request_lists)
def test_verdict_tables_hold_what_evaluate_gives(
    policy: Policy, candidate: Policy, first: list[RequestAttributes], second: list[RequestAttributes]
) -> None:
    """The store's tables (a policy set before, a candidate after requests were coded, and a
    batch more): the same Verdict objects as `evaluate`, and the level and omitted columns."""
    current, compared = PolicyEvaluator(policy), PolicyEvaluator(candidate)
    verdicts = Verdicts.empty().with_current(current, first).extended(first)
    verdicts = verdicts.with_candidate(compared, first).extended(first + second)
    for table, evaluator in ((verdicts.current, current), (verdicts.candidate, compared)):
        assert len(table) == len(first + second)
        for code, attributes in enumerate(first + second):
            expected = evaluator.evaluate(attributes)
            assert table.verdicts[code] == expected
            assert table.rule(code) == expected.rule
            assert table.level(code) == expected.level
            assert [table.omitted(code, s) for s in range(len(STAGES))] == [
                int(not expected.emits(stage)) for stage in STAGES
            ]


def test_a_rule_with_names_reads_the_name_only_with_a_matching_pattern() -> None:
    """M10: `resourceNames` under an entry without resources is never read; the coding of names
    must not make it so."""
    rule = PolicyRule(level="Request", resources=(GroupResources(group="", resources=(), resource_names=("a",)),))
    policy = Policy(rules=(rule,))
    requests_ = [
        RequestAttributes("u", (), "get", True, "/api/v1/pods/b", "", "pods", "", "ns", "b"),
        RequestAttributes("u", (), "get", True, "/api/v1/pods/a", "", "pods", "", "ns", "a"),
    ]
    codes = AttributeCodes()
    codes.extend(requests_)
    assert PolicyDecision(policy).first_rules(codes).tolist() == [0, 0] == plain(policy, requests_)
