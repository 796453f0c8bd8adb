"""A CloudWatch S3 export read in place: no unwrapping, no spool, when nothing needs them.

Contract: `s3_in_place(source)` gives `source` itself with an identity `Origin` (every line is its
own record, format `cloudwatch-s3`) when every line of the file is `TIMESTAMP ` followed by an
Event as kube-apiserver writes it (valid UTF-8, starts with `EVENT_PREFIX`, ends in `}`), with no
blank line, CR or BOM and a final newline; else None, and the reader unwraps the file as before.

Why: an S3 export line is its Event behind a timestamp, the way an OpenShift line is behind a host
name, and the line parser already reads `prefix {json}` lines, pointing each row into the file
itself. For such a file the unwrapping path gives exactly the same rows: every message is taken
unparsed (`cloudtext.is_apiserver_line`), so its bytes, its line and any fault the Event parser
finds in it are the same whether it is parsed in the spool or after its prefix. What this check
refuses (a blank or cut line, klog text, another key order) is what the unwrapping path words
differently, so such a file keeps that path. Measured at 1M events on our loaded 2-core machine:
unwrapping and spooling cost ~0.7x the raw load's CPU (10.7 CPU-s); this check costs ~2.4 CPU-s
(a split, a regex match and an endswith per line, UTF-8 validation of non-ASCII blocks). The line
parser reads prefixed lines a block at a time (`batch._prefixed_block`).

`s3_pooled(source, workers, parse)` is the same decision with each worker of the pool checking one
byte range, so the check runs on every core (at 1M events, the commands' load: 1.68x the raw
log's wall time with the check in one process). With `parse` (a caller that loads a store next,
`reader.normalise(parse=True)`), each worker also parses its range in the same task, so the check
costs no wait before the load; the source carries the batches (`LogSource.parsed`). A range that
fails the check stops the pool and gives None, as `s3_in_place` does.
"""

from __future__ import annotations

import os
import re
from itertools import repeat

import numpy as np

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.batch import Batch, Encoder, parse_pieces
from k8saudit_tui.engine.logs.formats import BY_NAME
from k8saudit_tui.engine.logs.formats.cloudtext import EVENT_PREFIX
from k8saudit_tui.engine.logs.sources import LogSource

BLOCK_BYTES = 64 << 20
"""How much of the file is checked at once (cut back to its last newline)."""
_S3_EVENT = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z " + re.escape(EVENT_PREFIX.encode()))
"""The start of an S3 export line (`documents.S3_LINE`) whose message starts like an apiserver Event."""
_CODE = BY_NAME["cloudwatch-s3"].code


def s3_in_place(source: LogSource) -> LogSource | None:
    """`source` with an identity origin when every line qualifies (see the module doc), else None."""
    lines = offset = 0
    try:
        fd = os.open(source.path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        while offset < size:
            length = BLOCK_BYTES
            while True:  # a block ends at its last newline; a line longer than a block reads on
                data = os.pread(fd, length, offset)
                end = data.rfind(b"\n") + 1
                if end or len(data) < length:
                    break
                length *= 2
            if not end:
                return None  # no final newline: the line parser treats a failing last line apart
            found = block_lines(data, end)
            if found is None:
                return None
            lines += len(found)
            offset += end
    except OSError:
        return None
    finally:
        os.close(fd)
    if not lines:
        return None
    return _with_origin(source, size, lines)


def _with_origin(source: LogSource, size: int, lines: int) -> LogSource | None:
    """`source` with the identity origin of its `lines` lines (None past what an int32 line holds)."""
    from k8saudit_tui.engine.logs.formats.reader import Origin  # reader imports this module

    if not lines or lines >= 2**31:
        return None
    result = LogSource(source.name, source.path, size, followable=False, spooled=source.spooled)
    result.extra = dict(source.extra)
    result.origin = Origin(np.arange(1, lines + 1, dtype=np.int32), np.full(lines, _CODE, np.uint8))
    return result


def s3_pooled(source: LogSource, workers: int, parse: bool) -> LogSource | None:
    """`s3_in_place` checked by the pool, with the file's lines parsed in the same pass when
    `parse` (see the module doc); a file too small for the pool is checked in process (and parsed
    by the loader)."""
    from k8saudit_tui.engine.logs.worker import run_in_workers

    try:
        size = os.path.getsize(source.path)
    except OSError:
        return None
    tasks = split.cut(0, source.path, 0, size)
    if workers <= 1 or size <= split.IN_PROCESS_BYTES or len(tasks) < 2:
        return s3_in_place(source)
    lines = 0
    parsed: list[tuple[int, int, Batch]] = []
    results = run_in_workers(check_and_parse, tasks, min(workers, len(tasks)), setup=Encoder if parse else None)
    try:
        for task, (counted, batch) in zip(tasks, results, strict=True):
            if counted is None:
                return None
            lines += counted
            if batch is not None:
                parsed.append((task.start, task.end, batch))
    finally:
        results.close()
    result = _with_origin(source, size, lines)
    if result is not None and parse:
        result.parsed = parsed
    return result


def check_and_parse(encoder: Encoder | None, task: split.Task) -> tuple[int | None, Batch | None]:
    """The worker job of `s3_pooled`: the number of lines of one range when they all qualify, and
    with an `encoder`, the range parsed as the loader would parse it (offsets relative to the
    range, file number 0); else None. The range ends in a newline, so its lines checked are what
    `parse_lines` would split it into."""
    fd = os.open(task.path, os.O_RDONLY)
    try:
        data = os.pread(fd, task.size, task.start)
    finally:
        os.close(fd)
    found = block_lines(data, len(data)) if data.endswith(b"\n") else None
    if found is None:
        return None, None
    return len(found), None if encoder is None else parse_pieces(found, 0, 0, encoder)  # not split again


def block_lines(data: bytes, end: int) -> list[bytes] | None:
    """The lines of `data[:end]` (whole lines: `end` is just past a newline) when every one is an
    S3 export line of an apiserver-shaped Event, else None. (Not sliced: a copy of a block costs
    as much as a pass over it.)"""
    if data.find(b"\r", 0, end) >= 0 or data[end - 1 : end] != b"\n":
        return None
    if not data.isascii():
        try:
            str(memoryview(data)[:end], "utf-8")
        except UnicodeDecodeError:
            return None
    lines = data.split(b"\n")
    lines.pop()  # what follows the last newline (the next block's) or nothing
    if all(map(_S3_EVENT.match, lines)) and all(map(bytes.endswith, lines, repeat(b"}"))):
        return lines
    return None
