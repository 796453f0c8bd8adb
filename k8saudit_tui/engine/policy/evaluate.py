"""Evaluating an audit Policy for a request exactly as `pkg/audit/policy/checker.go` does (M1-M15)."""

from __future__ import annotations

from k8saudit_tui.engine.logs.attributes import attributes_key, request_attributes
from k8saudit_tui.engine.logs.event import EventFields
from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule, RequestAttributes, Verdict

MEMO_LIMIT = 200_000
"""Entries per memo before it starts over: real traffic has a few thousand distinct requests, a
hostile log can have millions (one per user name), and memory must stay bounded."""


class PolicyEvaluator:
    """Decides the Verdict of a policy for request attributes; memoised, since traffic repeats.

    Like upstream `NewPolicyRuleEvaluator`, the per-rule omitStages union (M13) is computed once.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        policy_stages = frozenset(policy.omit_stages)
        self._rule_verdicts = tuple(
            Verdict(
                index,
                rule.level,
                policy_stages | frozenset(rule.omit_stages),
                policy.omit_managed_fields if rule.omit_managed_fields is None else rule.omit_managed_fields,
            )
            for index, rule in enumerate(policy.rules)
        )
        self._no_match = Verdict(None, "None", policy_stages, policy.omit_managed_fields)  # M2
        self._memo: dict[RequestAttributes, Verdict] = {}
        self._event_memo: dict[tuple[object, ...], Verdict] = {}

    def verdict_of(self, rule: int | None) -> Verdict:
        """The verdict `evaluate` gives a request whose first matching rule is `rule` (None: no
        rule matched): what a decision over many requests at once (policy.decision) maps to."""
        return self._no_match if rule is None else self._rule_verdicts[rule]

    def evaluate(self, attrs: RequestAttributes) -> Verdict:
        """The verdict of the first rule that matches `attrs` (M1), or the no-match verdict (M2)."""
        verdict = self._memo.get(attrs)
        if verdict is None:
            index = first_matching_rule(self.policy, attrs)
            verdict = self._no_match if index is None else self._rule_verdicts[index]
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[attrs] = verdict
        return verdict

    def evaluate_event(self, event: EventFields) -> Verdict:
        """The verdict for a recorded event; memoised on the event fields the attributes come from.

        The key holds every field `request_attributes` reads (the URI only where it is used), so two
        events with one key have one set of attributes: a miss builds them the one way there is.
        """
        key = attributes_key(event)
        verdict = self._event_memo.get(key)
        if verdict is None:
            verdict = self.evaluate(request_attributes(event))
            if len(self._event_memo) >= MEMO_LIMIT:
                self._event_memo.clear()
            self._event_memo[key] = verdict
        return verdict


def first_matching_rule(policy: Policy, attrs: RequestAttributes) -> int | None:
    """Index of the first rule that matches (M1), None when none does."""
    for index, rule in enumerate(policy.rules):
        if rule_matches(rule, attrs):
            return index
    return None


def rule_matches(rule: PolicyRule, attrs: RequestAttributes) -> bool:
    """`ruleMatches`: users, userGroups, verbs, then the resource or non-resource part (M3, M7)."""
    if rule.users and not users_match(rule, attrs):
        return False
    if rule.user_groups and not groups_match(rule, attrs):
        return False
    if rule.verbs and attrs.verb not in rule.verbs:  # M12
        return False
    if rule.namespaces or rule.resources:  # M7: a resource rule
        return attrs.resource_request and resource_part_matches(rule, attrs)
    if rule.non_resource_urls:  # M7: a non-resource rule
        return not attrs.resource_request and any(
            path_matches(pattern, attrs.path) for pattern in rule.non_resource_urls
        )
    return True


def users_match(rule: PolicyRule, attrs: RequestAttributes) -> bool:
    """M5: exact username; a request without a user never matches."""
    return attrs.username is not None and attrs.username in rule.users


def groups_match(rule: PolicyRule, attrs: RequestAttributes) -> bool:
    """M6: at least one of the user's groups is listed; no user never matches."""
    return attrs.username is not None and any(g in rule.user_groups for g in attrs.groups)


def resource_part_matches(rule: PolicyRule, attrs: RequestAttributes) -> bool:
    """`ruleMatchesResource`: namespaces (M8), then any GroupResources entry (M9)."""
    if rule.namespaces and attrs.namespace not in rule.namespaces:
        return False
    if not rule.resources:
        return True
    return any(group_resources_match(entry, attrs) for entry in rule.resources)


def group_resources_match(entry: GroupResources, attrs: RequestAttributes) -> bool:
    """M9: group equal (or `*`), then no resources, or a matching pattern with resourceNames."""
    if entry.group != attrs.api_group and entry.group != "*":
        return False
    if not entry.resources:
        return True
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    for pattern in entry.resources:
        if resource_pattern_matches(pattern, attrs.resource, attrs.subresource, combined):
            if not entry.resource_names or attrs.name in entry.resource_names:  # M10
                return True
    return False


def resource_pattern_matches(pattern: str, resource: str, subresource: str, combined: str) -> bool:
    """M9 step 3, in upstream's order: exact combined name or `*`, `*/sub`, then `res/*`.

    The checks are not exclusive: `*/*` fails the `*/sub` test unless the subresource is literally
    `*`, and then still gets the `res/*` test against a resource literally named `*`.
    """
    if pattern == combined or pattern == "*":
        return True
    if subresource and pattern.startswith("*/") and pattern[2:] == subresource:
        return True
    return pattern.endswith("/*") and pattern[:-2] == resource


def path_matches(pattern: str, path: str) -> bool:
    """`pathMatches` (M11): `*`, exact, or a trailing-`*` plain string prefix."""
    if pattern == "*" or pattern == path:
        return True
    if pattern.endswith("*"):
        return path.startswith(pattern.rstrip("*"))
    return False
