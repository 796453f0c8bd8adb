"""An interner split in key ranges, for an index built from row 0 a chunk of rows at a time.

Why: a sorted interner grows by a copy of itself with each chunk's new keys (`np.insert`), so for
a moment it is held twice: building the rows by auditID at 10M events (4.7M requests, 12 bytes
each), that copy was 57 MB of the step's peak. Split in PARTS key ranges, a chunk's new keys go
in a range at a time, and only one range is held twice.

Contract: `SplitInterner.empty(dtype).intern(keys, fresh_from)` does what `Interner.intern` does
(equal keys, equal ids; a key not seen before gets the next free id from `fresh_from`, counted in
key order) and returns itself with the ids: it grows in place, so it must be a build's own, read
by no other thread. `parts` are Interners over consecutive key ranges (concatenated, they are the
one sorted Interner); their `ids` arrays are the builder's to renumber in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from k8saudit_tui.engine.query.interner import Interner

PARTS = 16
"""Key ranges, chosen from the first keys interned (evenly many of them in each)."""


@dataclass
class SplitInterner:
    """`parts[k]` holds the keys from `bounds[k - 1]` (inclusive) to `bounds[k]` (exclusive);
    one part and no bounds until PARTS distinct keys come at once (the few that came before are
    then split by the bounds too)."""

    parts: list[Interner]
    bounds: np.ndarray | None = None

    @staticmethod
    def empty(dtype: np.dtype | type) -> SplitInterner:
        """An interner knowing no key, for keys of `dtype`."""
        return SplitInterner([Interner(np.empty(0, dtype), np.empty(0, np.int32))])

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def intern(self, keys: np.ndarray, fresh_from: int) -> tuple[SplitInterner, np.ndarray]:
        """The id of each of `keys` (see the module's contract), this interner grown to know them."""
        distinct, inverse = np.unique(keys, return_inverse=True)
        if self.bounds is None:
            if len(distinct) < PARTS:  # too few to tell the ranges: one range still
                grown, ids = self.parts[0].intern(distinct, fresh_from)
                self.parts[0] = grown
                return self, ids[inverse.reshape(-1)]
            self.bounds = distinct[len(distinct) * np.arange(1, PARTS) // PARTS]
            known = self.parts[0]  # the few keys of the chunks before, split by the bounds too
            cuts = [0, *np.searchsorted(known.keys, self.bounds).tolist(), len(known)]
            self.parts = [Interner(known.keys[a:b].copy(), known.ids[a:b].copy()) for a, b in pairwise(cuts)]
        edges = [0, *np.searchsorted(distinct, self.bounds).tolist(), len(distinct)]
        ids = np.empty(len(distinct), np.int32)
        for part, (start, stop) in enumerate(pairwise(edges)):
            if start == stop:
                continue
            before = len(self.parts[part])
            self.parts[part], ids[start:stop] = self.parts[part].intern(distinct[start:stop], fresh_from)
            fresh_from += len(self.parts[part]) - before
        return self, ids[inverse.reshape(-1)]
