"""The detail pane: the selected event in plain words, its verdict and explain trace, its JSON.

All text comes from `render`, which makes every value from the log safe; this widget only lays
the parts out and scrolls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.ui import render


class DetailPane(VerticalScroll, can_focus=True):
    """Questions, verdict, explain trace and full JSON of one event."""

    BINDINGS: list[BindingType] = [
        Binding("j", "scroll_down", "Scroll down", show=False),
        Binding("k", "scroll_up", "Scroll up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._body = Static(Text("No event selected."), id="detail-body", expand=True)
        self.text = Text("")
        """The rendered content (tests read `.plain`)."""

    def compose(self):  # type: ignore[no-untyped-def]
        """One Static holding the whole text: cheap to replace on every cursor move."""
        yield self._body

    def show_event(
        self,
        event: Mapping[str, Any] | None,
        *,
        verdict: Verdict | None = None,
        explanation: Any = None,
        location: str = "",
        error: str = "",
    ) -> None:
        """Show one event (None: nothing selected); `error` explains an unreadable event."""
        text = Text(end="")
        if error:
            text.append_text(render.safe(error, "bold red"))
            text.append("\n")
        if event is None:
            text.append("No event selected." if not error else "", style="italic")
            self._set(text)
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
        text.append_text(render.json_text(event))
        self._set(text)

    def _set(self, text: Text) -> None:
        self.text = text
        self._body.update(text)
