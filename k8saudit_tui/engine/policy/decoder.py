"""Decoding a policy's document tree into `Policy`/`PolicyRule`, the way kube-apiserver does (L2-L5).

kube-apiserver accepts only `audit.k8s.io/v1` kind `Policy` (L2), decodes strictly and, when the
only trouble is unknown fields or duplicate keys, again leniently with a logged warning (L3),
validates (L4, `validation.py`) and refuses a policy with no rules (L5). The `Decoder` gives each
step's verdict, but never stops at the first problem it can go past, and never raises: every
problem is a `Problem` with file, line and field path, so one run of `validate` shows them all.

A wrong type is fatal (the strict and lenient decoders both fail); an unknown or duplicate field
is a warning saying what the drop does (`unknown_fields.py`). `audit.k8s.io/v1beta1` and
`v1alpha1` (same schema) are decoded and usable for analysis, with an error saying kube-apiserver
>= 1.24 refuses them.

Every rule keeps its source line span (`PolicyRule.line`/`end_line`). `PolicyRule.field_lines`
maps, relative to the rule, each field (`verbs`), each list item (`verbs[0]`), each resources entry
(`resources[1]`) and its fields and items (`resources[1].group`, `resources[1].resources[0]`) to
its 1-based line. A tree built from parsed data has no lines, and neither has its policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from k8saudit_tui.engine.model import (
    API_VERSION_V1,
    LEGACY_API_VERSIONS,
    GroupResources,
    Policy,
    PolicyRule,
    Problem,
)
from k8saudit_tui.engine.policy.goquote import go_quote
from k8saudit_tui.engine.policy.unknown_fields import (
    GROUP_RESOURCES_FIELDS,
    METADATA_FIELDS,
    POLICY_FIELDS,
    RULE_FIELDS,
    AbsentEffect,
    entry_effect,
    no_effect,
    policy_effect,
    rule_effect,
    unknown_message,
)
from k8saudit_tui.engine.policy.validation import validate_policy
from k8saudit_tui.engine.policy.yaml_tree import Entry, Node
from k8saudit_tui.engine.textsafe import visible

ZERO_RULES_MESSAGE = "loaded illegal policy with 0 rules"
LEGACY_MESSAGE = (
    "{version} was removed in Kubernetes 1.24: kube-apiserver >= 1.24 refuses this file "
    "(the schema is unchanged: write apiVersion: audit.k8s.io/v1); loaded anyway for analysis"
)

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_./-]{1,80}")


@dataclass(frozen=True)
class PolicyLoad:
    """The outcome of loading a policy file: the policy (when usable) and every problem found.

    `policy` is set when the file decoded and validated, or when the only error is a legacy
    apiVersion (v1beta1/v1alpha1: usable for analysis, refused by kube-apiserver >= 1.24).
    `decoded` is the policy as decoded even when validation refused it, so a UI can still show
    the rules next to their errors; it is None only when decoding itself failed.
    """

    policy: Policy | None
    problems: tuple[Problem, ...]
    decoded: Policy | None = None

    @classmethod
    def failed(cls, source: str, line: int | None, message: str) -> PolicyLoad:
        """A load that stopped before decoding: one error, no policy."""
        return cls(None, (Problem(source, line, "", visible(message)),))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def apiserver_accepts(self) -> bool:
        """Would kube-apiserver >= 1.24 load this file? (Warnings do not prevent it.)"""
        return self.policy is not None and not self.errors


def describe(node: Node) -> str:
    """`a number (12)`, `a string "get"`, `a list`, for type-error messages."""
    if node.kind == "map":
        return "an object"
    if node.kind == "seq":
        return "a list"
    shown = node.text if len(node.text) <= 60 else node.text[:57] + "..."
    if node.scalar_type == "string":
        return f"a string {go_quote(shown)}"
    if node.scalar_type == "bool":
        hint = "" if node.text.lower() in ("true", "false") else "; quote it to make it a string"
        return f"a bool ({visible(shown)}{hint})"
    if node.scalar_type == "number":
        return f"a number ({visible(shown)})"
    return "null"


def path_key(key: str) -> str:
    """A mapping key as it appears in a field path; odd keys are quoted, long ones cut."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    return go_quote(key if len(key) <= 80 else key[:77] + "...")


def _group_words(node: Node) -> str:
    """`group "apps"` or `the core group`, as a resources entry's (last) group field reads."""
    group_entry = next((e for e in reversed(node.entries) if e.key == "group"), None)
    group_value = group_entry.value.scalar if group_entry is not None else ""
    return f"group {go_quote(str(group_value))}" if group_value else "the core group"


class Decoder:
    """Builds a Policy from a Node tree, collecting problems in the manner of L2-L5."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text
        self.problems: list[Problem] = []
        self.fatal = False

    def error(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, field, visible(message)))
        self.fatal = True

    def refuse(self, line: int | None, field: str, message: str) -> None:
        """An error kube-apiserver stops at that still leaves the policy usable for analysis."""
        self.problems.append(Problem(self.source, line, field, visible(message)))

    def warn(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, field, visible(message), "warning"))

    def finish(self, policy: Policy | None, usable: bool) -> PolicyLoad:
        problems = sorted(self.problems, key=lambda p: p.line or 0)
        return PolicyLoad(policy if usable else None, tuple(problems), policy)

    # -- policy --

    def decode(self, root: Node | None) -> PolicyLoad:
        if root is None or (root.kind == "scalar" and root.scalar_type == "null"):
            self.error(None, "", "the file is empty: kube-apiserver refuses an empty policy")
            return self.finish(None, False)
        if root.kind != "map":
            self.error(root.line, "", f"expected a Policy object (apiVersion, kind, rules), found {describe(root)}")
            return self.finish(None, False)
        fields = self.fields(root, "", POLICY_FIELDS, policy_effect)
        if not self.check_version(root, fields):
            return self.finish(None, False)
        policy_lines = {k: e.key_line for k, e in fields.items() if e.key_line is not None}
        self.metadata(fields.get("metadata"))
        rules = self.rules(fields.get("rules"))
        omit_stages = self.strings(fields.get("omitStages"), "omitStages", policy_lines)
        omit_managed = self.boolean(fields.get("omitManagedFields"), "omitManagedFields")
        if self.fatal or rules is None:
            return self.finish(None, False)
        policy = Policy(
            rules=tuple(rules or ()),
            omit_stages=omit_stages,
            omit_managed_fields=bool(omit_managed),
            api_version=fields["apiVersion"].value.scalar,  # type: ignore[arg-type]
            kind="Policy",
            source=self.source,
            text=self.text,
        )
        invalid = validate_policy(policy, policy_lines)
        self.problems.extend(invalid)
        if not invalid and not policy.rules:  # L5: only after validation passed
            line = fields["rules"].key_line if "rules" in fields else None
            self.error(line, "", ZERO_RULES_MESSAGE)
        return self.finish(policy, not invalid and bool(policy.rules))

    def check_version(self, root: Node, fields: dict[str, Entry]) -> bool:
        """L2: False when decoding cannot go on; a legacy version is refused but goes on."""
        api_version = self.string(fields.get("apiVersion"), "apiVersion")
        kind = self.string(fields.get("kind"), "kind")
        if self.fatal:
            return False
        if not api_version:
            self.error(
                root.line,
                "apiVersion",
                "unknown group version field: the policy has no "
                "apiVersion (kube-apiserver needs apiVersion: audit.k8s.io/v1, kind: Policy)",
            )
            return False
        version_line = fields["apiVersion"].key_line
        if api_version not in (API_VERSION_V1, *LEGACY_API_VERSIONS):
            self.error(
                version_line,
                "apiVersion",
                f'no kind "Policy" is registered for version '
                f"{go_quote(api_version)}: kube-apiserver accepts only {API_VERSION_V1}",
            )
            return False
        if kind and kind != "Policy":
            self.error(
                fields["kind"].key_line,
                "kind",
                f"expected Policy, found {go_quote(kind)}: kube-apiserver refuses the file",
            )
            return False
        if not kind:
            self.warn(
                root.line, "kind", "missing; kube-apiserver assumes Policy, but write kind: Policy for other tools"
            )
        if api_version in LEGACY_API_VERSIONS:
            self.refuse(version_line, "apiVersion", LEGACY_MESSAGE.format(version=api_version))
        return True

    def metadata(self, entry: Entry | None) -> None:
        if entry is None or self.is_null(entry.value):
            return
        if entry.value.kind != "map":
            self.error(entry.key_line, "metadata", f"expected an object, found {describe(entry.value)}")
            return
        self.fields(entry.value, "metadata", METADATA_FIELDS, no_effect)

    def rules(self, entry: Entry | None) -> list[PolicyRule] | None:
        if entry is None or self.is_null(entry.value):
            return []
        if entry.value.kind != "seq":
            self.error(entry.key_line, "rules", f"expected a list of rules, found {describe(entry.value)}")
            return None
        rules = [self.rule(node, i) for i, node in enumerate(entry.value.items)]
        return [rule for rule in rules if rule is not None]

    # -- rule --

    def rule(self, node: Node, i: int) -> PolicyRule | None:
        path = f"rules[{i}]"
        if self.is_null(node):
            return PolicyRule(level="", line=node.line, end_line=node.end_line)
        if node.kind != "map":
            self.error(node.line, path, f"expected a rule (an object), found {describe(node)}")
            return None
        lines: dict[str, int] = {}
        fields = self.fields(node, path, RULE_FIELDS, rule_effect(i))
        for name, entry in fields.items():
            if entry.key_line is not None:
                lines[name] = entry.key_line
        resources = self.resource_entries(fields, i, lines)

        def strings(name: str) -> tuple[str, ...]:
            return self.strings(fields.get(name), f"{path}.{name}", lines)

        return PolicyRule(
            level=self.string(fields.get("level"), f"{path}.level"),
            users=strings("users"),
            user_groups=strings("userGroups"),
            verbs=strings("verbs"),
            resources=resources,
            namespaces=strings("namespaces"),
            non_resource_urls=strings("nonResourceURLs"),
            omit_stages=strings("omitStages"),
            omit_managed_fields=self.boolean(fields.get("omitManagedFields"), f"{path}.omitManagedFields"),
            line=node.line,
            end_line=node.end_line,
            field_lines=lines,
        )

    def resource_entries(self, fields: dict[str, Entry], i: int, lines: dict[str, int]) -> tuple[GroupResources, ...]:
        entry = fields.get("resources")
        path = f"rules[{i}].resources"
        if entry is None or self.is_null(entry.value):
            return ()
        if entry.value.kind != "seq":
            self.error(
                entry.key_line, path, f"expected a list of {{group, resources}} objects, found {describe(entry.value)}"
            )
            return ()
        result = []
        for k, node in enumerate(entry.value.items):
            built = self.group_resources(node, k, i, fields, lines)
            if built is not None:
                result.append(built)
        return tuple(result)

    def group_resources(
        self, node: Node, k: int, i: int, rule_fields: dict[str, Entry], lines: dict[str, int]
    ) -> GroupResources | None:
        path = f"rules[{i}].resources[{k}]"
        if node.line is not None:
            lines[f"resources[{k}]"] = node.line
        if self.is_null(node):
            return GroupResources(line=node.line)
        if node.kind != "map":
            self.error(node.line, path, f"expected an object with group/resources, found {describe(node)}")
            return None
        effect = entry_effect(k, i, _group_words(node))
        fields = self.fields(node, path, GROUP_RESOURCES_FIELDS, effect, (i, rule_fields))
        local: dict[str, int] = {}
        group = self.string(fields.get("group"), f"{path}.group")
        resources = self.strings(fields.get("resources"), f"{path}.resources", local)
        names = self.strings(fields.get("resourceNames"), f"{path}.resourceNames", local)
        for name, entry in fields.items():
            if entry.key_line is not None:
                lines[f"resources[{k}].{name}"] = entry.key_line
        for key, line in local.items():
            lines[f"resources[{k}].{key}"] = line
        return GroupResources(group, resources, names, node.line)

    # -- fields --

    def fields(
        self,
        node: Node,
        path: str,
        known: tuple[str, ...],
        absent_effect: AbsentEffect,
        parent: tuple[int, dict[str, Entry]] | None = None,
    ) -> dict[str, Entry]:
        """Known fields of a mapping (last duplicate wins); unknown ones become L3 warnings."""
        found: dict[str, Entry] = {}
        for entry in node.entries:
            field = f"{path}.{path_key(entry.key)}" if path else path_key(entry.key)
            if entry.key not in known:
                self.warn(entry.key_line, field, unknown_message(entry.key, known, node, absent_effect, parent))
                continue
            if entry.key in found:
                first = found[entry.key].key_line
                where = f" (first at line {first})" if first is not None else ""
                self.warn(entry.key_line, field, f"duplicate field{where}: kube-apiserver keeps only this last value")
            found[entry.key] = entry
        return found

    @staticmethod
    def is_null(node: Node) -> bool:
        return node.kind == "scalar" and node.scalar_type == "null"

    def string(self, entry: Entry | Node | None, path: str) -> str:
        """A string field: null reads as "" (like Go's zero value); other types are fatal."""
        node = entry.value if isinstance(entry, Entry) else entry
        if node is None or self.is_null(node):
            return ""
        if node.kind == "scalar" and node.scalar_type == "string":
            return str(node.scalar)
        line = entry.key_line if isinstance(entry, Entry) and node.kind != "scalar" else node.line
        self.error(line, path, f"expected a string, found {describe(node)}")
        return ""

    def strings(self, entry: Entry | None, path: str, lines: dict[str, int]) -> tuple[str, ...]:
        """A list of strings; a bare scalar or an object is a fatal type error (L3)."""
        if entry is None or self.is_null(entry.value):
            return ()
        node = entry.value
        if node.kind != "seq":
            hint = (
                f"; write it as a list: [{visible(node.text[:60])}]"
                if (node.kind == "scalar" and node.scalar_type == "string")
                else ""
            )
            self.error(entry.key_line, path, f"expected a list of strings, found {describe(node)}{hint}")
            return ()
        name = path.rsplit(".", 1)[-1]
        values = []
        for j, item in enumerate(node.items):
            if item.line is not None:
                lines[f"{name}[{j}]"] = item.line
            values.append(self.string(item, f"{path}[{j}]"))
        return tuple(values)

    def boolean(self, entry: Entry | None, path: str) -> bool | None:
        """A bool field; null means unset (None)."""
        if entry is None or self.is_null(entry.value):
            return None
        node = entry.value
        if node.kind == "scalar" and node.scalar_type == "bool":
            return bool(node.scalar)
        self.error(entry.key_line, path, f"expected true or false, found {describe(node)}")
        return None
