"""A cheaper `virtual_size` update for the Line-API views.

`Widget.virtual_size` is a reactive with `layout=True`: every assignment re-lays-out and repaints
the whole screen (about 35 ms here). A list that changes length on every filter keystroke, or a
detail pane that changes length on every cursor move, only needs its own scrollbars updated, so
this sets the value without the reactive and updates the scrollbars; only when a scrollbar
appears or disappears (the content region changes) does it ask for a layout.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


def set_virtual_size(widget: Widget, size: Size) -> None:
    """Give `widget` a new virtual size, with a layout pass only when its scrollbars change."""
    if widget.virtual_size == size:
        return
    before = (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar)
    widget.set_reactive(Widget.virtual_size, size)
    if not widget.is_mounted:
        return
    widget._scroll_update(size)
    after = (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar)
    widget.refresh(layout=before != after)
