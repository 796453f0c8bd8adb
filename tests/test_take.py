"""`take` (engine/query/take.py) equals numpy indexing, whatever the dtypes and the chunking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.query.take import take


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-(2**15), 2**15 - 1), min_size=1, max_size=50),
    st.sampled_from([np.bool_, np.int8, np.int16, np.int64]),
    st.sampled_from([np.uint8, np.uint16, np.int32, np.uint32, np.int64]),
    st.data(),
)
def test_take_equals_indexing(values: list[int], table_type: type, index_type: type, data: st.DataObject) -> None:
    table = np.array(values).astype(table_type)
    top = min(len(table) - 1, 255)
    indices = np.array(data.draw(st.lists(st.integers(0, top), max_size=200)), dtype=index_type)
    chunk = data.draw(st.integers(1, 70))
    taken = take(table, indices, chunk)
    assert taken.dtype == table.dtype
    assert taken.tolist() == table[indices].tolist()


def test_an_index_out_of_range_raises_as_indexing_does() -> None:
    with pytest.raises(IndexError):
        take(np.zeros(3, bool), np.array([0, 3], np.uint8))
