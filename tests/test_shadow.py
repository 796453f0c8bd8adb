"""Shadowed rules (engine/workbench/shadow.py): sound and exact against brute force with the real matcher.

The brute force runs `evaluate.rule_matches` over every request of a finite universe that holds
each literal of the test alphabet plus a fresh value per attribute (and every group subset), so
over that alphabet "no request of the universe reaches rule k" is the same as "no request at all
does": the analysis must agree both ways (soundness and completeness).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cache
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule, RequestAttributes
from k8saudit_tui.engine.policy.evaluate import rule_matches
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.workbench.shadow import shadowed_by
from tests.conftest import DATA

USERS = ("a", "b")
GROUPS = ("g1", "g2")
VERBS = ("get", "list", "create")
API_GROUPS = ("", "apps", "*")
PATTERNS = ("pods", "pods/log", "secrets", "*", "pods/*", "*/log", "*/*")
NAMESPACES = ("default", "kube-system", "")
NAMES = ("x",)
URLS = ("/healthz", "/api*", "*", "/healthz/*", "/api")


def _universe() -> tuple[RequestAttributes, ...]:
    """Every request over the alphabet plus one fresh value per attribute (z, post, batch, ...)."""
    identities: list[tuple[str | None, tuple[str, ...]]] = [(None, ())]
    group_sets = [(), ("g1",), ("g2",), ("g1", "g2")]
    identities += [(user, groups) for user in ("a", "b", "z") for groups in group_sets]
    verbs = (*VERBS, "post")
    requests = [
        RequestAttributes(user, groups, verb, True, "", api_group, resource, sub, namespace, name)
        for (user, groups), verb, api_group, resource, sub, namespace, name in product(
            identities,
            verbs,
            ("", "apps", "batch"),
            ("pods", "secrets", "*", "configmaps"),
            ("", "log", "*", "status"),
            (*NAMESPACES, "other"),
            ("x", "y"),
        )
    ]
    paths = ("/healthz", "/healthzx", "/healthz/", "/healthz/x", "/api", "/api/v1", "/ap", "/")
    requests += [
        RequestAttributes(user, groups, verb, False, path)
        for (user, groups), verb, path in product(identities, verbs, paths)
    ]
    return tuple(requests)


UNIVERSE = _universe()


@cache
def _matches(rule: PolicyRule) -> int:
    """Bitset over UNIVERSE of the requests the real matcher says `rule` matches."""
    bits = 0
    for i, attrs in enumerate(UNIVERSE):
        if rule_matches(rule, attrs):
            bits |= 1 << i
    return bits


def _reachable(rules: Sequence[PolicyRule]) -> list[bool]:
    """Per rule: whether some request of the universe has it as its first matching rule (M1)."""
    earlier = 0
    reached = []
    for rule in rules:
        bits = _matches(rule)
        reached.append(bool(bits & ~earlier))
        earlier |= bits
    return reached


def _subset(values: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    """Half the time empty (no restriction), so that earlier rules often cover later ones."""
    some = st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True).map(tuple)
    return st.one_of(st.just(()), some)


_entries = st.builds(
    GroupResources,
    group=st.sampled_from(API_GROUPS),
    resources=st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2, unique=True).map(tuple),
    resource_names=_subset(NAMES),
)


@st.composite
def _rules(draw: st.DrawFn) -> PolicyRule:
    kind = draw(st.sampled_from(("any", "resources", "namespaces", "urls", "mixed")))
    resources = draw(st.lists(_entries, min_size=1, max_size=2).map(tuple)) if kind in ("resources", "mixed") else ()
    namespaces = draw(_subset(NAMESPACES)) if kind in ("namespaces", "resources", "mixed") else ()
    urls = draw(st.lists(st.sampled_from(URLS), min_size=1, max_size=2).map(tuple)) if kind in ("urls", "mixed") else ()
    if kind == "namespaces" and not namespaces:
        namespaces = ("default",)
    return PolicyRule(
        level="Metadata",
        users=draw(_subset(USERS)),
        user_groups=draw(_subset(GROUPS)),
        verbs=draw(_subset(VERBS)),
        resources=resources,
        namespaces=namespaces,
        non_resource_urls=urls,  # "mixed" is invalid (V6) but loads: M7 ignores the URLs
    )


@settings(max_examples=150)
@given(st.lists(_rules(), min_size=1, max_size=6))
def test_shadowed_exactly_when_brute_force_finds_no_request_reaching_the_rule(rules: list[PolicyRule]) -> None:
    policy = Policy(tuple(rules))
    result = shadowed_by(policy)
    reached = _reachable(policy.rules)
    for k in range(len(policy.rules)):
        assert (k in result) == (not reached[k]), (k, result)  # sound (no reached rule listed) and complete
    for k, cover in result.items():
        assert all(j < k for j in cover)
        union = 0
        for j in cover:
            union |= _matches(policy.rules[j])
        assert _matches(policy.rules[k]) & ~union == 0, (k, cover)  # the named rules alone cover it


R = PolicyRule


def G(group: str, *resources: str, names: tuple[str, ...] = ()) -> GroupResources:
    return GroupResources(group, resources, names)


def _shadow(*rules: PolicyRule) -> dict[int, tuple[int, ...]]:
    return shadowed_by(Policy(rules))


def test_users_rule_covers_resource_and_non_resource_requests_alike() -> None:
    assert _shadow(R("None", users=("a",)), R("Metadata", users=("a",), non_resource_urls=("/healthz",))) == {1: (0,)}
    # a users rule limited to pods leaves a's non-resource requests to the later rule
    assert _shadow(R("None", users=("a",), resources=(G("", "*"),)), R("Metadata", users=("a",))) == {}


def test_pods_star_covers_pods_itself_and_its_subresources() -> None:
    assert _shadow(R("None", resources=(G("", "pods/*"),)), R("Metadata", resources=(G("", "pods", "pods/log"),))) == {
        1: (0,)
    }
    # but not another resource, nor pods of another group
    assert _shadow(R("None", resources=(G("", "pods/*"),)), R("Metadata", resources=(G("apps", "pods"),))) == {}
    assert _shadow(R("None", resources=(G("", "pods/*"),)), R("Metadata", resources=(G("", "secrets"),))) == {}


def test_a_rule_with_resource_names_does_not_cover_the_same_rule_without() -> None:
    named = R("None", resources=(G("", "pods", names=("x",)),))
    unnamed = R("Metadata", resources=(G("", "pods"),))
    assert _shadow(named, unnamed) == {}
    assert _shadow(unnamed, named) == {1: (0,)}


def test_several_earlier_rules_together_cover_a_rule_and_are_named() -> None:
    rules = (R("None", user_groups=("g1",)), R("None", verbs=("get",)), R("None", user_groups=("g2",)))
    assert _shadow(*rules, R("Metadata", user_groups=("g1", "g2"))) == {3: (0, 2)}
    # a request with both groups still needs one of them to be covered: g1 alone does not do it
    assert _shadow(rules[0], R("Metadata", user_groups=("g1", "g2"))) == {}


def test_the_cover_names_a_catch_all_rather_than_every_rule_it_overlaps() -> None:
    rules = (R("None", verbs=("get",)), R("None", verbs=("list",)), R("Metadata"), R("Request", users=("a",)))
    assert _shadow(*rules) == {3: (2,)}


def test_non_resource_urls_never_cover_resource_requests() -> None:
    assert _shadow(R("None", non_resource_urls=("*",)), R("Metadata", verbs=("get",))) == {}
    assert _shadow(R("None", non_resource_urls=("*",)), R("Metadata", non_resource_urls=("/healthz",))) == {1: (0,)}


def test_url_prefixes_are_plain_string_prefixes() -> None:
    assert _shadow(R("None", non_resource_urls=("/api*",)), R("Metadata", non_resource_urls=("/apis*",))) == {1: (0,)}
    assert _shadow(R("None", non_resource_urls=("/healthz/*",)), R("Metadata", non_resource_urls=("/healthz",))) == {}


def test_star_star_matches_only_a_resource_or_subresource_named_star() -> None:
    assert _shadow(R("None", resources=(G("", "*/*"),)), R("Metadata", resources=(G("", "pods"),))) == {}
    assert _shadow(R("None", resources=(G("", "*/*"),)), R("Metadata", resources=(G("", "pods/*"),))) == {}
    assert _shadow(R("None", resources=(G("", "*"),)), R("Metadata", resources=(G("", "*/*"),))) == {1: (0,)}


def test_wildcard_patterns_need_more_than_their_literal_spellings_covered() -> None:
    # pods and */* cover pods, pods/*-spelled-literally, but not pods/log: pods/* is reachable
    assert _shadow(R("None", resources=(G("", "pods", "*/*"),)), R("Metadata", resources=(G("", "pods/*"),))) == {}
    # pods/log and */* cover the log of pods and of a resource named *, not of configmaps
    assert _shadow(R("None", resources=(G("", "pods/log", "*/*"),)), R("Metadata", resources=(G("", "*/log"),))) == {}
    assert _shadow(R("None", resources=(G("", "pods/*", "*/log"),)), R("Metadata", resources=(G("", "pods/log"),))) == {
        1: (0,)
    }


def test_group_star_covers_every_group() -> None:
    assert _shadow(R("None", resources=(G("*", "pods"),)), R("Metadata", resources=(G("apps", "pods"),))) == {1: (0,)}
    assert _shadow(R("None", resources=(G("apps", "pods"),)), R("Metadata", resources=(G("*", "pods"),))) == {}
    assert _shadow(R("None", resources=(G("", "pods"),)), R("Metadata", resources=(G("*", "pods"),))) == {}


def test_a_rule_that_matches_no_request_is_shadowed_by_nothing() -> None:
    # a resource is one path segment: no request has the combined name a/b/c
    assert _shadow(R("None", resources=(G("", "a/b/c"),)), R("Metadata")) == {0: ()}


def _corpus() -> list[Policy]:
    policies = []
    for path in sorted((DATA / "policies").glob("*.yaml")):
        load = load_policy_file(path)
        if load.policy is not None:
            policies.append(load.policy)
    return policies


@pytest.mark.parametrize("policy", _corpus(), ids=lambda p: p.source.rsplit("/", 1)[-1])
def test_corpus_policy_analysed_fast_and_every_repeated_rule_found(policy: Policy) -> None:
    started = time.perf_counter()
    result = shadowed_by(policy)
    assert time.perf_counter() - started < 0.1
    n = len(policy.rules)
    repeated = Policy((*policy.rules, *policy.rules))
    doubled = shadowed_by(repeated)
    assert {k: v for k, v in doubled.items() if k < n} == result  # the copies change nothing before them
    for k in range(n, 2 * n):  # a rule repeated later is always shadowed, by rules before the copy
        assert k in doubled and all(j < k for j in doubled[k])
