"""`export --filter` without a store: the same bytes as the store-based export, in bounded memory.

How: the logs are cut into ranges (pipeline.plan); each range is parsed and filtered where it is
read: a filter of exact terms on the event's own strings (`verb:create`, `user:alice`,
`!ns:kube-system`) is decided on each decoded line (`narrow`: every line is decoded once, as the
parser's fast pass decodes it, and no store is built) by workers that are sent only its terms
(`narrow_job`; from the text, `exact_text` reads such a filter without the query package, so the
command starts its first range sooner); any other filter goes through `jobs.select`: the one
parser, a small store of the range and the one filter engine (the prefilter skips
building rows for lines that cannot match), and so do the lines the narrow reading leaves
(prefixed, EventLists, refused). The selected events are written as ranges complete
(output.OrderedOutput: view order, atomic, 0600), one write a range.

Contract: for jsonl, json and csv, `stream_export` writes exactly what `export_rows(store,
compile_filter(text).apply(store), ...)` writes for the store of the same sources, policies and
candidate (tested over generated filters and logs), and reports the same problems. Memory: a few
ranges (4 MB, 2 MB when every line is parsed) per worker, plus, for input whose selected events
are out of time order, 16 bytes a selected event while they are sorted at the end. Original
lines (jsonl, json without redaction) are read by this process from the file, near ones in one
call into one buffer kept across ranges (`OriginalLines`); the workers send only where they are,
or, on the narrow path, the lines themselves when they are a small share of the range
(`narrow_job.SHIPPED_SHARE`).
A filter whose time range is read against the log's end costs a first pass over the log
(pipeline.first_pass_latest). Parquet is not streamed (`STREAMED_FORMATS`): it is one file whose
row groups the store's columns build.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.export_formats import ORIGINAL_LINE_FORMATS, STREAMED_FORMATS
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.sources import LogSource
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.private_file import ExportError
from k8saudit_tui.engine.streaming import narrow_job, pipeline
from k8saudit_tui.engine.streaming.exact_text import narrow_spec
from k8saudit_tui.engine.streaming.narrow import Spec
from k8saudit_tui.engine.streaming.output import OrderedOutput

if TYPE_CHECKING:  # the narrow path runs without the query and store packages (`narrow_job`)
    from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
    from k8saudit_tui.engine.query.filter import Filter

__all__ = [
    "STREAMED_FORMATS",
    "ExportError",
    "OriginalLines",
    "StreamedExport",
    "narrow_plan",
    "stream_export",
]


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
    selection: Filter | str,
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
    """Export the events of `sources` that `selection` (a compiled filter, or its text: compiled
    here unless `narrow_plan` reads it, so it may raise FilterError) matches as `fmt` (one of
    STREAMED_FORMATS) to `path` (None or "-": stdout). Raises engine.export.ExportError (target
    exists without force, symlink, permission, disk full) with nothing left behind."""
    if fmt not in STREAMED_FORMATS:
        raise ValueError(f"{fmt} is not streamed (use engine.export.export_rows)")
    job: Callable[[Any, split.Task], narrow_job.Selected]
    narrow = narrow_plan(selection, fmt)
    first_pass = False
    if narrow is not None:  # no Judge in the workers unless a range needs it
        found = pipeline.plan(sources, pipeline.FULL_PARSE_RANGE_BYTES if _dense(narrow[0]) else pipeline.RANGE_BYTES)
        policy = evaluator.policy if evaluator is not None else None
        other = candidate.policy if candidate is not None else None
        job, setup = narrow_job.select, narrow_job.setup(*narrow, policy, other, fmt, redact)
    else:
        from k8saudit_tui.engine.query.filter import compile_filter
        from k8saudit_tui.engine.streaming import jobs
        from k8saudit_tui.engine.streaming.prefilter import prefilter
        from k8saudit_tui.engine.streaming.ranges import judge_setup

        selection = compile_filter(selection) if isinstance(selection, str) else selection
        screened = prefilter(selection).active
        found = pipeline.plan(sources, pipeline.RANGE_BYTES if screened else pipeline.FULL_PARSE_RANGE_BYTES)
        first_pass = pipeline.reads_the_end(selection)
        if first_pass:
            latest = pipeline.first_pass_latest(found.tasks, workers, in_process_bytes)
            selection = pipeline.anchored(selection, latest)
        job, setup = jobs.select, judge_setup(selection, evaluator, candidate, fmt, redact)
    header = _csv_header() if fmt == "csv" else b"[" if fmt == "json" else b""
    footer = b"\n]\n" if fmt == "json" else b""
    output = OrderedOutput(path, force, header, footer, json=fmt == "json")
    totals = pipeline.Totals(found.names)
    lines = OriginalLines()
    try:
        with runtime.loading():  # each range's answer goes back to the OS once written
            for task, selected in pipeline.run(found.tasks, job, setup, workers, in_process_bytes):
                totals.add(task, selected)
                if selected.offsets is None:
                    output.add(selected.blob, selected.lengths, selected.times)
                    continue
                lines.write(output, task.path, selected, b",\n" if fmt == "json" else b"\n")
        written_to, size = output.finish()
    except BaseException:
        output.abandon()
        raise
    problems = [*found.problems, *totals.problems]
    return StreamedExport(output.count, written_to, size, totals.events, problems, first_pass, not output.in_order)


def _dense(spec: Spec) -> bool:
    """Whether a narrow filter may select most lines (no filter, or an alternative of negated
    terms only): such output is read back from the file and written in ranges of
    FULL_PARSE_RANGE_BYTES, as before, since the command's `writev` of 4 MB ranges of every line
    cost ten times its 2 MB ones in system time (3 s against 0.3 s at 1M events, measured)."""
    return not spec or any(all(negate for _, _, negate in group) for group in spec)


def narrow_plan(selection: Filter | str, fmt: str) -> tuple[Spec, str] | None:
    """(spec, text) when the workers can decide `selection` on each decoded line without a Judge
    (`narrow_job`): original lines (jsonl, json) under a narrow filter (`exact_text.narrow_spec`), else None."""
    if fmt not in ORIGINAL_LINE_FORMATS:
        return None
    return narrow_spec(selection)


def _csv_header() -> bytes:
    from k8saudit_tui.engine.streaming.jobs import csv_header

    return csv_header()


_GAP_BYTES = 16 << 10
"""Selected lines closer than this are read in one `preadv` (the bytes between them are read and
dropped): a call and its Python cost about as much as copying 16 KB. A call per run of adjacent
lines was a quarter of the parent's time for `verb:create` (one line in seven); reading whole
ranges copied the log once more for `user:alice@example.com` (measured, parent CPU for 200k
events: 0.05 s at 16 KB for both, 0.04 s for the user at 256 KB)."""


class OriginalLines:
    """Writes the selected events' original lines of one range at a time, read into one buffer
    kept across ranges and handed to the output as slices of it (a fresh block per range, read or
    joined, cost a page fault per 4 KB: a third of the parent's system time, measured)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def write(self, output: OrderedOutput, path: str, selected: narrow_job.Selected, separator: bytes) -> None:
        """Add the lines to `output`, each with `separator` (jsonl: after it; json: before it).
        Near lines are read in one `preadv` (`_GAP_BYTES`); jsonl lines adjacent in the file go
        out as one slice (their newlines are the file's own); EventList items (offset -1) come
        from `selected.blob`. Raises ExportError when the file is shorter than the range was."""
        assert selected.offsets is not None
        offsets, lengths, times = selected.offsets, selected.lengths, selected.times
        if not len(offsets):
            return
        located = np.flatnonzero(offsets >= 0)
        firsts, ends = offsets[located], offsets[located] + lengths[located]
        gaps = np.flatnonzero(firsts[1:] - ends[:-1] > _GAP_BYTES) + 1
        cuts = [0, *gaps.tolist(), len(located)] if len(located) else []
        spans = [(begin, end, int(firsts[begin]), int(ends[end - 1])) for begin, end in itertools.pairwise(cuts)]
        total = sum(last - first for _, _, first, last in spans)
        if len(self._buffer) < total:
            self._buffer = bytearray(total)  # the old one may still be exported: replaced, not resized
        buffer = memoryview(self._buffer)
        whole = len(located) == len(offsets) and separator == b"\n"  # runs of adjacent lines go whole
        pieces: list[bytes | memoryview] = []
        at = 0
        fd = os.open(path, os.O_RDONLY)
        try:
            for begin, end, first, last in spans:
                region = buffer[at : at + last - first]
                if os.preadv(fd, [region], first) != last - first:
                    raise ExportError(f"{path}: the log changed while it was read (it is shorter now)")
                starts, stops = firsts[begin:end] - first, ends[begin:end] - first
                if whole:
                    apart = np.flatnonzero(starts[1:] != stops[:-1] + 1) + 1
                    starts, stops = starts[np.r_[0, apart]], stops[np.r_[apart - 1, len(stops) - 1]]
                pieces.extend(map(region.__getitem__, map(slice, starts.tolist(), stops.tolist())))
                at += last - first
        finally:
            os.close(fd)
        if len(located) < len(offsets):
            pieces = _with_items(pieces, offsets, lengths, selected.blob)
        if separator == b"\n":
            pieces = [part for piece in pieces for part in (piece, separator)]
        else:
            pieces = [part for piece in pieces for part in (separator, piece)]
        output.add_pieces(pieces, lengths + len(separator), times)


def _with_items(
    lines: list[bytes | memoryview], offsets: np.ndarray, lengths: np.ndarray, blob: bytes
) -> list[bytes | memoryview]:
    """The lines read from the file with the EventList items (offset -1, from `blob`) in their places."""
    read = iter(lines)
    merged: list[bytes | memoryview] = []
    at = 0
    for offset, length in zip(offsets.tolist(), lengths.tolist()):
        if offset >= 0:
            merged.append(next(read))
        else:
            merged.append(blob[at : at + length])
            at += length
    return merged
