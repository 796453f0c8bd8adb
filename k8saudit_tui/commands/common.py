"""What the headless commands share: loading the policy, reading numbered lines, writing stdout."""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from k8saudit_tui.engine.logs.chunks import in_blocks
from k8saudit_tui.engine.logs.sources import GZIP_MAGIC, STDIN
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.textsafe import visible

_WRITE_CHUNK = 1 << 16


def error(message: str) -> None:
    """Print one message to stderr, with any control characters from the data made visible."""
    print(f"k8saudit-tui: {visible(message)}", file=sys.stderr)


def load_policy_or_exit(path: str) -> PolicyEvaluator | None:
    """Load `path`; print its problems to stderr; None when the policy cannot be used."""
    load = load_policy_file(path)
    for problem in load.problems:
        prefix = "warning: " if problem.severity == "warning" else ""
        print(prefix + visible(str(problem)), file=sys.stderr)
    if load.policy is None:
        error(f"{path}: the policy cannot be used")
        return None
    return PolicyEvaluator(load.policy)


def open_log(path: str) -> BinaryIO:
    """Open a log for reading bytes: `-` is stdin; gzip data (by its magic number, not the name)
    is decompressed on the fly. The input is opened once and its head peeked, never re-read, so
    pipes and FIFOs work too; closing the result closes the file."""
    stream = sys.stdin.buffer if path == STDIN else open(path, "rb")  # noqa: SIM115 (the caller closes it)
    if not isinstance(stream, io.BufferedReader):
        stream = io.BufferedReader(stream)  # a test's BytesIO: give it peek()
    if stream.peek(2)[:2] != GZIP_MAGIC:
        return stream
    unzipped = gzip.GzipFile(fileobj=stream, mode="rb")
    unzipped.myfileobj = stream  # type: ignore[assignment]  # what GzipFile closes with itself
    return unzipped  # type: ignore[return-value]


MAX_LINE_BYTES = 256 << 20
"""Longest line read whole (256 MiB, far above any real audit event); a longer one is reported and
skipped without being held in memory, so memory stays bounded whatever the input."""

TOO_LONG = b"\x00k8saudit-tui: line too long\x00"
"""Stands in for a line over MAX_LINE_BYTES: a NUL-framed marker no JSON line can equal."""


def bounded_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of `stream` (with their end-of-line), a line over `limit` bytes as TOO_LONG."""
    while True:
        line = stream.readline(limit)
        if not line:
            return
        if len(line) >= limit and not line.endswith(b"\n"):
            while True:  # skip the rest of the long line in bounded pieces
                rest = stream.readline(limit)
                if not rest or rest.endswith(b"\n"):
                    break
            yield TOO_LONG
            continue
        yield line


def describe_os_error(problem: BaseException) -> str:
    """`No such file or directory` rather than `[Errno 2] No such file or directory: 'x'`."""
    if isinstance(problem, OSError) and problem.strerror:
        return problem.strerror
    if isinstance(problem, EOFError):
        return "compressed file ends before its end marker (cut short?)"
    return str(problem) or type(problem).__name__


def write_stdout(out: BinaryIO, chunks: Iterable[bytes]) -> None:
    """Write `chunks` to `out` in large writes: a million small writes cost more than the work."""
    for block in in_blocks(chunks, _WRITE_CHUNK):
        out.write(block)
    out.flush()
