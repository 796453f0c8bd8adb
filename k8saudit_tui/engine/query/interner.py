"""Dense ids for int64 (or fixed-width bytes) keys in the order they come: the request groups'
and the auditID grouping's interning (indexes.py, auditids.py).

Contract: `Interner.intern(keys)` gives each key's id (equal keys, equal ids; a key not seen
before the next free id) and a new interner knowing them all; an interner is never changed in
place, since a filter thread may be reading it while follow mode extends it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interner:
    """Dense ids for int64 keys in the order they come: `keys` sorted, `ids[i]` the id of keys[i]."""

    keys: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def intern(self, keys: np.ndarray, fresh_from: int | None = None) -> tuple[Interner, np.ndarray]:
        """The id of each of `keys` (a key not seen before gets the next free id, counted from
        `fresh_from`, by default from how many keys it knows), and the interner that knows them
        all (this one is not changed: a filter may be reading it)."""
        distinct, inverse = np.unique(keys, return_inverse=True)
        place = np.searchsorted(self.keys, distinct)
        known = place < len(self.keys)
        known[known] = self.keys[place[known]] == distinct[known]
        ids = np.empty(len(distinct), np.int32)
        ids[known] = self.ids[place[known]]
        fresh = np.flatnonzero(~known)
        ids[fresh] = (len(self.keys) if fresh_from is None else fresh_from) + np.arange(len(fresh))
        grown = Interner(
            np.insert(self.keys, place[fresh], distinct[fresh]), np.insert(self.ids, place[fresh], ids[fresh])
        )
        return grown, ids[inverse.reshape(-1)]


NO_KEYS = Interner(np.empty(0, np.int64), np.empty(0, np.int32))
"""The interner that knows no key."""
