"""The files rows point into, and the error for an event whose bytes are gone.

A module of its own because the store (which reads them), the loader and `follow` (which advance
them) share these records; they are mutable and owned by the one writer thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8saudit_tui.engine.model import Problem


class EventGone(Exception):
    """An event whose bytes can no longer be read: its file was truncated after it was loaded
    (copytruncate rotation while following), so its offset now holds other events."""


@dataclass
class FileEntry:
    """A file rows point into. `name` is shown to the user; `path` is read with os.pread."""

    name: str
    path: str
    followable: bool = False
    consumed: int = 0
    """Bytes parsed so far (up to the end of the last complete line)."""
    lines: int = 0
    """Lines counted so far in this file (the next line is number lines + 1)."""
    tail_problem: Problem | None = None
    """A last line without newline that did not parse: withdrawn if a writer completes it."""
    inode: int = 0
    fd: int | None = None
    gone: str = ""
    """Why the rows' bytes can no longer be read (the file was truncated after they were), or ""."""
    unwrapped: bool = False
    """The rows' bytes are in a spool of Event lines unwrapped from `name` (formats/reader.py): their
    line numbers are `name`'s, not the spool's, so the lines around a problem are read from `name`."""
    last_bytes: bytes = b""
    """The bytes just before `consumed` when they were read (followed files): if they differ now,
    the file was emptied and written past its old size between two polls."""
