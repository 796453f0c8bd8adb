"""Evaluate a policy against audit logs: one JSON line per non-blank input line, in input order.

Output keys: file, line (1-based), auditID, stage, rule (0-based index into `rules`, null when no
rule matched), level (evaluated; "None" when no rule matched), omitted (true when this event would
not be written: level None or its stage in the effective omitStages), omitManagedFields,
recordedLevel (the event's own `level`). A line that is not a readable Event gives
{"file", "line", "error"} and the run goes on. Exit 0; 1 when a log could not be read; 2 when the
policy cannot be used.

Why it reads logs the way the store does: the inputs go through `sources.expand_sources`
(directories, gzip by magic number whatever the name, stdin), files are cut by the one splitter
(logs/split.py) and big ones evaluated by the one worker pool (logs/worker.py). It stays a stream:
no store, each range's output written as soon as every range before it is, memory bounded by a
few ranges whatever the log size.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import orjson

from k8saudit_tui.commands.common import (
    MAX_LINE_BYTES,
    TOO_LONG,
    bounded_lines,
    describe_os_error,
    error,
    load_policy_or_exit,
    open_log,
    unreadable_logs,
    write_stdout,
)
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.event import EventError, decode_event_line
from k8saudit_tui.engine.logs.sources import STDIN, expand_sources
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.logs.worker import WorkerPool, default_workers
from k8saudit_tui.engine.model import Problem, Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator

Out = TypeVar("Out")
RangeJob = tuple[str, int, Task]
"""(file name shown, 1-based number of the range's first line, the byte range)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="audit Policy file (YAML or JSON, or @gke|@eks|@aks)")
    parser.add_argument(
        "logs", nargs="+", metavar="LOG", help="audit log files or directories; - for stdin; gzip is read"
    )


def run(args: argparse.Namespace) -> int:
    unreadable = unreadable_logs(args.logs)
    if unreadable is None:
        return 2
    evaluator = load_policy_or_exit(args.policy)
    if evaluator is None:
        return 2
    out = sys.stdout.buffer
    status = 0
    for log in args.logs:
        if log in unreadable:  # the others are still evaluated
            error(unreadable[log][0])
            status = 1
            continue
        if log == STDIN:  # a pipe is evaluated as it comes (`kubectl logs -f | ... evaluate`), not spooled
            with open_log(STDIN) as stream:
                for output in evaluate_lines(evaluator, STDIN, bounded_lines(stream)):
                    out.write(output)
                    out.flush()
            continue
        for source in expand_sources([log]):
            if source.problem is not None:
                error(str(source.problem))
                status = 1
                continue
            name = log if log == STDIN else source.name
            try:
                write_stdout(out, evaluate_file(evaluator, name, source.path))
            except OSError as problem:
                if isinstance(problem, BrokenPipeError):
                    raise
                error(f"{name}: {describe_os_error(problem)}")
                status = 1
            finally:
                if source.spooled:
                    os.unlink(source.path)
            warning = source.extra.get("warning")
            if isinstance(warning, Problem):
                error(str(warning))
                status = 1
    return status


def evaluate_file(evaluator: PolicyEvaluator, name: str, path: str, workers: int | None = None) -> Iterator[bytes]:
    """The output of every line of the plain file `path`, in blocks, in input order."""
    return map_ranges(evaluate_range, evaluator, name, path, workers)


def map_ranges(
    job: Callable[[PolicyEvaluator, RangeJob], tuple[int, Out]],
    evaluator: PolicyEvaluator,
    name: str,
    path: str,
    workers: int | None = None,
) -> Iterator[Out]:
    """`job`'s output for every range of the plain file `path`, in input order (`apply` too).

    Below split.IN_PROCESS_BYTES (or with one worker) the ranges are evaluated here, each numbered
    from the line count of the ones before. Above, the first range is evaluated here while the
    worker pool boots, and the others in the pool, numbered by counting the newlines of each range
    before it is sent (split.count_lines: a tenth of evaluating it)."""
    size = os.path.getsize(path)
    tasks = split.cut(0, path, 0, size)
    workers = default_workers() if workers is None else workers
    pool = None
    if workers > 1 and size > split.IN_PROCESS_BYTES and len(tasks) > 1:
        pool = WorkerPool(job, workers, setup=functools.partial(PolicyEvaluator, evaluator.policy))
    try:
        first_line = 1
        for index, task in enumerate(tasks):
            if pool is not None and index == 1:  # the first range was done here while workers booted
                for _, output in pool.map(_numbered(name, first_line, tasks[1:])):
                    yield output
                return
            lines, output = job(evaluator, (name, first_line, task))
            first_line += lines
            yield output
    finally:
        if pool is not None:
            pool.close()


def _numbered(name: str, first_line: int, tasks: list[Task]) -> Iterator[RangeJob]:
    for task in tasks:
        yield name, first_line, task
        if not task.final:
            first_line += split.count_lines(task.path, task.start, task.end)


def evaluate_range(evaluator: PolicyEvaluator, job: RangeJob) -> tuple[int, bytes]:
    """The worker job: (lines read, output) for the lines of one byte range."""
    name, first_line, task = job
    counted = _Counted()
    with split.open_range(task) as stream:
        output = b"".join(evaluate_lines(evaluator, name, counted.lines(bounded_lines(stream)), first_line))
    return counted.count, output


class _Counted:
    """Counts the lines that pass through (blank ones included), for the next range's numbers."""

    def __init__(self) -> None:
        self.count = 0

    def lines(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        for self.count, line in enumerate(lines, 1):
            yield line


def evaluate_lines(
    evaluator: PolicyEvaluator, file: str, lines: Iterable[bytes], first_line: int = 1
) -> Iterator[bytes]:
    """Yield one output line (with newline) per non-blank input line.

    The hot loop of the headless contract: the part after auditID is the same for every event with
    the same rule, stage and recorded level, so it is serialised once and reused.
    """
    head_format = b'{"file":' + orjson.dumps(file).replace(b"%", b"%%") + b',"line":%d'
    suffixes: dict[tuple[int | None, str, str], bytes] = {}
    for number, line in enumerate(lines, first_line):
        if not line or line.isspace():
            continue
        try:
            if line is TOO_LONG:
                raise EventError(f"line longer than {MAX_LINE_BYTES >> 20} MiB: skipped")
            event = decode_event_line(line)
        except EventError as problem:
            message = orjson.dumps(f"{file}:{number}: {problem}")
            yield head_format % number + b',"error":' + message + b"}\n"
            continue
        verdict = evaluator.evaluate_event(event)
        key = (verdict.rule, event.stage, event.level)
        suffix = suffixes.get(key)
        if suffix is None:
            suffix = suffixes[key] = _verdict_suffix(verdict, event.stage, event.level)
        yield head_format % number + b',"auditID":' + orjson.dumps(event.auditID) + suffix


def _verdict_suffix(verdict: Verdict, stage: str, recorded: str) -> bytes:
    """Everything after auditID: shared by every event with the same verdict, stage and level."""
    fields = {
        "stage": stage,
        "rule": verdict.rule,
        "level": verdict.level,
        "omitted": not verdict.emits(stage),
        "omitManagedFields": verdict.omit_managed_fields,
        "recordedLevel": recorded,
    }
    return b"," + orjson.dumps(fields)[1:] + b"\n"
