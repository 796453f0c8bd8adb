"""The main screen's panes: how they are laid out, zoomed and cycled, and typed access to them.

The first of the main screen's three layers (layout, then the key actions in `main_actions`,
then the work and its messages in `main_screen`): everything here only arranges widgets, so the
layers above reach the panes through the accessors and never query the DOM themselves.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from k8saudit_tui.ui import render
from k8saudit_tui.ui.messages import EventHighlighted, FilterDone, PolicyReplaced
from k8saudit_tui.ui.render.status import events_title, file_title, location_title
from k8saudit_tui.ui.session import Session
from k8saudit_tui.ui.widgets.detail_pane import DetailPane, message_content
from k8saudit_tui.ui.widgets.events_table import EventsTable
from k8saudit_tui.ui.widgets.filter_bar import FilterBar
from k8saudit_tui.ui.widgets.policy_pane import PolicyPane
from k8saudit_tui.ui.widgets.timeline import RangeChosen, TimelineLeft, TimelineStrip

NARROW_WIDTH = 120
"""Below this many columns the panes stack instead of sitting side by side."""
PANES = ("#policy", "#events", "#detail")
ZOOM_TARGETS = {"#policy": "#policy", "#events": "#events-box", "#detail": "#detail"}
"""The widget shown alone when a pane is zoomed (the events list keeps its status line)."""


class MainLayout(Screen[None]):
    """Policy | (events, status, progress) | detail, the filter bar and the footer."""

    def __init__(self, session: Session) -> None:
        super().__init__(id="main")
        self.session = session

    def compose(self) -> ComposeResult:
        """Policy | (events, status, progress) | detail, then the filter bar and the footer."""
        render.use_colour(not self.app.no_color)
        with Container(id="panes"):
            yield PolicyPane(id="policy")
            with Vertical(id="events-box"):
                yield TimelineStrip(self.session.timeline, self.session.time_of, id="timeline")
                yield EventsTable(id="events")
                yield Static("", id="status", markup=False)
                yield ProgressBar(id="progress", show_eta=False, show_percentage=True)
            yield DetailPane(id="detail")
        yield FilterBar(self.session.complete, self.session.suggestions, id="filter")
        yield Footer()

    def on_resize(self, event: Resize) -> None:
        """Stack the panes on narrow terminals."""
        self.set_layout(event.size.width)

    def set_layout(self, width: int) -> None:
        """Side by side, or stacked below NARROW_WIDTH columns."""
        self.set_class(width < NARROW_WIDTH, "-narrow")
        footer = self.query_one(Footer)
        # at 80 columns `?` help and `q` quit fit only compact and without `^p` (`?` lists it)
        footer.compact = width < NARROW_WIDTH
        footer.show_command_palette = width >= NARROW_WIDTH

    def action_zoom(self) -> None:
        """`z`: the focused pane fills the screen (again: back)."""
        if self.has_class("-zoomed"):
            self.remove_class("-zoomed")
            for pane in ZOOM_TARGETS.values():
                self.query_one(pane).remove_class("-zoom")
            return
        self.add_class("-zoomed")
        self.query_one(ZOOM_TARGETS[self._focused_pane()]).add_class("-zoom")

    def _focused_pane(self) -> str:
        focused = self.focused
        for pane in PANES:
            widget = self.query_one(pane)
            if focused is not None and (focused is widget or widget in focused.ancestors):
                return pane
        return "#events"

    def _cycle(self, step: int) -> None:
        current = PANES.index(self._focused_pane()) if self.focused is not None else 1
        target = self.query_one(PANES[(current + step) % len(PANES)])
        # set_focus, not target.focus(): that one is deferred, and a key queued right behind
        # this tab (tab tab z typed fast, tmux send-keys) would still see the old focus
        if self.has_class("-zoomed"):
            self.action_zoom()
            self.set_focus(target)
            self.action_zoom()
            return
        self.set_focus(target)

    def action_cycle_panes(self) -> None:
        """`tab`: policy → events → detail."""
        self._cycle(1)

    def action_cycle_panes_back(self) -> None:
        """`shift+tab`: the other way."""
        self._cycle(-1)

    # ------------------------------------------------------------------ status and titles

    def show_status(self, text: Text) -> None:
        """The status line, and the titles of the events list (its count) and the policy pane."""
        self.status_line.update(text, layout=False)  # one line, fixed size: no screen layout
        self.events_table.border_title = events_title(self.events_table.row_count, self.session.total)
        self.policy_pane.border_title = file_title(self.session.policy_path)

    def show_intro(self) -> None:
        """What the detail pane says with no event to show (what is missing, if anything)."""
        if not self.session.sources:
            intro = "No log given: start with k8saudit-tui --policy POLICY LOG… to see events."
        elif self.session.policy is None:
            intro = "No policy loaded: press p to load one and see the rule and level of every event."
        else:
            intro = ""
        self.detail_pane.show_content(message_content(intro, error=bool(intro)))

    def show_detail_title(self, row: int | None) -> None:
        """The detail pane's title: the file and line of the event it shows (none: no title)."""
        self.detail_pane.border_title = None if row is None else location_title(self.session.location(row))

    # ------------------------------------------------------------------ the timeline

    def action_toggle_timeline(self) -> None:
        """`t`: show the timeline and focus it; on it, hide it."""
        strip = self.timeline
        if strip.display and self.focused is strip:
            strip.display = False
            self.set_focus(self.events_table)
            return
        if not strip.display:
            strip.display = True
            strip.show_view(self.events_table.rows)
            strip.mark_row(self.events_table.current_row)
        self.set_focus(strip)

    def follow_view(self) -> None:
        """The events list shows another view (a filter, a batch, collapsing): so does the strip."""
        self.timeline.show_view(self.events_table.rows)

    @on(EventHighlighted)
    def _mark_timeline(self, message: EventHighlighted) -> None:
        self.timeline.mark_row(message.row)

    @on(PolicyReplaced)
    def _timeline_levels(self) -> None:
        self.follow_view()  # same rows, new levels

    @on(RangeChosen)
    def _on_range_chosen(self, message: RangeChosen) -> None:
        """Append the term to the filter text and apply it, as `enter` in the filter bar does (which
        moves the focus to the list itself)."""
        text = f"{self.filter_bar.value.strip()} {message.term}".strip()
        self.filter_bar.set_value(text)  # the bar shows the filter in force
        self.set_focus(self.events_table)
        self.post_message(FilterDone(text))

    @on(TimelineLeft)
    def _on_timeline_left(self) -> None:
        self.set_focus(self.events_table)

    # ------------------------------------------------------------------ accessors

    @property
    def events_table(self) -> EventsTable:
        """The events list."""
        return self.query_one("#events", EventsTable)

    @property
    def timeline(self) -> TimelineStrip:
        """The timeline strip over the events list."""
        return self.query_one("#timeline", TimelineStrip)

    @property
    def policy_pane(self) -> PolicyPane:
        """The policy pane."""
        return self.query_one("#policy", PolicyPane)

    @property
    def detail_pane(self) -> DetailPane:
        """The detail pane."""
        return self.query_one("#detail", DetailPane)

    @property
    def filter_bar(self) -> FilterBar:
        """The filter bar."""
        return self.query_one("#filter", FilterBar)

    @property
    def status_line(self) -> Static:
        """The "N of M events" line."""
        return self.query_one("#status", Static)

    @property
    def progress_bar(self) -> ProgressBar:
        """The loading progress bar."""
        return self.query_one("#progress", ProgressBar)

    def store_event(self) -> Any:
        """The selected event (dict), for tests and scripts."""
        row = self.events_table.current_row
        return None if row is None else self.session.event(row)
