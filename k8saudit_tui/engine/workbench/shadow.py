"""Shadowed rules, decided statically and soundly: rules no request can reach (M1).

Why: a reviewer must know which rules of a policy are dead by construction, and which earlier rules
hide them; a wrong "shadowed" would tell them to delete a rule that logs real traffic, so the answer
must never claim it when some request reaches the rule. Rule k is shadowed when every request it
matches is matched by an earlier rule (one, or several together). Requests are the ones
kube-apiserver builds (E5): any strings, except that a resource or subresource is one path segment
and never holds a `/` (otherwise `pods/*` would not cover `pods/log`, for a resource named `pods/log`).

How, exactly and not by sampling: every condition of `rule_matches` is monotone in atoms ("the
username is u", "the path starts with /api", "group g is among the user's groups"), so a request r
reaching k can be replaced by a *least* request that k matches: k's own literal in each dimension
k restricts, a fresh value (one no rule mentions) in each dimension it does not, a single one of
k's groups, the shortest path a pattern of k admits. Such a request satisfies no more atoms than
r, so no earlier rule matches it either. Rule k is therefore reachable iff one of these finitely
many points is, and the points are checked with bitsets of earlier rules per dimension (the
per-dimension tests are `evaluate`'s own). A rule too big to enumerate (over `MAX_POINTS`) is
reported as not shadowed: unsure never means shadowed. tests/test_shadow.py proves both directions
against brute force with the real matcher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import TypeVar

from k8saudit_tui.engine.model import Policy, PolicyRule, RequestAttributes
from k8saudit_tui.engine.policy.evaluate import group_resources_match, groups_match, path_matches, users_match

MAX_POINTS = 200_000
"""Least requests examined per rule before giving up on it (then: not shadowed, the sound answer)."""

Identity = tuple[str | None, tuple[str, ...]]
ResourcePoint = tuple[str, str, str, str]
"""(apiGroup, resource, subresource, name)."""
T = TypeVar("T")


def shadowed_by(policy: Policy) -> dict[int, tuple[int, ...]]:
    """Shadowed rule index -> a small set of earlier rule indexes that together match all it can.

    A rule that matches no request at all (`resources: [a/b/c]`: no resource holds a `/`) is
    shadowed by nothing: its tuple is empty, whatever its index.
    """
    rules = policy.rules
    fresh = _fresh_char(rules)
    result: dict[int, tuple[int, ...]] = {}
    for k in range(len(rules)):
        covers = _covers(rules, k, fresh)
        if covers is not None:
            result[k] = _small_cover(covers)
    return result


def _is_resource_rule(rule: PolicyRule) -> bool:
    return bool(rule.namespaces or rule.resources)  # M7


def _is_non_resource_rule(rule: PolicyRule) -> bool:
    return not _is_resource_rule(rule) and bool(rule.non_resource_urls)  # M7


def _covers(rules: Sequence[PolicyRule], k: int, fresh: str) -> list[int] | None:
    """Bitsets of earlier rules, one per group of least requests of rule k; None when k is reachable.

    A rule is covered when every least request has a matching earlier rule: each bitset lists the
    earlier rules that match every request of its group.
    """
    rule = rules[k]
    earlier = rules[:k]
    covers: list[int] = []
    kinds = [True] if _is_resource_rule(rule) else [False] if _is_non_resource_rule(rule) else [True, False]
    for resource_request in kinds:
        dims = _dimensions(rule, earlier, resource_request, fresh)
        if dims is None:
            return None
        if any(not masks for masks, _ in dims):  # k matches no request of this kind
            continue
        start = 0
        for j, other in enumerate(earlier):
            if not (_is_non_resource_rule(other) if resource_request else _is_resource_rule(other)):
                start |= 1 << j
        if not _search(dims, 0, start, covers):
            return None
    return covers


Dimension = tuple[list[int], int]
"""Per least value of one dimension, the bitset of earlier rules it satisfies; and the bitset of
earlier rules that do not restrict this dimension at all."""


def _dimensions(
    rule: PolicyRule, earlier: Sequence[PolicyRule], resource_request: bool, fresh: str
) -> list[Dimension] | None:
    """The dimensions of the request space for one kind of request, with rule k's least values."""
    identities = _least_identities(rule, fresh)
    verbs = list(rule.verbs) if rule.verbs else [fresh + "verb"]
    dims = [
        _dimension(earlier, identities, lambda r: bool(r.users or r.user_groups), _identity_matches),
        _dimension(earlier, verbs, lambda r: bool(r.verbs), lambda r, v: v in r.verbs),
    ]
    if resource_request:
        namespaces = list(rule.namespaces) if rule.namespaces else [fresh + "ns"]
        dims.append(_dimension(earlier, namespaces, lambda r: bool(r.namespaces), lambda r, n: n in r.namespaces))
        points = _least_resources(rule, fresh)
        dims.append(_dimension(earlier, points, lambda r: bool(r.resources), _resources_match))
    else:
        paths = [_least_path(p, fresh) for p in rule.non_resource_urls] if rule.non_resource_urls else [fresh]
        urls = lambda r: bool(r.non_resource_urls) and not _is_resource_rule(r)  # noqa: E731
        dims.append(_dimension(earlier, paths, urls, lambda r, p: any(path_matches(u, p) for u in r.non_resource_urls)))
    size = 1
    for values, _ in dims:
        size *= len(values)
    return None if size > MAX_POINTS else dims


def _dimension(
    earlier: Sequence[PolicyRule],
    values: list[T],
    restricts: Callable[[PolicyRule], bool],
    matches: Callable[[PolicyRule, T], bool],
) -> Dimension:
    free = 0
    for j, other in enumerate(earlier):
        if not restricts(other):
            free |= 1 << j
    masks = []
    for value in dict.fromkeys(values):
        mask = free
        for j, other in enumerate(earlier):
            if not free >> j & 1 and matches(other, value):
                mask |= 1 << j
        masks.append(mask)
    return masks, free


def _search(dims: list[Dimension], depth: int, alive: int, covers: list[int]) -> bool:
    """Whether every least request under `alive` (earlier rules matching so far) is matched."""
    if alive == 0:
        return False
    rest = alive
    for _, free in dims[depth:]:
        rest &= free
    if rest:  # these rules match whatever the remaining dimensions hold
        covers.append(rest)
        return True
    masks, _ = dims[depth]
    return all(_search(dims, depth + 1, alive & mask, covers) for mask in masks)


def _least_identities(rule: PolicyRule, fresh: str) -> list[Identity]:
    """M5, M6: no user when k needs none; else one of k's users (or a fresh one) with one k group."""
    if not rule.users and not rule.user_groups:
        return [(None, ())]
    users: Sequence[str] = rule.users or (fresh + "user",)
    group_sets = [(g,) for g in rule.user_groups] if rule.user_groups else [()]
    return [(user, groups) for user in users for groups in group_sets]


def _identity_matches(rule: PolicyRule, identity: Identity) -> bool:
    attrs = RequestAttributes(identity[0], identity[1], "", False)
    return (not rule.users or users_match(rule, attrs)) and (not rule.user_groups or groups_match(rule, attrs))


def _least_resources(rule: PolicyRule, fresh: str) -> list[ResourcePoint]:
    """M9, M10: per GroupResources entry of k, the least (group, resource, subresource, name)."""
    fresh_group, fresh_name = fresh + "group", fresh + "name"
    if not rule.resources:
        return [(fresh_group, fresh + "resource", "", fresh_name)]
    points: list[ResourcePoint] = []
    for entry in rule.resources:
        group = fresh_group if entry.group == "*" else entry.group
        if not entry.resources:  # every resource of the group, whatever the names
            points.append((group, fresh + "resource", "", fresh_name))
            continue
        names: Sequence[str] = entry.resource_names or (fresh_name,)
        for pattern in entry.resources:
            for resource, subresource in _least_pairs(pattern, fresh):
                points.extend((group, resource, subresource, name) for name in names)
    return points


def _least_pairs(pattern: str, fresh: str) -> Iterator[tuple[str, str]]:
    """The least (resource, subresource) pairs `resource_pattern_matches` accepts for `pattern`.

    Both are single URL path segments (E5: the path is split on `/` after decoding), so neither
    holds a `/`: exact `R` or `R/S` is one pair (`a/b/c` none); `*` is a fresh resource; `*/X` a
    fresh resource with subresource X; `Y/*` is Y with a fresh subresource (it matches Y alone too,
    which satisfies no fewer atoms).
    """
    if pattern == "*":
        yield fresh + "resource", ""
        return
    resource, slash, subresource = pattern.partition("/")
    if not slash:
        yield pattern, ""
    elif subresource and "/" not in subresource:
        yield resource, subresource
    if pattern.startswith("*/") and "/" not in pattern[2:] and len(pattern) > 2:
        yield fresh + "resource", pattern[2:]
    if pattern.endswith("/*") and "/" not in pattern[:-2]:
        yield pattern[:-2], fresh + "sub"


def _resources_match(rule: PolicyRule, point: ResourcePoint) -> bool:
    group, resource, subresource, name = point
    attrs = RequestAttributes(None, (), "", True, "", group, resource, subresource, "", name)
    return any(group_resources_match(entry, attrs) for entry in rule.resources)


def _least_path(pattern: str, fresh: str) -> str:
    """M11: the least path a pattern admits: any path for `*`, the prefix then a fresh character."""
    if pattern == "*":
        return fresh
    if pattern.endswith("*"):
        return pattern.rstrip("*") + fresh
    return pattern


def _fresh_char(rules: Sequence[PolicyRule]) -> str:
    """A character no string of the policy contains: values built with it are fresh everywhere."""
    used: set[str] = set()
    for rule in rules:
        for text in chain(rule.users, rule.user_groups, rule.verbs, rule.namespaces, rule.non_resource_urls):
            used.update(text)
        for entry in rule.resources:
            for text in chain((entry.group,), entry.resources, entry.resource_names):
                used.update(text)
    code = 1
    while chr(code) in used:
        code += 1
    return chr(code)


def _small_cover(covers: list[int]) -> tuple[int, ...]:
    """Greedy set cover: earlier rules that together hit every bitset, then redundant ones dropped."""
    chosen: list[int] = []
    pending = list(dict.fromkeys(covers))
    while pending:
        counts: dict[int, int] = {}
        for mask in pending:
            for j in _bits(mask):
                counts[j] = counts.get(j, 0) + 1
        best = max(counts, key=lambda j: (counts[j], -j))
        chosen.append(best)
        pending = [mask for mask in pending if not mask >> best & 1]
    for j in sorted(chosen, reverse=True):
        others = [i for i in chosen if i != j]
        if all(any(mask >> i & 1 for i in others) for mask in covers):
            chosen = others
    return tuple(sorted(chosen))


def _bits(mask: int) -> Iterator[int]:
    j = 0
    while mask:
        if mask & 1:
            yield j
        mask >>= 1
        j += 1
