"""The block path for `prefix {json}` lines (an S3 export's `TIMESTAMP {json}`, a host name before
each Event) against the plain line-by-line reader: the same rows, offsets, lengths and problems."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import batch as batch_module
from k8saudit_tui.engine.logs.batch import Batch, Encoder, parse_lines, parse_pieces
from tests.auditlog_helpers import event, line

EVENTS = [line(event(n, user=f"u{n % 5}", verb=("get", "list", "create")[n % 3])) for n in range(12)]
ODD = [
    b'{"kind":"Event","stage":"Bogus","verb":"get","requestURI":"/x"}',  # refused by check_event
    b'{"kind":"EventList","items":[' + EVENTS[0] + b"]}",  # an EventList line (items re-serialised)
    b"not json at all",
    b"",
    b"   ",
    b'prefix {"kind":"Event"',  # cut
    b'prefix {"kind":"Event","stage":"ResponseComplete","verb":"get","requestURI":"/x"} tail',
]
PREFIXES = [b"", b"2023-11-14T22:13:20.000Z ", b"host-a ", b" ", b"x{ "]

lines = st.one_of(
    st.tuples(st.sampled_from(PREFIXES), st.sampled_from(EVENTS)).map(lambda drawn: drawn[0] + drawn[1]),
    st.sampled_from(ODD),
)


def plain(data: bytes, final: bool) -> Batch:
    """parse_lines with every block read line by line (the reader the block paths must equal)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "_fast_block", lambda *_: False)
        patch.setattr(batch_module, "_prefixed_block", lambda *_: False)
        return parse_lines(data, 1000, 3, final, Encoder(persistent=False))


def fields(batch: Batch) -> dict[str, object]:
    """A batch as plain values (arrays as lists) to compare whole."""
    return {
        name: (value.tolist() if isinstance(value, np.ndarray) else value)
        for name, value in dataclasses.asdict(batch).items()
        if name not in ("codes", "stream")
    } | {"codes": {name: codes.tolist() for name, codes in batch.codes.items()}}


@settings(max_examples=200, deadline=None)
@given(
    drawn=st.lists(lines, min_size=1, max_size=40),
    block=st.sampled_from([1, 2, 3, 8, 256]),
    newline=st.booleans(),
    final=st.booleans(),
)
def test_prefixed_blocks_give_what_the_line_reader_gives(
    drawn: list[bytes], block: int, newline: bool, final: bool
) -> None:
    data = b"\n".join(drawn) + (b"\n" if newline else b"")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "BLOCK_LINES", block)
        fast = parse_lines(data, 1000, 3, final, Encoder(persistent=False))
        slow = plain(data, final)
    assert fields(fast) == fields(slow)


def test_an_s3_export_block_points_each_row_at_its_event() -> None:
    """The block path is taken (no line is read alone) and each row's bytes are its Event."""
    stamp = b"2023-11-14T22:13:20.000Z "
    data = b"".join(stamp + piece + b"\n" for piece in EVENTS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "_slow_block", lambda *_: pytest.fail("a line was read alone"))
        batch = parse_lines(data, 0, 0, True)
    assert batch.count == len(EVENTS) and not batch.problems
    rows = [data[offset : offset + length] for offset, length in zip(batch.offset.tolist(), batch.length.tolist())]
    assert rows == EVENTS
    assert batch.line.tolist() == list(range(1, len(EVENTS) + 1))


@settings(max_examples=100, deadline=None)
@given(drawn=st.lists(lines, min_size=1, max_size=40), block=st.sampled_from([1, 3, 256]))
def test_lines_handed_over_give_what_splitting_the_data_gives(drawn: list[bytes], block: int) -> None:
    """A worker that has its events one by one hands them to the parser, never joined."""
    data = b"".join(piece + b"\n" for piece in drawn)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "BLOCK_LINES", block)
        handed = parse_pieces(drawn, 1000, 3, Encoder(persistent=False))
        split = parse_lines(data, 1000, 3, True, Encoder(persistent=False))
    assert fields(handed) == fields(split)
