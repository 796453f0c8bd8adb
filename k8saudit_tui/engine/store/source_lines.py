"""Lines of a loaded log read back by line number, for the problems view.

A problem (a broken line) has no row in the store, so its text is read from the file: from the last
event before it, whose line number and offset the store knows, so a problem deep in a big log
costs a short read. A line is returned cut at SOURCE_LINE_LIMIT bytes (and says by how much), so a
hostile gigabyte line costs no memory. Bytes that are not UTF-8 come back as `\\xNN`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from k8saudit_tui.engine.store.columns import EventStore

SOURCE_LINE_LIMIT = 64 * 1024
"""Bytes of one line `source_lines` returns; a longer line is cut (and says by how much)."""


@dataclass(frozen=True, slots=True)
class SourceLine:
    """Line `number` of a log as read back: its first SOURCE_LINE_LIMIT bytes as text (bytes
    that are not UTF-8 as `\\xNN`), and how many bytes were left out."""

    number: int
    text: str
    cut: int = 0


def source_lines(store: EventStore, name: str, line: int, around: int = 2) -> list[SourceLine]:
    """Lines `line - around` to `line + around` of the log loaded as `name`; LookupError when no
    such log is loaded or its file is gone."""
    entry = next((e for e in store.files if e.name == name), None)
    if entry is None:
        raise LookupError(f"{name} is not a loaded log")
    if entry.gone:
        raise LookupError(f"{name}: {entry.gone}")
    first, last = max(1, line - around), line + around
    if entry.unwrapped:
        return _original_lines(name, first, last)
    files, numbers = store.column("file"), store.column("line")
    before = np.flatnonzero((files == store.files.index(entry)) & (numbers < first))
    lines: list[SourceLine] = []
    with open(os.dup(store.descriptor(entry)), "rb") as handle:
        number = handle.seek(0) + 1  # the descriptor's offset is shared with the store's
        if len(before):  # an event's offset is inside its line: the next line starts after it
            anchor = int(before[np.argmax(numbers[before])])
            handle.seek(int(store.gather("offset", np.array([anchor]))[0]))
            _read_line(handle, 0)
            number = int(numbers[anchor]) + 1
        while number <= last:
            head, length = _read_line(handle, SOURCE_LINE_LIMIT)
            if length < 0:
                break  # the end of the file
            if number >= first:
                text = head.rstrip(b"\r").decode("utf-8", "backslashreplace")
                lines.append(SourceLine(number, text, length - len(head)))
            number += 1
    return lines


def _original_lines(name: str, first: int, last: int) -> list[SourceLine]:
    """Lines `first` to `last` of the file a spool was unwrapped from (read from its top: the
    store's offsets are the spool's; gzip read through); LookupError when it cannot be read."""
    import contextlib
    import gzip

    lines: list[SourceLine] = []
    try:
        with open(name, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            opened = gzip.GzipFile(fileobj=raw) if compressed else contextlib.nullcontext(raw)
            with opened as handle:
                for number in range(1, last + 1):
                    head, length = _read_line(handle, SOURCE_LINE_LIMIT)  # type: ignore[arg-type]
                    if length < 0:
                        break
                    if number >= first:
                        text = head.rstrip(b"\r").decode("utf-8", "backslashreplace")
                        lines.append(SourceLine(number, text, length - len(head)))
    except (OSError, EOFError) as error:
        raise LookupError(f"{name}: {error}") from error
    return lines


def _read_line(handle: BinaryIO, keep: int) -> tuple[bytes, int]:
    """The next line's first `keep` bytes (without its newline) and its length (-1 at the end
    of the file), reading a long line in bounded pieces."""
    head = handle.readline(max(keep, 1))
    if not head:
        return b"", -1
    length, ended = len(head), head.endswith(b"\n")
    while not ended:
        more = handle.readline(1 << 20)
        if not more:
            break
        length, ended = length + len(more), more.endswith(b"\n")
    head = head[:keep]
    return head.removesuffix(b"\n"), length - ended
