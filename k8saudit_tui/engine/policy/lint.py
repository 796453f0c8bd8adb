"""Warnings about policy entries that load but can never match: a built-in resource under a group
that does not serve it.

Why: kube-apiserver checks only the shape of `resources` (V7), so `{group: "", resources:
[deployments]}` loads and silently never matches, and the requests it was written for fall through
to a later rule. These warnings say so, and name the group that serves the resource.

Contract: sure or silent. A warning is given only for a resource name that the built-in table
(`builtin_resources.py`) knows, under a group the table knows (or `extensions`, removed in 1.22)
that does not serve it; a name the table does not know may be a CRD or newer than the table, a
group it does not know may be a CRD's, and names with a `*` match by pattern: none of these warn.
A whole-group `extensions` entry (no resources) is left alone too: policies list it beside the
current groups for older servers, and on a current one it costs nothing. Warnings never change
whether kube-apiserver would load the policy.
"""

from __future__ import annotations

from k8saudit_tui.engine.model import Policy, Problem
from k8saudit_tui.engine.policy.builtin_resources import BUILTIN_RESOURCES, CORE, REMOVED_GROUPS, groups_serving
from k8saudit_tui.engine.policy.decoder import PolicyLoad
from k8saudit_tui.engine.textsafe import visible

NEVER_MATCHES = "this entry never matches it"


def lint_policy(policy: Policy) -> tuple[Problem, ...]:
    """The warnings for every resource of every rule that its group does not serve, in file order."""
    found: list[Problem] = []
    for i, rule in enumerate(policy.rules):
        for k, entry in enumerate(rule.resources):
            for j, resource in enumerate(entry.resources):
                message = misplaced(entry.group, resource)
                if message is None:
                    continue
                line = rule.field_lines.get(f"resources[{k}].resources[{j}]", entry.line)
                found.append(
                    Problem(policy.source, line, f"rules[{i}].resources[{k}].resources[{j}]", message, "warning")
                )
    return tuple(found)


def with_lint(load: PolicyLoad) -> PolicyLoad:
    """`load` with the lint warnings of its decoded policy among its problems, in line order."""
    if load.decoded is None:
        return load
    extra = lint_policy(load.decoded)
    if not extra:
        return load
    problems = sorted((*load.problems, *extra), key=lambda problem: problem.line or 0)
    return PolicyLoad(load.policy, tuple(problems), load.decoded)


def misplaced(group: str, resource: str) -> str | None:
    """Why `resource` under `group` never matches, or None when it may (or we cannot be sure)."""
    if "*" in resource:
        return None
    removed_in = REMOVED_GROUPS.get(group)
    if removed_in is not None:
        return _removed_group_message(group, removed_in, resource)
    served = BUILTIN_RESOURCES.get(group)
    if served is None or resource in served:
        return None
    base = resource.split("/", 1)[0]
    if base in served:  # a subresource the table does not know, of a resource this group serves
        return None
    homes = groups_serving(resource) or groups_serving(base)
    if not homes:
        return None  # unknown here and everywhere: maybe a CRD, maybe newer than the table
    return f"{visible(resource)} is not in {_group_name(group)}; it is served by {_list(homes)}: {NEVER_MATCHES}"


def _removed_group_message(group: str, removed_in: str, resource: str) -> str:
    homes = groups_serving(resource) or groups_serving(resource.split("/", 1)[0])
    moved = f"; {visible(resource)} is served by {_list(homes)}" if homes else ""
    return (
        f"the {group} group serves nothing since Kubernetes {removed_in}{moved}: "
        f"this entry never matches {visible(resource)} on kube-apiserver >= {removed_in}"
    )


def _group_name(group: str) -> str:
    return 'the core group ("")' if group == CORE else f"the {group} group"


def _list(groups: tuple[str, ...]) -> str:
    names = [_group_name(group) if group == CORE else group for group in groups]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
