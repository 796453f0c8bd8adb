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
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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
from k8saudit_tui.engine.export import ExportError, write_file
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.event import EventError, decode_event_line
from k8saudit_tui.engine.logs.sources import STDIN, expand_sources
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.engine.workbench.apply import Writing, writing, written_line, written_text


@dataclass(frozen=True, slots=True)
class AppliedBlock:
    """What a run of lines gives: the bytes to write, the lines refused, and the counts."""

    output: bytes
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
            size = write_file(args.output, blocks, force=args.force)
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
                for block in map_ranges(apply_range, evaluator, source.name, source.path, origin=origin_of(source)):
                    yield from _take(block, totals)
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


def _take(block: AppliedBlock, totals: _Totals) -> Iterator[bytes]:
    for problem in block.problems:
        error(problem)
    totals.events += block.events
    totals.written += block.written
    totals.lower_bound += block.lower_bound
    if block.output:
        yield block.output


def apply_range(evaluator: PolicyEvaluator, job: RangeJob) -> tuple[int, AppliedBlock]:
    """The worker job: (lines read, their AppliedBlock) for one byte range of a file."""
    name, first_line, task, numbering = job
    count = 0

    def counted(lines: Iterable[bytes]) -> Iterator[bytes]:
        nonlocal count
        for count, line in enumerate(lines, 1):  # noqa: B007 (the count is the point)
            yield line

    with split.open_range(task) as stream:
        block = apply_lines(evaluator, name, counted(bounded_lines(stream)), first_line, numbering)
    return count, block


def apply_lines(
    evaluator: PolicyEvaluator,
    name: str,
    lines: Iterable[bytes],
    first_line: int = 1,
    numbering: Numbering | None = None,
) -> AppliedBlock:
    """Apply the policy to numbered lines (for a spool of unwrapped events, numbered by `numbering`
    as the original file's lines, its unreadable records reported first).

    The hot loop of the command: `apply_event` inlined, with its `writing` decided once per
    (rule, stage, recorded level), as `evaluate` serialises its suffix once per such key; a usual
    line, `{...}` and a newline, is its own written line."""
    output: list[bytes] = []
    append = output.append
    problems: list[str] = []
    events = lower_bound = 0
    evaluate = evaluator.evaluate_event
    writings: dict[tuple[int | None, str, str], Writing | None] = {}
    numbered: Iterable[tuple[int, bytes]] = enumerate(lines, first_line)
    if numbering is not None:
        numbered = zip(numbering[0], lines)
        problems.extend(message for _, message in numbering[1])
    for number, line in numbered:
        if not line or line.isspace():
            continue
        try:
            if line is TOO_LONG:
                raise EventError(f"line longer than {MAX_LINE_BYTES >> 20} MiB: skipped")
            event = decode_event_line(line)
            if line[:1] != b"{" or line[-1:] != b"\n" or line[-2:-1] == b"\r":
                line = written_line(line)
            verdict = evaluate(event)
            key = (verdict.rule, event.stage, event.level)
            if key in writings:
                how = writings[key]
            else:
                how = writings[key] = writing(verdict, event.stage, event.level)
            if how is not None:
                append(written_text(how, line, event.verb == "patch"))
                lower_bound += how.lower_bound
        except EventError as problem:
            problems.append(f"{name}:{number}: {problem}")
            continue
        events += 1
    return AppliedBlock(b"".join(output), tuple(problems), events, len(output), lower_bound)
