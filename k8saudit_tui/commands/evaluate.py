"""Evaluate a policy against audit logs: one JSON line per non-blank input line, in input order.

Output keys: file, line (1-based), auditID, stage, rule (0-based index into `rules`, null when no
rule matched), level (evaluated; "None" when no rule matched), omitted (true when this event would
not be written: level None or its stage in the effective omitStages), omitManagedFields,
recordedLevel (the event's own `level`). A line that is not a readable Event gives
{"file", "line", "error"} and the run goes on. Exit 0; 2 when the policy cannot be used.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import multiprocessing
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import orjson

from k8saudit_tui.commands.common import (
    MAX_LINE_BYTES,
    TOO_LONG,
    bounded_lines,
    describe_os_error,
    error,
    load_policy_or_exit,
    open_log,
    write_stdout,
)
from k8saudit_tui.engine.logs.event import EventError, decode_event_line
from k8saudit_tui.engine.logs.sources import is_gzip
from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator

PARALLEL_MIN_BYTES = 32 << 20
"""Below this, starting worker processes costs more than it saves."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="audit Policy file (YAML or JSON)")
    parser.add_argument("logs", nargs="+", metavar="LOG", help="audit log files; - for stdin; .gz is read")


def run(args: argparse.Namespace) -> int:
    evaluator = load_policy_or_exit(args.policy)
    if evaluator is None:
        return 2
    out = sys.stdout.buffer
    status = 0
    for log in args.logs:
        try:
            if _worth_splitting(log):
                evaluate_file_in_parallel(evaluator, log, out)
                continue
            with open_log(log) as stream:
                write_stdout(out, evaluate_lines(evaluator, log, bounded_lines(stream)))
        except (OSError, EOFError, gzip.BadGzipFile) as problem:
            if isinstance(problem, BrokenPipeError):
                raise
            error(f"{log}: {describe_os_error(problem)}")
            status = 1
    return status


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


def _worth_splitting(path: str) -> bool:
    """Split a big plain file across cores; stdin and gzip data can only be read in order."""
    if path == "-" or is_gzip(path) or (os.cpu_count() or 1) < 2:
        return False
    try:
        info = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size >= PARALLEL_MIN_BYTES


def evaluate_file_in_parallel(evaluator: PolicyEvaluator, path: str, out: BinaryIO) -> None:
    """Evaluate byte ranges of `path` in worker processes; write their outputs in input order.

    Each worker writes to its own temporary file, so memory stays bounded whatever the log size;
    the parent copies them out in order, which keeps the one-line-per-input-line contract.
    """
    ranges = split_at_lines(path, os.cpu_count() or 2)
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="k8saudit-evaluate-") as spool:
        outputs = [os.path.join(spool, f"part-{index}") for index in range(len(ranges))]
        jobs = [(evaluator, path, start, end, output) for (start, end), output in zip(ranges, outputs)]
        with context.Pool(len(ranges)) as pool:
            for error in pool.imap(_evaluate_range, jobs):
                if error:
                    raise OSError(error)
        out.flush()
        for output in outputs:
            with open(output, "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
        out.flush()


def split_at_lines(path: str, parts: int) -> list[tuple[int, int]]:
    """Cut `path` into about `parts` byte ranges that each start at the beginning of a line."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as stream:
        for index in range(1, parts):
            stream.seek(max(size * index // parts, cuts[-1]))
            stream.readline()
            cuts.append(min(stream.tell(), size))
    cuts.append(size)
    return [(start, end) for start, end in itertools.pairwise(cuts) if end > start]


def _evaluate_range(job: tuple[PolicyEvaluator, str, int, int, str]) -> str:
    """Worker: evaluate lines in [start, end) of `path` into `output`; return an error or ""."""
    evaluator, path, start, end, output = job
    try:
        with open(path, "rb") as stream, open(output, "wb") as sink:
            first_line = _count_lines_before(stream, start) + 1
            stream.seek(start)
            lines = _lines_until(stream, end)
            write_stdout(sink, evaluate_lines(evaluator, path, lines, first_line=first_line))
    except OSError as problem:
        return describe_os_error(problem)
    return ""


def _count_lines_before(stream: BinaryIO, end: int) -> int:
    stream.seek(0)
    count = 0
    remaining = end
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 24))
        if not chunk:
            break
        count += chunk.count(b"\n")
        remaining -= len(chunk)
    return count


def _lines_until(stream: BinaryIO, end: int) -> Iterator[bytes]:
    """The lines from the stream's position that start before `end`."""
    for line in bounded_lines(stream):
        yield line
        if stream.tell() >= end:
            return


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
