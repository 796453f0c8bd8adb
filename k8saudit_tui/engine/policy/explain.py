"""Why an event got its level: every rule up to the one that matched, clause by clause.

Each clause is judged on its own (upstream stops at the first failing clause), so a user fixing a
typo sees every reason a rule missed, not just the first. Reasons are what users read: plain words,
no spec codes (the `(M7)`-style references stay in docstrings, for developers). `rule_matches` in evaluate.py stays the
single source of truth: a rule's `matched` here is asserted equal to it in the tests.

For an event whose format lost fields (`lost`, policy/lossy.py), a userGroups clause it cannot
judge is `unknown` with the format's reason ("cannot evaluate: user groups are not present in GKE
logs"); such a rule neither matches nor misses, and the trace goes on, as the lossy walk does, to
the rule that decides whatever the groups. `Explanation.outcome` then holds every possible verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule, RequestAttributes, Verdict
from k8saudit_tui.engine.policy.evaluate import (
    PolicyEvaluator,
    group_resources_match,
    path_matches,
    resource_pattern_matches,
)
from k8saudit_tui.engine.policy.lossy import GROUPS, UNKNOWN, Outcome, outcome
from k8saudit_tui.engine.textsafe import visible

ClauseStatus = Literal["matched", "failed", "n/a", "unknown"]


@dataclass(frozen=True, slots=True)
class ClauseTrace:
    """One clause of a rule (users, userGroups, verbs, namespaces, resources, nonResourceURLs)."""

    name: str
    status: ClauseStatus
    reason: str
    is_set: bool = True
    """False when the rule does not set the clause at all (it accepts any value)."""


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule as tried against the request."""

    index: int
    level: str
    line: int | None
    matched: bool
    clauses: tuple[ClauseTrace, ...]
    unknown: bool = False
    """Whether a clause could not be judged (a lost field) and none failed: it may match."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """The rules tried, in order, up to and including the one that matched; and the verdict."""

    attrs: RequestAttributes
    rules: tuple[RuleTrace, ...]
    verdict: Verdict
    """The verdict of the fields the event has (for a lossy event: as if its lost groups were none)."""
    outcome: Outcome | None = None
    """For an event whose format lost fields: every verdict it could have (policy.lossy)."""
    reasons: Mapping[str, str] | None = None
    """Per lost field, why it cannot be evaluated (e.g. formats.gke.LOST_REASONS)."""

    @property
    def unknown(self) -> bool:
        """Whether the lost fields leave the rule undecided."""
        return self.outcome is not None and not self.outcome.known


def explain(
    policy: Policy,
    attrs: RequestAttributes,
    lost: frozenset[str] = frozenset(),
    reasons: Mapping[str, str] | None = None,
) -> Explanation:
    """Trace `attrs` through `policy` rule by rule (M1): stop after the first match. With `lost`
    fields (and their `reasons`), a rule that may match is marked and the trace goes on."""
    traces: list[RuleTrace] = []
    groups_lost = GROUPS in lost
    for index, rule in enumerate(policy.rules):
        clauses = rule_clauses(rule, attrs)
        if groups_lost and rule.user_groups and attrs.username is not None:
            reason = (reasons or {}).get(GROUPS, "user groups are not present in this format")
            clauses = (clauses[0], ClauseTrace("userGroups", "unknown", f"cannot evaluate: {reason}"), *clauses[2:])
        failed = any(clause.status == "failed" for clause in clauses)
        unknown = not failed and any(clause.status == "unknown" for clause in clauses)
        traces.append(RuleTrace(index, rule.level, rule.line, not failed and not unknown, clauses, unknown))
        if not failed and not unknown:
            break
    evaluator = PolicyEvaluator(policy)
    lossy = outcome(evaluator, attrs, lost) if lost else None
    return Explanation(attrs, tuple(traces), evaluator.evaluate(attrs), lossy, reasons)


def rule_clauses(rule: PolicyRule, attrs: RequestAttributes) -> tuple[ClauseTrace, ...]:
    """Judge each clause of `rule` against `attrs`, in upstream's order (M3)."""
    return (
        _users_clause(rule, attrs),
        _groups_clause(rule, attrs),
        _list_clause("verbs", rule.verbs, attrs.verb, "verb"),
        _namespaces_clause(rule, attrs),
        _resources_clause(rule, attrs),
        _non_resource_clause(rule, attrs),
    )


def _quote_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_q(value) for value in values) + "]"


def _q(value: str) -> str:
    return '"' + visible(value).replace('"', '\\"') + '"'


def _not_set(name: str) -> ClauseTrace:
    return ClauseTrace(name, "n/a", "not set: any value", is_set=False)


def _list_clause(name: str, allowed: tuple[str, ...], value: str, noun: str) -> ClauseTrace:
    """Exact, case-sensitive membership (M4): `*` is literal here."""
    if not allowed:
        return _not_set(name)
    if value in allowed:
        return ClauseTrace(name, "matched", f"{noun} {_q(value)} in {_quote_list(allowed)}")
    return ClauseTrace(name, "failed", f"{noun} {_q(value)} not in {_quote_list(allowed)}")


def _users_clause(rule: PolicyRule, attrs: RequestAttributes) -> ClauseTrace:
    if rule.users and attrs.username is None:
        return ClauseTrace("users", "failed", "request has no authenticated user")
    return _list_clause("users", rule.users, attrs.username or "", "user")


def _groups_clause(rule: PolicyRule, attrs: RequestAttributes) -> ClauseTrace:
    if not rule.user_groups:
        return _not_set("userGroups")
    if attrs.username is None:
        return ClauseTrace("userGroups", "failed", "request has no authenticated user")
    hits = tuple(group for group in attrs.groups if group in rule.user_groups)
    if hits:
        return ClauseTrace("userGroups", "matched", f"group {_q(hits[0])} in {_quote_list(rule.user_groups)}")
    return ClauseTrace(
        "userGroups",
        "failed",
        f"none of the groups {_quote_list(attrs.groups)} in {_quote_list(rule.user_groups)}",
    )


def _is_resource_rule(rule: PolicyRule) -> bool:
    return bool(rule.namespaces or rule.resources)


def _namespaces_clause(rule: PolicyRule, attrs: RequestAttributes) -> ClauseTrace:
    if not rule.namespaces:
        return _not_set("namespaces")
    if not attrs.resource_request:
        return ClauseTrace("namespaces", "failed", "a rule with namespaces applies to resource requests only")
    return _list_clause("namespaces", rule.namespaces, attrs.namespace, "namespace")


def _resources_clause(rule: PolicyRule, attrs: RequestAttributes) -> ClauseTrace:
    if not rule.resources:
        return _not_set("resources")
    if not attrs.resource_request:
        return ClauseTrace("resources", "failed", "a rule with resources applies to resource requests only")
    for entry in rule.resources:
        if group_resources_match(entry, attrs):
            return ClauseTrace("resources", "matched", _entry_match_reason(entry, attrs))
    reasons = "; ".join(_entry_miss_reason(entry, attrs) for entry in rule.resources)
    return ClauseTrace("resources", "failed", reasons)


def _group_label(group: str) -> str:
    return "core group" if group == "" else f"group {_q(group)}"


def _combined(attrs: RequestAttributes) -> str:
    return f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource


def _entry_match_reason(entry: GroupResources, attrs: RequestAttributes) -> str:
    where = f"{_q(_combined(attrs))} in {_group_label(attrs.api_group)}"
    if not entry.resources:
        return f"{where}: entry for {_group_label(entry.group)} covers every resource"
    return f"{where} matches {_quote_list(entry.resources)}"


def _entry_miss_reason(entry: GroupResources, attrs: RequestAttributes) -> str:
    """Say why one GroupResources entry does not match (M9, M10)."""
    if entry.group != attrs.api_group and entry.group != "*":
        return f"{_group_label(entry.group)} is not the request's {_group_label(attrs.api_group)}"
    combined = _combined(attrs)
    patterns = tuple(
        p for p in entry.resources if resource_pattern_matches(p, attrs.resource, attrs.subresource, combined)
    )
    if not patterns:
        return f"{_q(combined)} matches none of {_quote_list(entry.resources)}"
    return (
        f"{_q(combined)} matches {_quote_list(patterns)} but name {_q(attrs.name)} is not in "
        f"resourceNames {_quote_list(entry.resource_names)}"
    )


def _non_resource_clause(rule: PolicyRule, attrs: RequestAttributes) -> ClauseTrace:
    if not rule.non_resource_urls:
        return _not_set("nonResourceURLs")
    if _is_resource_rule(rule):
        return ClauseTrace("nonResourceURLs", "n/a", "ignored: the rule also has namespaces or resources")
    if attrs.resource_request:
        return ClauseTrace("nonResourceURLs", "failed", "a resource request never matches nonResourceURLs")
    hits = tuple(p for p in rule.non_resource_urls if path_matches(p, attrs.path))
    if hits:
        return ClauseTrace("nonResourceURLs", "matched", f"path {_q(attrs.path)} matches {_q(hits[0])}")
    return ClauseTrace(
        "nonResourceURLs", "failed", f"path {_q(attrs.path)} matches none of {_quote_list(rule.non_resource_urls)}"
    )


def describe_request(attrs: RequestAttributes) -> str:
    """One line saying what the checker saw, with every untrusted value made visible."""
    who = f"user {_q(attrs.username)}" if attrs.username is not None else "no authenticated user"
    if attrs.groups:
        who += f" (groups {_quote_list(attrs.groups)})"
    if not attrs.resource_request:
        return f"{who}, verb {_q(attrs.verb)}, non-resource path {_q(attrs.path)}"
    what = f"{_q(_combined(attrs))} in {_group_label(attrs.api_group)}"
    scope = f"namespace {_q(attrs.namespace)}" if attrs.namespace else "no namespace (cluster scope or all)"
    return f"{who}, verb {_q(attrs.verb)}, resource {what}, {scope}, name {_q(attrs.name)}"


_MARKS: dict[ClauseStatus, str] = {"matched": "+", "failed": "x", "n/a": "-", "unknown": "?"}


def format_explanation(explanation: Explanation) -> str:
    """Plain-text trace for the CLI: one block per rule tried, then the verdict.

    A rule's block shows the clauses it sets, each matched `[+]`, failed `[x]` or not applicable
    `[-]` with the reason, then one line naming the clauses it leaves unset: those decide nothing,
    and a line each buried the ones that did.
    """
    lines = [f"request: {describe_request(explanation.attrs)}"]
    for trace in explanation.rules:
        where = f" (line {trace.line})" if trace.line is not None else ""
        result = "MATCH" if trace.matched else "CANNOT EVALUATE" if trace.unknown else "no match"
        lines.append(f"rule {trace.index}{where} level {trace.level}: {result}")
        for clause in trace.clauses:
            if clause.is_set:
                lines.append(f"  [{_MARKS[clause.status]}] {clause.name}: {clause.reason}")
        unset = [clause.name for clause in trace.clauses if not clause.is_set]
        if len(unset) == len(trace.clauses):
            lines.append("  no clause set: the rule matches every request")
        elif unset:
            lines.append(f"  other clauses not set (any value): {', '.join(unset)}")
    lines.append(format_outcome(explanation.outcome) if explanation.unknown else format_verdict(explanation.verdict))
    return "\n".join(lines)


def format_outcome(got: Outcome | None) -> str:
    """`verdict: unknown: rule 1 (RequestResponse) or rule 3 (Request); level unknown`."""
    if got is None:
        return "verdict: unknown"
    choices = " or ".join(f"{'no rule' if v.rule is None else f'rule {v.rule}'} ({v.level})" for v in got.verdicts)
    level = "level unknown" if got.level == UNKNOWN else f"level {got.level} either way"
    return f"verdict: unknown: {choices}; {level}"


def format_verdict(verdict: Verdict) -> str:
    """`verdict: rule 3, level Metadata, omitStages [...], omitManagedFields false`."""
    rule = "no rule matched" if verdict.rule is None else f"rule {verdict.rule}"
    stages = ", ".join(sorted(verdict.omit_stages))
    return (
        f"verdict: {rule}, level {verdict.level}, omitStages [{stages}], "
        f"omitManagedFields {str(verdict.omit_managed_fields).lower()}"
    )
