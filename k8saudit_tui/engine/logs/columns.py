"""The shape of a parsed chunk: the `Batch` a parser hands the store, and its column names.

A module of its own so the parser (`batch`), the encoder (`encoder`) and the store agree on one
definition. Everything in a Batch is plain data (numpy arrays, lists of str, tuples) because worker
processes send batches over a pipe. String column names come from the one table of fields
(`engine/fields.py`): every field stored as a string is dictionary-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from k8saudit_tui.engine.fields import FIELDS
from k8saudit_tui.engine.logs.auditid_keys import KEY_DTYPE

STRING_COLUMNS: tuple[str, ...] = tuple(f.column for f in FIELDS if f.kind in ("string", "resource"))
"""Dictionary-encoded string columns: the fields stored as strings (resource is one, matched apart)."""

SET_COLUMNS: tuple[str, ...] = ("group", "annotations")
"""Columns whose rows are each a code of a tuple of strings (a user's groups, an event's
annotations as sorted `key=value`): most events share a few combinations."""

CODED_COLUMNS: tuple[str, ...] = (*STRING_COLUMNS, *SET_COLUMNS, "attr")
"""Every column a batch ships as codes + new values: strings, string tuples, RequestAttributes."""

LATENCY_UNKNOWN = -1
"""`Batch.latency` (and the store's latency column) where either timestamp is missing or unreadable."""

ITEM_FILE = -1
"""`file` of a row whose bytes are in `Batch.items` (an EventList item), not in the source."""


@dataclass
class Batch:
    """Columns for `count` events parsed from consecutive lines of one source.

    `line` is 1-based relative to the batch's first line; the store adds the batch's base line.
    For each name in CODED_COLUMNS, `codes[name]` are codes of the parser's Encoder (stream
    `stream`) and `values[name]` the values first seen in this batch, whose codes start at
    `bases[name]`; "attr" values are tuples of RequestAttributes fields (`stream_attributes.Attributes`).
    `retired` names a stream the parser has dropped (its tables can go).
    """

    count: int = 0
    lines: int = 0
    blank: int = 0
    end: int = 0
    file: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))
    line: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    offset: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    length: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    time: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    """The stage time (stageTimestamp; the received time for an event without one), ns; 0 = none."""
    latency: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    """stageTimestamp - requestReceivedTimestamp in ns; LATENCY_UNKNOWN when either is unknown."""
    code: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))
    auditid: np.ndarray = field(default_factory=lambda: np.empty(0, KEY_DTYPE))
    """auditID keys (`auditid_keys`): UUIDs packed, other IDs zero here and listed below."""
    other_auditids: dict[int, str] = field(default_factory=dict)
    """row -> auditID of the rows whose ID is not a canonical UUID (the store codes them)."""
    format: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint8))
    """Per row, the FormatInfo.code its event came in (set by the loader for unwrapped files; empty: raw)."""
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    bases: dict[str, int] = field(default_factory=dict)
    stream: int = 0
    retired: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    items: list[bytes] = field(default_factory=list)
    tail_failed: bool = False
    """The last line had no newline and did not parse: a writer may still be completing it."""
    tail_start: int = 0
    """With `tail_failed`: the byte offset where that last line starts."""
