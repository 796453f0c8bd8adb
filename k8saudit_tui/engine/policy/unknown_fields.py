"""The fields kube-apiserver knows, and what it means for a policy when one is dropped.

kube-apiserver decodes a policy strictly, and when the only trouble is unknown fields it decodes
again leniently and drops them with a logged warning (L3). A dropped field is rarely harmless: a
misspelt `verb:` makes the rule match every verb. So every unknown field becomes a warning that
says what the drop does (`rule 3 now applies to every verb`), with the near miss it probably
was (case slip, small typo) or the level it probably belonged at (`verbs` indented into a
resources entry). The tables are kube-apiserver's schema (`audit.k8s.io/v1` Policy, PolicyRule,
GroupResources, ObjectMeta); the wording is ours.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from k8saudit_tui.engine.policy.yaml_tree import Entry, Node

POLICY_FIELDS = ("apiVersion", "kind", "metadata", "rules", "omitStages", "omitManagedFields")
RULE_FIELDS = (
    "level",
    "users",
    "userGroups",
    "verbs",
    "resources",
    "namespaces",
    "nonResourceURLs",
    "omitStages",
    "omitManagedFields",
)
GROUP_RESOURCES_FIELDS = ("group", "resources", "resourceNames")
METADATA_FIELDS = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)

AbsentEffect = Callable[[str], str]
"""What the policy does without a given known field ("" when nothing worth saying)."""

_RULE_ABSENT = {
    "level": "rule {i} has no level, which kube-apiserver refuses",
    "users": "rule {i} now applies to every user",
    "userGroups": "rule {i} now applies to users of every group",
    "verbs": "rule {i} now applies to every verb",
    "resources": "rule {i} now applies to every resource",
    "namespaces": "rule {i} now applies in every namespace",
    "nonResourceURLs": "rule {i} is no longer limited to these non-resource URLs",
    "omitStages": "rule {i} omits no stages of its own",
    "omitManagedFields": "rule {i} inherits the policy's omitManagedFields",
}
"""What a rule does when a field it was meant to have is dropped (effects for L3 warnings)."""

_ENTRY_ABSENT = {
    "group": 'resources[{k}] of rule {i} now selects the core group ("")',
    "resources": "resources[{k}] of rule {i} now matches every resource of {group}",
    "resourceNames": "resources[{k}] of rule {i} now matches objects of any name",
}

_POLICY_ABSENT = {
    "rules": "the policy has no rules",
    "omitStages": "the policy omits no stages",
    "omitManagedFields": "managed fields are kept unless a rule omits them",
    "metadata": "no effect",
}


def no_effect(name: str) -> str:
    """For mappings (metadata) where a dropped field changes nothing worth saying."""
    return ""


def policy_effect(name: str) -> str:
    return _POLICY_ABSENT.get(name, "")


def rule_effect(i: int) -> AbsentEffect:
    """The effects of dropping a field of rule `i`."""

    def effect(name: str) -> str:
        return _RULE_ABSENT.get(name, "").format(i=i)

    return effect


def entry_effect(k: int, i: int, group: str) -> AbsentEffect:
    """The effects of dropping a field of `resources[k]` of rule `i`, whose group reads `group`."""

    def effect(name: str) -> str:
        return _ENTRY_ABSENT.get(name, "").format(i=i, k=k, group=group)

    return effect


def unknown_message(
    key: str,
    known: tuple[str, ...],
    node: Node,
    absent_effect: AbsentEffect,
    parent: tuple[int, Mapping[str, Entry]] | None,
) -> str:
    """`unknown field ignored by kube-apiserver (hint); effect` for one dropped field (L3).

    `node` is the mapping holding `key`; `parent` is (rule index, the rule's known fields) when
    that mapping is a resources entry, to catch rule fields indented one level too deep.
    """
    message = "unknown field ignored by kube-apiserver"
    present = {entry.key: entry for entry in node.entries}
    meant = near_miss(key, known)
    if meant is not None:
        if meant in present:
            return f"{message} (did you mean {meant}? it is also set, on line {present[meant].key_line})"
        effect = absent_effect(meant)
        hint = "field names are case-sensitive: " if meant.lower() == key.lower() else ""
        return f"{message} ({hint}did you mean {meant}?)" + (f"; {effect}" if effect else "")
    if parent is not None and key in RULE_FIELDS:
        rule_index, rule_fields = parent
        hint = f" ({key} is a field of the rule, not of a resources entry: check the indentation)"
        if key in rule_fields:
            line = rule_fields[key].key_line
            return f"{message}{hint}; the rule's own {key} (line {line}) still applies"
        effect = _RULE_ABSENT[key].format(i=rule_index)
        return f"{message}{hint}; {effect}"
    if known is RULE_FIELDS and key in GROUP_RESOURCES_FIELDS:
        return f"{message} ({key} belongs inside a resources entry: check the indentation)"
    if known is POLICY_FIELDS and key in RULE_FIELDS:
        return f"{message} ({key} is a field of a rule, not of the policy: check the indentation)"
    if known is RULE_FIELDS and key in POLICY_FIELDS:
        return f"{message} ({key} is a field of the policy, not of a rule: check the indentation)"
    return message


def near_miss(key: str, known: tuple[str, ...]) -> str | None:
    """The known field a key was probably meant to be (case slip or small typo)."""
    for name in known:
        if name.lower() == key.lower():
            return name
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
    return close[0] if close else None
