"""The events list's status line: how many events show, under which filter, and what is missing.

One line of fixed height: the screen updates it without a layout, so it must never wrap. The
panes' border titles are here too (what each pane shows: a count, a file, a place in a file); a
file name is untrusted text like any other, so they are built with `safe`.
"""

from __future__ import annotations

import os

from rich.text import Text

from k8saudit_tui.ui.render import count, safe

TITLE_LIMIT = 60
"""Characters of a file name a pane title shows."""
FILTER_LIMIT = 80
"""Characters of the filter text the status line repeats."""


def status_text(
    shown: int,
    total: int,
    *,
    collapsed: bool,
    filter_text: str,
    loading: bool,
    loaded_share: float | None,
    problems: int,
    has_policy: bool,
    following: bool = False,
    new_below: int = 0,
) -> Text:
    """`shown of total events`, then what qualifies it; while `loading`, the share of the bytes
    read (`loaded_share`, None while the size is unknown); with `--follow`, that the log is
    followed and how many new events arrived below the cursor."""
    text = Text(f"{shown:,} of {count(total, 'event')}", style="bold", end="")
    if collapsed:
        text.append("  (stages collapsed)")
    if filter_text:
        text.append("  filter: ")
        text.append_text(safe(filter_text, "italic", limit=FILTER_LIMIT))
    if loading:
        share = f" {100 * loaded_share:.0f}%" if loaded_share is not None else ""
        text.append(f"  loading…{share}", style="yellow")
    if following:
        text.append("  following", style="green")
    if new_below:
        text.append(f"  {new_below:,} new below: G to jump", style="bold green")
    if problems:
        text.append(f"  {count(problems, 'problem')} (press !)", style="red")
    if not has_policy:
        text.append("  no policy: press p to load one", style="italic")
    return text


def events_title(shown: int, total: int) -> Text:
    """`Events 3,000`, or `Events 1,234 of 3,000` when a filter (or collapsing) shows fewer."""
    text = f"Events {total:,}" if shown == total else f"Events {shown:,} of {total:,}"
    return Text(text, end="")


def short_path(path: str, cwd: str | None = None) -> str:
    """`path` relative to the working directory when it is inside it, else its base name."""
    try:
        relative = os.path.relpath(os.path.abspath(path), cwd or os.getcwd())
    except ValueError:  # another drive (Windows)
        relative = os.pardir
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return os.path.basename(path) or path
    return relative


def file_title(path: str | None) -> Text | None:
    """The title of a pane showing a file (the policy): its short path, made safe."""
    return safe(short_path(path), limit=TITLE_LIMIT) if path else None


def location_title(location: str | None) -> Text | None:
    """The title of the detail pane: the event's `file:line`, the file made short and safe."""
    if not location:
        return None
    path, sep, line = location.rpartition(":")
    if not sep or not line.isdigit():
        return safe(location, limit=TITLE_LIMIT)
    return safe(f"{short_path(path)}:{line}", limit=TITLE_LIMIT)
