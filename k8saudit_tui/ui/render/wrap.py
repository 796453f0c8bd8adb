"""Wrapping with a hanging indent, for the panes that wrap text from the data (detail, policy).

A wrapped line continues under its value, not at column 0: the left column (labels, line
numbers, YAML indentation) is what the eye scans down, and a continuation at column 0 reads as
a new line of its own. The caller states the indent where it builds the line; nothing here
looks into the text for it.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def hanging_wrap(line: Text, console: Console, width: int, hang: int) -> list[Text]:
    """`line` wrapped at `width` (by words; a word longer than a line is folded), the lines after
    the first indented by `hang` cells, at most half the width so a deep line keeps room."""
    width = max(1, width)
    if line.cell_len <= width:
        return [line]
    hang = max(0, min(hang, width // 2))
    first = line.wrap(console, width, overflow="fold", no_wrap=False)[0]
    rest = line[len(first.plain) :]
    plain = rest.plain
    rest = rest[len(plain) - len(plain.lstrip(" ")) :]
    if not rest.plain:
        return [first]
    pieces = rest.wrap(console, width - hang, overflow="fold", no_wrap=False)
    if not hang:
        return [first, *pieces]
    return [first, *(Text.assemble(" " * hang, piece, end="") for piece in pieces)]
