"""`auditid:~` and `auditid:/re/` decide each distinct request's ID once (`auditids.matching`):
the rows they select equal reading every row's ID and matching it the plain way."""

from __future__ import annotations

import re
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import load
from tests.test_auditid_keys import _event, any_ids


@settings(max_examples=60, deadline=None)
@given(st.lists(any_ids, min_size=1, max_size=6), st.data())
def test_auditid_substring_and_regex_equal_reading_each_row(pool: list[str], data: st.DataObject) -> None:
    """IDs drawn from a small pool (requests of several rows, empty IDs, long ones), queried by a
    piece of one of them, or a letter, as a substring and as a regex."""
    ids = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=30))
    source = data.draw(st.sampled_from(pool))
    begin = data.draw(st.integers(0, len(source)))
    piece = source[begin : begin + data.draw(st.integers(1, 6))] or "a"
    piece = "".join(char for char in piece if char.isalnum() or char == "-") or "a"
    with TemporaryDirectory() as folder:
        log = Path(folder) / "audit.log"
        log.write_bytes(b"\n".join(_event(i, n) for n, i in enumerate(ids)) + b"\n")
        store = load(expand_sources([str(log)]), workers=1)
    substring = sorted(compile_filter(f"auditid:~{piece}").apply(store).tolist())
    assert substring == [row for row, i in enumerate(ids) if piece.lower() in i.lower()], piece
    pattern = f"^{re.escape(piece)}" if data.draw(st.booleans()) else f"{re.escape(piece)}$"
    regex = sorted(compile_filter(f"auditid:/{pattern}/").apply(store).tolist())
    assert regex == [row for row, i in enumerate(ids) if re.search(pattern, i)], pattern
