"""A bounded, line-numbered document tree from YAML or JSON text, or from already-parsed data.

Why not `yaml.safe_load`: it loses line numbers, collapses duplicate keys silently, and expands
aliases without limit (a "billion laughs" bomb of a few hundred bytes can need gigabytes). Here the
text is *composed* (PyYAML's node graph, where an alias is a shared node, so composing stays linear
in the text size) and then copied into `Node`s while counting: more than `MAX_NODES` expanded nodes,
nesting deeper than `MAX_DEPTH`, or a recursive alias stops with a `TreeError`. Duplicate keys are
kept (in order) so the policy decoder can report them like kube-apiserver's strict decoder (L3).

Scalars are typed the way kube-apiserver's YAML-to-JSON step types them (YAML 1.1, as go-yaml v2):
`yes`/`on`/`y` are booleans, `12` is a number, `~` is null, a timestamp stays a string.
The pure-Python SafeLoader is used on purpose: the C loader recurses in C and can crash the
process on deeply nested input instead of raising RecursionError.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

import yaml

MAX_NODES = 100_000
"""Most nodes a document may expand to (aliases counted at every use); policies need a few
thousand at most."""

MAX_DEPTH = 100
"""Deepest nesting accepted; the Policy schema itself needs six levels."""

_GO_YAML_BOOLS = {"y": True, "Y": True, "n": False, "N": False}
"""Plain scalars go-yaml v2 reads as booleans but PyYAML reads as strings."""

_TRUE_WORDS = {"yes", "true", "on", "y"}

Kind = Literal["map", "seq", "scalar"]
Scalar = str | int | float | bool | None


class TreeError(Exception):
    """The text cannot become a document tree; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class Entry:
    """One `key: value` pair of a mapping, with the line of the key."""

    key: str
    key_line: int | None
    value: Node


@dataclass(slots=True)
class Node:
    """A scalar, list or mapping with its source lines (None when built from parsed data).

    For scalars `value` is the typed value (str, bool, None, or the written text of a number,
    kept as str with `type_name` "number"); `text` is the scalar as written, for messages.
    """

    kind: Kind
    line: int | None = None
    end_line: int | None = None
    scalar: Scalar = None
    scalar_type: str = "null"
    text: str = ""
    items: list[Node] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @property
    def type_name(self) -> str:
        """`string`, `number`, `bool`, `null`, `list` or `object`, as a reader would say it."""
        if self.kind == "map":
            return "object"
        if self.kind == "seq":
            return "list"
        return self.scalar_type


def parse_yaml(text: str, json_mode: bool = False) -> tuple[Node | None, bool]:
    """Parse the first YAML document of `text`; return (root or None if empty, more documents?).

    kube-apiserver's YAML-to-JSON conversion reads only the first document, so later ones are not
    an error; the caller may warn about them. `json_mode` types scalars as JSON does (for JSON
    text already checked by `parse_json`, read again as YAML only to get lines): unquoted
    scalars other than true/false/null are numbers.
    """
    _check_flow_depth(text)
    try:
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as err:  # the whole text is checked for printable characters
        raise TreeError(_reader_message(err), text[: err.position].count("\n") + 1) from None
    try:
        root = _compose_first(loader)
        more = _has_more_documents(loader)
        if root is None:
            return None, more
        _check_expansion(root)
        return _Copier(json_mode).copy(root), more
    finally:
        loader.dispose()


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that stops composing after MAX_NODES nodes, bounding time and memory."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.composed = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # `index` is typed as the stubs type it; PyYAML also passes a mapping's key node there.
        self.composed += 1
        if self.composed > MAX_NODES:
            event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            raise TreeError(f"the YAML has more than {MAX_NODES:,} nodes; refusing to read it", line)
        return super().compose_node(parent, index)


_BRACKETS = re.compile(r"[\[\]{}]")


def _check_flow_depth(text: str) -> None:
    """Refuse deeply nested flow collections before PyYAML sees them.

    PyYAML's scanner is quadratic in the number of open flow levels (`[[[[...`: seconds for a few
    thousand, hours for megabytes), so the depth is estimated first by counting brackets (quotes
    and comments are not skipped: this can only overestimate, which real policies never reach).
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                raise TreeError(f"the YAML nests deeper than {MAX_DEPTH} levels", line)
        elif depth:
            depth -= 1


def _check_expansion(root: yaml.Node) -> None:
    """Refuse alias bombs and recursive aliases before expanding anything.

    An alias is a shared node in the composed graph, so the expanded size is a sum over children
    computed once per distinct node (depth-first, iterative): linear in the text, not in the
    expansion. Nodes started but not finished are the current path; meeting one again is a cycle.
    """
    sizes: dict[int, int] = {}
    started: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > MAX_NODES:
                raise TreeError(
                    f"the YAML expands to more than {MAX_NODES:,} nodes through aliases or sheer "
                    'size (a "billion laughs" alias bomb?); refusing to read it',
                    node.start_mark.line + 1,
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in started:
            raise TreeError("a YAML alias refers to itself (recursive alias)", node.start_mark.line + 1)
        started.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _compose_first(loader: _BoundedLoader) -> yaml.Node | None:
    try:
        if not loader.check_node():
            return None
        return loader.get_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise TreeError(_yaml_message(err), mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as err:
        raise TreeError(_reader_message(err)) from None
    except yaml.YAMLError as err:
        raise TreeError(f"YAML error: {err}") from None
    except RecursionError:
        raise TreeError("the YAML nests too deeply to be read") from None


def _reader_message(err: yaml.reader.ReaderError) -> str:
    character = err.character if isinstance(err.character, int) else ord(err.character)
    return f"unacceptable character #x{character:04x}: special characters are not allowed in YAML"


def _has_more_documents(loader: _BoundedLoader) -> bool:
    """Whether anything follows the first document (unparseable leftovers count too)."""
    try:
        return bool(loader.check_node())
    except (yaml.YAMLError, RecursionError):
        return True


def _yaml_message(err: yaml.MarkedYAMLError) -> str:
    parts = [part for part in (err.context, err.problem) if part]
    message = "YAML syntax error: " + "; ".join(parts)
    if "\\t" in message or "\t" in message:
        message += " (YAML does not allow tabs for indentation; use spaces)"
    return message


class _Copier:
    """Copies a composed PyYAML node graph into `Node`s, bounding size, depth and cycles."""

    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.count = 0
        self.active: set[int] = set()

    def copy(self, node: yaml.Node, depth: int = 0) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise TreeError(
                f"the YAML expands to more than {MAX_NODES:,} nodes through aliases or sheer size "
                '(a "billion laughs" alias bomb?); refusing to read it',
                node.start_mark.line + 1,
            )
        if depth > MAX_DEPTH:
            raise TreeError(f"the YAML nests deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        if id(node) in self.active:
            raise TreeError("a YAML alias refers to itself (recursive alias)", node.start_mark.line + 1)
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node, line, self.json_mode)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = [self.copy(item, depth + 1) for item in node.value]
                return Node("seq", line, _end_line(node, items), items=items)
            if isinstance(node, yaml.MappingNode):
                entries = self._entries(node, depth)
                return Node("map", line, _end_line(node, [e.value for e in entries]), entries=entries)
        finally:
            self.active.discard(id(node))
        raise TreeError(f"unsupported YAML node {type(node).__name__}", line)  # composing makes no other kind

    def _entries(self, node: yaml.MappingNode, depth: int) -> list[Entry]:
        explicit: list[Entry] = []
        merged: list[Entry] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged.extend(self._merge(value_node, depth))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise TreeError(
                    "a mapping key must be a plain string, not a list or mapping",
                    key_node.start_mark.line + 1,
                )
            self.count += 1
            explicit.append(Entry(key_node.value, key_node.start_mark.line + 1, self.copy(value_node, depth + 1)))
        keys = {entry.key for entry in explicit}
        return [entry for entry in merged if entry.key not in keys] + explicit

    def _merge(self, value: yaml.Node, depth: int) -> list[Entry]:
        """`<<: *base` merge keys, as go-yaml supports them; explicit keys win."""
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        entries: list[Entry] = []
        for source in sources:
            copied = self.copy(source, depth + 1)
            if copied.kind != "map":
                raise TreeError("a merge key (<<) needs a mapping or a list of mappings", copied.line)
            entries.extend(copied.entries)
        return entries


def _scalar(node: yaml.ScalarNode, line: int, json_mode: bool = False) -> Node:
    end = node.end_mark
    end_line = end.line if end.column == 0 and end.line + 1 > line else end.line + 1
    tag = node.tag
    text = node.value
    if json_mode:
        if node.style is not None:
            return Node("scalar", line, end_line, text, "string", text)
        if text in ("true", "false"):
            return Node("scalar", line, end_line, text == "true", "bool", text)
        if text == "null":
            return Node("scalar", line, end_line, None, "null", text)
        return Node("scalar", line, end_line, text, "number", text)
    if tag == "tag:yaml.org,2002:null":
        return Node("scalar", line, end_line, None, "null", text)
    if tag == "tag:yaml.org,2002:bool":
        return Node("scalar", line, end_line, text.lower() in _TRUE_WORDS, "bool", text)
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        return Node("scalar", line, end_line, text, "number", text)
    if tag == "tag:yaml.org,2002:str" and node.style is None and text in _GO_YAML_BOOLS:
        return Node("scalar", line, end_line, _GO_YAML_BOOLS[text], "bool", text)
    return Node("scalar", line, end_line, text, "string", text)


def _end_line(node: yaml.Node, children: list[Node]) -> int:
    """Last line holding the collection's own text (block collections end with their last child)."""
    start = node.start_mark.line + 1
    if getattr(node, "flow_style", False):
        end = node.end_mark
        return max(start, end.line if end.column == 0 and end.line + 1 > start else end.line + 1)
    ends = [child.end_line for child in children if child.end_line is not None]
    return max([start, *ends[-1:]])


class _Pairs(list[tuple[str, object]]):
    """A JSON object decoded as its (key, value) pairs, so duplicate keys survive."""


def parse_json(text: str) -> Node:
    """Parse JSON text (used when YAML rejects it); duplicate keys are kept, lines are lost."""
    try:
        data = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise TreeError(
            f"JSON syntax error: {err.msg} (text starting with '{{' is read as JSON by kube-apiserver, never as YAML)",
            err.lineno,
        ) from None
    except ValueError as err:
        raise TreeError(f"JSON error: {err}") from None
    except RecursionError:
        raise TreeError("the JSON nests too deeply to be read") from None
    return from_data(data)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def from_data(data: object) -> Node:
    """A `Node` tree (without lines) from parsed JSON-like data; same bounds as for YAML."""
    counter = [0]
    return _from_data(data, 0, counter, set())


def _from_data(data: object, depth: int, counter: list[int], active: set[int]) -> Node:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise TreeError(f"the document has more than {MAX_NODES:,} nodes; refusing to read it")
    if depth > MAX_DEPTH:
        raise TreeError(f"the document nests deeper than {MAX_DEPTH} levels")
    if data is None:
        return Node("scalar", scalar=None, scalar_type="null", text="null")
    if isinstance(data, bool):
        return Node("scalar", scalar=data, scalar_type="bool", text=str(data).lower())
    if isinstance(data, int | float):
        return Node("scalar", scalar=repr(data), scalar_type="number", text=repr(data))
    if isinstance(data, str):
        return Node("scalar", scalar=data, scalar_type="string", text=data)
    if id(data) in active:
        raise TreeError("the document contains itself (a cycle)")
    active.add(id(data))
    try:
        if isinstance(data, list | tuple) and not isinstance(data, _Pairs):
            return Node("seq", items=[_from_data(i, depth + 1, counter, active) for i in data])
        if isinstance(data, _Pairs | dict):
            pairs = list(data.items()) if isinstance(data, dict) else list(data)
            entries = []
            for key, value in pairs:
                if not isinstance(key, str):
                    raise TreeError(f"a mapping key must be a string, not {type(key).__name__}")
                entries.append(Entry(key, None, _from_data(value, depth + 1, counter, active)))
            return Node("map", entries=entries)
    finally:
        active.discard(id(data))
    raise TreeError(f"unsupported value of type {type(data).__name__}")
