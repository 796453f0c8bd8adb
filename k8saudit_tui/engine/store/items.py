"""EventList items in the store: their re-serialised bytes spooled to a file rows can point into.

An EventList (a webhook batch, or a pretty-printed document) holds many events on one line or in one
document, so an item has no bytes of its own in the source; the parser re-serialises each
(`Batch.items`) and the store writes them here, one per line. The spool gets a file entry per
source, named like the source, so an item's location still names the file it came from.
Owned by the store's one writer thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from k8saudit_tui.engine.logs.sources import new_spool


class ItemSpool:
    """The spool file (made on first use) and the store file entry of each source's items."""

    def __init__(self) -> None:
        self.path = ""
        self._writer: Any = None
        self._entries: dict[int, int] = {}

    def place(self, items: list[bytes], file: int, add_file: Callable[[int, str], int]) -> tuple[int, list[int]]:
        """Write the items of source `file`; (their file entry, each item's offset). `add_file(file,
        path)` registers the spool as a file entry named like source `file`."""
        if self._writer is None:
            self.path, self._writer = new_spool("eventlist-items")
        entry = self._entries.get(file)
        if entry is None:
            entry = self._entries[file] = add_file(file, self.path)
        writer = self._writer
        placed = []
        for data in items:
            placed.append(writer.tell())
            writer.write(data + b"\n")
        writer.flush()
        return entry, placed

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
