"""The policy and request model shared by every part of the engine.

Field names follow the upstream Go types (`pkg/apis/audit/v1/types.go`); rule numbers (P1, M9, ...)
refer to the policy semantics specification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

LEVELS: tuple[str, ...] = ("None", "Metadata", "Request", "RequestResponse")
"""Audit levels in ascending order (P4)."""

STAGES: tuple[str, ...] = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
"""Audit stages (P4); names are case-sensitive."""

API_VERSION_V1 = "audit.k8s.io/v1"
LEGACY_API_VERSIONS: tuple[str, ...] = ("audit.k8s.io/v1beta1", "audit.k8s.io/v1alpha1")


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in an input file: where it is, which field, and what is wrong.

    `str(problem)` is the one-line form every entry point prints:
    `policy.yaml:14: rules[2].level: Unsupported value: "metadata"`.
    """

    file: str
    line: int | None
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class GroupResources:
    """One entry of a rule's `resources` list (P3). `group` "" is the core group."""

    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One rule (P2). Empty tuples mean "no restriction"; `omit_managed_fields` None means inherit."""

    level: str
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool | None = None
    line: int | None = None
    """First line of the rule in its source file (1-based)."""
    end_line: int | None = None
    """Last line of the rule in its source file (1-based, inclusive)."""
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    """Source line of each field, keyed by its upstream name (`level`, `verbs`, ...)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """An audit Policy (P1) as the evaluator sees it, with where it came from."""

    rules: tuple[PolicyRule, ...]
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool = False
    api_version: str = API_VERSION_V1
    kind: str = "Policy"
    source: str = "<policy>"
    """Path (or label) of the file the policy was read from, for messages."""
    text: str = ""
    """The source text, so the UI can show each rule as it was written."""


class RequestAttributes(NamedTuple):
    """What the policy checker saw for one request (section 5 of the spec).

    `username` is None when the request had no authenticated user (E2); then `groups` is empty.
    A present user may have an empty username ("") and still groups: rules match them (M5, M6).

    Why a NamedTuple, not a dataclass: it hashes and compares equal to the plain tuple of its
    fields, which is what parser workers ship (plain tuples unpickle fast), so the store looks
    a shipped tuple up as it is and builds an object only for a new value; and msgspec decodes a
    cached index's attributes straight into it (as arrays). Beware that equality is a tuple's:
    a RequestAttributes equals any tuple of the same fields.
    """

    username: str | None
    groups: tuple[str, ...]
    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of evaluating a policy for one request (M1, M2, M13, M14)."""

    rule: int | None
    """0-based index of the matching rule, None when no rule matched."""
    level: str
    omit_stages: frozenset[str]
    omit_managed_fields: bool

    def emits(self, stage: str) -> bool:
        """Whether an event of `stage` would be written under this verdict (S5)."""
        return self.level != "None" and stage not in self.omit_stages
