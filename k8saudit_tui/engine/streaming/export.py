"""`export --filter` without a store: the same bytes as the store-based export, in bounded memory.

How: the logs are cut into ranges (pipeline.plan); each range is parsed and filtered where it is
read (jobs.select: the one parser, a small store of the range, the one filter engine; the
prefilter skips building rows for lines that cannot match); the selected events come back
rendered and are written as ranges complete (output.OrderedOutput: view order, atomic, 0600).

Contract: for jsonl, json and csv, `stream_export` writes exactly what `export_rows(store,
compile_filter(text).apply(store), ...)` writes for the store of the same sources, policies and
candidate (tested over generated filters and logs), and reports the same problems. Memory: a few
ranges (16 MB each) per worker, plus, for input whose selected events are out of time order, 16
bytes a selected event while they are sorted at the end. A filter whose time range is read
against the log's end costs a first pass over the log (pipeline.first_pass_latest). Parquet is
not streamed (`STREAMED_FORMATS`): it is one file whose row groups the store's columns build.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.sources import LogSource
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query.filter import Filter
from k8saudit_tui.engine.streaming import jobs, pipeline
from k8saudit_tui.engine.streaming.output import OrderedOutput
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
    found = pipeline.plan(sources)
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
        for task, selected in pipeline.run(found.tasks, jobs.select, setup, workers, in_process_bytes):
            totals.add(task, selected)
            output.add(selected.blob, selected.lengths, selected.times)
        written_to, size = output.finish()
    except BaseException:
        output.abandon()
        raise
    problems = [*found.problems, *totals.problems]
    return StreamedExport(output.count, written_to, size, totals.events, problems, first_pass, not output.in_order)
