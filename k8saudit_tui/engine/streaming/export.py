"""`export --filter` without a store: the same bytes as the store-based export, in bounded memory.

How: the logs are cut into ranges (pipeline.plan); each range is parsed and filtered where it is
read (jobs.select: the one parser, a small store of the range, the one filter engine; the
prefilter skips building rows for lines that cannot match); the selected events come back
rendered and are written as ranges complete (output.OrderedOutput: view order, atomic, 0600).

Contract: for jsonl, json and csv, `stream_export` writes exactly what `export_rows(store,
compile_filter(text).apply(store), ...)` writes for the store of the same sources, policies and
candidate (tested over generated filters and logs), and reports the same problems. Memory: a few
ranges (4 MB, 2 MB when every line is parsed) per worker, plus, for input whose selected events
are out of time order, 16 bytes a selected event while they are sorted at the end. Original lines
(jsonl, json without redaction) are read by this process from the file in runs of adjacent lines
(`original_lines`); the workers send only where they are. A filter whose time range is read
against the log's end costs a first pass over the log (pipeline.first_pass_latest). Parquet is
not streamed (`STREAMED_FORMATS`): it is one file whose row groups the store's columns build.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.sources import LogSource
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query.filter import Filter
from k8saudit_tui.engine.streaming import jobs, pipeline
from k8saudit_tui.engine.streaming.output import OrderedOutput
from k8saudit_tui.engine.streaming.prefilter import prefilter
from k8saudit_tui.engine.streaming.ranges import judge_setup

STREAMED_FORMATS = ("jsonl", "json", "csv")


@dataclass(frozen=True)
class StreamedExport:
    """What was written (`count` events, `bytes`, to `path` or "-"), of how many `events` read,
    with the problems of the inputs, and whether a first pass found the log's end."""

    count: int
    path: str
    bytes: int
    events: int
    problems: list[Problem] = field(default_factory=list)
    first_pass: bool = False
    sorted: bool = False
    """Whether the selected events were out of time order and sorted at the end."""


def stream_export(
    sources: Sequence[LogSource],
    selection: Filter,
    fmt: str,
    path: str | None,
    *,
    evaluator: PolicyEvaluator | None = None,
    candidate: PolicyEvaluator | None = None,
    force: bool = False,
    redact: bool = False,
    workers: int | None = None,
    in_process_bytes: int = split.IN_PROCESS_BYTES,
) -> StreamedExport:
    """Export the events of `sources` that `selection` matches as `fmt` (one of STREAMED_FORMATS)
    to `path` (None or "-": stdout). Raises engine.export.ExportError (target exists without
    force, symlink, permission, disk full) with nothing left behind."""
    if fmt not in STREAMED_FORMATS:
        raise ValueError(f"{fmt} is not streamed (use engine.export.export_rows)")
    screened = prefilter(selection).active
    found = pipeline.plan(sources, pipeline.RANGE_BYTES if screened else pipeline.FULL_PARSE_RANGE_BYTES)
    first_pass = pipeline.reads_the_end(selection)
    if first_pass:
        latest = pipeline.first_pass_latest(found.tasks, workers, in_process_bytes)
        selection = pipeline.anchored(selection, latest)
    header = jobs.csv_header() if fmt == "csv" else b"[" if fmt == "json" else b""
    footer = b"\n]\n" if fmt == "json" else b""
    output = OrderedOutput(path, force, header, footer, json=fmt == "json")
    totals = pipeline.Totals(found.names)
    setup = judge_setup(selection, evaluator, candidate, fmt, redact)
    try:
        with runtime.loading():  # each range's answer goes back to the OS once written
            for task, selected in pipeline.run(found.tasks, jobs.select, setup, workers, in_process_bytes):
                totals.add(task, selected)
                if selected.offsets is None:
                    output.add(selected.blob, selected.lengths, selected.times)
                    continue
                separator = b",\n" if fmt == "json" else b"\n"
                for chunk, lengths, times in original_lines(task.path, selected, separator):
                    output.add(chunk, lengths, times)
        written_to, size = output.finish()
    except BaseException:
        output.abandon()
        raise
    problems = [*found.problems, *totals.problems]
    return StreamedExport(output.count, written_to, size, totals.events, problems, first_pass, not output.in_order)


_RUN_BYTES = 1 << 20
"""At most this many bytes are read at once (a run of adjacent lines is cut there)."""


def original_lines(
    path: str, selected: jobs.Selected, separator: bytes
) -> Iterator[tuple[bytes, np.ndarray, np.ndarray]]:
    """The selected events' original lines, each with `separator` (jsonl: after it; json: before
    it), as (bytes, piece lengths, times) blocks. Lines adjacent in the file are read in one
    `pread` (their newlines are the file's own); EventList items come from `selected.blob`."""
    assert selected.offsets is not None
    offsets, lengths, times = selected.offsets, selected.lengths, selected.times
    if not len(offsets):
        return
    ends = offsets + lengths
    apart = np.ones(len(offsets), bool)
    apart[1:] = (offsets[1:] != ends[:-1] + 1) | (offsets[1:] < 0) | (offsets[:-1] < 0)
    total = np.cumsum(lengths + 1)
    cut = apart.copy()  # a new block where a run starts, or where a block would pass _RUN_BYTES
    cut[1:] |= (total[1:] // _RUN_BYTES) != (total[:-1] // _RUN_BYTES)
    blocks = [*np.flatnonzero(cut).tolist(), len(offsets)]
    item_at = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        for begin, end in itertools.pairwise(blocks):
            first = int(offsets[begin])
            if first < 0:
                size = int(lengths[begin])
                text = selected.blob[item_at : item_at + size]
                item_at += size
            else:
                text = os.pread(fd, int(ends[end - 1]) - first, first)
            if separator == b"\n":
                piece = text + b"\n"
            else:
                piece = b",\n" + text.replace(b"\n", b",\n")
            yield piece, lengths[begin:end] + len(separator), times[begin:end]
    finally:
        os.close(fd)
