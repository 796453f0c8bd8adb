"""The events list's cells: values fitted to columns as segments, without a `Text` per cell.

Separate from the other panes' text because it is the hot path of scrolling: every row that comes
into view pays for it, so it works on plain strings and cached `Style`s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.render import MAX_CELL, level_style, rich_style


def fit(text: Text, width: int) -> Text:
    """`text` cut or padded to exactly `width` cells, so table columns line up."""
    cell = text.copy()
    cell.truncate(width, overflow="ellipsis", pad=True)
    return cell


@dataclass(frozen=True, slots=True)
class Column:
    """One events-list column: its heading, the store field it shows, and its width in cells."""

    title: str
    field: str
    width: int
    short: bool = False
    """Show the short label of a stage or level (`Complete`, `ReqResp`): narrow lists."""
    middle: bool = False
    """Cut a long value in the middle, keeping its end (`system:…replicaset-controller`):
    user names share long prefixes and differ at the end."""
    dated: bool = False
    """Show the date with the time (the events span more than one day)."""


def header_text(columns: Sequence[Column]) -> Text:
    """The events list heading line."""
    line = Text(no_wrap=True, end="")
    for column in columns:
        line.append_text(fit(Text(column.title, style="bold"), column.width))
        line.append(" ")
    return line


def row_segments(values: Mapping[str, object], columns: Sequence[Column], base: Style | None = None) -> list[Segment]:
    """One event as a table row, as segments: each value made safe and fitted to its column.

    Built straight from strings and cached `Style`s (no `Text`, no console render): the list pays
    this for every row that scrolls into view, so it is the cost of a page-down. `base` (the
    cursor style) goes under every cell's own style, as `Strip.apply_style` would put it."""
    segments: list[Segment] = []
    for column in columns:
        text, style_name = cell_value(column.field, values.get(column.field), short=column.short, dated=column.dated)
        style = rich_style(style_name)
        if base is not None:
            style = base + style
        fitted = fit_middle(text, column.width) if column.middle else fit_plain(text, column.width)
        segments.append(Segment(fitted + " ", style))
    return segments


SHORT_LABELS: dict[str, str] = {
    "RequestReceived": "Received",
    "ResponseStarted": "Started",
    "ResponseComplete": "Complete",
    "Panic": "Panic",
    "RequestResponse": "ReqResp",
}
"""Stage and level names as the narrow list shows them (anything else is shown as it is)."""


def cell_value(field: str, value: object, *, short: bool = False, dated: bool = False) -> tuple[str, str]:
    """One table cell as (safe text, style name): levels coloured, codes coloured by class;
    `short` gives stages and levels their short labels, `dated` the time its date."""
    if value is None or value == "":
        return "", ""
    if field in ("level", "recorded_level"):
        name = str(value)
        return visible(SHORT_LABELS.get(name, name) if short else name), level_style(name)
    if field == "stage" and short:
        name = str(value)
        return visible(SHORT_LABELS.get(name, name)), ""
    if field == "code":
        return visible(str(value)), _code_style(value)
    if field == "change":
        name = str(value)
        return visible(name), CHANGE_STYLES.get(name, "")
    if field == "time":
        return visible(dated_time(str(value)) if dated else short_time(str(value))), "dim"
    text = value if isinstance(value, str) else str(value)
    return visible(text[:MAX_CELL]), ""


CHANGE_STYLES: dict[str, str] = {"dropped": "bold red", "down": "yellow", "added": "green", "up": "cyan"}
"""The change column's colours: losing an event is the loudest (the word says it under NO_COLOR)."""


def fit_plain(text: str, width: int) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` terminal cells.

    `text` is already made visible, so an ASCII string is one cell per character; anything else
    (CJK, emoji) is measured by rich's cell width."""
    if text.isascii():
        if len(text) <= width:
            return text.ljust(width)
        return text[: width - 1] + "…"
    cells = cell_len(text)
    if cells <= width:
        return text + " " * (width - cells)
    return set_cell_size(text, width - 1) + "…"


def fit_middle(text: str, width: int) -> str:
    """Like `fit_plain`, but a value too long loses its middle: a third of the cells keep its
    start, the rest its end, around an ellipsis."""
    if cell_len(text) <= width or width < 8:
        return fit_plain(text, width)
    head = width // 3
    start = set_cell_size(text, head)
    end = text[-(width - head - 1) :]
    while cell_len(end) > width - head - 1:
        end = end[1:]
    return fit_plain(f"{start}…{end}", width)


def _code_style(code: object) -> str:
    try:
        number = int(str(code))
    except ValueError:
        return ""
    if number >= 500:
        return "bold red"
    if number >= 400:
        return "red"
    if number >= 300:
        return "yellow"
    return "green"


def short_time(value: str) -> str:
    """`2024-05-14T09:00:01.123456Z` as `09:00:01.123`: what fits in a column (date: detail pane)."""
    if len(value) >= 19 and value[10:11] in ("T", " "):
        rest = value[19:].rstrip("Z")
        millis = rest[:4] if rest.startswith(".") else ""
        return f"{value[11:19]}{millis}"
    return value


def dated_time(value: str) -> str:
    """`2024-05-14T09:00:01.123456Z` as `2024-05-14 09:00:01`: the list of a log that spans days."""
    if len(value) >= 19 and value[10:11] in ("T", " "):
        return f"{value[:10]} {value[11:19]}"
    return value
