"""Cutting a log file into byte ranges at line boundaries: the one splitter of every reader.

The store loader and the `evaluate` command both hand byte ranges of a plain file (a spool for
.gz and stdin, see sources.py) to the worker pool; each range ends just after a newline (the last
one at the end of the file), so no line is split and ranges can be parsed in any process. Reading
a range goes through `open_range`, a bounded stream over [start, end) that never asks the file
for its position, so line readers can use it as any binary stream.
"""

from __future__ import annotations

import io
import mmap
import os
from dataclasses import dataclass
from typing import BinaryIO

TASK_BYTES = 16 << 20
"""About how many bytes one range (one worker task) holds."""
IN_PROCESS_BYTES = 24 << 20
"""Below this much left to read, worker start-up costs more than it saves."""
_CHUNK = 1 << 20
PROBE_BYTES = 4 << 10
"""The first read of `next_newline`."""


MAX_SCALE = 2.0
"""The most `scaled_task_bytes` widens a range: a worker holds a range and all it gives at once."""


def scaled_task_bytes(read: int, written: int) -> int:
    """TASK_BYTES of what a range gives rather than of what it holds: `read` bytes of a file gave
    `written` bytes of Event lines (its head, unwrapped), so a range of TASK_BYTES times the ratio
    (1 to MAX_SCALE) gives about TASK_BYTES of them."""
    if read <= 0 or written <= 0:
        return TASK_BYTES
    return int(TASK_BYTES * min(MAX_SCALE, max(1.0, read / written)))


@dataclass(frozen=True, slots=True)
class Task:
    """A byte range [start, end) of the file `path` (file number `file` in the store).

    `final` is True for the range that ends at the end of the file (its last line may lack a
    newline); `document` for a whole file that is one JSON document (an EventList)."""

    file: int
    path: str
    start: int
    end: int
    final: bool
    document: bool = False

    @property
    def size(self) -> int:
        return self.end - self.start


def cut(file: int, path: str, start: int, end: int, task_bytes: int | None = None) -> list[Task]:
    """Byte ranges of about `task_bytes` (default TASK_BYTES), each ending just after a newline
    (the last one at EOF)."""
    size = TASK_BYTES if task_bytes is None else task_bytes
    tasks: list[Task] = []
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return [Task(file, path, start, end, True)]
    try:
        position = start
        while end - position > size * 1.5:
            boundary = next_newline(fd, position + size, end)
            if boundary >= end:
                break
            tasks.append(Task(file, path, position, boundary, False))
            position = boundary
        tasks.append(Task(file, path, position, end, True))
    finally:
        os.close(fd)
    return tasks


def next_newline(fd: int, position: int, end: int) -> int:
    """Offset just after the first newline at or after `position` (end if none). The first read
    is PROBE_BYTES: a range's end is usually a line away, and reading 1 MB for it cost the
    streamed export's planning 34 ms for the 220 ends of a 1M-event log (1 ms so)."""
    size = PROBE_BYTES
    while position < end:
        chunk = os.pread(fd, min(size, end - position), position)
        if not chunk:
            return end
        found = chunk.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(chunk)
        size = _CHUNK
    return end


def first_lines_end(path: str, start: int, end: int, lines: int) -> int:
    """Offset just after the `lines`-th newline from `start` (end if the file is shorter)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        position = start
        seen = 0
        while position < end:
            chunk = os.pread(fd, min(_CHUNK, end - position), position)
            if not chunk:
                return end
            count = chunk.count(b"\n")
            if seen + count >= lines:
                found = -1
                for _ in range(lines - seen):
                    found = chunk.index(b"\n", found + 1)
                return position + found + 1
            seen += count
            position += len(chunk)
        return end
    finally:
        os.close(fd)


def count_lines(path: str, start: int, end: int) -> int:
    """Newlines in [start, end) of `path`: counted in the page cache through a mapping (no copy;
    a pread and bytes.count cost three times as much, measured), one slice of _CHUNK at a time."""
    import numpy as np  # here: an `evaluate` worker, which imports this module, needs no numpy

    if end <= start:
        return 0
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        data = np.frombuffer(mapped, np.uint8)
        end = min(end, len(data))
        count = 0
        for position in range(start, end, _CHUNK * 4):
            count += int(np.count_nonzero(data[position : min(position + _CHUNK * 4, end)] == _NEWLINE))
        del data  # the mapping cannot close while an array views it
        return count


_NEWLINE = ord("\n")


class _RangeReader(io.RawIOBase):
    """The bytes [start, end) of a file descriptor, read with os.pread (no shared file position)."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        super().__init__()
        self._fd = fd
        self._position = start
        self._end = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._end - self._position)
        if wanted <= 0:
            return 0
        data = os.pread(self._fd, wanted, self._position)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_range(task: Task) -> BinaryIO:
    """A buffered binary stream of the task's bytes; close it (or use `with`) when done."""
    fd = os.open(task.path, os.O_RDONLY)
    return io.BufferedReader(_RangeReader(fd, task.start, task.end), _CHUNK)
