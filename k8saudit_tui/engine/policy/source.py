"""The policy as text: read within bounds, decoded, parsed, and its lines found again.

Everything here is about the bytes and lines of a policy file, nothing about what a Policy means,
so the decoder, validation and the UI can all ask "which line?" without importing each other.

Why bounded: a policy may be hand written or hostile. A file over `MAX_POLICY_BYTES` is refused
before being read in full, and the YAML tree is capped (`yaml_tree.MAX_NODES` expanded nodes,
`MAX_DEPTH` levels), so an alias bomb fails fast. Reading raises only `ReadError` (file, size,
encoding) and parsing only `yaml_tree.TreeError`; the loader turns both into a `Problem`.

Why JSON is parsed twice: kube-apiserver reads text starting with `{` as JSON (`yaml.IsJSONBuffer`),
and JSON carries no lines; valid JSON is read again as YAML only to learn them.
"""

from __future__ import annotations

from pathlib import Path

from k8saudit_tui.engine.model import Policy, PolicyRule
from k8saudit_tui.engine.policy.yaml_tree import Node, TreeError, parse_json, parse_yaml

MAX_POLICY_BYTES = 2 * 1024 * 1024
"""Largest policy file read (2 MiB). Real policies are a few KiB; the pure-Python YAML parser
reads about 1 MiB a second, and a document over `yaml_tree.MAX_NODES` nodes (about 1-2 MiB of
YAML) is refused anyway, so hostile input costs at most a few seconds."""


class ReadError(Exception):
    """The policy bytes cannot be had as text; `line` is 1-based when the trouble has one."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def read_bounded(path: Path) -> bytes:
    """Read at most MAX_POLICY_BYTES + 1 bytes; refuse directories and oversized files early."""
    try:
        if path.is_dir():
            raise ReadError("is a directory, not a policy file")
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise ReadError(too_large(size))
        with path.open("rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except ReadError:
        raise
    except FileNotFoundError:
        raise ReadError("no such file") from None
    except PermissionError:
        raise ReadError("permission denied: cannot read the file") from None
    except OSError as err:
        raise ReadError(f"cannot read the file: {err.strerror or err}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise ReadError(too_large(len(data), at_least=True))
    return data


def policy_text(data: str | bytes) -> str:
    """The text of a policy (bytes must be UTF-8), size-checked, without a leading BOM."""
    if len(data) > MAX_POLICY_BYTES:
        raise ReadError(too_large(len(data)))
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise ReadError(
                f"not UTF-8 text: invalid byte 0x{data[err.start]:02x} at offset {err.start}", line
            ) from None
    else:
        text = data
    return text.removeprefix("\ufeff")


def too_large(size: int, at_least: bool = False) -> str:
    amount = f"{'at least ' if at_least else ''}{size:,} bytes"
    return f"the file is too large ({amount}); policies over {MAX_POLICY_BYTES // 1024 // 1024} MiB are refused"


def parse_text(text: str) -> tuple[Node | None, bool]:
    """Text starting with `{` is JSON, as for kube-apiserver (`yaml.IsJSONBuffer`), else YAML.

    Returns (root or None when empty, more documents follow?). Valid JSON is then read again as
    YAML, only to learn lines; tabs, legal JSON whitespace but not YAML indentation, become
    spaces first (a raw tab cannot be inside a valid JSON string).
    """
    if not text.lstrip().startswith("{"):
        return parse_yaml(text)
    without_lines = parse_json(text)
    try:
        return parse_yaml(text.replace("\t", " "), json_mode=True)
    except TreeError:
        return without_lines, False


def policy_field_lines(text: str) -> dict[str, int]:
    """Lines of the top-level fields and their list items (`omitStages[0]`) in policy `text`."""
    try:
        root, _ = parse_text(text)
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
