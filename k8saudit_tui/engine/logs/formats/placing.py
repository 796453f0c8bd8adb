"""Where each range of unwrapped events goes in the spool: decided in range order by the workers
themselves, so that each writes its events where they end up and the parent copies nothing.

Why: a worker used to write its range's events to a part file of its own, which the parent then
appended to the spool. At 1M CloudWatch events that was a second gigabyte of fresh tmpfs pages and
a copy of it in the parent: the parent took 1.4-1.8 CPU-s (mostly sys time) against 0.9 for the
raw log; 1.0-1.2 now, about 5% of the whole load's CPU. Ranges must still follow one another in
the order of the file (the store's rows, `Origin` and every reader of the spool rely on it), and
a range's length is known only once it is unwrapped; so the ledger, a small file beside the
spool, holds where each range ends, and range i starts where range i - 1 ended.

Contract:
- `Ledger.create(directory)` makes an empty ledger (its `path` goes to the workers in `Slot`s);
  `remove()` deletes it.
- `Slot(ledger, spool, index).reserve(size)` (a worker) waits until range `index - 1` is placed,
  records range `index` as the `size` bytes after it and returns its start (0 for the first).
  The worker then writes its bytes there (`write_at`, `write_lines`) before it returns its chunk,
  so a range is written whole by the time the parent receives it in order.
- `Ledger.place(index, end)` (the parent) records a range it placed itself, whose worker did not
  reserve (rebuilt GKE events, which the parent de-duplicates): the next range's worker waits for
  it. The parent takes chunks in range order, so it places range i only after range i - 1 is.
- A slot is 16 bytes, the end + 1 and its complement (a read that races a write is never taken
  for a value; 0 is "not placed yet"). A waiting worker sleeps between reads and gives up, with
  an error, when its parent is gone (the pool kills it otherwise, as any worker).
"""

from __future__ import annotations

import os
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

_SLOT = struct.Struct("<qq")
_POLL_SECONDS = (0.0001, 0.0005, 0.002)
"""Sleeps between reads of a slot not placed yet: short first (the range before is usually about
done), then longer."""
_GROUP = 512
"""Lines written by one `pwritev` (two buffers each: IOV_MAX is 1024 on Linux)."""


class Ledger:
    """The parent's side of a ledger file (see the module doc)."""

    def __init__(self, path: str) -> None:
        self.path = path

    @classmethod
    def create(cls, directory: str) -> Ledger:
        descriptor, path = tempfile.mkstemp(suffix=".ledger", dir=directory)
        os.close(descriptor)
        return cls(path)

    def place(self, index: int, end: int) -> None:
        """Record that range `index` ends at byte `end` of the spool (written by the parent)."""
        _write_slot(self.path, index, end)

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


@dataclass(frozen=True, slots=True)
class Slot:
    """A worker's task's place in the ledger: the ledger's path, the spool's, the range's index."""

    ledger: str
    spool: str
    index: int

    def reserve(self, size: int) -> int:
        """Where range `index`'s `size` bytes go, recorded for the next range (see the module doc)."""
        start = 0 if self.index == 0 else _wait_for(self.ledger, self.index - 1)
        _write_slot(self.ledger, self.index, start + size)
        return start


def _write_slot(path: str, index: int, end: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, _SLOT.pack(end + 1, ~(end + 1)), index * _SLOT.size)
    finally:
        os.close(fd)


def _wait_for(path: str, index: int) -> int:
    """The end of range `index` once it is placed."""
    parent = os.getppid()
    fd = os.open(path, os.O_RDONLY)
    try:
        waited = 0
        while True:
            data = os.pread(fd, _SLOT.size, index * _SLOT.size)
            if len(data) == _SLOT.size:
                value, check = _SLOT.unpack(data)
                if value and check == ~value:
                    return int(value) - 1
            if os.getppid() != parent:
                raise RuntimeError("the process that started this worker is gone")
            time.sleep(_POLL_SECONDS[min(waited, len(_POLL_SECONDS) - 1)])
            waited += 1
    finally:
        os.close(fd)


def write_at(fd: int, data: bytes, offset: int) -> None:
    """All of `data` at `offset` of the file `fd` (pwrite may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def write_lines(fd: int, pieces: Sequence[bytes], offset: int) -> None:
    """Each of `pieces` followed by a newline, from `offset` of the file `fd`, without joining
    them first (a fast block is one ~1 MB piece; a whole range's events are one piece each)."""
    for first in range(0, len(pieces), _GROUP):
        group = pieces[first : first + _GROUP]
        buffers = [part for piece in group for part in (piece, b"\n")]
        size = sum(map(len, group)) + len(group)
        written = os.pwritev(fd, buffers, offset)
        if written < size:  # a short write: the rest in one piece
            write_at(fd, b"".join(buffers)[written:], offset + written)
        offset += size


def lines_size(pieces: Sequence[bytes]) -> int:
    """How many bytes `write_lines` writes for `pieces`."""
    return sum(map(len, pieces)) + len(pieces)
