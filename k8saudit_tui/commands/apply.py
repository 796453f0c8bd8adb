"""Write audit logs as kube-apiserver running another policy would have written them.

Only the events the policy writes, in input order; each at min(the policy's level, its recorded
level), bodies below that level dropped, managedFields dropped when the policy's effective
omitManagedFields says so; an event that does not change is copied byte for byte, a changed one is
re-serialised compactly with its keys in order (the rules: engine/workbench/apply.py). An event
the policy records above its recorded level keeps its recorded content (bodies cannot be
invented): they are counted on stderr, and the bytes are then a lower bound. Lines that are not
audit Events are reported on stderr as `file:line: why` and not written.

Why it reads logs the way `evaluate` does: a file goes through the one splitter and worker pool
(`evaluate.map_ranges`), stdin is applied line by line as it comes (a filter in front of a SIEM),
and memory stays bounded by a few ranges whatever the log size. `-o FILE` is written as exports
are (mode 0600, atomically, never over a file without --force). Exit 0; 1 when a log cannot be
read or the output cannot be written; 2 when the policy cannot be used.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from k8saudit_tui.commands.common import (
    MAX_LINE_BYTES,
    TOO_LONG,
    bounded_lines,
    describe_os_error,
    error,
    load_policy_or_exit,
    open_log,
    unreadable_logs,
)
from k8saudit_tui.commands.evaluate import Numbering, RangeJob, map_ranges, origin_of, streamable_stdin
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.event import EventError, decode_event_line
from k8saudit_tui.engine.logs.sources import STDIN, expand_sources
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.private_file import ExportError, write_private
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.engine.workbench.apply import Writing, writing, written_line, written_text

Piece = bytes | tuple[int, int]
"""Part of an AppliedBlock's output: written bytes, or the (start, end) offsets of a run of lines
written as they stand in the range's file, which the parent reads itself (`assembled`)."""


@dataclass(frozen=True, slots=True)
class AppliedBlock:
    """What a run of lines gives: the output to write, the lines refused, and the counts."""

    pieces: list[Piece]
    problems: tuple[str, ...]
    events: int
    written: int
    lower_bound: int


@dataclass
class _Totals:
    events: int = 0
    written: int = 0
    lower_bound: int = 0
    status: int = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="audit Policy file (YAML or JSON, or @gke|@eks|@aks) to apply")
    parser.add_argument(
        "logs", nargs="+", metavar="LOG", help="audit log files or directories; - for stdin; gzip is read"
    )
    parser.add_argument("-o", "--output", default="-", help="output file (mode 0600), or - for stdout (default)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    unreadable = unreadable_logs(args.logs)
    if unreadable is None:
        return 2
    evaluator = load_policy_or_exit(args.policy)
    if evaluator is None:
        return 2
    totals = _Totals()
    for log in args.logs:
        if log in unreadable:
            error(unreadable[log][0])
            totals.status = 1
    logs = [log for log in args.logs if log not in unreadable]
    blocks = _apply_logs(evaluator, logs, totals, args.log_format)
    if args.output == "-":
        out = sys.stdout.buffer
        for block in blocks:  # flushed per block: a piped stdin's events go on as they come
            out.write(block)
            out.flush()
    else:
        try:
            size = write_private(Path(args.output), blocks, force=args.force)
        except ExportError as problem:
            error(str(problem))
            return 1
        print(
            f"wrote {totals.written:,} of {totals.events:,} events ({size:,} bytes) to {visible(args.output)}",
            file=sys.stderr,
        )
    if totals.lower_bound:
        error(
            f"{totals.lower_bound:,} events are recorded below the level this policy gives them: they keep "
            "their recorded content (bodies that were not logged cannot be invented), so the bytes are a lower bound"
        )
    return totals.status


def _apply_logs(
    evaluator: PolicyEvaluator, logs: list[str], totals: _Totals, forced: str | None = None
) -> Iterator[bytes]:
    """The output of every log in order; problems go to stderr as they are met."""
    for log in logs:
        if log == STDIN and streamable_stdin(forced):  # Event lines are applied as they come, not spooled
            with open_log(STDIN) as stream:
                for number, line in enumerate(bounded_lines(stream), 1):
                    yield from _take(apply_lines(evaluator, STDIN, (line,), number), totals)
            continue
        for source in expand_sources([log], format=forced):
            if source.problem is not None:
                error(str(source.problem))
                totals.status = 1
                continue
            try:
                with open(source.path, "rb") as log_file:  # the one the runs of unchanged lines are read from
                    jobs = map_ranges(apply_range, evaluator, source.name, source.path, origin=origin_of(source))
                    for block in jobs:
                        yield from _take(block, totals, log_file.fileno())
            except OSError as problem:
                if isinstance(problem, BrokenPipeError):
                    raise
                error(f"{source.name}: {describe_os_error(problem)}")
                totals.status = 1
            finally:
                if source.spooled:
                    os.unlink(source.path)
            warning = source.extra.get("warning")
            if isinstance(warning, Problem):
                error(str(warning))
                totals.status = 1
            for unwrapping in source.problems:
                if unwrapping.line is None:  # the others come with their range, in input order
                    error(str(unwrapping))


def _take(block: AppliedBlock, totals: _Totals, log_file: int | None = None) -> Iterator[bytes]:
    for problem in block.problems:
        error(problem)
    totals.events += block.events
    totals.written += block.written
    totals.lower_bound += block.lower_bound
    if block.pieces:
        yield assembled(block.pieces, log_file)


def assembled(pieces: list[Piece], log_file: int | None) -> bytes:
    """The output of `pieces`, their runs of unchanged lines read from `log_file` at once.

    Why the runs come as offsets: about half a log's bytes are written as they are, and sending
    them back from a worker cost six copies (join, pickle, pipe, read, unpickle); one read of the
    range here costs one. A file cut shorter meanwhile is an error, not a short output."""
    runs = [piece for piece in pieces if isinstance(piece, tuple)]
    if not runs:
        return b"".join(cast("list[bytes]", pieces))
    if log_file is None:
        raise ValueError("runs of lines without the file they are in")
    first, last = runs[0][0], runs[-1][1]
    data = os.pread(log_file, last - first, first)
    if len(data) != last - first:
        raise OSError(errno.EIO, "the file was cut short while it was read")
    view = memoryview(data)
    return b"".join(
        [view[piece[0] - first : piece[1] - first] if isinstance(piece, tuple) else piece for piece in pieces]
    )


def apply_range(evaluator: PolicyEvaluator, job: RangeJob) -> tuple[int, AppliedBlock]:
    """The worker job: (lines read, their AppliedBlock) for one byte range of a file."""
    name, first_line, task, numbering = job
    count = 0

    def counted(lines: Iterable[bytes]) -> Iterator[bytes]:
        nonlocal count
        for count, line in enumerate(lines, 1):  # noqa: B007 (the count is the point)
            yield line

    with split.open_range(task) as stream:
        block = apply_lines(evaluator, name, counted(bounded_lines(stream)), first_line, numbering, task.start)
    return count, block


def apply_lines(
    evaluator: PolicyEvaluator,
    name: str,
    lines: Iterable[bytes],
    first_line: int = 1,
    numbering: Numbering | None = None,
    start: int | None = None,
) -> AppliedBlock:
    """Apply the policy to numbered lines (for a spool of unwrapped events, numbered by `numbering`
    as the original file's lines, its unreadable records reported first). With `start`, the lines
    are a file's from that offset on, and runs of lines written as they are become offsets.

    The hot loop of the command: `apply_event` inlined, with its `writing` decided once per
    (rule, stage, recorded level), as `evaluate` serialises its suffix once per such key; a usual
    line, `{...}` and a newline, is its own written line."""
    pieces: list[Piece] = []
    append = pieces.append
    problems: list[str] = []
    events = written = lower_bound = 0
    evaluate = evaluator.evaluate_event
    writings: dict[tuple[int | None, str, str], Writing | None] = {}
    offset = run_start = run_end = start or 0
    numbered: Iterable[tuple[int, bytes]] = enumerate(lines, first_line)
    if numbering is not None:
        numbered = zip(numbering[0], lines)
        problems.extend(message for _, message in numbering[1])
    for number, line in numbered:
        here = offset
        offset += len(line)
        if not line or line.isspace():
            continue
        try:
            if line is TOO_LONG:
                start = None  # its length is unknown: the offsets after it are lost
                raise EventError(f"line longer than {MAX_LINE_BYTES >> 20} MiB: skipped")
            event = decode_event_line(line)
            as_read = line
            if line[:1] != b"{" or line[-1:] != b"\n" or line[-2:-1] == b"\r":
                line = written_line(line)
            verdict = evaluate(event)
            key = (verdict.rule, event.stage, event.level)
            if key in writings:
                how = writings[key]
            else:
                how = writings[key] = writing(verdict, event.stage, event.level)
            if how is not None:
                text = written_text(how, line, event.verb == "patch")
                written += 1
                lower_bound += how.lower_bound
                if text is as_read and start is not None:
                    if here != run_end:
                        if run_end != run_start:
                            append((run_start, run_end))
                        run_start = here
                    run_end = offset
                else:
                    if run_end != run_start:
                        append((run_start, run_end))
                    run_start = run_end = offset
                    append(text)
        except EventError as problem:
            problems.append(f"{name}:{number}: {problem}")
            continue
        events += 1
    if run_end != run_start:
        append((run_start, run_end))
    return AppliedBlock(pieces, tuple(problems), events, written, lower_bound)
