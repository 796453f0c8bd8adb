"""The facet panel (`f`): the top values of nine fields under the current filter, to filter by.

Why a modal that returns a term: counting runs in this screen's own thread worker (a million
events take tens of ms, never on the event loop) and shows "counting..." until then; the panel
only picks, and the main screen appends the term it returns to its filter and applies it, as
`enter` on a rule does. The values come from the log: they are shown through `render.safe`,
never as markup. One field's values at a time beside the list of fields, so it reads at 80x24.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.render import safe
from k8saudit_tui.ui.session import Facet, Session

FIELD_WIDTH = 10
"""Columns of the field list on the left."""
COUNTS = "{:>9} {:>9} {:>6}"
"""Events, requests, share."""


@dataclass
class FacetsCounted(Message):
    """The worker's answer: the facets, or the error that stopped it."""

    facets: tuple[Facet, ...]
    error: str = ""


class FacetsScreen(ModalScreen[str | None]):
    """Top values per field of the events matching `filter_text`; returns the term picked."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("up,k", "move(-1)", "Previous value", show=False),
        Binding("down,j", "move(1)", "Next value", show=False),
        Binding("right,l,tab", "field(1)", "Next field", show=False),
        Binding("left,h,shift+tab", "field(-1)", "Previous field", show=False),
        Binding("enter", "pick(False)", "Filter to the value"),
        Binding("x,exclamation_mark", "pick(True)", "Filter it out", key_display="x"),
    ]

    def __init__(self, session: Session, filter_text: str) -> None:
        super().__init__(id="facets")
        self._session = session
        self._filter_text = filter_text
        self._facets: tuple[Facet, ...] | None = None
        self._error = ""
        self._field = 0
        self._value = 0

    def compose(self) -> ComposeResult:
        """Title, the panel, the keys."""
        with Vertical(id="facets-box"):
            yield Label(self._title(), id="facets-title")
            yield Static(Text("counting..."), id="facets-body")
            yield Static(
                Text("↑↓ value  ←→ tab field  enter filter to it  x filter it out  esc close", style="dim"),
                id="facets-keys",
            )

    def on_mount(self) -> None:
        """Start counting."""
        self._count()

    def _title(self) -> Text:
        text = Text("Top values of ", style="bold", end="")
        text.append("every event" if not self._filter_text.strip() else "the events matching ")
        if self._filter_text.strip():
            text.append_text(safe(self._filter_text, limit=120))
        return text

    @work(thread=True, exclusive=True, group="facets", exit_on_error=False, description="Counting facets")
    def _count(self) -> None:
        self.post_message(FacetsCounted(self._session.facets(self._filter_text)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed count is said in the panel."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.post_message(FacetsCounted((), visible(f"cannot count: {event.worker.error}")))

    @on(FacetsCounted)
    def _counted(self, message: FacetsCounted) -> None:
        self._facets, self._error = message.facets, message.error
        self._show()

    @property
    def counted(self) -> bool:
        """Whether the counts are in (tests wait for it)."""
        return self._facets is not None

    @property
    def current(self) -> tuple[str, str] | None:
        """(field, label) under the cursor; None while counting or on a field without values."""
        if not self._facets:
            return None
        facet = self._facets[self._field]
        if not facet.values:
            return None
        return facet.field, facet.values[min(self._value, len(facet.values) - 1)].label

    def action_move(self, step: int) -> None:
        """Up / down over the values of the field."""
        if self._facets:
            count = len(self._facets[self._field].values)
            self._value = max(0, min(count - 1, self._value + step))
            self._show()

    def action_field(self, step: int) -> None:
        """Left / right (tab) between the fields."""
        if self._facets:
            self._field = (self._field + step) % len(self._facets)
            self._value = 0
            self._show()

    def action_pick(self, negate: bool) -> None:
        """Return the term of the value under the cursor (`x`: the term leaving it out)."""
        current = self.current
        if current is None:
            self.app.bell()
            return
        term = self._session.facet_term(*current, negate=negate)
        if not term:
            self.app.notify(
                "The filter language cannot say this value (a double quote or a control character)", severity="warning"
            )
            return
        self.dismiss(term)

    def action_close(self) -> None:
        """Close without filtering."""
        self.dismiss(None)

    def on_resize(self) -> None:
        """Value labels are cut to the panel's width."""
        if self._facets is not None:
            self._show()

    def _show(self) -> None:
        body = self.query_one("#facets-body", Static)
        if self._error or not self._facets:
            body.update(Text(self._error or "no events", style="red" if self._error else ""))
            return
        body.update(self._render_body(max(20, body.content_size.width or 60)))

    def _render_body(self, width: int) -> Text:
        """The field list on the left, the current field's values on the right."""
        assert self._facets is not None
        facet = self._facets[self._field]
        label_width = max(8, width - FIELD_WIDTH - 2 - len(COUNTS.format("", "", "")) - 1)
        right = [Text(f"{'value':<{label_width}} " + COUNTS.format("events", "requests", "share"), style="bold")]
        right.append(Text(f"{facet.events:,} events, {facet.requests:,} requests", style="dim"))
        if facet.needs_policy:
            right.append(Text("needs a policy: p loads one"))
        for index, value in enumerate(facet.values):
            line = safe(value.label, limit=label_width) if value.label else Text("(empty)", style="dim")
            line.pad_right(label_width - line.cell_len)
            line.append(" " + COUNTS.format(f"{value.events:,}", f"{value.requests:,}", f"{value.share:.1%}"))
            if index == min(self._value, len(facet.values) - 1):
                line.stylize("reverse")
            right.append(line)
        if facet.more:
            right.append(Text(f"and {facet.more:,} more values", style="dim"))
        lines = []
        for row in range(max(len(self._facets), len(right))):
            left = Text(" " * FIELD_WIDTH, end="")
            if row < len(self._facets):
                name = self._facets[row].field
                left = Text(f" {name:<{FIELD_WIDTH - 1}}", style="bold reverse" if row == self._field else "")
            line = Text.assemble(left, "  ", right[row] if row < len(right) else "")
            lines.append(line)
        return Text("\n").join(lines)
