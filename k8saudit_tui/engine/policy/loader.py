"""Loading an audit Policy file the way kube-apiserver does (`pkg/audit/policy/reader.go`).

The one entry point for a policy: file or text or parsed data in, a `PolicyLoad` out (the policy
when usable, and every problem with file, line and field path). Nothing here raises on bad input.
`LoadPolicyFromBytes` decodes YAML or JSON (L1, `source.py`: bounded read, UTF-8, JSON or YAML,
only the first document), then decodes the tree into a Policy and validates it (L2-L5,
`decoder.py`, with the warnings for dropped fields from `unknown_fields.py`). A path given as a
string may name a bundled preset (`@gke`, `presets.py`): resolved here, so every caller takes them.

This module also re-exports the names callers use with a policy (`rule_span`, `rule_text`,
`policy_field_lines`, `MAX_POLICY_BYTES`, `PolicyLoad`), so they import one module.
"""

from __future__ import annotations

from pathlib import Path

from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.decoder import LEGACY_MESSAGE, ZERO_RULES_MESSAGE, Decoder, PolicyLoad
from k8saudit_tui.engine.policy.presets import resolve
from k8saudit_tui.engine.policy.source import (
    MAX_POLICY_BYTES,
    ReadError,
    parse_text,
    policy_field_lines,
    policy_text,
    read_bounded,
    rule_span,
    rule_text,
)
from k8saudit_tui.engine.policy.unknown_fields import (
    GROUP_RESOURCES_FIELDS,
    METADATA_FIELDS,
    POLICY_FIELDS,
    RULE_FIELDS,
)
from k8saudit_tui.engine.policy.yaml_tree import TreeError, from_data

__all__ = [
    "GROUP_RESOURCES_FIELDS",
    "LEGACY_MESSAGE",
    "MAX_POLICY_BYTES",
    "METADATA_FIELDS",
    "POLICY_FIELDS",
    "RULE_FIELDS",
    "ZERO_RULES_MESSAGE",
    "PolicyLoad",
    "load_policy_file",
    "load_policy_text",
    "policy_field_lines",
    "policy_from_data",
    "rule_span",
    "rule_text",
]

MORE_DOCUMENTS_MESSAGE = "only the first YAML document is read (kube-apiserver ignores the documents after it)"


def load_policy_file(path: str | Path) -> PolicyLoad:
    """Read and load a policy file; unreadable, oversized or binary files give an error Problem.

    A string `@name` is a bundled preset (`presets.resolve`); its problems name the preset."""
    source = str(path)
    target = resolve(path) if isinstance(path, str) else path
    if isinstance(target, Problem):
        return PolicyLoad.failed(target.file, target.line, target.message)
    try:
        data = read_bounded(target)
    except ReadError as err:
        return PolicyLoad.failed(source, err.line, err.message)
    return load_policy_text(data, source)


def load_policy_text(text: str | bytes, source: str = "<policy>") -> PolicyLoad:
    """Load a policy from YAML or JSON text (bytes must be UTF-8)."""
    try:
        text = policy_text(text)
        root, more = parse_text(text)
    except (ReadError, TreeError) as err:
        return PolicyLoad.failed(source, err.line, err.message)
    load = Decoder(source, text).decode(root)
    if more:
        note = Problem(source, None, "", MORE_DOCUMENTS_MESSAGE, "warning")
        load = PolicyLoad(load.policy, (note, *load.problems), load.decoded)
    return load


def policy_from_data(data: object, source: str = "<policy>") -> PolicyLoad:
    """Load a policy from already-parsed JSON-like data (e.g. a conformance case); no lines."""
    try:
        root = from_data(data)
    except TreeError as err:
        return PolicyLoad.failed(source, err.line, err.message)
    return Decoder(source, "").decode(root)
