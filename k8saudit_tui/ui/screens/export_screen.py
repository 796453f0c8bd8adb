"""The export dialog: format, path, redaction; it returns the choice, the screen does the writing.

Returning an `ExportChoice` through `dismiss` (instead of writing here) keeps file I/O in a worker
owned by the main screen, and lets tests drive the dialog without touching the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from k8saudit_tui.ui.render import count, safe
from k8saudit_tui.ui.session import EXPORT_FORMATS, ExportFormat


class MarkedCheckbox(Checkbox):
    """A checkbox whose mark is blank when off: Textual draws `X` either way and tells the
    states apart by colour only, which `NO_COLOR` (and a text capture) loses."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


class MarkedRadioButton(RadioButton):
    """A radio button showing `●` only when chosen (see `MarkedCheckbox`)."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "●" if self.value else " "


@dataclass(frozen=True, slots=True)
class ExportChoice:
    """What the user asked for."""

    fmt: ExportFormat
    path: str
    redact: bool
    force: bool


class ExportScreen(ModalScreen[ExportChoice | None]):
    """Pick a format and a path for the `count` events of the current view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "export", "Export"),
    ]

    def __init__(self, count: int, default_path: str, filter_text: str = "") -> None:
        super().__init__(id="export")
        self._count = count
        self._default_path = default_path
        self._filter_text = filter_text

    def compose(self) -> ComposeResult:
        """Title, event count, format radio buttons, path, options, buttons."""
        with Vertical(id="export-box"):
            yield Label("Export the current view", id="export-title")
            yield Static(self._summary(), id="export-count")
            with RadioSet(id="export-format"):
                for index, fmt in enumerate(EXPORT_FORMATS):
                    yield MarkedRadioButton(fmt, value=index == 0, id=f"format-{fmt}", compact=True)
            yield Input(self._default_path, placeholder="path to write", id="export-path", compact=True)
            yield MarkedCheckbox(
                "Redact secrets (Secret data, tokens, Authorization)", value=True, id="export-redact", compact=True
            )
            yield MarkedCheckbox("Overwrite an existing file", value=False, id="export-force", compact=True)
            yield Static("", id="export-error", markup=False)
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-ok", compact=True)
                yield Button("Cancel", id="export-cancel", compact=True)

    def on_mount(self) -> None:
        """Start on the format choice."""
        self.query_one("#export-format", RadioSet).focus()

    def _summary(self) -> Text:
        text = Text(count(self._count, "event"), style="bold", end="")
        if self._filter_text:
            text.append(" matching ")
            text.append_text(safe(self._filter_text, limit=200))
        return text

    @property
    def fmt(self) -> ExportFormat:
        """The chosen format."""
        pressed = self.query_one("#export-format", RadioSet).pressed_index
        return EXPORT_FORMATS[pressed if pressed >= 0 else 0]

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        """Keep the file extension in step with the format."""
        path_input = self.query_one("#export-path", Input)
        stem, dot, ext = path_input.value.rpartition(".")
        if dot and ext in EXPORT_FORMATS:
            path_input.value = f"{stem}.{self.fmt}"

    @on(Button.Pressed, "#export-ok")
    @on(Input.Submitted, "#export-path")
    def action_export(self) -> None:
        """Return the choice (an empty path is refused here)."""
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self.query_one("#export-error", Static).update("Give a path to write.")
            return
        self.dismiss(
            ExportChoice(
                self.fmt,
                path,
                self.query_one("#export-redact", Checkbox).value,
                self.query_one("#export-force", Checkbox).value,
            )
        )

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
