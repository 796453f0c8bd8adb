"""`resource/subresource` as one value, the way `resource:~` and bare words read a resource.

The filter language defines a fuzzy or regex `resource:` term over `pods/log` (`resource` alone when
there is no subresource), and a bare word over user, verb, resource, subresource, namespace and name.
The store keeps resource and subresource in two columns; what a term reads is their pair. The
pairs are few (hundreds in a million events), so this keeps, per request attributes code (the
store's `attr` column, whose attributes hold both), the index of its `resource/subresource` text,
extended over new attributes only (follow mode), and a term is decided over the texts once and
gathered over the rows through the `attr` column.

Contract: `path_mask(store, n, match)` is exactly "rows [0, n) whose resource/subresource text
`match` accepts", where `match` decides a list of texts (filter.match_values, the plain way);
`path_table(store, match)` is the same per attributes code (index: the `attr` code), for a caller
that folds it into coarser groups of rows before the one gather over them (the bare word).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class Store(Protocol):
    """What the paths need of a store."""

    match_cache: dict[tuple[Any, ...], Any]

    def column(self, name: str, n: int | None = None) -> np.ndarray: ...

    def values(self, name: str) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Paths:
    """`texts[index[code]]` is the resource/subresource of attributes `code` ("" for a
    non-resource request); `with_subresource[i]` whether text i names a subresource."""

    attributes: int
    texts: tuple[str, ...]
    index: np.ndarray
    with_subresource: np.ndarray


KEY = ("joined", "resource-paths")
"""Its key in the match cache."""
_NONE = Paths(0, (), np.zeros(0, np.int32), np.zeros(0, bool))


def paths(store: Store) -> Paths:
    """The paths of every attributes code the store has now, cached and extended."""
    known: Paths = store.match_cache.get(KEY, _NONE)
    attributes = store.values("attr")
    if len(attributes) <= known.attributes:
        return known
    texts = list(known.texts)
    number = {text: i for i, text in enumerate(texts)}
    fresh = np.empty(len(attributes) - known.attributes, np.int32)
    for offset, attrs in enumerate(attributes[known.attributes :]):
        text = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        fresh[offset] = number.setdefault(text, len(number))
        if len(number) > len(texts):
            texts.append(text)
    with_subresource = np.fromiter(("/" in text for text in texts), bool, len(texts))
    grown = Paths(len(attributes), tuple(texts), np.concatenate([known.index, fresh]), with_subresource)
    store.match_cache[KEY] = grown
    return grown


def path_table(
    store: Store, match: Callable[[list[str]], np.ndarray], *, subresources_only: bool = False
) -> np.ndarray:
    """attributes code -> whether its resource/subresource text `match` accepts (with
    `subresources_only`, among the texts that name a subresource: a bare word already searched
    the resources alone), over every attributes code the store has now."""
    known = paths(store)
    hits = match(list(known.texts)) if known.texts else np.zeros(0, bool)
    if subresources_only:
        hits = hits & known.with_subresource
    if not hits.any():
        return np.zeros(len(known.index), bool)
    return np.asarray(hits[known.index], bool)


def path_mask(
    store: Store, n: int, match: Callable[[list[str]], np.ndarray], *, subresources_only: bool = False
) -> np.ndarray:
    """Rows [0, n) whose resource/subresource text `match` accepts (`path_table` over the rows)."""
    per_attributes = path_table(store, match, subresources_only=subresources_only)
    if not per_attributes.any():
        return np.zeros(n, bool)
    return np.asarray(per_attributes[store.column("attr", n)], bool)
