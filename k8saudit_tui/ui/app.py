"""The explorer App: built from a `Session` (engine objects) so tests and scripts inject their own."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from k8saudit_tui.engine import runtime
from k8saudit_tui.ui.commands import ExplorerCommands
from k8saudit_tui.ui.screens.main_screen import MainScreen
from k8saudit_tui.ui.session import Session


class ExplorerApp(App[int]):
    """k8saudit-tui: a policy and its audit logs side by side."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "k8saudit-tui"
    COMMANDS = App.COMMANDS | {ExplorerCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
        Binding("ctrl+z", "suspend_process", "Suspend (fg resumes)", show=False),
    ]

    def __init__(self, session: Session, *, filter_text: str = "", follow: bool = False) -> None:
        runtime.interactive()  # before Textual starts its threads (see engine/runtime.py)
        super().__init__()
        self.session = session
        self._filter_text = filter_text
        self._follow = follow

    def on_mount(self) -> None:
        """The main screen is the whole app; everything else is a modal over it."""
        self.push_screen(MainScreen(self.session, filter_text=self._filter_text, follow=self._follow))

    @property
    def main_screen(self) -> MainScreen:
        """The hub screen (at the bottom of the stack even while a dialog is open)."""
        return next(screen for screen in self.screen_stack if isinstance(screen, MainScreen))

    async def action_quit(self) -> None:
        """Quit at once: cancel the workers (threads stop at their next batch) and exit."""
        self.workers.cancel_all()
        self.exit(0)

    def action_suspend_process(self) -> None:
        """`ctrl+z`: to the background like any terminal program; said so where it cannot be."""
        if self._driver is None or not self._driver.can_suspend:
            self.notify("This terminal cannot suspend the app", severity="warning")
            return
        super().action_suspend_process()
