"""The workbench's fast paths (issue 13's speed targets) against their plain implementations:
the digit-run check of `apply.rewrite` against the regular expression it replaced, and the byte
cost read from the store (`store_cost`) against `cost_of_lines`, one `apply_line` per line."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.workbench.apply import _BIG_INTEGER, _DIGITS

_PLAIN_BIG_INTEGER = re.compile(rb"\d{19}")

digit_runs = st.lists(
    st.one_of(st.binary(max_size=8), st.integers(0, 10**25).map(lambda n: str(n).encode())), max_size=8
).map(b"".join)


@given(text=st.one_of(st.binary(max_size=64), digit_runs))
def test_the_digit_run_check_is_the_regular_expression(text: bytes) -> None:
    assert (_BIG_INTEGER in text.translate(_DIGITS)) == (_PLAIN_BIG_INTEGER.search(text) is not None)
