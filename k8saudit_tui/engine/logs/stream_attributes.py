"""The "attr" column of a parser stream: one code per distinct combination of the column codes
that decide an event's RequestAttributes, and the attributes of each code as a plain tuple.

Contract: `StreamAttributes.codes` gives each row the code of the tuple of RequestAttributes
fields (`username, groups, verb, resource_request, path, api_group, resource, subresource,
namespace, name`) that `attributes.request_attributes` gives its event; codes are the stream's,
in the order the combinations were first met (batch by batch, and within a batch in the order of
their combined key); `values` lists the tuples by code. A hypothesis test holds the tuples to
`request_attributes` over drawn events (tests/test_stream_attributes.py).

Why a tuple straight from the columns: the encoder already holds every part, decoded and
dictionary-coded (the API group with E10 applied, the user's presence by `records_user`), so a
new combination costs a lookup per part; rebuilding an EventFields and calling
`request_attributes` cost ~11 us a combination, and a log of pods and leases meets a new one every
ten events (1.1 us an event, the biggest single step of a parser worker). Known combinations are
looked up by the bytes of their code row (no tuple of ints per combination).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs.attributes import URL_NAMED_VERBS, parse_resource_path, request_path

PARTS = ("user", "present", "group", "verb", "hasref", "apigroup", "resource", "subresource", "ns", "name", "path")
"""What decides an event's RequestAttributes, as codes (bool parts as 0/1)."""

_REQUEST_PATH = request_path.__wrapped__
"""`request_path` itself, without its cache (see `StreamAttributes.codes`)."""

Attributes = tuple[str | None, tuple[str, ...], str, bool, str, str, str, str, str, str]
"""The fields of a RequestAttributes in order (`RequestAttributes(*value)` rebuilds it)."""


class StreamAttributes:
    """The attribute codes of one parser stream (reset with the stream's dictionaries)."""

    def __init__(self, new_codes: Callable[[], Any]) -> None:
        self.paths = new_codes()
        """request_path of each distinct URI -> code (a code dictionary with `encode` and `distinct`)."""
        self.path_of_uri = np.empty(0, np.int32)
        self.named: dict[int, tuple[str, str] | None] = {}
        """path code -> the namespace and name `parse_resource_path` reads from it (E8), or None."""
        self.keys: dict[bytes, int] = {}
        self.values: list[Attributes] = []
        self.index: dict[Attributes, int] = {}
        """value -> code: combinations with equal attributes share a code (a pod created under
        each of many names is one value: E8 takes the URL's name), so the store interns fewer."""

    def __len__(self) -> int:
        """Combinations coded (what the stream's memory grows with; `values` may be fewer)."""
        return len(self.keys)

    def codes(
        self,
        distinct: Mapping[str, Sequence[Any]],
        codes: Mapping[str, np.ndarray],
        hasref: np.ndarray,
        present: np.ndarray,
    ) -> np.ndarray:
        """A code per row. `distinct`: the values of each coded column by code (user, group,
        verb, apigroup, resource, subresource, ns, name, uri); `codes`: the rows' codes of those
        columns; `hasref`, `present`: per row, has an objectRef, has a present user (E2)."""
        n = len(hasref)
        if n == 0:
            return np.empty(0, np.int32)
        uris = distinct["uri"]
        have = len(self.path_of_uri)
        if have < len(uris):
            # most URIs are new (watch and list queries differ): the lru_cache of request_path
            # only adds its bookkeeping to each, so the function under it is called
            fresh = self.paths.encode(map(_REQUEST_PATH, uris[have:]), len(uris) - have)
            self.path_of_uri = np.concatenate([self.path_of_uri, fresh])
        rows = {name: codes[name] for name in PARTS if name in codes}
        rows["hasref"] = hasref.astype(np.int32)
        rows["present"] = present.astype(np.int32)
        rows["path"] = self.path_of_uri[codes["uri"]]
        stacked = np.stack([rows[name] for name in PARTS])
        _, first, inverse = np.unique(_combined_key(stacked), return_index=True, return_inverse=True)
        chosen = np.ascontiguousarray(stacked[:, first].T)
        keys: list[bytes] = chosen.view(f"V{chosen.shape[1] * chosen.itemsize}").reshape(-1).tolist()
        found = list(map(self.keys.get, keys))
        if None in found:
            new = [position for position, code in enumerate(found) if code is None]
            values, index = self.values, self.index
            for position, value in zip(new, self._values(distinct, chosen[new])):
                code = index.get(value)
                if code is None:
                    code = index[value] = len(values)
                    values.append(value)
                found[position] = self.keys[keys[position]] = code
        table = np.array(found, np.int32)
        result: np.ndarray = table[inverse.reshape(-1)]
        return result

    def _values(self, distinct: Mapping[str, Sequence[Any]], chosen: np.ndarray) -> list[Attributes]:
        """The attribute tuples of combinations (rows of part codes, in PARTS order), column by
        column: each part's value by its code, then E2 (no user: None) and E8 (the URL's
        namespace and name for create, update and patch) where they apply."""
        user, present, group, verb, hasref, apigroup, resource, subresource, ns, name, path = chosen.T.tolist()
        usernames: list[str | None] = list(map(distinct["user"].__getitem__, user))
        if 0 in present:
            usernames = [username if known else None for username, known in zip(usernames, present)]
        verbs = list(map(distinct["verb"].__getitem__, verb))
        paths = list(map(self.paths.distinct.__getitem__, path))
        values: list[Attributes] = list(
            zip(
                usernames,
                map(distinct["group"].__getitem__, group),
                verbs,
                map(bool, hasref),
                paths,
                map(distinct["apigroup"].__getitem__, apigroup),
                map(distinct["resource"].__getitem__, resource),
                map(distinct["subresource"].__getitem__, subresource),
                map(distinct["ns"].__getitem__, ns),
                map(distinct["name"].__getitem__, name),
            )
        )
        named = self.named
        for position, value in enumerate(values):
            if value[3] and value[2] in URL_NAMED_VERBS:
                code = path[position]
                if code not in named:
                    parsed = parse_resource_path(value[4])
                    named[code] = None if parsed is None else (parsed.namespace, parsed.name)
                url = named[code]
                if url is not None:
                    values[position] = (*value[:8], *url)
        return values


def _combined_key(stacked: np.ndarray) -> np.ndarray:
    """One int64 per column of `stacked` (rows = small non-negative code arrays), equal exactly
    when all codes are equal: mixed-radix digits, re-densified before the radix would overflow."""
    key = np.zeros(stacked.shape[1], np.int64)
    size = 1
    for part in stacked:
        radix = int(part.max(initial=0)) + 1
        if size * radix >= 1 << 62:
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
            size = int(key.max(initial=0)) + 1
        key = key * radix + part
        size *= radix
    return key
