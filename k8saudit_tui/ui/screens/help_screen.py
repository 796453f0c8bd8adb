"""The `?` screen: every key of every pane, read from the widgets' own bindings.

Listing the bindings declared on the classes (not a hand-written table) keeps the help in step
with the keys: a binding added anywhere shows up here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES: dict[str, str] = {
    "slash": "/",
    "question_mark": "?",
    "exclamation_mark": "!",
    "right_square_bracket": "]",
    "left_square_bracket": "[",
    "enter": "enter",
    "escape": "esc",
    "pagedown": "PgDn",
    "pageup": "PgUp",
    "space": "space",
}


def key_label(keys: str) -> str:
    """`down,j` as `↓ j`-style readable text (`slash` as `/`)."""
    names = []
    for key in keys.split(","):
        key = key.strip()
        names.append(KEY_NAMES.get(key, key))
    return " ".join(names)


def binding_rows(sections: Iterable[tuple[str, Sequence[BindingType]]]) -> list[tuple[str, str, str]]:
    """(section, keys, description) for every binding with a description; a binding's tooltip,
    when it has one, is the longer description the footer has no room for."""
    rows: list[tuple[str, str, str]] = []
    for section, bindings in sections:
        for binding in bindings:
            if isinstance(binding, Binding) and binding.description:
                rows.append((section, key_label(binding.key), binding.tooltip or binding.description))
            elif isinstance(binding, tuple) and len(binding) >= 3:
                rows.append((section, key_label(str(binding[0])), str(binding[2])))
    return rows


class HelpScreen(ModalScreen[None]):
    """A scrollable table of all keys; any of escape, q, ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close help"),
        Binding("j,down", "scroll_down", "Scroll", show=False),
        Binding("k,up", "scroll_up", "Scroll", show=False),
    ]

    def __init__(self, rows: Sequence[tuple[str, str, str]], language: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(id="help")
        self._rows = rows
        self._language = language

    @property
    def rows(self) -> Sequence[tuple[str, str, str]]:
        """(section, keys, description) of every key listed."""
        return self._rows

    def compose(self) -> ComposeResult:
        """The keys table in a scrolling box."""
        with VerticalScroll(id="help-box"):
            yield Static(self._table(), id="help-table")
            if self._language:
                yield Static(self._language_table(), id="help-language")

    def _table(self) -> Table:
        table = Table(title="k8saudit-tui keys", expand=True, show_edge=False, pad_edge=False)
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("action")
        for section, keys, description in self._rows:
            table.add_row(Text(section), Text(keys), Text(description))
        table.caption = "No action needs a mouse or an F-key. esc closes this screen."
        return table

    def language_table(self) -> Table:
        """The filter language's table as shown (its own method, so a test can read it)."""
        return self._language_table()

    def _language_table(self) -> Table:
        table = Table(title="the filter language (/)", expand=True, show_edge=False, pad_edge=False)
        table.add_column("term", style="bold cyan", no_wrap=True)
        table.add_column("means")
        for term, meaning in self._language:
            table.add_row(Text(term), Text(meaning))
        table.caption = 'Values may be double-quoted; ns:"" is cluster scope. The README defines each term.'
        return table

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)

    def action_scroll_down(self) -> None:
        """Scroll the table."""
        self.query_one("#help-box", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        """Scroll the table back."""
        self.query_one("#help-box", VerticalScroll).scroll_up(animate=False)
