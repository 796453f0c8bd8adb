"""The detail pane: the selected event in plain words, its verdict and explain trace, its JSON.

All text comes from `render`, which makes every value from the log safe; this widget lays the
text out. It is a Line-API view: the text is wrapped once per event (and per width) and only the
visible lines are painted, so moving the cursor never makes Textual re-measure the whole screen
(a `Static` in a scroll container did: a layout pass of ~70 ms per cursor move).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from k8saudit_tui.engine.explain import Explanation
from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.ui import render
from k8saudit_tui.ui.scrolling import set_virtual_size


class DetailPane(ScrollView, can_focus=True):
    """Questions, verdict, explain trace and full JSON of one event."""

    BINDINGS: list[BindingType] = [
        Binding("down,j", "scroll_down", "Scroll down", show=False),
        Binding("up,k", "scroll_up", "Scroll up", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text("No event selected.", style="italic")
        """The rendered content (tests read `.plain`)."""
        self._head = self.text
        self._body: list[Text] = []
        self._lines: list[Text] = []
        self._wrapped_width = 0

    def show_event(
        self,
        event: Mapping[str, Any] | None,
        *,
        verdict: Verdict | None = None,
        explanation: Explanation | None = None,
        location: str = "",
        error: str = "",
    ) -> None:
        """Show one event (None: nothing selected); `error` explains an unreadable event."""
        text = Text(end="")
        if error:
            text.append_text(render.safe(error, "bold red"))
            text.append("\n")
        if event is None:
            if not error:
                text.append("No event selected.", style="italic")
            self._set(text, Text(""))
            return
        if location:
            text.append_text(render.safe(location, "dim"))
            text.append("\n")
        text.append_text(render.questions_text(event))
        text.append("\n")
        stage = event.get("stage") if isinstance(event.get("stage"), str) else ""
        recorded = event.get("level") if isinstance(event.get("level"), str) else ""
        text.append_text(render.verdict_text(verdict, str(stage), str(recorded)))
        if explanation is not None:
            text.append("\nWhy (rules tried in order):\n", style="bold underline")
            text.append_text(render.explanation_text(explanation))
        text.append("\nEvent:\n", style="bold underline")
        self._set(text, render.json_text(event))

    def _set(self, head: Text, body: Text) -> None:
        """`head` (a few lines, wrapped) then `body` (the JSON: split by line, long lines folded)."""
        self.text = Text.assemble(head, body, end="")
        self._head = head
        self._body = body.split("\n", include_separator=False) if body.plain else []
        self._wrapped_width = 0
        self._wrap()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def _wrap(self) -> None:
        """Lay the text out at the pane's width (once per event and per width).

        Only the head is word-wrapped; JSON lines are short but for long values, and only those
        are folded, so a big event costs a split, not a full word-wrap."""
        width = max(10, self.scrollable_content_region.width or 80)
        if width == self._wrapped_width:
            return
        self._wrapped_width = width
        console = self.app.console
        lines = list(self._head.wrap(console, width, overflow="fold"))
        for line in self._body:
            if line.cell_len <= width:
                lines.append(line)
            else:
                lines.extend(line.wrap(console, width, overflow="fold"))
        self._lines = lines
        set_virtual_size(self, Size(width, len(lines)))

    def on_resize(self, event: Resize) -> None:
        """A new width: wrap again."""
        self._wrap()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        """One wrapped line of the text."""
        self._wrap()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        line = self._lines[index]
        strip = Strip(list(line.render(self.app.console)), line.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def action_page_down(self) -> None:
        """One screen down."""
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        """One screen up."""
        self.scroll_page_up(animate=False)
