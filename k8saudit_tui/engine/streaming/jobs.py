"""The per-range jobs of the streaming commands, run by the worker pool (or in-process), with the
full Judge (the narrow path's own job is `narrow_job.select`, which comes here when it must).

Each job takes a `Judge` (the worker's state) and a `Task` and returns plain picklable data, small
next to the range: `select` where the selected events are (or, rendered, CSV rows and redacted
lines) with their stage times (the order key),
`latest` the range's latest received time (the first pass of a filter read against the log's
end), `count` the per-value counts of `top`. Every one also returns the range's line count, event
count and problems (line numbers relative to the range), which the parent turns into Problems.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine.export import CSV_COLUMNS, _csv_cell, redact_line
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.query.timefilter import latest_time, received_times
from k8saudit_tui.engine.streaming.narrow import NarrowRange, narrow_range
from k8saudit_tui.engine.streaming.narrow_job import Read, Selected, located, read_bytes
from k8saudit_tui.engine.streaming.ranges import Judge, RangeStore, read_lines, read_range

__all__ = ["Latest", "Read", "Selected", "csv_header", "finish_narrow", "latest", "select"]


def _read(ranged: RangeStore) -> Read:
    return Read(ranged.lines, ranged.events, ranged.problems)


def select(judge: Judge, task: Task) -> Selected:
    """The selected events of the range, rendered as `judge.fmt` (jsonl: the line and a newline;
    json: `,\\n` and the line; csv: the CSV row), in input order."""
    if judge.narrow is not None and not task.document:
        data = read_bytes(task)
        return finish_narrow(judge, task, data, narrow_range(data, task.final, judge.narrow))
    ranged, rows = judge.read(task)
    read = _read(ranged)
    times = ranged.store.column("time")[rows].astype(np.int64) if len(rows) else np.empty(0, np.int64)
    if judge.fmt == "csv":
        pieces = _csv_rows(ranged, rows)
        lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
        return Selected(read.lines, read.events, read.problems, b"".join(pieces), lengths, times)
    if not judge.redact:
        offsets = ranged.store.column("offset")[rows].astype(np.int64)
        lengths = ranged.store.column("length")[rows].astype(np.int64)
        items = [ranged.items[row] for row in rows.tolist() if row in ranged.items] if ranged.items else []
        if items:
            offsets[[index for index, row in enumerate(rows.tolist()) if row in ranged.items]] = -1
        return Selected(read.lines, read.events, read.problems, b"".join(items), lengths, times, offsets)
    return _redacted(judge, read, ranged.raw(rows), times)


def _redacted(judge: Judge, read: Read, raw: Sequence[bytes | memoryview], times: np.ndarray) -> Selected:
    """Selected events whose lines are redacted here (`judge.redact`): rendered, not located."""
    lines = [redact_line(bytes(line)) for line in raw]
    lengths = np.fromiter(map(len, lines), np.int64, len(lines))
    if judge.fmt == "json":  # `,\n` before each line
        blob = b",\n".join([b"", *lines]) if lines else b""
        return Selected(read.lines, read.events, read.problems, blob, lengths + 2, times)
    blob = b"\n".join([*lines, b""]) if lines else b""  # a newline after each line
    return Selected(read.lines, read.events, read.problems, blob, lengths + 1, times)


def finish_narrow(judge: Judge, task: Task, data: bytes, decided: NarrowRange) -> Selected:
    """`select` of the range `data` read by `task`, whose lines the narrow reading decided
    (`decided`); the lines it leaves (prefixed, EventLists, problems) go through the store path
    (`Judge.decide`), and the two selections are merged in line order (a line is in one or the
    other). Redacted lines are rendered here."""
    offsets, lengths = located(task, decided)
    times, lines, items = decided.times, decided.selected, b""
    read = Read(len(decided.starts) - 1, decided.events)
    if decided.rest.any():
        ranged = read_lines(data, decided.starts, decided.rest, task.start)
        rows = judge.decide(ranged)
        read = Read(read.lines, read.events + ranged.events, ranged.problems)
        store = ranged.store
        more = store.column("offset")[rows].astype(np.int64)
        if ranged.items:
            listed = rows.tolist()
            more[[index for index, row in enumerate(listed) if row in ranged.items]] = -1
            items = b"".join([ranged.items[row] for row in listed if row in ranged.items])
        order = np.argsort(np.concatenate([lines, store.column("line")[rows] - 1]), kind="stable")
        offsets = np.concatenate([offsets, more])[order]
        lengths = np.concatenate([lengths, store.column("length")[rows].astype(np.int64)])[order]
        times = np.concatenate([times, store.column("time")[rows].astype(np.int64)])[order]
    if judge.redact:
        view = memoryview(data)
        raw: list[bytes | memoryview] = []
        item_at = 0
        for offset, length in zip(offsets.tolist(), lengths.tolist()):
            if offset < 0:
                raw.append(items[item_at : item_at + length])
                item_at += length
            else:
                raw.append(view[offset - task.start : offset - task.start + length])
        return _redacted(judge, read, raw, times)
    return Selected(read.lines, read.events, read.problems, items, lengths, times, offsets)


def _csv_rows(ranged: RangeStore, rows: np.ndarray) -> list[bytes]:
    """One CSV row per selected event, as `engine.export` writes them (same cells, same writer)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    store = ranged.store
    pieces = []
    for row in rows.tolist():
        writer.writerow([_csv_cell(store.value(row, column)) for _, column in CSV_COLUMNS])
        pieces.append(buffer.getvalue().encode("utf-8", "surrogateescape"))
        buffer.seek(0)
        buffer.truncate()
    return pieces


def csv_header() -> bytes:
    """The CSV header line `engine.export` writes."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([header for header, _ in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8", "surrogateescape")


@dataclass
class Latest(Read):
    """The latest known received time of a range's events (None: none has a time)."""

    latest: int | None = None


def latest(judge: object, task: Task) -> Latest:
    """The first pass of a filter whose time range is read against the log's end: the latest
    received time (`timefilter.received_times`, as the store's filter reads it), every line parsed."""
    ranged = read_range(task)
    store = ranged.store
    found = latest_time(received_times(store, len(store)))
    return Latest(ranged.lines, ranged.events, ranged.problems, found)
