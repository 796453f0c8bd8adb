"""The export dialog: format, path, redaction, overwrite; it stays open until the file is written.

The dialog runs the write it is given (`write`, the main screen's call into the session) in its
own thread worker, so a failure (the file exists, no such directory, disk full) is shown in the
dialog with every choice still in place, to fix and try again; the CLI's advice ("use --force")
would mean nothing here, the dialog's own Overwrite box is the answer. It closes with the
`ExportOutcome` once written (None when cancelled), telling the user where the file went.
Tests drive it with a fake `write` and never touch the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.render import count, safe
from k8saudit_tui.ui.session import EXPORT_FORMATS, ExportFormat, ExportOutcome, SessionError
from k8saudit_tui.ui.widgets.path_suggester import PathSuggester


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


ExportWriter = Callable[[ExportChoice], ExportOutcome]
"""Writes the view as chosen (in a worker thread); raises `SessionError` with the reason."""


class ExportScreen(ModalScreen[ExportOutcome | None]):
    """Pick a format and a path for the `count` events of the current view, and write them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "export", "Export"),
    ]

    def __init__(
        self,
        count: int,
        write: ExportWriter,
        *,
        path: str,
        fmt: ExportFormat = EXPORT_FORMATS[0],
        filter_text: str = "",
    ) -> None:
        super().__init__(id="export")
        self._count = count
        self._write_view = write
        self._path = path
        self._fmt = fmt if fmt in EXPORT_FORMATS else EXPORT_FORMATS[0]
        self._filter_text = filter_text
        self._writing = False

    def compose(self) -> ComposeResult:
        """Title, event count, format radio buttons, path, options, error, buttons."""
        with Vertical(id="export-box"):
            yield Label("Export the current view", id="export-title")
            yield Static(self._summary(), id="export-count")
            with RadioSet(id="export-format"):
                for fmt in EXPORT_FORMATS:
                    yield MarkedRadioButton(fmt, value=fmt == self._fmt, id=f"format-{fmt}", compact=True)
            yield Input(
                self._path, placeholder="path to write", id="export-path", compact=True, suggester=PathSuggester()
            )
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

    @property
    def error(self) -> str:
        """The message shown in the dialog ("" when none)."""
        return str(self.query_one("#export-error", Static).render())

    def _show_error(self, message: str) -> None:
        """`message` may quote a path or a log file name: shown with control characters visible."""
        self.query_one("#export-error", Static).update(visible(message))

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
        """Write the view as chosen (an empty path is refused here); the dialog stays open until
        it is written, and shows why if it cannot be."""
        if self._writing:
            return
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self._show_error("Give a path to write.")
            return
        choice = ExportChoice(
            self.fmt,
            path,
            self.query_one("#export-redact", Checkbox).value,
            self.query_one("#export-force", Checkbox).value,
        )
        self._writing = True
        self._show_error("")
        self.query_one("#export-ok", Button).disabled = True
        self._write(choice)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="Exporting")
    def _write(self, choice: ExportChoice) -> None:
        try:
            outcome = self._write_view(choice)
        except SessionError as error:
            self.app.call_from_thread(self._failed, str(error))
        except Exception as error:  # anything else is told in the dialog too, never a traceback
            self.app.call_from_thread(self._failed, f"{type(error).__name__}: {error}")
        else:
            self.app.call_from_thread(self._written, outcome)

    def _written(self, outcome: ExportOutcome) -> None:
        wrote = f"Wrote {count(outcome.count, 'event')} to {outcome.path}"
        if outcome.left_out:  # it names log files: untrusted text
            self.app.notify(visible(f"{wrote}; left out {outcome.left_out}"), severity="warning", markup=False)
        else:
            self.app.notify(visible(wrote), markup=False)
        self.dismiss(outcome)

    def _failed(self, message: str) -> None:
        self._writing = False
        self.query_one("#export-ok", Button).disabled = False
        self._show_error(message)

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        """Close without exporting (not while a write runs: it would finish unseen)."""
        if not self._writing:
            self.dismiss(None)
