"""Loading an audit Policy file the way kube-apiserver does (`pkg/audit/policy/reader.go`).

`LoadPolicyFromBytes` decodes YAML or JSON (L1), accepts only `audit.k8s.io/v1` kind `Policy`
(L2), decodes strictly and, when the only trouble is unknown fields or duplicate keys, again
leniently with a logged warning (L3), validates (L4, see `validation.py`) and refuses a policy
with no rules (L5). This module reproduces each step and its verdict, but never stops at the first
problem it can go past: everything is reported as a `Problem` with file, line and field path.

On top of upstream:
- the silently dropped fields of L3 become warnings that say what the drop does to the rule
  (`rules[3].resources[0].verbs: unknown field ignored by kube-apiserver ...; rule 3 now applies
  to every verb`);
- `audit.k8s.io/v1beta1` and `v1alpha1` files (same schema) are decoded and usable for analysis,
  with an error saying kube-apiserver >= 1.24 refuses them;
- hostile input is bounded: files over `MAX_POLICY_BYTES` are refused before being read in full,
  and the YAML tree is capped (`yaml_tree.MAX_NODES` expanded nodes, `MAX_DEPTH` levels), so an
  alias bomb fails fast. Nothing here raises on bad input.

Every rule keeps its source line span (`PolicyRule.line`/`end_line`; `rule_span`, and `rule_text`
returns the rule as written, for the UI). `PolicyRule.field_lines` maps, relative to the rule,
each field (`verbs`), each list item (`verbs[0]`), each resources entry (`resources[1]`) and its
fields and items (`resources[1].group`, `resources[1].resources[0]`) to its 1-based line.
Policies built from parsed data (`policy_from_data`, JSON that only the JSON parser accepts) have
no lines.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from k8saudit_tui.engine.model import (
    API_VERSION_V1,
    LEGACY_API_VERSIONS,
    GroupResources,
    Policy,
    PolicyRule,
    Problem,
)
from k8saudit_tui.engine.policy.validation import go_quote, validate_policy
from k8saudit_tui.engine.policy.yaml_tree import Entry, Node, TreeError, from_data, parse_json, parse_yaml
from k8saudit_tui.engine.textsafe import visible

MAX_POLICY_BYTES = 2 * 1024 * 1024
"""Largest policy file read (2 MiB). Real policies are a few KiB; the pure-Python YAML parser
reads about 1 MiB a second, and a document over `yaml_tree.MAX_NODES` nodes (about 1-2 MiB of
YAML) is refused anyway, so hostile input costs at most a few seconds."""

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

ZERO_RULES_MESSAGE = "loaded illegal policy with 0 rules"
LEGACY_MESSAGE = (
    "{version} was removed in Kubernetes 1.24: kube-apiserver >= 1.24 refuses this file "
    "(the schema is unchanged: write apiVersion: audit.k8s.io/v1); loaded anyway for analysis"
)

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


def load_policy_file(path: str | Path) -> PolicyLoad:
    """Read and load a policy file; unreadable, oversized or binary files give an error Problem."""
    source = str(path)
    try:
        data = _read_bounded(Path(path))
    except _ReadError as err:
        return _failed(source, None, err.message)
    return load_policy_text(data, source)


def load_policy_text(text: str | bytes, source: str = "<policy>") -> PolicyLoad:
    """Load a policy from YAML or JSON text (bytes must be UTF-8)."""
    if isinstance(text, bytes):
        if len(text) > MAX_POLICY_BYTES:
            return _failed(source, None, _too_large(len(text)))
        decoded = _decode_utf8(text, source)
        if isinstance(decoded, PolicyLoad):
            return decoded
        text = decoded
    elif len(text) > MAX_POLICY_BYTES:
        return _failed(source, None, _too_large(len(text)))
    text = text.removeprefix("\ufeff")
    try:
        root, more = _parse(text)
    except TreeError as err:
        return _failed(source, err.line, err.message)
    load = _Decoder(source, text).decode(root)
    if more:
        note = Problem(
            source,
            None,
            "",
            "only the first YAML document is read (kube-apiserver ignores the documents after it)",
            "warning",
        )
        load = PolicyLoad(load.policy, (note, *load.problems), load.decoded)
    return load


def policy_from_data(data: object, source: str = "<policy>") -> PolicyLoad:
    """Load a policy from already-parsed JSON-like data (e.g. a conformance case); no lines."""
    try:
        root = from_data(data)
    except TreeError as err:
        return _failed(source, err.line, err.message)
    return _Decoder(source, "").decode(root)


def rule_span(rule: PolicyRule) -> tuple[int, int] | None:
    """The (first, last) 1-based source lines of a rule, None when it was not read from text."""
    if rule.line is None:
        return None
    return rule.line, rule.end_line if rule.end_line is not None else rule.line


def rule_text(policy: Policy, index: int) -> str:
    """The rule `index` as written in the policy file (its line span), for display."""
    span = rule_span(policy.rules[index])
    if span is None or not policy.text:
        return ""
    lines = policy.text.splitlines()
    return "\n".join(lines[span[0] - 1 : span[1]])


def policy_field_lines(text: str) -> dict[str, int]:
    """Lines of the top-level fields and their list items (`omitStages[0]`) in policy `text`."""
    try:
        root, _ = _parse(text)
    except TreeError:
        return {}
    lines: dict[str, int] = {}
    if root is None or root.kind != "map":
        return lines
    for entry in root.entries:
        if entry.key_line is not None:
            lines[entry.key] = entry.key_line
        for j, item in enumerate(entry.value.items):
            if item.line is not None:
                lines[f"{entry.key}[{j}]"] = item.line
    return lines


# --- reading --------------------------------------------------------------------------------


class _ReadError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _read_bounded(path: Path) -> bytes:
    """Read at most MAX_POLICY_BYTES + 1 bytes; refuse directories and oversized files early."""
    try:
        if path.is_dir():
            raise _ReadError("is a directory, not a policy file")
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise _ReadError(_too_large(size))
        with path.open("rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except _ReadError:
        raise
    except FileNotFoundError:
        raise _ReadError("no such file") from None
    except PermissionError:
        raise _ReadError("permission denied: cannot read the file") from None
    except OSError as err:
        raise _ReadError(f"cannot read the file: {err.strerror or err}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise _ReadError(_too_large(len(data), at_least=True))
    return data


def _too_large(size: int, at_least: bool = False) -> str:
    amount = f"{'at least ' if at_least else ''}{size:,} bytes"
    return f"the file is too large ({amount}); policies over {MAX_POLICY_BYTES // 1024 // 1024} MiB are refused"


def _decode_utf8(data: bytes, source: str) -> str | PolicyLoad:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        return _failed(source, line, f"not UTF-8 text: invalid byte 0x{data[err.start]:02x} at offset {err.start}")


def _parse(text: str) -> tuple[Node | None, bool]:
    """Text starting with `{` is JSON, as for kube-apiserver (`yaml.IsJSONBuffer`), else YAML.

    Valid JSON is then read again as YAML, only to learn lines; tabs, legal JSON whitespace but
    not YAML indentation, become spaces first (a raw tab cannot be inside a valid JSON string).
    """
    if not text.lstrip().startswith("{"):
        return parse_yaml(text)
    without_lines = parse_json(text)
    try:
        return parse_yaml(text.replace("\t", " "), json_mode=True)
    except TreeError:
        return without_lines, False


def _failed(source: str, line: int | None, message: str) -> PolicyLoad:
    return PolicyLoad(None, (Problem(source, line, "", _clean(message)),))


def _clean(text: str) -> str:
    """Make a message safe to print: control and format characters are shown as escapes."""
    return visible(text)


def _describe(node: Node) -> str:
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
        return f"a bool ({_clean(shown)}{hint})"
    if node.scalar_type == "number":
        return f"a number ({_clean(shown)})"
    return "null"


def _key(key: str) -> str:
    """A mapping key as it appears in a field path; odd keys are quoted, long ones cut."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    return go_quote(key if len(key) <= 80 else key[:77] + "...")


# --- decoding ---------------------------------------------------------------------------------


class _Decoder:
    """Builds a Policy from a Node tree, collecting problems in the manner of L2-L5."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text
        self.problems: list[Problem] = []
        self.fatal = False

    def error(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, field, _clean(message)))
        self.fatal = True

    def refuse(self, line: int | None, field: str, message: str) -> None:
        """An error kube-apiserver stops at that still leaves the policy usable for analysis."""
        self.problems.append(Problem(self.source, line, field, _clean(message)))

    def warn(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, field, _clean(message), "warning"))

    def finish(self, policy: Policy | None, usable: bool) -> PolicyLoad:
        problems = sorted(self.problems, key=lambda p: p.line or 0)
        return PolicyLoad(policy if usable else None, tuple(problems), policy)

    # -- policy --

    def decode(self, root: Node | None) -> PolicyLoad:
        if root is None or (root.kind == "scalar" and root.scalar_type == "null"):
            self.error(None, "", "the file is empty: kube-apiserver refuses an empty policy")
            return self.finish(None, False)
        if root.kind != "map":
            self.error(root.line, "", f"expected a Policy object (apiVersion, kind, rules), found {_describe(root)}")
            return self.finish(None, False)
        fields = self.fields(root, "", POLICY_FIELDS, lambda name: _POLICY_ABSENT.get(name, ""))
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
            self.error(entry.key_line, "metadata", f"expected an object, found {_describe(entry.value)}")
            return
        self.fields(entry.value, "metadata", METADATA_FIELDS, lambda name: "")

    def rules(self, entry: Entry | None) -> list[PolicyRule] | None:
        if entry is None or self.is_null(entry.value):
            return []
        if entry.value.kind != "seq":
            self.error(entry.key_line, "rules", f"expected a list of rules, found {_describe(entry.value)}")
            return None
        rules = [self.rule(node, i) for i, node in enumerate(entry.value.items)]
        return [rule for rule in rules if rule is not None]

    # -- rule --

    def rule(self, node: Node, i: int) -> PolicyRule | None:
        path = f"rules[{i}]"
        if self.is_null(node):
            return PolicyRule(level="", line=node.line, end_line=node.end_line)
        if node.kind != "map":
            self.error(node.line, path, f"expected a rule (an object), found {_describe(node)}")
            return None
        lines: dict[str, int] = {}
        fields = self.fields(node, path, RULE_FIELDS, self.rule_effect(i))
        for name, entry in fields.items():
            if entry.key_line is not None:
                lines[name] = entry.key_line
        field = lambda name: f"{path}.{name}"  # noqa: E731
        resources = self.resource_entries(fields, i, lines)
        return PolicyRule(
            level=self.string(fields.get("level"), field("level")),
            users=self.strings(fields.get("users"), field("users"), lines),
            user_groups=self.strings(fields.get("userGroups"), field("userGroups"), lines),
            verbs=self.strings(fields.get("verbs"), field("verbs"), lines),
            resources=resources,
            namespaces=self.strings(fields.get("namespaces"), field("namespaces"), lines),
            non_resource_urls=self.strings(fields.get("nonResourceURLs"), field("nonResourceURLs"), lines),
            omit_stages=self.strings(fields.get("omitStages"), field("omitStages"), lines),
            omit_managed_fields=self.boolean(fields.get("omitManagedFields"), field("omitManagedFields")),
            line=node.line,
            end_line=node.end_line,
            field_lines=lines,
        )

    def rule_effect(self, i: int) -> Callable[[str], str]:
        return lambda name: _RULE_ABSENT.get(name, "").format(i=i)

    def resource_entries(self, fields: dict[str, Entry], i: int, lines: dict[str, int]) -> tuple[GroupResources, ...]:
        entry = fields.get("resources")
        path = f"rules[{i}].resources"
        if entry is None or self.is_null(entry.value):
            return ()
        if entry.value.kind != "seq":
            self.error(
                entry.key_line, path, f"expected a list of {{group, resources}} objects, found {_describe(entry.value)}"
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
            self.error(node.line, path, f"expected an object with group/resources, found {_describe(node)}")
            return None
        effect = self.entry_effect(node, k, i, rule_fields)
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

    def entry_effect(self, node: Node, k: int, i: int, rule_fields: dict[str, Entry]) -> Callable[[str], str]:
        group_entry = next((e for e in reversed(node.entries) if e.key == "group"), None)
        group_value = group_entry.value.scalar if group_entry is not None else ""
        group = f"group {go_quote(str(group_value))}" if group_value else "the core group"
        return lambda name: _ENTRY_ABSENT.get(name, "").format(i=i, k=k, group=group)

    # -- fields --

    def fields(
        self,
        node: Node,
        path: str,
        known: tuple[str, ...],
        absent_effect: Callable[[str], str],
        parent: tuple[int, dict[str, Entry]] | None = None,
    ) -> dict[str, Entry]:
        """Known fields of a mapping (last duplicate wins); unknown ones become L3 warnings."""
        found: dict[str, Entry] = {}
        for entry in node.entries:
            field = f"{path}.{_key(entry.key)}" if path else _key(entry.key)
            if entry.key not in known:
                self.warn(entry.key_line, field, _unknown_message(entry.key, known, node, absent_effect, parent))
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
        self.error(line, path, f"expected a string, found {_describe(node)}")
        return ""

    def strings(self, entry: Entry | None, path: str, lines: dict[str, int]) -> tuple[str, ...]:
        """A list of strings; a bare scalar or an object is a fatal type error (L3)."""
        if entry is None or self.is_null(entry.value):
            return ()
        node = entry.value
        if node.kind != "seq":
            hint = (
                f"; write it as a list: [{_clean(node.text[:60])}]"
                if (node.kind == "scalar" and node.scalar_type == "string")
                else ""
            )
            self.error(entry.key_line, path, f"expected a list of strings, found {_describe(node)}{hint}")
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
        self.error(entry.key_line, path, f"expected true or false, found {_describe(node)}")
        return None


def _unknown_message(
    key: str,
    known: tuple[str, ...],
    node: Node,
    absent_effect: Callable[[str], str],
    parent: tuple[int, dict[str, Entry]] | None,
) -> str:
    """`unknown field ignored by kube-apiserver (hint); effect` for one dropped field (L3)."""
    message = "unknown field ignored by kube-apiserver"
    present = {entry.key: entry for entry in node.entries}
    meant = _near_miss(key, known)
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


def _near_miss(key: str, known: tuple[str, ...]) -> str | None:
    """The known field a key was probably meant to be (case slip or small typo)."""
    for name in known:
        if name.lower() == key.lower():
            return name
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
    return close[0] if close else None
