"""The `T` dialog: a time to jump to, in the filter language's time syntax.

Why a dialog and not a filter: `time:10:15..` hides what came before, and a responder reading
around an incident wants the events before it too; this only moves the cursor. The time is read
by the engine (`Session.first_at_or_after`, the `time:` field's grammar and anchors), so the
dialog knows no time syntax: it shows the engine's error in place and stays open until a time
finds an event or `escape`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from k8saudit_tui.ui import render

Locate = Callable[[str], int]
"""Time text -> position in the current view of the first event at or after it; raises
ValueError whose text is the reason (shown in the dialog)."""

HINT = "2024-05-01T10:15:00Z, 10:15 (on the last day), -15m (back from the end of the log)"


class JumpScreen(ModalScreen[str | None]):
    """Ask for a time; `enter` dismisses with it once it finds an event, `escape` with None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, locate: Locate) -> None:
        super().__init__(id="jump")
        self._locate = locate
        self._error = ""

    def compose(self) -> ComposeResult:
        """A title, the time input and the line for its error (a hint until then)."""
        with Vertical(id="jump-box"):
            yield Label("Jump to the first event at or after a time", id="jump-title")
            yield Input(placeholder="10:15, -15m, 2024-05-01T10:15:00Z", id="jump-time", compact=True)
            yield Static(Text(HINT, style="italic"), id="jump-error", markup=False)

    def on_mount(self) -> None:
        """Type straight away."""
        self.query_one("#jump-time", Input).focus()

    @property
    def error(self) -> str:
        """The error shown (empty when none)."""
        return self._error

    @on(Input.Submitted, "#jump-time")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        try:
            self._locate(text)
        except ValueError as error:
            self._error = str(error)
            line = self.query_one("#jump-error", Static)
            line.update(render.safe(self._error, "red"))
            line.add_class("-error")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        """Leave the cursor where it is."""
        self.dismiss(None)
