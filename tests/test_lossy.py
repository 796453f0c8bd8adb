"""Unknown verdicts for events whose format lost fields (policy.lossy): pinned against a brute-force
reference (unknown iff two completions of the lost fields give two answers), and the store's
numpy path (policy.lossy_decision) against the plain one, for any policy and any requests."""

from __future__ import annotations

from itertools import chain, combinations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.fields import CHANGES
from k8saudit_tui.engine.logs.formats import BY_NAME
from k8saudit_tui.engine.model import LEVELS, STAGES, Policy, PolicyRule, RequestAttributes
from k8saudit_tui.engine.policy.decision import AttributeCodes
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.lossy import GROUPS, LOST_BY_CODE, STAGE, UNKNOWN, outcome, possible_stages
from k8saudit_tui.engine.policy.lossy_decision import OMIT_UNKNOWN, UNKNOWN_LEVEL, UNKNOWN_RULE, LossyDecision
from k8saudit_tui.engine.store.verdicts import VERDICT_COLUMNS, Verdicts

from .test_decision import any_policy, any_request

LOST_SETS = (frozenset(), frozenset({GROUPS}), frozenset({STAGE}), frozenset({GROUPS, STAGE}))
OTHER_GROUP = "a-group-no-policy-names"


def _completions(policy: Policy, attrs: RequestAttributes, lost: frozenset[str]) -> list[RequestAttributes]:
    """`attrs` with every value its lost groups could have had: any subset of the groups the
    policy names, with or without one it does not name (no user: no groups, E2)."""
    if GROUPS not in lost or attrs.username is None:
        return [attrs]
    named = sorted({group for rule in policy.rules for group in rule.user_groups})
    subsets = chain.from_iterable(combinations(named, size) for size in range(len(named) + 1))
    return [attrs._replace(groups=(*subset, *extra)) for subset in subsets for extra in ((), (OTHER_GROUP,))]


def _reference(policy: Policy, attrs: RequestAttributes, lost: frozenset[str]) -> tuple[object, str, list[object]]:
    """rule, level and written per stage by brute force over completions (UNKNOWN / None where
    two completions disagree)."""
    evaluator = PolicyEvaluator(policy)
    verdicts = [evaluator.evaluate(completed) for completed in _completions(policy, attrs, lost)]
    rules = {v.rule for v in verdicts}
    levels = {v.level for v in verdicts}
    written: list[object] = []
    for stage in STAGES:
        stages = possible_stages(attrs) if STAGE in lost else (stage,)
        answers = {v.emits(s) for v in verdicts for s in stages}
        written.append(answers.pop() if len(answers) == 1 else None)
    return (rules.pop() if len(rules) == 1 else UNKNOWN), (levels.pop() if len(levels) == 1 else UNKNOWN), written


@settings(max_examples=400, deadline=None)
@given(any_policy, any_request, st.sampled_from(LOST_SETS))
def test_outcome_is_unknown_exactly_when_two_completions_differ(
    policy: Policy, attrs: RequestAttributes, lost: frozenset[str]
) -> None:
    got = outcome(PolicyEvaluator(policy), attrs, lost)
    assert (got.rule, got.level, [got.written(stage) for stage in STAGES]) == _reference(policy, attrs, lost)


@settings(max_examples=200, deadline=None)
@given(any_policy, any_request)
def test_nothing_lost_is_the_plain_verdict(policy: Policy, attrs: RequestAttributes) -> None:
    evaluator = PolicyEvaluator(policy)
    assert outcome(evaluator, attrs, frozenset()).verdicts == (evaluator.evaluate(attrs),)


@settings(max_examples=300, deadline=None)
@given(any_policy, st.lists(any_request, min_size=1, max_size=30), st.sampled_from(LOST_SETS), st.data())
def test_decision_equals_plain_outcome(
    policy: Policy, requests: list[RequestAttributes], lost: frozenset[str], data: st.DataObject
) -> None:
    evaluator = PolicyEvaluator(policy)
    codes = AttributeCodes()
    codes.extend(requests)
    start = data.draw(st.integers(0, len(requests)))
    rule, level, omitted, unknown_at = LossyDecision(evaluator, lost).decide(codes, start, len(requests))
    for row, attrs in enumerate(requests[start:]):
        plain = outcome(evaluator, attrs, lost)
        assert rule[row] == (UNKNOWN_RULE if plain.rule == UNKNOWN else -1 if plain.rule is None else plain.rule)
        assert level[row] == (UNKNOWN_LEVEL if plain.level == UNKNOWN else LEVELS.index(plain.level))
        assert unknown_at[row] == (-1 if plain.known else plain.verdicts[0].rule)
        for column, stage in enumerate(STAGES):
            written = plain.written(stage)
            assert omitted[row, column] == (OMIT_UNKNOWN if written is None else int(not written))


def _gke_policy() -> Policy:
    return Policy(
        (
            PolicyRule("None", users=("system:kube-proxy",), verbs=("watch",)),
            PolicyRule("Metadata", user_groups=("system:nodes",), resources=()),
            PolicyRule("RequestResponse", verbs=("create",)),
            PolicyRule("Request"),
        ),
        omit_stages=("RequestReceived",),
    )


def _pod(user: str | None, verb: str, subresource: str = "") -> RequestAttributes:
    return RequestAttributes(user, (), verb, True, "/api/v1/pods", "", "pods", subresource, "default", "p")


def test_an_earlier_rule_decides_the_event() -> None:
    got = outcome(PolicyEvaluator(_gke_policy()), _pod("system:kube-proxy", "watch"), frozenset({GROUPS, STAGE}))
    assert (got.rule, got.level, got.written("ResponseComplete")) == (0, "None", False)


def test_a_group_rule_makes_rule_and_level_unknown() -> None:
    got = outcome(PolicyEvaluator(_gke_policy()), _pod("alice", "get"), frozenset({GROUPS, STAGE}))
    assert [v.rule for v in got.verdicts] == [1, 3]
    assert (got.rule, got.level, got.written("ResponseComplete")) == (UNKNOWN, UNKNOWN, True)


def test_a_group_rule_with_the_same_level_as_the_fallback_keeps_the_level() -> None:
    policy = Policy((PolicyRule("Request", user_groups=("devs",)), PolicyRule("Request")))
    got = outcome(PolicyEvaluator(policy), _pod("alice", "get"), frozenset({GROUPS}))
    assert (got.rule, got.level) == (UNKNOWN, "Request")


def test_a_request_without_a_user_never_matches_groups() -> None:
    got = outcome(PolicyEvaluator(_gke_policy()), _pod(None, "get"), frozenset({GROUPS, STAGE}))
    assert (got.rule, got.level) == (3, "Request")


def test_omit_stages_of_a_long_running_request_is_unknown() -> None:
    policy = Policy((PolicyRule("Metadata", omit_stages=("ResponseStarted",)),))
    evaluator = PolicyEvaluator(policy)
    lost = frozenset({STAGE})
    assert outcome(evaluator, _pod("alice", "watch"), lost).written("ResponseComplete") is None
    assert outcome(evaluator, _pod("alice", "create", "exec"), lost).written("ResponseComplete") is None
    assert outcome(evaluator, _pod("alice", "get"), lost).written("ResponseStarted") is True  # only ResponseComplete
    assert outcome(evaluator, _pod("alice", "watch"), frozenset()).written("ResponseComplete") is True


def test_omitting_every_possible_stage_is_known() -> None:
    policy = Policy((PolicyRule("Metadata"),), omit_stages=("ResponseStarted", "ResponseComplete"))
    got = outcome(PolicyEvaluator(policy), _pod("alice", "watch"), frozenset({STAGE}))
    assert got.written("RequestReceived") is False


def test_decision_of_no_rows_is_empty() -> None:
    codes = AttributeCodes()
    rule, level, omitted, _ = LossyDecision(PolicyEvaluator(_gke_policy()), frozenset({GROUPS})).decide(codes, 0, 0)
    assert (len(rule), len(level), omitted.shape) == (0, 0, (0, len(STAGES)))
    assert rule.dtype == np.int16


def test_a_group_rule_whose_groups_an_earlier_one_named_is_unreachable() -> None:
    policy = Policy(
        (
            PolicyRule("Metadata", user_groups=("devs", "system:nodes")),
            PolicyRule("None", user_groups=("devs",)),
            PolicyRule("Metadata"),
        )
    )
    got = outcome(PolicyEvaluator(policy), _pod("alice", "get"), frozenset({GROUPS}))
    assert [v.rule for v in got.verdicts] == [0, 2]
    assert got.level == "Metadata"
    assert _reference(policy, _pod("alice", "get"), frozenset({GROUPS}))[1] == "Metadata"


group_rules = st.builds(
    PolicyRule,
    level=st.sampled_from(LEVELS),
    user_groups=st.lists(st.sampled_from(("devs", "system:nodes", "ops")), max_size=2).map(tuple),
    verbs=st.one_of(st.just(()), st.just(("get",))),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(group_rules, max_size=5).map(tuple), st.sampled_from(("get", "list")), st.data())
def test_overlapping_group_rules_against_the_reference(
    rules: tuple[PolicyRule, ...], verb: str, data: st.DataObject
) -> None:
    """Policies made of group rules that overlap, where reachability decides the level."""
    policy = Policy(rules)
    attrs = _pod("alice", verb)
    got = outcome(PolicyEvaluator(policy), attrs, frozenset({GROUPS}))
    assert (got.rule, got.level) == _reference(policy, attrs, frozenset({GROUPS}))[:2]
    codes = AttributeCodes()
    codes.extend([attrs])
    rule, level, _, _ = LossyDecision(PolicyEvaluator(policy), frozenset({GROUPS})).decide(codes, 0, 1)
    assert rule[0] == (UNKNOWN_RULE if got.rule == UNKNOWN else -1 if got.rule is None else got.rule)
    assert level[0] == (UNKNOWN_LEVEL if got.level == UNKNOWN else LEVELS.index(got.level))


GKE_CODE = BY_NAME["gke"].code
CODES = (0, BY_NAME["cloudwatch"].code, GKE_CODE)
"""A raw row, an exact envelope, and a format that lost groups and stage."""


@settings(max_examples=150, deadline=None)
@given(
    any_policy,
    any_policy,
    st.lists(st.tuples(any_request, st.sampled_from(CODES), st.integers(0, len(STAGES))), min_size=1, max_size=25),
)
def test_store_verdict_columns_equal_the_plain_outcome_per_row(
    policy: Policy, candidate: Policy, rows: list[tuple[RequestAttributes, int, int]]
) -> None:
    """The store's tables (exact and lossy, chosen per row by its format code) against
    `lossy.outcome` row by row, for both policies and the change class."""
    interned: dict[RequestAttributes, int] = {}
    for attrs, _, _ in rows:
        interned.setdefault(attrs, len(interned))
    attributes = list(interned)
    attr = np.array([interned[a] for a, _, _ in rows], np.int32)
    formats = np.array([code for _, code, _ in rows], np.uint8)
    stage = np.array([s for _, _, s in rows], np.int32)  # len(STAGES): a stage that is none of them
    current, other = PolicyEvaluator(policy), PolicyEvaluator(candidate)
    verdicts = Verdicts.empty().extended(attributes, formats).with_current(current, attributes)
    verdicts = verdicts.with_candidate(other, attributes)
    columns = {name: verdicts.column(name, attr, stage, formats).tolist() for name in VERDICT_COLUMNS}
    for row, (attrs, code, stage_code) in enumerate(rows):
        lost = LOST_BY_CODE[code]
        stage_name = STAGES[stage_code] if stage_code < len(STAGES) else "Other"
        expected = {}
        for prefix, evaluator in (("", current), ("candidate_", other)):
            got = outcome(evaluator, attrs, lost)
            written = got.written(stage_name) if stage_code < len(STAGES) or got.stages else True
            expected[prefix + "rule"] = UNKNOWN_RULE if got.rule == UNKNOWN else -1 if got.rule is None else got.rule
            expected[prefix + "level"] = UNKNOWN_LEVEL if got.level == UNKNOWN else LEVELS.index(got.level)
            expected[prefix + "omitted"] = OMIT_UNKNOWN if written is None else int(not written)
            expected[prefix + "unknown_at"] = -1 if got.known else got.verdicts[0].rule
        assert {name: columns[name][row] for name in expected} == expected
        assert CHANGES[columns["change"][row]] == _plain_change(expected)
        plain_rule = outcome(current, attrs, lost).rule
        assert verdicts.value("rule", int(attr[row]), stage_code, code) == plain_rule


def _plain_change(values: dict[str, int]) -> str:
    """fields.CHANGES read from both sides' level and omitted codes, one row at a time."""
    level, candidate_level = values["level"], values["candidate_level"]
    omitted, candidate_omitted = values["omitted"], values["candidate_omitted"]
    if OMIT_UNKNOWN in (omitted, candidate_omitted):
        return "unknown"
    if not omitted and not candidate_omitted:
        if UNKNOWN_LEVEL in (level, candidate_level):
            return "unknown"
        return "up" if candidate_level > level else "down" if candidate_level < level else "same"
    if not omitted:
        return "dropped"
    return "added" if not candidate_omitted else "same"
