"""`SplitInterner` (an interner grown a key range at a time) against a plain dict interning and
against `Interner`, over batches of keys, with two or three ranges (PARTS) so the split is
met after a few keys, and bytes keys (the rows by auditID's exact keys) as well as int64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.query import split_interner
from k8saudit_tui.engine.query.interner import NO_KEYS, Interner
from k8saudit_tui.engine.query.split_interner import SplitInterner


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.integers(-5, 40), max_size=12), min_size=1, max_size=6),
    st.sampled_from([2, 3, 16]),
    st.booleans(),
    st.integers(0, 100),
)
@example([[1], [2, 1, 3], [0, 9, 9, 4]], 2, False, 0)  # keys before the split, then some on each side
def test_split_interner_interns_like_a_dict_and_like_one_interner(
    batches: list[list[int]], parts: int, as_bytes: bool, offset: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(split_interner, "PARTS", parts)
        dtype: np.dtype | type = np.dtype("S3") if as_bytes else np.int64
        split = SplitInterner.empty(dtype)
        whole = Interner(np.empty(0, dtype), np.empty(0, np.int32)) if as_bytes else NO_KEYS
        plain: dict[object, int] = {}
        for number, batch in enumerate(batches):
            keys = np.array([str(k).encode() for k in batch], dtype) if as_bytes else np.array(batch, np.int64)
            fresh_from = offset + number * 50  # as the rows by auditID: from how many requests there are
            grown, ids = split.intern(keys, fresh_from)
            assert grown is split
            whole, whole_ids = whole.intern(keys, fresh_from)
            for k, new in enumerate(sorted(set(keys.tolist()) - plain.keys())):  # new keys in key order
                plain[new] = fresh_from + k
            assert ids.tolist() == whole_ids.tolist() == [plain[k] for k in keys.tolist()]
            assert ids.dtype == np.int32 and len(split) == len(plain)
            joined_keys = np.concatenate([part.keys for part in split.parts])
            assert joined_keys.tolist() == whole.keys.tolist()  # the ranges, in order, are one sorted interner
            assert np.concatenate([part.ids for part in split.parts]).tolist() == whole.ids.tolist()
        split_up = any(len(set(batch)) >= parts for batch in batches)  # a batch with enough keys to tell ranges
        assert (split.bounds is not None, len(split.parts)) == ((True, parts) if split_up else (False, 1))
