"""Following growing logs: poll the store's followable files and append what was written.

Why it lives apart from the store: it is a client of the store's public API (files, descriptor,
add_file, append, withdraw_problem), like the loader; it owns the rotation and truncation rules.
A rotated file (new inode at the path) is drained, then the new file is read from the start; a
truncated file, or one rewritten past its old size between two polls, is read again from the
start and its old rows' text is marked gone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence

from k8saudit_tui.engine.logs.batch import parse_lines
from k8saudit_tui.engine.logs.sources import LogSource
from k8saudit_tui.engine.store.columns import EventStore
from k8saudit_tui.engine.store.files import FileEntry


def follow(
    store: EventStore,
    sources: Sequence[LogSource] | None = None,
    cancel: threading.Event | None = None,
    interval: float = 0.2,
) -> Iterator[int]:
    """Watch the store's growable files and append new complete lines; yield rows added.

    A rotated file (new inode at the path) is drained, then the new file is read from the start;
    a truncated file is read again from the start; a half-written last line waits for its newline.
    `sources` limits following to those names (default: every followable file). Stops on `cancel`.
    """
    cancel = cancel or threading.Event()
    wanted = {source.name for source in sources} if sources is not None else None
    while not cancel.is_set():
        added = 0
        for index in range(len(store.files)):
            entry = store.files[index]
            if not entry.followable or (wanted is not None and entry.name not in wanted):
                continue
            added += _poll(store, index)
        if added:
            yield added
        cancel.wait(interval)


def _poll(store: EventStore, index: int) -> int:
    """Read what was appended to one file since last time; handle rotation and truncation."""
    entry = store.files[index]
    try:
        info = os.stat(entry.path)
    except OSError:
        return 0
    added = 0
    if entry.inode and info.st_ino != entry.inode:
        added += _read_new(store, index, os.fstat(store.descriptor(entry)).st_size)  # drain the rotated file
        entry.followable = False
        return added + _reopen(store, entry)
    if info.st_size < entry.consumed or (info.st_size > entry.consumed and _rewritten(store, entry)):
        entry.followable = False
        entry.gone = "the file was truncated after this event was read; its text is gone"
        return _reopen(store, entry)
    if info.st_size > entry.consumed:
        added += _read_new(store, index, info.st_size)
    return added


_LAST_BYTES = 512
"""How many bytes before the consumed offset are kept to notice a file rewritten in place: an
audit line's last fields (objectRef, annotations) often repeat from event to event, its
timestamps (to the microsecond) a few hundred bytes before its end rarely do."""


def note_last_bytes(store: EventStore, entry: FileEntry) -> None:
    start = max(0, entry.consumed - _LAST_BYTES)
    try:
        entry.last_bytes = os.pread(store.descriptor(entry), entry.consumed - start, start)
    except OSError:
        entry.last_bytes = b""


def _rewritten(store: EventStore, entry: FileEntry) -> bool:
    """Whether the bytes before the consumed offset are not those read: a copytruncate rotation
    whose new file outgrew the old one between two polls (same inode, bigger size). Only a new
    file whose bytes there equal the old ones (the same last _LAST_BYTES, timestamps included)
    goes unnoticed."""
    if not entry.last_bytes:
        return False
    start = entry.consumed - len(entry.last_bytes)
    try:
        return os.pread(store.descriptor(entry), len(entry.last_bytes), start) != entry.last_bytes
    except OSError:
        return False


def _reopen(store: EventStore, entry: FileEntry) -> int:
    """Start a new file entry for the same path (rotation or truncation), read from offset 0."""
    if entry.tail_problem is not None:
        entry.tail_problem = None  # the half line will never be completed in this file
    index = store.add_file(entry.name, entry.path, followable=True)
    size = os.stat(entry.path).st_size
    return _read_new(store, index, size)


def _read_new(store: EventStore, index: int, size: int) -> int:
    """Parse complete lines between the consumed offset and `size`."""
    entry = store.files[index]
    if size <= entry.consumed:
        return 0
    data = os.pread(store.descriptor(entry), size - entry.consumed, entry.consumed)
    if b"\n" not in data:
        return 0
    if entry.tail_problem is not None:
        store.withdraw_problem(entry.tail_problem)
        entry.tail_problem = None
    batch = parse_lines(data, entry.consumed, index, final=False)
    added = store.append(batch, index, entry.lines)
    entry.lines += batch.lines
    entry.consumed = batch.end
    note_last_bytes(store, entry)
    return added
