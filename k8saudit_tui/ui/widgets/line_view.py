"""The Line-API base of the three panes: paint only the visible lines, cache them, stay cheap.

The events list, the policy pane and the detail pane all show more lines than fit (a million
events, a 10,000-rule policy, a megabyte event), so each paints only what is on screen, keeps
finished lines in a cache keyed by what makes them look different, and sets its virtual size
without a screen layout (`scrolling.set_virtual_size`). The rules they must all follow live here
once: component styles are looked up once per paint (`rich_style` walks the DOM), a new theme
drops the cached lines, and every segment of a line carries a style, because the NO_COLOR
(Monochrome) filter fails on a segment without one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from k8saudit_tui.ui.widgets.scrolling import set_virtual_size


class LineView(ScrollView, can_focus=True):
    """A focusable Line-API view with a strip cache and styles looked up once per paint."""

    PAINT_COMPONENTS: ClassVar[tuple[str, ...]] = ()
    """Component classes whose styles `paint_styles` returns after the widget's own style."""
    STRIP_CACHE_SIZE: ClassVar[int] = 1000
    """Finished lines kept (a few screens' worth: scrolling back repaints from the cache)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._strips: LRUCache[Hashable, Strip] = LRUCache(self.STRIP_CACHE_SIZE)
        self._paint_styles: tuple[Style, ...] | None = None

    # ------------------------------------------------------------------ size and cache

    def set_lines_size(self, width: int, height: int) -> None:
        """The content is `width` cells by `height` lines (a layout only when scrollbars change)."""
        set_virtual_size(self, Size(width, height))

    def clear_lines(self) -> None:
        """Drop every cached line (new content, new width, new theme)."""
        self._strips.clear()

    def cached_line(self, key: Hashable, build: Callable[[], Strip]) -> Strip:
        """The cached line for `key`, built by `build` the first time it is painted."""
        strip = self._strips.get(key)
        if strip is None:
            strip = build()
            self._strips[key] = strip
        return strip

    def text_strip(self, text: Text, style: Style, scroll_x: int, width: int) -> Strip:
        """`text` as one painted line, `style` under every segment, cropped to the scroll window."""
        strip = Strip(list(text.render(self.app.console)), text.cell_len).apply_style(style)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    # ------------------------------------------------------------------ painting

    def paint_styles(self) -> tuple[Style, ...]:
        """The widget's style then one per `PAINT_COMPONENTS`, as looked up for this paint."""
        if self._paint_styles is None:
            return self._look_up_styles()
        return self._paint_styles

    def _look_up_styles(self) -> tuple[Style, ...]:
        return (self.rich_style, *(self.get_component_rich_style(name) for name in self.PAINT_COMPONENTS))

    def render_lines(self, crop: Region) -> list[Strip]:
        """Look the styles up once per paint, not once per line."""
        self._paint_styles = self._look_up_styles()
        return super().render_lines(crop)

    def notify_style_update(self) -> None:
        """A new theme or focus style: cached lines carry the old colours."""
        super().notify_style_update()
        self.clear_lines()

    def action_page_down(self) -> None:
        """One screen down."""
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        """One screen up."""
        self.scroll_page_up(animate=False)
