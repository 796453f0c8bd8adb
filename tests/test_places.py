"""`places` (engine/query/places.py), the first search of a word in a SearchText: every place the
needle starts, equal to a bytes.find loop, whatever the chunking, the sample and the rarest byte."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.query.places import places

_BYTES = st.binary(max_size=200) | st.lists(st.sampled_from(b"ab\n\xc3"), max_size=200).map(bytes)


def _plain(text: bytes, needle: bytes) -> list[int]:
    found, start = [], text.find(needle)
    while start >= 0:
        found.append(start)
        start = text.find(needle, start + 1)
    return found


@settings(max_examples=400, deadline=None)
@given(_BYTES, st.data(), st.integers(1, 40), st.integers(1, 300))
def test_places_equal_a_find_loop(text: bytes, data: st.DataObject, chunk: int, sample: int) -> None:
    """Needles cut from the text (hits, overlapping ones in a two-letter text) or drawn anew
    (mostly misses), across chunk edges and at the text's ends."""
    if text and data.draw(st.booleans()):
        begin = data.draw(st.integers(0, len(text) - 1))
        needle = text[begin : begin + data.draw(st.integers(1, 6))]
    else:
        needle = data.draw(st.binary(min_size=1, max_size=4))
    found = places(np.frombuffer(text, np.uint8), needle, chunk, sample)
    assert found.tolist() == _plain(text, needle)
