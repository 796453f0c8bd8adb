"""Evaluate a policy against audit logs: one JSON line per non-blank input line, in input order.

Output keys: file, line (1-based), auditID, stage, rule (0-based index into `rules`, null when no
rule matched), level (evaluated; "None" when no rule matched), omitted (true when this event would
not be written: level None or its stage in the effective omitStages), omitManagedFields,
recordedLevel (the event's own `level`). A line that is not a readable Event gives
{"file", "line", "error"} and the run goes on.

An event whose format lost fields the policy reads (a GKE entry: user groups and stage, see
policy/lossy.py) gets one more key, `unknown`: the list of the keys above the lost fields leave
undecided (`rule`, `level`, `omitted`, `omitManagedFields`), each of those null; the key is absent
when everything is known, so the lines of a raw log and of exact envelopes (EKS, AKS, shippers)
keep their shape, and a reader of raw logs that ignores unknown keys reads a null level, never a
guessed one. Exit 0; 1 when a log could not be read; 2 when the
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
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

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
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.commands.lossy_output import lossy_suffix
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import EventError, decode_event_line
from k8saudit_tui.engine.logs.sources import GZIP_MAGIC, STDIN, LogSource, expand_sources
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.logs.worker import WorkerPool, default_workers
from k8saudit_tui.engine.model import Problem, Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.lossy import LOST_BY_CODE, outcome

if TYPE_CHECKING:  # an `evaluate` worker boots without numpy
    import numpy as np

Out = TypeVar("Out")
Numbering = tuple[Sequence[int], Sequence[tuple[int, str]], bytes]
"""For a range of a spool of unwrapped events (formats/reader.py): per spool line its original line,
the (line, message) of the records around them that could not be read, in line order, and per
spool line its format code (FormatInfo.code)."""
RangeJob = tuple[str, int, Task, Numbering | None]
"""(file name shown, 1-based number of the range's first line, the byte range, and for a spool of
unwrapped events the lines they had in the original file)."""
SpoolOrigin = tuple["np.ndarray", list[tuple[int, str]], "np.ndarray"]
"""The same for a whole spool: `Origin.lines` and every readable problem of the source."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="audit Policy file (YAML or JSON, or @gke|@eks|@aks)")
    parser.add_argument(
        "logs", nargs="+", metavar="LOG", help="audit log files or directories; - for stdin; gzip is read"
    )
    add_format_option(parser)


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
        if log == STDIN and streamable_stdin(args.log_format):  # a pipe of Event lines is evaluated as it comes
            with open_log(STDIN) as stream:
                for output in evaluate_lines(evaluator, STDIN, bounded_lines(stream)):
                    out.write(output)
                    out.flush()
            continue
        for source in expand_sources([log], format=args.log_format):
            if source.problem is not None:
                error(str(source.problem))
                status = 1
                continue
            name = log if log == STDIN else source.name
            try:
                write_stdout(out, evaluate_file(evaluator, name, source.path, origin=origin_of(source)))
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
            for unwrapping in source.problems:
                if unwrapping.line is None:  # the others are output lines, in input order
                    error(str(unwrapping))
    return status


def streamable_stdin(forced: str | None) -> bool:
    """Whether stdin holds Event lines (read as they come: `kubectl logs -f | evaluate`), judged from
    the bytes already there; an envelope of another format is spooled and unwrapped first."""
    if forced is not None:
        return forced == "raw"
    from k8saudit_tui.engine.logs.formats.documents import mode

    stdin = sys.stdin.buffer
    if hasattr(stdin, "peek"):  # a pipe: what has arrived (a writer writes whole lines, in practice)
        head = stdin.peek(1 << 16)
    elif stdin.seekable():  # a test's BytesIO
        start = stdin.tell()
        head = stdin.read(1 << 16)
        stdin.seek(start)
    else:
        return True
    if head[:2] == GZIP_MAGIC:
        return True  # open_log decompresses it as it comes; cloud gzip payloads: use --format
    return mode(head) == "raw"


def origin_of(source: LogSource) -> SpoolOrigin | None:
    """The numbering of an unwrapped source's spool: its origin lines and its readable problems."""
    if source.origin is None:
        return None
    damaged = sorted((p.line, str(p)) for p in source.problems if p.line is not None)
    return source.origin.lines, damaged, source.origin.formats


def evaluate_file(
    evaluator: PolicyEvaluator, name: str, path: str, workers: int | None = None, origin: SpoolOrigin | None = None
) -> Iterator[bytes]:
    """The output of every line of the plain file `path`, in blocks, in input order (for a spool of
    unwrapped events, `origin` numbers them as the original file's lines)."""
    return map_ranges(evaluate_range, evaluator, name, path, workers, origin)


def map_ranges(
    job: Callable[[PolicyEvaluator, RangeJob], tuple[int, Out]],
    evaluator: PolicyEvaluator,
    name: str,
    path: str,
    workers: int | None = None,
    origin: SpoolOrigin | None = None,
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
                for _, output in pool.map(_numbered(name, first_line, tasks[1:], origin)):
                    yield output
                return
            count = split.count_lines(task.path, task.start, task.end) if origin is not None else 0
            lines, output = job(evaluator, (name, first_line, task, _slice(origin, first_line, count, task.final)))
            first_line += lines
            yield output
    finally:
        if pool is not None:
            pool.close()


def _numbered(name: str, first_line: int, tasks: list[Task], origin: SpoolOrigin | None) -> Iterator[RangeJob]:
    for task in tasks:
        count = split.count_lines(task.path, task.start, task.end) if not task.final or origin else 0
        yield name, first_line, task, _slice(origin, first_line, count, task.final)
        first_line += count


def _slice(origin: SpoolOrigin | None, first_line: int, count: int, final: bool) -> Numbering | None:
    """The numbering of spool lines [first_line, first_line + count) (to the end when `final`):
    their original lines, and the unreadable records before the next range's first event."""
    if origin is None:
        return None
    lines, damaged, formats = origin
    start = first_line - 1
    end = len(lines) if final else min(start + count, len(lines))
    numbers = array("i", lines[start:end].astype("int32").tobytes())
    low = bisect_left(damaged, (int(lines[start]),)) if 0 < start < len(lines) else (0 if start == 0 else len(damaged))
    high = bisect_left(damaged, (int(lines[end]),)) if end < len(lines) else len(damaged)
    return numbers, damaged[low:high], formats[start:end].astype("uint8").tobytes()


def evaluate_range(evaluator: PolicyEvaluator, job: RangeJob) -> tuple[int, bytes]:
    """The worker job: (lines read, output) for the lines of one byte range."""
    name, first_line, task, numbering = job
    counted = _Counted()
    with split.open_range(task) as stream:
        lines = counted.lines(bounded_lines(stream))
        output = b"".join(evaluate_lines(evaluator, name, lines, first_line, numbering))
    return counted.count, output


class _Counted:
    """Counts the lines that pass through (blank ones included), for the next range's numbers."""

    def __init__(self) -> None:
        self.count = 0

    def lines(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        for self.count, line in enumerate(lines, 1):
            yield line


def evaluate_lines(
    evaluator: PolicyEvaluator,
    file: str,
    lines: Iterable[bytes],
    first_line: int = 1,
    numbering: Numbering | None = None,
) -> Iterator[bytes]:
    """Yield one output line (with newline) per non-blank input line (numbered from `first_line`,
    or, for a spool of unwrapped events, by `numbering`, its unreadable records interleaved).

    The hot loop of the headless contract: the part after auditID is the same for every event with
    the same rule, stage and recorded level, so it is serialised once and reused.
    """
    head_format = b'{"file":' + orjson.dumps(file).replace(b"%", b"%%") + b',"line":%d'
    suffixes: dict[tuple[int | None, str, str], bytes] = {}
    numbered: Iterable[tuple[int, bytes]] = enumerate(lines, first_line)
    damaged: Iterator[tuple[int, str]] = iter(())
    formats: Iterator[int] | None = None  # only for a spool that holds a lossy format
    if numbering is not None:
        numbered, damaged = zip(numbering[0], lines), iter(numbering[1])
        if any(LOST_BY_CODE[code] for code in set(numbering[2])):
            formats = iter(numbering[2])
    bad = next(damaged, None)
    for number, line in numbered:
        lost = LOST_BY_CODE[next(formats)] if formats is not None else None
        while bad is not None and bad[0] < number:
            yield head_format % bad[0] + b',"error":' + orjson.dumps(bad[1]) + b"}\n"
            bad = next(damaged, None)
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
        if lost:
            got = outcome(evaluator, request_attributes(event), lost)
            yield head_format % number + b',"auditID":' + orjson.dumps(event.auditID) + lossy_suffix(got, event)
            continue
        verdict = evaluator.evaluate_event(event)
        key = (verdict.rule, event.stage, event.level)
        suffix = suffixes.get(key)
        if suffix is None:
            suffix = suffixes[key] = _verdict_suffix(verdict, event.stage, event.level)
        yield head_format % number + b',"auditID":' + orjson.dumps(event.auditID) + suffix
    while bad is not None:
        yield head_format % bad[0] + b',"error":' + orjson.dumps(bad[1]) + b"}\n"
        bad = next(damaged, None)


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
