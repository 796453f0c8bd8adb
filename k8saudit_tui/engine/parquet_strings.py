"""Arrow string columns cut out of byte buffers, without a Python object per row (engine.parquet).

Contract: `segments` turns (buffer, starts, lengths) into a string array in any order; `raw_lines`
gives the original lines of rows, reading neighbouring lines of a file with one pread; `auditids`
turns the store's auditID keys into strings. Bytes that are not UTF-8 become U+FFFD
(engine.parquet says why `raw` is a string). Callers pass the pyarrow module (`pa`): this module is
only imported once engine.parquet has found pyarrow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.private_file import ExportError
from k8saudit_tui.engine.store import EventStore


def auditids(pa: Any, store: EventStore, rows: np.ndarray, ids: np.ndarray) -> Any:
    """The auditID keys of the store's column (logs/auditid_keys.py) as strings: UUIDs formatted
    at once (no per-row Python object), other IDs from the store's dictionary."""
    texts, other = auditid_keys.uuid_texts(ids)
    data = np.ascontiguousarray(texts).view(np.uint8)
    starts = np.arange(len(texts), dtype=np.int64) * 36
    array = segments(pa, data, starts, np.char.str_len(texts).astype(np.int64), np.arange(len(texts)))
    if other.any():
        import pyarrow.compute as pc

        values = pa.array(store.auditid_texts(ids[other]), pa.string())
        array = pc.replace_with_mask(array, pa.array(other), values)
    return array


def segments(pa: Any, data: Any, starts: np.ndarray, lengths: np.ndarray, order: np.ndarray) -> Any:
    """Strings `data[starts[i] : starts[i] + lengths[i]]` taken in `order`, built by Arrow: the
    segments (ascending, not overlapping) and the gaps between them are one array, of which `take`
    keeps the segments. Bytes that are not UTF-8 become U+FFFD (module docstring)."""
    count = len(starts)
    if not count:
        return pa.array([], pa.string())
    bounds = np.empty(2 * count, np.int64)
    bounds[0::2], bounds[1::2] = starts, starts + lengths
    if bounds[0] != 0:
        bounds = np.concatenate([[0], bounds])
        order = order * 2 + 1
    else:
        order = order * 2
    buffers = [None, pa.py_buffer(bounds), pa.py_buffer(data)]
    pieces = pa.Array.from_buffers(pa.large_binary(), len(bounds) - 1, buffers)
    binary = pieces.take(pa.array(order, pa.int64())).cast(pa.binary())
    text = binary.view(pa.string())
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        text = pa.array([value.decode("utf-8", "replace") for value in binary.to_pylist()], pa.string())
    return text


_GAP = 512
"""Bytes between two selected lines read rather than skipped (a pread costs more than this much copying)."""


def raw_lines(pa: Any, store: EventStore, rows: np.ndarray, redact: Callable[[bytes], bytes] | None) -> Any:
    """The raw lines of `rows` in their order: neighbouring lines of a file are read with one pread
    (a whole row group of an unfiltered export is a few reads), then cut apart by Arrow."""
    if not len(rows):
        return pa.array([], pa.string())
    if redact is not None:
        lines = [redact(line) for line in store.raw_many(rows)]
        lengths = np.fromiter(map(len, lines), np.int64, len(lines))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return segments(pa, b"".join(lines), starts, lengths, np.arange(len(rows)))
    files = store.column("file")[rows].astype(np.int64)
    offsets = store.gather("offset", rows)
    lengths = store.gather("length", rows)
    order = np.lexsort((offsets, files))
    files, offsets, lengths = files[order], offsets[order], lengths[order]
    ends = offsets + lengths
    gaps = offsets[1:] - ends[:-1]
    # A new read where the file changes, where lines overlap (a row asked twice) or the gap costs
    # more than the line after it: the bytes read stay below twice the lines' bytes plus _GAP a row.
    breaks = (files[1:] != files[:-1]) | (gaps < 0) | ((gaps > _GAP) & (gaps > lengths[1:]))
    first = np.concatenate([[0], np.flatnonzero(breaks) + 1])
    last = np.concatenate([first[1:], [len(rows)]]) - 1
    spans = ends[last] - offsets[first]
    run_of = np.repeat(np.arange(len(first)), last - first + 1)
    base = np.concatenate([[0], np.cumsum(spans)[:-1]])
    starts = base[run_of] + offsets - offsets[first][run_of]
    buffer = np.empty(int(spans.sum()), np.uint8)  # not zeroed (a bytearray is): every byte is read into
    view = buffer.data
    for file, offset, span, at in zip(files[first].tolist(), offsets[first].tolist(), spans.tolist(), base.tolist()):
        got = os.preadv(store.descriptor(store.files[file]), [view[at : at + span]], offset)
        if got != span:
            name = store.files[file].name
            raise ExportError(
                f"{name}: changed while it was exported ({got} of {span} bytes read); nothing was written"
            )
    inverse = np.empty(len(rows), np.int64)
    inverse[order] = np.arange(len(rows))
    return segments(pa, buffer, starts, lengths, inverse)
