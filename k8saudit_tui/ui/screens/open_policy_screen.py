"""The `p` dialog: the path of another policy file to load and apply in place.

The path completes from the file system as it is typed (`PathSuggester`, `→` accepts), as in the
export dialog: a policy's path is long and typed on a bastion without a file picker.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from k8saudit_tui.ui.widgets.path_suggester import PathSuggester


class OpenPolicyScreen(ModalScreen[str | None]):
    """Ask for a policy path; `enter` loads it, `escape` cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str = "", *, title: str = "Load an audit policy (every event is re-evaluated)") -> None:
        super().__init__(id="open-policy")
        self._current = current
        self._title = title

    def compose(self) -> ComposeResult:
        """A title and the path input."""
        with Vertical(id="open-policy-box"):
            yield Label(self._title, id="open-policy-title", markup=False)
            yield Input(
                self._current,
                placeholder="path/to/policy.yaml, or a preset: @gke @eks @aks",
                id="open-policy-path",
                compact=True,
                suggester=PathSuggester(),
            )

    def on_mount(self) -> None:
        """Type straight away."""
        self.query_one("#open-policy-path", Input).focus()

    @on(Input.Submitted, "#open-policy-path")
    def _submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        self.dismiss(path or None)

    def action_cancel(self) -> None:
        """Keep the current policy."""
        self.dismiss(None)
