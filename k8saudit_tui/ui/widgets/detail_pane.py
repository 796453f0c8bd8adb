"""The detail pane: the selected event in plain words, its verdict and explain trace, its JSON.

All text comes from `render`, which makes every value from the log safe; this widget lays the
text out. It is a Line-API view: the text is wrapped once per event (and per width) and only the
visible lines are painted, so moving the cursor never makes Textual re-measure the whole screen
(a `Static` in a scroll container did: a layout pass of ~70 ms per cursor move).

Building the text (reading the event back, the explain trace, highlighting JSON that can be
hundreds of kilobytes, wrapping) is `build_detail`, a plain function the main screen runs in a
thread worker once the cursor has stopped, so holding `j` never waits for it.

Secrets (Secret data, tokens, Authorization values) are masked as `c` copies them: a screen is
shared, filmed and scrolled back in tmux, so what is on it must be as safe as the clipboard. The
pane says how many values it hides and which key shows them (the main screen's `r`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from rich.console import Console
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.strip import Strip

from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.engine.policy.explain import Explanation
from k8saudit_tui.ui.render import safe
from k8saudit_tui.ui.render.detail import (
    HeadLine,
    explanation_lines,
    join_lines,
    json_hang,
    json_line_text,
    json_lines,
    masking_line,
    questions_lines,
    verdict_lines,
)
from k8saudit_tui.ui.render.provenance import FormatLike, outcome_lines, provenance_line
from k8saudit_tui.ui.render.wrap import hanging_wrap
from k8saudit_tui.ui.widgets.line_view import LineView

DEFAULT_WIDTH = 80
"""Width to wrap at before the pane has been laid out."""


Line = Text | str
"""A laid-out line: `Text`, or a JSON line (`str`) highlighted only when painted."""


@dataclass(frozen=True)
class DetailContent:
    """What the pane shows: `head` (location, masking note, questions, verdict, trace: each line
    with its hanging indent) and `body` (the JSON lines, safe but not highlighted), plus the
    lines laid out at `width` when built off the UI thread. `location` names the event: new
    content for the event on screen (secrets revealed, another policy) keeps the scroll."""

    head: tuple[HeadLine, ...]
    body: tuple[str, ...] = ()
    width: int = 0
    lines: tuple[Line, ...] = field(default=(), repr=False)
    location: str = ""
    masked: int = 0
    """Values masked (or, when `revealed`, shown) in the JSON: Secret data, tokens, Authorization."""
    revealed: bool = False

    @property
    def text(self) -> Text:
        """Head and body as one `Text` (tests read `.plain`)."""
        head = join_lines(self.head)
        if not self.body:
            return head
        return Text.assemble(head, "\n", "\n".join(self.body), end="")


def message_content(message: str = "", *, error: bool = False) -> DetailContent:
    """A one-message pane: nothing selected, no log, an unreadable event."""
    if message:
        text = safe(message, "bold red" if error else "italic")
    else:
        text = Text("No event selected.", style="italic", end="")
    return DetailContent(((text, 0),))


def build_detail(
    event: Mapping[str, Any],
    masked: int = 0,
    *,
    verdict: Verdict | None = None,
    explanation: Explanation | None = None,
    location: str = "",
    revealed: bool = False,
    console: Console | None = None,
    width: int = 0,
    origin: FormatLike | None = None,
) -> DetailContent:
    """The pane's content for one event; laid out at `width` too when `console` is given.

    `event` comes masked or not (`Session.detail_event`): `masked` counts the values masking
    hides, and the pane says so at its top with the key that toggles it. No Textual state is
    touched, so this runs in a worker thread; the JSON (which can be hundreds of kilobytes) is
    only dumped and split here, never highlighted whole. `origin` (the event's format, FormatInfo):
    a non-raw event says where it came from and what its format derived and lost, and its verdict
    says what those losses leave unknown (render.provenance)."""
    head: list[HeadLine] = []
    if location:
        head.append((safe(location, "dim"), 0))
    note = masking_line(masked, revealed)
    if note is not None:
        head.append(note)
    head.extend(questions_lines(event))
    came = provenance_line(origin)
    if came is not None:
        head.append(came)
    head.append((Text(end=""), 0))
    stage = event.get("stage") if isinstance(event.get("stage"), str) else ""
    recorded = event.get("level") if isinstance(event.get("level"), str) else ""
    if verdict is not None and explanation is not None and explanation.outcome is not None:
        head.extend(outcome_lines(explanation, str(stage), str(recorded)))
    else:
        head.extend(verdict_lines(verdict, str(stage), str(recorded)))
    if explanation is not None:
        head.append((Text(end=""), 0))
        head.append((Text("Why (rules tried in order):", style="bold underline", end=""), 0))
        head.extend(explanation_lines(explanation))
    head.append((Text(end=""), 0))
    head.append((Text("Event:", style="bold underline", end=""), 0))
    content = DetailContent(tuple(head), tuple(json_lines(event)), location=location, masked=masked, revealed=revealed)
    if console is not None and width > 0:
        content = replace(content, width=width, lines=tuple(wrap_lines(content, console, width)))
    return content


def wrap_lines(content: DetailContent, console: Console, width: int) -> list[Line]:
    """Lay the content out at `width`. Most lines fit (JSON lines are short but for long values,
    the questions are one line each) and are kept as they are; only longer ones are wrapped,
    each under its value (`hanging_wrap`), so a big event costs a split."""
    lines: list[Line] = []
    for line, hang in content.head:
        lines.extend(hanging_wrap(line, console, width, hang))
    for json_line in content.body:
        if len(json_line) <= width and json_line.isascii():
            lines.append(json_line)
            continue
        highlighted = json_line_text(json_line)
        lines.extend(hanging_wrap(highlighted, console, width, json_hang(json_line)))
    return lines


class DetailPane(LineView):
    """Questions, verdict, explain trace and full JSON of one event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "scroll_down", "Scroll down", show=False),
        Binding("up,k", "scroll_up", "Scroll up", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
    ]
    STRIP_CACHE_SIZE = 400

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._content = message_content()
        self._lines: list[Line] = []
        self._wrapped_width = 0

    @property
    def text(self) -> Text:
        """The rendered content (tests read `.plain`)."""
        return self._content.text

    @property
    def wrap_width(self) -> int:
        """The width the content is wrapped at (workers build content for it)."""
        return max(10, self.scrollable_content_region.width or DEFAULT_WIDTH)

    def show_content(self, content: DetailContent) -> None:
        """Show content built by `build_detail` (maybe in a worker) or `message_content`; new
        content for the event already shown keeps the scroll position."""
        same_event = bool(content.location) and content.location == self._content.location
        scroll_y = self.scroll_offset.y if same_event else 0
        self._content = content
        self._wrapped_width = 0
        self.clear_lines()
        if content.lines and content.width == self.wrap_width:
            self._lines = list(content.lines)
            self._wrapped_width = content.width
            self.set_lines_size(content.width, len(self._lines))
        else:
            self._wrap()
        self.scroll_to(0, scroll_y, animate=False, immediate=True)
        self.refresh()

    @property
    def content(self) -> DetailContent:
        """What the pane shows now."""
        return self._content

    def _wrap(self) -> None:
        """Lay the text out at the pane's width (once per event and per width)."""
        width = self.wrap_width
        if width == self._wrapped_width:
            return
        self._wrapped_width = width
        self.clear_lines()
        self._lines = wrap_lines(self._content, self.app.console, width)
        self.set_lines_size(width, len(self._lines))

    def on_resize(self, event: Resize) -> None:
        """A new width: wrap again."""
        self._wrap()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        """One laid-out line (a JSON line is highlighted here, when it first shows)."""
        self._wrap()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        (base,) = self.paint_styles()
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(width, base)
        line = self._lines[index]

        def build() -> Strip:
            text = json_line_text(line) if isinstance(line, str) else line
            return self.text_strip(text, base, scroll_x, width)

        return self.cached_line((index, scroll_x, width), build)
