"""What the headless commands share: loading the policy, reading numbered lines, writing stdout,
and the words for an input that cannot be used.

Why here: every command, and the explorer before Textual starts, must word the same problem the
same way (`audit.log: no such file or directory`, `p.yaml is an audit Policy, not a log`), with the
same exit status (1 for a log that cannot be read, 2 for a command line that names the wrong
thing), so the checks live in one place: `log_problem` for a LOG argument, `policy_file_problem`
for a policy path. Both look at regular files only, and only at their first SNIFF_BYTES: a FIFO
would lose what was read.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO

from k8saudit_tui.engine.logs.chunks import in_blocks
from k8saudit_tui.engine.logs.sources import GZIP_MAGIC, STDIN
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.presets import find, is_preset_spec, unknown_message
from k8saudit_tui.engine.textsafe import visible

_WRITE_CHUNK = 1 << 16


def error(message: str) -> None:
    """Print one message to stderr, with any control characters from the data made visible."""
    print(f"k8saudit-tui: {visible(message)}", file=sys.stderr)


def load_policy_or_exit(path: str) -> PolicyEvaluator | None:
    """Load `path`; print its problems to stderr; None when the policy cannot be used."""
    unusable = policy_file_problem(path)
    if unusable is not None:
        error(unusable)
        return None
    from k8saudit_tui.engine.policy.loader import load_policy_file  # here: YAML is ~20 ms of every command's start

    load = load_policy_file(path)
    for problem in load.problems:
        prefix = "warning: " if problem.severity == "warning" else ""
        print(prefix + visible(str(problem)), file=sys.stderr)
    if load.policy is None:
        error(f"{path}: the policy cannot be used")
        return None
    return PolicyEvaluator(load.policy)


SNIFF_BYTES = 4096
"""How much of a log is read to tell an audit Policy from a log: a policy's kind and apiVersion
stand at its top, and reading more would cost time on a large log for nothing."""

_YAML_FIRST_KEY = re.compile(rb"^([ \t]*)[^\s#-]", re.MULTILINE)
"""The first key of a YAML document: its indentation is the top level's (some files indent all)."""
_YAML_KIND = rb"""kind:[ \t]*["']?Policy["']?[ \t]*(?:#[^\n]*)?\r?$"""
_YAML_API = rb"""apiVersion:[ \t]*["']?audit\.k8s\.io/"""
_JSON_KIND = re.compile(rb'"kind"\s*:\s*"Policy"')
_JSON_API = re.compile(rb'"apiVersion"\s*:\s*"audit\.k8s\.io/')
_JSON_EVENT = re.compile(rb'"kind"\s*:\s*"Event(?:List)?"')


def looks_like_policy(head: bytes) -> bool:
    """Whether the first bytes of a file are an audit Policy's (kind Policy, apiVersion
    audit.k8s.io/...) as YAML or JSON, judged from top-level keys only: a log's events are
    `kind: Event`, so a log never passes."""
    text = head.removeprefix(b"\xef\xbb\xbf")
    if text.lstrip().startswith(b"{"):
        return bool(_JSON_KIND.search(text) and _JSON_API.search(text) and not _JSON_EVENT.search(text))
    first = _YAML_FIRST_KEY.search(text)
    if first is None:
        return False
    top = b"^" + re.escape(first.group(1))
    return bool(re.search(top + _YAML_KIND, text, re.MULTILINE) and re.search(top + _YAML_API, text, re.MULTILINE))


def unreadable_logs(logs: Sequence[str]) -> dict[str, tuple[str, int]] | None:
    """The logs that cannot be read, each with its message and exit status (`log_problem`); None,
    after saying so, when one is a policy given as a log: a wrong command line, refused before any
    output (evaluate used to print an error line per line of the policy)."""
    unreadable = {log: found for log in logs if (found := log_problem(log)) is not None}
    misused = [message for message, status in unreadable.values() if status == 2]
    if misused:
        error(misused[0])
        return None
    return unreadable


def log_problem(path: str) -> tuple[str, int] | None:
    """Why `path` cannot be read as a log, with the exit status; None when it can (or is `-`).

    Opens only regular files, and reads SNIFF_BYTES of them: a FIFO would lose what was read."""
    if path == STDIN:
        return None
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None  # a directory or a pipe: the loader reports what it finds there
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as problem:
        return f"{path}: {reason(problem)}", 1
    if looks_like_policy(head):
        return f"{path} is an audit Policy, not a log: use --policy {path}", 2
    return None


def reason(problem: OSError) -> str:
    """`no such file or directory`: the OS's words, as the rest of a message."""
    words = describe_os_error(problem)
    return words[:1].lower() + words[1:]


def looks_like_log(head: bytes) -> bool:
    """Whether the first bytes of a file are an audit log's: JSON whose kind is Event (or EventList)."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"{") and bool(_JSON_EVENT.search(text))


def policy_file_problem(path: str) -> str | None:
    """Why `path` is no policy file to read (missing, a directory, unreadable, an audit log, an
    unknown `@preset`); None when it may be one (or is `-`, a known preset, or a pipe: the loader
    reads those once)."""
    if path == STDIN:
        return None
    if is_preset_spec(path):
        return None if find(path) is not None else unknown_message(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return f"{path}: is a directory, not a policy file"
        if not stat.S_ISREG(info.st_mode):
            return None
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as problem:
        return f"{path}: {reason(problem)}"
    if looks_like_log(head):
        return f"{path} is an audit log, not a Policy"
    return None


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
