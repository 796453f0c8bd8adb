"""A policy compiled to a decision over dictionary-coded request attributes: the first matching
rule of many requests at once, with numpy, exactly as `evaluate.first_matching_rule` decides it.

Why: a store holds tens of thousands of distinct RequestAttributes (51k in 1M generated events,
mostly distinct names and paths), and evaluating them one by one through the rule-by-rule
evaluator was 225-245 ms of loading a candidate policy in the TUI (issue 13). A rule reads few
fields and most fields have few distinct values, so each rule becomes boolean masks over field
dictionaries (each distinct user, verb, namespace, ... tested once, with the evaluator's own
predicates), and a request matches the rule when the masks hold at its codes.

`AttributeCodes` is that coding: per field an append-only dictionary and the code of every
request, extended as the store interns requests (one writer; codes below `len` never change, as
the store's own dictionaries). Two fields keep only what the checker can read of them (M7): the
path of non-resource requests, the API group/resource/subresource of resource requests (a
resource rule never matches a non-resource request, a non-resource rule never a resource one),
so the dictionaries stay small. `PolicyDecision` holds one policy's masks, extended as the
dictionaries grow (only the writer calls it). Exactness is a property test against
`PolicyEvaluator` (tests/test_decision.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from itertools import count, filterfalse
from operator import attrgetter
from typing import Any

import numpy as np

from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule, RequestAttributes
from k8saudit_tui.engine.policy.evaluate import path_matches, resource_pattern_matches

FIELDS = ("user", "groups", "verb", "resource", "namespace", "name", "path")
"""The coded fields: username (None: no user), the groups tuple, verb, (API group, resource,
subresource) of a resource request, namespace, name, and the path of a non-resource request."""
NO_RESOURCE = ("", "", "")
"""The `resource` key of a non-resource request (never read: M7)."""
NO_RULE = -1
_PLAIN = {"user": "username", "groups": "groups", "verb": "verb", "namespace": "namespace", "name": "name"}
"""The fields whose key is one attribute of the request, as it is."""


def _keys(field: str, attributes: Sequence[RequestAttributes]) -> list[Hashable]:
    """The dictionary keys of `field` for each request."""
    if field in _PLAIN:
        return list(map(attrgetter(_PLAIN[field]), attributes))
    if field == "resource":
        return [(a.api_group, a.resource, a.subresource) if a.resource_request else NO_RESOURCE for a in attributes]
    return ["" if a.resource_request else a.path for a in attributes]


class AttributeCodes:
    """Per field (FIELDS) a dictionary of distinct keys and each request's code, plus whether
    each request is a resource request. Append-only: `extend` codes the requests added since."""

    __slots__ = ("_codes", "_index", "_n", "_resource", "_values")

    def __init__(self) -> None:
        self._index: dict[str, dict[Hashable, int]] = {field: {} for field in FIELDS}
        self._values: dict[str, list[Any]] = {field: [] for field in FIELDS}
        self._codes: dict[str, np.ndarray] = {field: np.zeros(0, np.int32) for field in FIELDS}
        self._resource = np.zeros(0, bool)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, attributes: Sequence[RequestAttributes]) -> None:
        """Code `attributes[len(self):]` (the store's interned requests only grow)."""
        start, stop = self._n, len(attributes)
        if stop <= start:
            return
        fresh = attributes[start:stop]
        if stop > len(self._resource):  # grow by doubling: a batch adds a few requests at a time
            capacity = max(stop, 2 * len(self._resource), 1024)
            self._resource = _grown(self._resource, capacity, start)
            self._codes = {field: _grown(codes, capacity, start) for field, codes in self._codes.items()}
        self._resource[start:stop] = [a.resource_request for a in fresh]
        for field in FIELDS:  # C-level passes: a reopened 1M-event index codes 51k requests at once
            index, values = self._index[field], self._values[field]
            keys = _keys(field, fresh)
            new = list(filterfalse(index.__contains__, dict.fromkeys(keys)))  # in first-seen order
            index.update(zip(new, count(len(values))))
            values.extend(new)
            self._codes[field][start:stop] = np.fromiter(map(index.__getitem__, keys), np.int32, len(keys))
        self._n = stop

    def codes(self, field: str) -> np.ndarray:
        """The code of every request in `field`'s dictionary."""
        return self._codes[field][: self._n]

    def values(self, field: str) -> list[Any]:
        """`field`'s dictionary: the key of each code."""
        return self._values[field]

    @property
    def resource_request(self) -> np.ndarray:
        """Whether each request is a resource request."""
        return self._resource[: self._n]


def _grown(array: np.ndarray, capacity: int, used: int) -> np.ndarray:
    grown = np.zeros(capacity, array.dtype)
    grown[:used] = array[:used]
    return grown


class _Mask:
    """A predicate over one field's dictionary, as a boolean array extended as it grows."""

    __slots__ = ("array", "field", "test")

    def __init__(self, field: str, test: Callable[[Any], bool]) -> None:
        self.field = field
        self.test = test
        self.array = np.zeros(0, bool)

    def at(self, codes: AttributeCodes, rows: np.ndarray) -> np.ndarray:
        """The predicate of `rows`' keys."""
        values = codes.values(self.field)
        done = len(self.array)
        if done < len(values):
            fresh = np.fromiter(map(self.test, values[done:]), bool, len(values) - done)
            self.array = np.concatenate([self.array, fresh])
        taken: np.ndarray = self.array[codes.codes(self.field)[rows]]
        return taken


@dataclass(frozen=True, slots=True)
class _Rule:
    """One rule as masks: all of `checks`, the request kind (True: resource, False: non-resource,
    None: either), and at least one of `entries` (its resources list) when there are any."""

    checks: tuple[_Mask, ...]
    resource: bool | None
    entries: tuple[tuple[_Mask, ...], ...]


class PolicyDecision:
    """First matching rule (M1) of coded requests, for one policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._rules = tuple(_compile(rule) for rule in policy.rules)

    def first_rules(self, codes: AttributeCodes, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Index of the first matching rule of requests [start, stop) of `codes` (NO_RULE: none),
        int32. Each rule is tested only on the requests no earlier rule matched."""
        stop = len(codes) if stop is None else stop
        result = np.full(max(0, stop - start), NO_RULE, np.int32)
        pending = np.arange(start, stop, dtype=np.int64)
        for index, rule in enumerate(self._rules):
            if not len(pending):
                break
            hit = _matches(rule, codes, pending)
            result[pending[hit] - start] = index
            pending = pending[~hit]
        return result


def _matches(rule: _Rule, codes: AttributeCodes, rows: np.ndarray) -> np.ndarray:
    """`rule_matches` of each of `rows`."""
    match = np.ones(len(rows), bool)
    if rule.resource is not None:
        kind = codes.resource_request[rows]
        match &= kind if rule.resource else ~kind
    for mask in rule.checks:
        match &= mask.at(codes, rows)
    if rule.entries:
        entries = np.zeros(len(rows), bool)
        for entry in rule.entries:
            this = np.ones(len(rows), bool)
            for mask in entry:
                this &= mask.at(codes, rows)
            entries |= this
        match &= entries
    return match


def _compile(rule: PolicyRule) -> _Rule:
    """`rule_matches` (M3-M12) as masks; each test is the evaluator's, per dictionary key."""
    checks: list[_Mask] = []
    if rule.users:
        users = frozenset(rule.users)
        checks.append(_Mask("user", lambda user: user is not None and user in users))  # M5
    if rule.user_groups:
        groups = frozenset(rule.user_groups)
        checks.append(_Mask("user", lambda user: user is not None))  # M6: no user never matches
        checks.append(_Mask("groups", lambda mine: any(group in groups for group in mine)))
    if rule.verbs:
        verbs = frozenset(rule.verbs)
        checks.append(_Mask("verb", lambda verb: verb in verbs))  # M12
    resource: bool | None = None
    entries: tuple[tuple[_Mask, ...], ...] = ()
    if rule.namespaces or rule.resources:  # M7: a resource rule
        resource = True
        if rule.namespaces:
            namespaces = frozenset(rule.namespaces)
            checks.append(_Mask("namespace", lambda namespace: namespace in namespaces))  # M8
        entries = tuple(_entry(entry) for entry in rule.resources)
    elif rule.non_resource_urls:  # M7: a non-resource rule
        resource = False
        urls = rule.non_resource_urls
        checks.append(_Mask("path", lambda path: any(path_matches(url, path) for url in urls)))  # M11
    return _Rule(tuple(checks), resource, entries)


def _entry(entry: GroupResources) -> tuple[_Mask, ...]:
    """`group_resources_match` (M9, M10): the group and a resource pattern, then the names."""

    def matches(key: tuple[str, str, str]) -> bool:
        group, resource, subresource = key
        if entry.group != group and entry.group != "*":
            return False
        if not entry.resources:
            return True
        combined = f"{resource}/{subresource}" if subresource else resource
        return any(resource_pattern_matches(p, resource, subresource, combined) for p in entry.resources)

    masks = [_Mask("resource", matches)]
    if entry.resources and entry.resource_names:  # names count only with a matching pattern
        names = frozenset(entry.resource_names)
        masks.append(_Mask("name", lambda name: name in names))
    return tuple(masks)
