"""The events list: a Line-API virtual list that renders only the rows on screen.

The stock `DataTable` measures and stores every cell (seconds at 100k rows); this widget keeps only
a numpy array of store row numbers (the current view) and asks for the values of the few rows it
paints, so a new filter result or a jump to the end costs the same at ten events or ten million.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import numpy as np
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.reactive import reactive
from textual.strip import Strip

from k8saudit_tui.ui.messages import EventHighlighted
from k8saudit_tui.ui.render.cells import Column, header_text, row_segments
from k8saudit_tui.ui.render.columns import ContentWidths, allocate, row_width
from k8saudit_tui.ui.widgets.line_view import LineView

RowValues = Callable[[int], Mapping[str, object]]
"""Store row number -> {field: value} for the columns shown."""
Measure = Callable[[], ContentWidths]
"""The widest value of each column in the data now (render.columns.ColumnMeter.measure)."""

COLUMNS: tuple[Column, ...] = allocate(1_000, ContentWidths())
"""The columns before the list knows its width and data (render.columns sizes them)."""


EMPTY_VIEW = np.zeros(0, dtype=np.int64)


class EventsTable(LineView):
    """A scrolling list of events with a cursor; line 0 is a fixed heading, column 0 (time) is
    fixed when the list scrolls sideways."""

    COMPONENT_CLASSES = {"events-table--cursor", "events-table--header"}
    PAINT_COMPONENTS = ("events-table--cursor", "events-table--header")
    STRIP_CACHE_SIZE = 2000

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home,g", "first", "First event", show=False),
        Binding("end,G", "last", "Last event", show=False),
        Binding("left,h", "scroll_left", "Scroll left", show=False),
        Binding("right,l", "scroll_right", "Scroll right", show=False),
    ]

    cursor: reactive[int] = reactive(0, repaint=False, init=False)
    """Position of the cursor in the view (not a store row number)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: np.ndarray = EMPTY_VIEW
        self._values: RowValues | None = None
        self._measure: Measure = ContentWidths
        self._columns: Sequence[Column] = COLUMNS
        self._width = row_width(COLUMNS)
        """Cells in a full row (the virtual width: the list scrolls sideways with h and l)."""
        self._header: tuple[object, Strip] = (None, Strip([]))
        """The heading line and the (scroll x, width, style) it was painted for."""
        self.set_lines_size(self._width, 1)

    # ------------------------------------------------------------------ data

    @property
    def row_count(self) -> int:
        """Number of events in the view."""
        return len(self._rows)

    @property
    def rows(self) -> np.ndarray:
        """The view: store row numbers in display order (read-only for callers)."""
        return self._rows

    @property
    def current_row(self) -> int | None:
        """Store row number under the cursor, None when the view is empty."""
        if not len(self._rows):
            return None
        return int(self._rows[min(self.cursor, len(self._rows) - 1)])

    def set_source(self, values: RowValues | None, measure: Measure | None = None) -> None:
        """Where row values come from, and what measures their widths; drops every cached line
        (a new store or policy)."""
        self._values = values
        self._measure = measure or ContentWidths
        self.clear_lines()
        self._fit_columns()
        self.refresh()

    def set_view(self, rows: np.ndarray, *, keep_row: int | None = None) -> None:
        """Show `rows`; the cursor stays on store row `keep_row` if it is still in the view."""
        self._rows = rows
        self._fit_columns()
        self.set_lines_size(self._width, len(rows) + 1)
        target = self._position_of(keep_row) if keep_row is not None else None
        self.set_reactive(EventsTable.cursor, self.validate_cursor(self.cursor if target is None else target))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(EventHighlighted(self.current_row))

    def extend_view(self, rows: np.ndarray) -> None:
        """Append rows (loading, `--follow`) without moving the cursor or the scroll position.
        The screen hears of the event under the cursor only when it is another one (the first
        rows, or logs merged by time): each batch of a load rebuilt the same detail and masked
        the secrets the user had revealed."""
        before = self.current_row
        self._rows = rows
        self._fit_columns()
        self.set_lines_size(self._width, len(rows) + 1)
        self.refresh()
        if self.current_row != before:
            self.post_message(EventHighlighted(self.current_row))

    @property
    def columns(self) -> Sequence[Column]:
        """The columns shown now (they depend on the list's width)."""
        return self._columns

    def on_resize(self, event: Resize) -> None:
        """Fit the columns to the new width."""
        self._fit_columns(self.scrollable_content_region.width or event.size.width)

    def invalidate(self) -> None:
        """Row values changed (a new policy): refit the columns, repaint from fresh values."""
        self.clear_lines()
        self._fit_columns()
        self.refresh()

    def _fit_columns(self, width: int | None = None) -> None:
        """Size the columns for the list's width and the data loaded so far (on a resize and on
        a view change; the measure answers at once while the data is the same)."""
        width = width or self.scrollable_content_region.width
        if not width:
            return
        columns = allocate(width, self._measure())
        if columns != self._columns:
            self._columns = columns
            self._width = row_width(columns)
            self.clear_lines()
            self.set_lines_size(self._width, len(self._rows) + 1)
            self.refresh()

    def _position_of(self, row: int) -> int | None:
        hits = np.flatnonzero(self._rows == row)
        return int(hits[0]) if len(hits) else None

    # ------------------------------------------------------------------ cursor

    def validate_cursor(self, value: int) -> int:
        """Keep the cursor inside the view."""
        return max(0, min(value, len(self._rows) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        """Repaint the two lines that changed and tell the screen which event is selected."""
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self._scroll_to_cursor()
        self.post_message(EventHighlighted(self.current_row))

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _scroll_to_cursor(self) -> None:
        height = max(2, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor > top + height - 2:
            self.scroll_to(y=self.cursor - height + 2, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        """Next event."""
        self.cursor += 1

    def action_cursor_up(self) -> None:
        """Previous event."""
        self.cursor -= 1

    def action_page_down(self) -> None:
        """One screen down."""
        self.cursor += self._page()

    def action_page_up(self) -> None:
        """One screen up."""
        self.cursor -= self._page()

    def action_first(self) -> None:
        """First event of the view."""
        self.cursor = 0

    def action_last(self) -> None:
        """Last event of the view."""
        self.cursor = max(0, len(self._rows) - 1)

    def action_scroll_left(self) -> None:
        """Scroll columns left (narrow terminals)."""
        self.scroll_to(x=max(0, self.scroll_offset.x - 8), animate=False)

    def action_scroll_right(self) -> None:
        """Scroll columns right (narrow terminals)."""
        self.scroll_to(x=self.scroll_offset.x + 8, animate=False)

    # ------------------------------------------------------------------ painting

    def render_line(self, y: int) -> Strip:
        """Line 0 is the heading; line y>0 is view position scroll_y + y - 1.

        Finished lines (cropped to the scroll position and width) are cached per row, so a
        cursor move repaints two cached lines and a page down renders only the rows new to it."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base, cursor_style, header_style = self.paint_styles()
        if y == 0:
            return self._header_strip(scroll_x, width, header_style)
        position = scroll_y + y - 1
        values = self._values
        if position >= len(self._rows) or values is None:
            return Strip.blank(width, base)
        is_cursor = position == self.cursor
        row = int(self._rows[position])
        state = (2 if self.has_focus else 1) if is_cursor else 0
        style = cursor_style if is_cursor else None

        def build() -> Strip:
            segments = row_segments(values(row), self._columns, style)
            return self._pinned(Strip(segments, self._width), scroll_x, width, style or base)

        return self.cached_line((row, state, scroll_x, width), build)

    def _header_strip(self, scroll_x: int, width: int, style: Style) -> Strip:
        key = (scroll_x, width, style)
        if self._header[0] != key:
            full = self.text_strip(header_text(self._columns), style, 0, self._width)
            self._header = (key, self._pinned(full, scroll_x, width, style))
        return self._header[1]

    def _pinned(self, strip: Strip, scroll_x: int, width: int, style: Style) -> Strip:
        """The window `width` cells wide onto a full row scrolled by `scroll_x`, with the first
        column (time) kept in place: sideways scrolling moves only the columns after it."""
        pin = min(self._columns[0].width + 1, width) if self._columns else 0
        if not scroll_x or not pin:
            return strip.crop_extend(scroll_x, scroll_x + width, style)
        return Strip.join(
            [strip.crop_extend(0, pin, style), strip.crop_extend(pin + scroll_x, scroll_x + width, style)]
        )

    def clear_lines(self) -> None:
        """Drop the cached heading with the cached rows."""
        super().clear_lines()
        self._header = (None, Strip([]))

    def on_focus(self) -> None:
        """The cursor looks different when the list has focus (its lines are cached apart)."""
        self.refresh()

    def on_blur(self) -> None:
        """See `on_focus`."""
        self.refresh()
