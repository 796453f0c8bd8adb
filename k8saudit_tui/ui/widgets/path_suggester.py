"""File-system completion for the dialogs' path inputs (export, `p` policy).

The suggestion completes the last path component typed to the first entry of its directory
that starts with it (directories end with `/`, so `→` then goes on into them); `~` is expanded to
look, but the suggestion keeps what was typed, since Textual shows only a suggestion that
extends the value. Listing a directory may stall on a network file system, so it runs in a
thread, and nothing is cached: the directory changes under the dialog (an export writes files).
"""

from __future__ import annotations

import asyncio
import os

from textual.suggester import Suggester

MAX_ENTRIES = 10_000
"""Entries looked at in one directory: a huge directory must not stall the dialog."""


def complete_path(value: str) -> str | None:
    """`value` completed to the first entry (in name order, hidden files only when the typed name
    starts with a dot) of its directory that extends it, or None."""
    if not value:
        return None
    if value.startswith("~") and "/" not in value:
        return value + "/" if os.path.isdir(os.path.expanduser(value)) else None
    directory, _, prefix = value.rpartition("/")
    listed = os.path.expanduser(directory + "/" if directory or value.startswith("/") else ".")
    try:
        with os.scandir(listed) as entries:
            names = []
            for count, entry in enumerate(entries):
                if count >= MAX_ENTRIES:
                    break
                if entry.name.startswith(prefix) and (prefix.startswith(".") or not entry.name.startswith(".")):
                    names.append((entry.name, _is_dir(entry)))
    except OSError:
        return None
    for name, is_dir in sorted(names):
        if (name == prefix and not is_dir) or not name.isprintable():
            continue  # a name with control characters is never offered: the input would draw them raw
        completed = value[: len(value) - len(prefix)] + name + ("/" if is_dir else "")
        if completed != value:
            return completed
    return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class PathSuggester(Suggester):
    """Suggests `complete_path` of what is typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        """The completion, looked up off the event loop."""
        return await asyncio.to_thread(complete_path, value)
