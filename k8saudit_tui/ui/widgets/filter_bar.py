"""The filter bar: a one-line input with field and value suggestions and an error line.

It does not filter: it posts `FilterChanged` on every edit (the screen debounces and runs the
filter in a worker) and `FilterDone` on `enter` / `escape`. Errors come back through `show_error`.

Keys typed in a burst (a paste, tmux send-keys) are forwarded by the App to whatever has focus
when it reads them, before the keys ahead of them are handled. So the focus moves at once, in
priority bindings the App runs itself (`focus_input`, `enter`, `escape`: the keys after them
already find their new target), while `FilterDone` goes through the input's queue, behind the
keys typed before `enter`: the text it carries has them all.

The line under the input says, by priority: the filter's error, the top suggestions for the term
being typed with their counts (worked out in the suggester's thread with the inline completion),
or the keys' hint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import Reactive
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Static

from k8saudit_tui.ui import render
from k8saudit_tui.ui.messages import FilterChanged, FilterDone, FilterEditing
from k8saudit_tui.ui.render.status import suggestions_text

Completer = Callable[[str], str | None]
"""Given the filter text, the whole text with its last term completed, or None (the engine's
suggester, `query.complete`: the one that reads a term as the filter language does)."""
Lister = Callable[[str], Sequence[tuple[str, int | None]]]
"""Given the filter text, the top suggestions for its last term: (term, events or None)."""


class FilterSuggester(Suggester):
    """Completes the last term through the engine's suggester, off the event loop."""

    def __init__(
        self,
        complete: Completer,
        suggestions: Lister | None = None,
        show: Callable[[str, Sequence[tuple[str, int | None]]], None] | None = None,
    ) -> None:
        # Case-sensitive: Textual would otherwise hand over the text case-folded, and accepting a
        # completion would lower-case every term typed before it (user:Alice is not user:alice).
        super().__init__(use_cache=False, case_sensitive=True)
        self._complete = complete
        self._suggestions = suggestions
        self._show = show

    async def get_suggestion(self, value: str) -> str | None:
        """The whole new value with the last term completed, or None: worked out in a thread,
        because the first `code:` or `rule:` counts a column over every event (26 ms at 1M,
        measured), and the event loop must keep painting meanwhile. The list of suggestions is
        worked out in the same thread and handed to `show`."""
        completion, listed = await asyncio.to_thread(self._work, value)
        if self._show is not None:
            self._show(value, listed)
        return completion

    def _work(self, value: str) -> tuple[str | None, Sequence[tuple[str, int | None]]]:
        return self._complete(value), self._suggestions(value) if self._suggestions is not None else ()


HINT = Text("enter: apply and go to the list · esc: back to the list · →: accept the suggestion", style="italic")
"""What the line under the input says while typing when the filter has no error."""
ERROR_STYLE = "red"


class FilterInput(Input):
    """An `Input` whose growing text does not re-lay-out the whole screen on every keystroke.

    `Input` sets its `virtual_size` (the text's width) on each change, and `Widget.virtual_size`
    is a layout reactive: every key typed in the filter cost a full-screen reflow and repaint
    (tens of ms at 1M events, measured). The input's size never depends on its text (width
    100%, height 1) and its horizontal scroll reads `virtual_size` directly, so a repaint does."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    EDIT_KEYS = frozenset({"backspace", "delete", "ctrl+u", "ctrl+w", "ctrl+k"})
    """Keys besides printable ones that change the text."""

    async def on_key(self, event: events.Key) -> None:
        """Tell the screen a filter edit is coming before `Input` handles the key (this runs
        first: Textual calls a subclass's handler before its base's); run the input's own key
        bindings (`ctrl+u`, `backspace`, `right`...) here, in turn with the typed characters.

        Textual runs a focused widget's bindings only once the key has bubbled up to the App,
        several queues later, while the characters typed after it are inserted at once: a burst
        of `ctrl+u` then text cleared the text just typed, and kept the old filter."""
        if event.is_printable or event.key in self.EDIT_KEYS:
            self.screen.post_message(FilterEditing())
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings and not event.is_printable:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)


class FilterBar(Vertical):
    """`/` focuses it; typing filters live; `enter` or `escape` returns to the list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Apply filter and go to the list", priority=True, show=False),
        Binding("escape", "cancel", "Back to list", priority=True),
    ]

    def __init__(self, complete: Completer, suggestions: Lister | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._input = FilterInput(
            placeholder="/ filter: verb:delete user:admin ns:kube-system rule:3 stage:ResponseComplete …",
            suggester=FilterSuggester(complete, suggestions, self._show_suggestions),
            id="filter-input",
            select_on_focus=False,
        )
        self._error = Static(HINT, id="filter-error", markup=False)
        self._shown_error: tuple[str, int | None] = ("", None)
        self._return_to: Widget | None = None
        self._listed: Text = HINT
        """What the line says when there is no error: the suggestions, or the hint."""

    def compose(self) -> ComposeResult:
        """The input and its error line (hidden when empty)."""
        yield self._input
        yield self._error

    @property
    def value(self) -> str:
        """The filter text."""
        return self._input.value

    def set_value(self, text: str) -> None:
        """Set the text without echoing a change (the screen applies it itself)."""
        with self._input.prevent(Input.Changed):
            self._input.value = text
            self._input.cursor_position = len(text)

    def focus_input(self, return_to: Widget | None = None) -> None:
        """Give the input the focus (the `/` key) at once: keys typed right after `/` (a fast
        typist, a paste, tmux send-keys) must reach the input, not the list's bindings.
        `enter` and `escape` give it to `return_to` (else to nothing) as promptly."""
        self._return_to = return_to
        self.screen.set_focus(self._input)

    @property
    def input(self) -> Input:
        """The input widget (tests set `cursor_blink` on it)."""
        return self._input

    def show_error(self, message: str, position: int | None = None) -> None:
        """Show a filter error under the input (literal text), or clear it with "".

        The line under the input is there whenever the bar has focus (a hint when there is no
        error), so an error coming and going while typing (`verb:` is one until its value is
        typed) repaints one line instead of re-laying-out the screen."""
        if (message, position) == self._shown_error:
            return
        self._shown_error = (message, position)
        if not message:
            self._error.update(self._listed, layout=False)
            self.remove_class("-error")
            return
        text = Text(style=ERROR_STYLE, end="")  # a style, not a CSS rule: no restyle, no layout
        if position is not None:
            text.append(f"at {position + 1}: ", style="bold")
        text.append_text(render.safe(message))
        self._error.update(text, layout=False)
        self.add_class("-error")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Typing: the hint (or error) line shows. A class, not `:focus-within`, which Textual
        does not re-apply to the bar's children."""
        self.add_class("-typing")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """Back to the list: the line goes unless there is an error to see."""
        self.remove_class("-typing")

    def _show_suggestions(self, value: str, listed: Sequence[tuple[str, int | None]]) -> None:
        """The suggestions for `value` (the suggester's answer), if it is still the text typed."""
        if value == self._input.value:
            self._set_listed(suggestions_text(listed) if listed else HINT)

    def _set_listed(self, text: Text) -> None:
        self._listed = text
        if not self._shown_error[0]:
            self._error.update(text, layout=False)

    @property
    def suggestions_line(self) -> str:
        """The suggestions (or hint) the line under the input shows when there is no error."""
        return self._listed.plain

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if not event.value:  # the suggester is not asked about an empty text
            self._set_listed(HINT)
        self.post_message(FilterChanged(event.value))

    def action_submit(self) -> None:
        """`enter`: apply the filter as typed and go back."""
        self._leave(cancelled=False)

    def action_cancel(self) -> None:
        """`escape`: back, keeping the filter as typed."""
        self._leave(cancelled=True)

    def _leave(self, *, cancelled: bool) -> None:
        # the focus first, now: the keys after enter / escape are for where it goes
        self.screen.set_focus(self._return_to)
        # the message after the keys already queued on the input: its value has them all
        self._input.call_later(lambda: self.post_message(FilterDone(self._input.value, cancelled=cancelled)))
