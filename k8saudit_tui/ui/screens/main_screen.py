"""The main screen: the hub that composes the panes, owns the workers and routes messages.

Widgets post messages up to here; this screen calls them back through the typed accessors at the
end of the class. All engine work (loading, filtering, re-evaluating, exporting) runs in thread
workers that post messages back, so the UI never waits on the disk or on a million events.
"""

from __future__ import annotations

import contextlib
import gc
import time
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.events import Key, Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from k8saudit_tui.engine.export import redact_line
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui import render
from k8saudit_tui.ui.messages import (
    DetailBuilt,
    EventHighlighted,
    EventsAppended,
    FilterApplied,
    FilterChanged,
    FilterDone,
    FilterEditing,
    LoadFinished,
    LoadProgressed,
    RuleChosen,
)
from k8saudit_tui.ui.screens.export_screen import ExportChoice, ExportScreen
from k8saudit_tui.ui.screens.help_screen import HelpScreen, binding_rows
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.session import Session
from k8saudit_tui.ui.widgets.detail_pane import DetailPane, build_detail, message_content
from k8saudit_tui.ui.widgets.events_table import EventsTable
from k8saudit_tui.ui.widgets.filter_bar import FilterBar
from k8saudit_tui.ui.widgets.policy_pane import NO_RULE, PolicyPane

NARROW_WIDTH = 120
"""Below this many columns the panes stack instead of sitting side by side."""
DEFAULT_EXPORT = "k8saudit-export.jsonl"
"""Suggested export path, relative to the directory the app was started in."""
PANES = ("#policy", "#events", "#detail")
DETAIL_DELAY = 0.1
"""Seconds the cursor must rest before the detail pane shows its event (held keys never wait)."""
ECHO_HOLD = 0.06
"""Seconds a typed filter key may wait for its filter's result so both show in one frame."""
ZOOM_TARGETS = {"#policy": "#policy", "#events": "#events-box", "#detail": "#detail"}
"""The widget shown alone when a pane is zoomed (the events list keeps its status line)."""


def freeze_heap() -> None:
    """Take what is loaded now out of the cycle collector's sight (`gc.freeze`).

    The store's columns hold big lists and dicts of values; a full collection walks every
    item of them (60 ms at 1M events, measured), and the UI's own garbage sets one off every few
    seconds: a key that lands then waits. They live as long as the app, so the collector need
    never look at them again."""
    gc.collect()
    gc.freeze()


class MainScreen(Screen[None]):
    """Policy pane, events list with status line, detail pane, filter bar and footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("n", "next_same_rule", "Next of rule"),
        Binding("N", "previous_same_rule", "Prev of rule", show=False),
        Binding("right_square_bracket", "next_rule", "Next rule", key_display="]"),
        Binding("left_square_bracket", "previous_rule", "Prev rule", key_display="[", show=False),
        Binding("e", "export", "Export"),
        Binding("c", "copy_event", "Copy", tooltip="Copy the event as JSON, secrets masked (OSC 52)"),
        Binding(
            "C",
            "copy_raw_event",
            "Copy raw",
            show=False,
            tooltip="Copy the event exactly as logged, secrets NOT masked",
        ),
        Binding("p", "open_policy", "Policy"),
        Binding("s", "toggle_collapse", "Collapse stages", show=False),
        Binding("z", "zoom", "Zoom", show=False),
        Binding("tab", "cycle_panes", "Next pane", show=False),
        Binding("shift+tab", "cycle_panes_back", "Previous pane", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    collapsed: reactive[bool] = reactive(False, init=False)
    """One row per auditID (the stages of one request collapsed)."""

    def __init__(self, session: Session, *, filter_text: str = "", follow: bool = False) -> None:
        super().__init__(id="main")
        self.session = session
        self._filter_text = filter_text
        self._follow = follow
        self._filter_rows: np.ndarray | None = None
        """Rows of the active filter (None: no filter: every row)."""
        self._generation = 0
        self._filter_busy = False
        self._pending_filter: str | None = None
        self._loading = False
        self._loaded = 0
        self._progress = (0, 0)
        self._load_error = ""
        self._answered_filter: str | None = None
        self._echo_hold: contextlib.AbstractContextManager[None] | None = None
        self._echo_timer: Timer | None = None
        self._detail_timer: Timer | None = None
        self._detail_due = 0.0
        self._detail_generation = 0
        self._detail_shown = 0

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        """Policy | (events, status, progress) | detail, then the filter bar and the footer."""
        with Container(id="panes"):
            yield PolicyPane(id="policy")
            with Vertical(id="events-box"):
                yield EventsTable(id="events")
                yield Static("", id="status", markup=False)
                yield ProgressBar(id="progress", show_eta=False, show_percentage=True)
            yield DetailPane(id="detail")
        yield FilterBar(self.session.complete, id="filter")
        yield Footer()

    def on_mount(self) -> None:
        """Show the policy at once, then start loading the logs in a worker."""
        self._set_layout(self.app.size.width)
        self.events_table.set_source(self.session.row_values)
        self.filter_bar.set_value(self._filter_text)
        self._refresh_policy()
        self.events_table.focus()
        self._update_status()
        self.detail_pane.show_event(None, error=self._intro())
        if self._filter_text.strip():
            self._filter_rows = np.zeros(0, dtype=np.int64)
            self._run_filter(self._filter_text)
        if self.session.sources:
            self._loading = True
            self._load()
        else:
            self.progress_bar.display = False

    def _intro(self) -> str:
        if not self.session.sources:
            return "No log given: start with k8saudit-tui --policy POLICY LOG… to see events."
        if self.session.policy is None:
            return "No policy loaded: press p to load one and see the rule and level of every event."
        return ""

    def on_key(self, event: Key) -> None:
        """Keys typed right after `/` were queued on the list before the focus moved: give the
        printable ones to the filter input (the input stops the keys it handles itself, so a
        printable key arriving here while it has focus came from the old focus)."""
        field = self.filter_bar.input
        if event.key == "slash" and self.focused is not field:
            # handled here, not only by the binding (which runs once the key reaches the App):
            # the keys queued behind it must already find the input focused
            event.stop()
            event.prevent_default()
            self.action_focus_filter()
        elif self.focused is field and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            field.insert_text_at_cursor(event.character)

    def on_resize(self, event: Resize) -> None:
        """Stack the panes on narrow terminals."""
        self._set_layout(event.size.width)

    def _set_layout(self, width: int) -> None:
        self.set_class(width < NARROW_WIDTH, "-narrow")

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, description="Loading audit logs")
    def _load(self) -> None:
        """Fill the store batch by batch; the UI shows each batch as it lands."""
        worker = get_current_worker()
        loaded = 0
        try:
            for progress in self.session.load(worker.cancelled_event):
                loaded = progress.events
                self.post_message(LoadProgressed(progress.events, progress.bytes, progress.total_bytes))
                if worker.is_cancelled:
                    break
        except Exception as error:
            self.post_message(LoadFinished(loaded, error=f"{type(error).__name__}: {error}"))
            return
        self.post_message(LoadFinished(self.session.total, cancelled=worker.is_cancelled))

    @on(LoadProgressed)
    def _on_progress(self, message: LoadProgressed) -> None:
        self._loaded = message.loaded
        self._progress = (message.done_bytes, message.total_bytes)
        if message.total_bytes:
            self.progress_bar.update(total=message.total_bytes, progress=message.done_bytes)
        self._show_rows(extending=True)
        self._update_status()

    @on(LoadFinished)
    def _on_finished(self, message: LoadFinished) -> None:
        self._loading = False
        self._loaded = self.session.total
        self._load_error = message.error
        freeze_heap()
        self.progress_bar.display = False
        self._show_rows(extending=True)
        self._refresh_policy()
        self._update_status()
        # what the loader freed went back to the OS when it finished; what the filter indexes
        # and showing every row (the view orders of the growing log) freed goes once painted
        self.call_after_refresh(self.session.release_memory)
        if message.error:
            self.app.notify(message.error, title="Loading stopped", severity="error", markup=False)
        if self._follow and not message.cancelled and not message.error:
            self._follow_sources()

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False, description="Following logs")
    def _follow_sources(self) -> None:
        """Append events written after the load (`--follow`)."""
        worker = get_current_worker()
        for _ in self.session.follow(worker.cancelled_event):
            self.post_message(EventsAppended(self.session.total))
            if worker.is_cancelled:
                return

    @on(EventsAppended)
    def _on_appended(self, message: EventsAppended) -> None:
        self._loaded = message.loaded
        self._show_rows(extending=True)
        self._refresh_policy()
        self._update_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker is reported, never raised."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.app.notify(f"{type(error).__name__}: {error}", title="Error", severity="error", markup=False)

    # ------------------------------------------------------------------ views and filter

    def _show_rows(self, *, extending: bool = False, keep_row: int | None = None) -> None:
        """Put the current view into the table (every row, or the filter's rows, maybe collapsed)."""
        if self._filter_rows is None:
            rows = self.session.all_rows()
        elif extending:
            self._run_filter(self._filter_text)  # its result keeps the cursor on its event
            return
        else:
            rows = self._filter_rows
        if self.collapsed:
            rows = self.session.collapse(rows)
        if extending and keep_row is None and self._filter_rows is None and not self.collapsed:
            self.events_table.extend_view(rows)
        else:
            self.events_table.set_view(rows, keep_row=keep_row)

    @on(FilterChanged)
    def _on_filter_changed(self, message: FilterChanged) -> None:
        """Live filtering, debounced by the work itself: the first keystroke filters at once;
        keystrokes typed while a filter runs collapse into one run with the latest text."""
        if self._filter_busy:
            self._pending_filter = message.text
            return
        self._run_filter(message.text)

    def apply_filter(self, text: str) -> None:
        """Filter now: `enter` on a rule, `--filter`, the palette."""
        self._pending_filter = None
        self.filter_bar.set_value(text)
        self._run_filter(text)

    def _run_filter(self, text: str) -> None:
        self._generation += 1
        self._filter_busy = True
        self._filter_worker(text, self._generation)

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False, description="Filtering")
    def _filter_worker(self, text: str, generation: int) -> None:
        try:
            outcome = self.session.filter_rows(text)
        except Exception as error:
            self.post_message(FilterApplied(generation, text, None, f"{type(error).__name__}: {error}"))
            return
        self.post_message(FilterApplied(generation, text, outcome.rows, outcome.error, outcome.position))
        if not outcome.error and not get_current_worker().is_cancelled:
            self.session.look_ahead(text)  # after the answer is out: the user is reading it

    @on(FilterApplied)
    def _on_filter_applied(self, message: FilterApplied) -> None:
        if message.generation != self._generation:
            return
        self._filter_busy = False
        pending, self._pending_filter = self._pending_filter, None
        if pending is not None and pending != message.text:
            self._run_filter(pending)
            return
        self._answered_filter = message.text
        if message.error:
            self.filter_bar.show_error(message.error, message.error_position)
        else:
            self.filter_bar.show_error("")
            keep = self.events_table.current_row
            self._filter_text = message.text
            self._filter_rows = None if not message.text.strip() else message.rows
            self._show_rows(keep_row=keep)
            self._update_status()
        self._release_echo()

    @on(FilterEditing)
    def _hold_echo(self) -> None:
        """Hold the app's paints (`App.batch_update`) from a key typed in the filter until the
        filter's answer is in, for at most ECHO_HOLD: the key and its rows show in one frame.

        Without it the key's echo is painted at once, and Textual paints the next frame (the
        result) a whole frame period or two after that one: 17 to 33 ms on top of the filter,
        measured. A filter slower than ECHO_HOLD lets the echo through, then paints as usual."""
        if self._echo_hold is not None:
            return
        self._echo_hold = self.app.batch_update()
        self._echo_hold.__enter__()
        self._echo_timer = self.set_timer(ECHO_HOLD, self._release_echo, name="echo-hold")

    def _release_echo(self) -> None:
        """Let paints through again and paint what waited (the echo, and the rows if they came)."""
        hold, self._echo_hold = self._echo_hold, None
        if self._echo_timer is not None:
            self._echo_timer.stop()
            self._echo_timer = None
        if hold is not None:
            hold.__exit__(None, None, None)
            self.filter_bar.input.refresh()  # a refresh after the batch is what resumes painting

    def on_unmount(self) -> None:
        """Never leave the app's paints held."""
        self._release_echo()

    @on(FilterDone)
    def _on_filter_done(self, message: FilterDone) -> None:
        if not message.cancelled:
            self.apply_filter(message.text)
        self.set_focus(self.events_table)

    def watch_collapsed(self, collapsed: bool) -> None:
        """Re-show the view with or without one row per request."""
        self._show_rows(keep_row=self.events_table.current_row)
        self._update_status()

    # ------------------------------------------------------------------ selection

    @on(EventHighlighted)
    def _on_event_highlighted(self, message: EventHighlighted) -> None:
        """The cursor moved: show its event once the cursor has been still for DETAIL_DELAY.

        Only a deadline is moved here (no timer per key): holding `j` costs the list nothing
        but its own two-line repaint, and the detail is built once, for where the cursor stops."""
        self._detail_due = time.monotonic() + DETAIL_DELAY
        self._detail_generation += 1  # a build in flight is for where the cursor was: stale
        if self._detail_timer is None:
            self._detail_timer = self.set_timer(DETAIL_DELAY, self._detail_timer_fired, name="detail")

    def _detail_timer_fired(self) -> None:
        remaining = self._detail_due - time.monotonic()
        if remaining > 0.005:
            self._detail_timer = self.set_timer(remaining, self._detail_timer_fired, name="detail")
            return
        self._detail_timer = None
        self._refresh_detail()

    def _refresh_detail(self) -> None:
        """Build the selected event's detail in a worker (`_on_detail_built` shows it)."""
        self._detail_generation += 1
        row = self.events_table.current_row
        if row is None:
            self._detail_shown = self._detail_generation
            self.detail_pane.show_event(None, error=self._intro())
            self.policy_pane.event_rule = None
            return
        self._build_detail(row, self._detail_generation, self.detail_pane.wrap_width)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False, description="Event detail")
    def _build_detail(self, row: int, generation: int, width: int) -> None:
        """Read the event back, explain it, highlight and wrap it: off the UI thread."""
        session = self.session
        try:
            content = build_detail(
                session.event(row),
                verdict=session.verdict(row),
                explanation=session.explanation(row),
                location=session.location(row),
                console=self.app.console,
                width=width,
            )
        except Exception as error:
            content = message_content(f"cannot read this event: {error}", error=True)
        self.post_message(DetailBuilt(generation, row, content))

    @on(DetailBuilt)
    def _on_detail_built(self, message: DetailBuilt) -> None:
        if message.generation != self._detail_generation:
            return  # the cursor moved on while it was built
        self._detail_shown = message.generation
        # the policy pane points at the event's rule in the same frame: one paint, not two a frame
        # period apart (set when the build started, it cost 25-30 ms more, measured)
        self.policy_pane.event_rule = self._rule_marker(message.row)
        self.detail_pane.show_content(message.content)

    @property
    def detail_pending(self) -> bool:
        """Whether the detail pane is still to catch up with the cursor (tests and scripts wait)."""
        return self._detail_timer is not None or self._detail_shown != self._detail_generation

    def _rule_marker(self, row: int) -> int | None:
        if self.session.evaluator is None:
            return None
        rule = self.session.rule_of(row)
        return NO_RULE if rule is None else rule

    @on(RuleChosen)
    def _on_rule_chosen(self, message: RuleChosen) -> None:
        self.apply_filter("rule:none" if message.rule is None else f"rule:{message.rule}")
        self.set_focus(self.events_table)  # at once: see `_cycle`

    # ------------------------------------------------------------------ status

    def _update_status(self) -> None:
        shown = self.events_table.row_count
        total = self.session.total
        text = Text(f"{shown:,} of {total:,} events", style="bold", end="")
        if self.collapsed:
            text.append("  (stages collapsed)")
        if self._filter_rows is not None and self._filter_text:
            text.append("  filter: ")
            text.append_text(render.safe(self._filter_text, "italic", limit=80))
        if self._loading:
            done, size = self._progress
            share = f" {100 * done / size:.0f}%" if size else ""
            text.append(f"  loading…{share}", style="yellow")
        problems = len(self.session.load_problems)
        if problems:
            text.append(f"  {problems:,} problems", style="red")
        if self.session.policy is None:
            text.append("  no policy: press p to load one", style="italic")
        self.status_line.update(text, layout=False)  # one line, fixed size: no screen layout

    def _refresh_policy(self) -> None:
        self.policy_pane.show(
            self.session.policy,
            self.session.rule_counts(),
            self.session.total,
            self.session.policy_problems,
        )

    # ------------------------------------------------------------------ actions

    def action_clear_filter(self) -> None:
        """Palette: show every event again."""
        self.apply_filter("")

    def action_focus_filter(self) -> None:
        """`/`: type a filter."""
        self.filter_bar.focus_input()

    def _step_same_rule(self, forward: bool) -> None:
        row = self.events_table.current_row
        if row is None or self.session.evaluator is None:
            return
        positions = self.session.rule_rows(self.events_table.rows, self.session.rule_of(row))
        cursor = self.events_table.cursor
        following = positions[positions > cursor] if forward else positions[positions < cursor]
        if not len(following):
            self.app.bell()
            return
        self.events_table.cursor = int(following[0] if forward else following[-1])

    def action_next_same_rule(self) -> None:
        """`n`: next event matched by the same rule."""
        self._step_same_rule(True)

    def action_previous_same_rule(self) -> None:
        """`N`: previous event matched by the same rule."""
        self._step_same_rule(False)

    def _step_rule(self, forward: bool) -> None:
        hit_rules = self.session.rules_with_hits()
        if not hit_rules:
            self.app.bell()
            return
        current = self.policy_pane.selected
        current = -1 if current is None or current == NO_RULE else current
        later = [r for r in hit_rules if r > current] if forward else [r for r in hit_rules if r < current]
        rule = (later[0] if later else hit_rules[0]) if forward else (later[-1] if later else hit_rules[-1])
        self.policy_pane.selected = rule
        positions = self.session.rule_rows(self.events_table.rows, rule)
        if len(positions):
            self.events_table.cursor = int(positions[0])
            self.policy_pane.selected = rule

    def action_next_rule(self) -> None:
        """`]`: next rule that has hits; the list jumps to its first event."""
        self._step_rule(True)

    def action_previous_rule(self) -> None:
        """`[`: previous rule that has hits."""
        self._step_rule(False)

    def action_toggle_collapse(self) -> None:
        """`s`: one row per request (auditID) or one row per stage."""
        self.collapsed = not self.collapsed

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

    def action_help(self) -> None:
        """`?`: every key."""
        from k8saudit_tui.ui.app import ExplorerApp

        sections = [
            ("everywhere", ExplorerApp.BINDINGS),
            ("main", self.BINDINGS),
            ("events list", EventsTable.BINDINGS),
            ("policy pane", PolicyPane.BINDINGS),
            ("detail pane", DetailPane.BINDINGS),
            (
                "filter bar",
                [
                    *FilterBar.BINDINGS,
                    Binding("enter", "", "Apply filter and go to the list"),
                    Binding("right", "", "Accept the suggestion"),
                ],
            ),
            ("export dialog", ExportScreen.BINDINGS),
        ]
        self.app.push_screen(HelpScreen(binding_rows(sections)))

    def action_copy_event(self) -> None:
        """`c`: the selected event's JSON to the clipboard with secrets masked, as export's
        `--redact` does (OSC 52 crosses ssh and tmux, and lands in clipboard managers)."""
        self._copy(redact=True)

    def action_copy_raw_event(self) -> None:
        """`C`: the selected event exactly as logged, secrets and all."""
        self._copy(redact=False)

    def _copy(self, *, redact: bool) -> None:
        row = self.events_table.current_row
        if row is None:
            self.app.bell()
            return
        try:
            raw = self.session.raw(row).rstrip(b"\r\n")
        except Exception as error:
            self.app.notify(f"cannot read this event: {error}", severity="error", markup=False)
            return
        data = redact_line(raw) if redact else raw
        text = data.decode("utf-8", "replace")
        self.app.copy_to_clipboard(text)
        size = f"{len(text):,} characters"
        if not redact:
            note = f"Copied the raw event ({size}): secrets in it are NOT masked"
            self.app.notify(note, severity="warning", markup=False)
        elif data != raw:
            self.app.notify(f"Copied event ({size}) with secrets masked; C copies it raw", markup=False)
        else:
            self.app.notify(f"Copied event ({size}); no secrets found to mask; C copies it raw", markup=False)

    def action_export(self) -> None:
        """`e`: the export dialog for the current view."""
        count = self.events_table.row_count
        if self.session.store is None or not count:
            self.app.notify("Nothing to export", severity="warning")
            return
        self.app.push_screen(ExportScreen(count, DEFAULT_EXPORT, self._filter_text), self._export_chosen)

    def _export_chosen(self, choice: ExportChoice | None) -> None:
        if choice is not None:
            self._export(choice, self.events_table.rows.copy())

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="Exporting")
    def _export(self, choice: ExportChoice, rows: np.ndarray) -> None:
        from k8saudit_tui.engine.export import ExportError, export_rows

        assert self.session.store is not None
        try:
            result = export_rows(
                self.session.store, rows, choice.fmt, choice.path, force=choice.force, redact=choice.redact
            )
        except ExportError as error:
            self.app.notify(str(error), title="Export failed", severity="error", markup=False)
            return
        except OSError as error:
            self.app.notify(
                f"{choice.path}: {error.strerror or error}", title="Export failed", severity="error", markup=False
            )
            return
        if result.left_out:
            self.app.notify(
                f"Wrote {result.count:,} events to {result.path}; left out {result.left_out}",
                severity="warning",
                markup=False,
            )
            return
        self.app.notify(f"Wrote {result.count:,} events to {result.path}", markup=False)

    def action_open_policy(self) -> None:
        """`p`: load another policy and re-evaluate every event in place."""
        self.app.push_screen(OpenPolicyScreen(self.session.policy_path or ""), self._policy_chosen)

    def _policy_chosen(self, path: str | None) -> None:
        if path:
            self._reload_policy(path)

    @work(thread=True, exclusive=True, group="policy", exit_on_error=False, description="Re-evaluating")
    def _reload_policy(self, path: str) -> None:
        load = self.session.load_policy(path)
        if load.policy is None:
            first = next(iter(load.problems), None)
            reason = str(first) if first is not None else "not a policy"
            # the policy in force stays: a broken or vanished file never leaves the app without one
            self.app.notify(visible(reason), title=f"Cannot use {visible(path)}", severity="error", markup=False)
            return
        self.session.apply_policy(path, load)
        self.app.call_from_thread(self._policy_applied)

    def _policy_applied(self) -> None:
        freeze_heap()
        self.events_table.invalidate()
        self._refresh_policy()
        if self._filter_rows is not None:
            self._run_filter(self._filter_text)
        self._refresh_detail()
        self._update_status()
        problems = len(self.session.policy_problems)
        self.app.notify(f"Policy loaded; {problems} problems" if problems else "Policy loaded", markup=False)

    # ------------------------------------------------------------------ accessors

    @property
    def events_table(self) -> EventsTable:
        """The events list."""
        return self.query_one("#events", EventsTable)

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

    @property
    def filter_text(self) -> str:
        """The filter in force."""
        return self._filter_text if self._filter_rows is not None else ""

    @property
    def answered_filter(self) -> str | None:
        """The filter text whose result (rows, or its error) is on screen now; None before any."""
        return self._answered_filter

    @property
    def loading(self) -> bool:
        """Whether the loader still runs."""
        return self._loading

    def store_event(self) -> Any:
        """The selected event (dict), for tests and the palette."""
        row = self.events_table.current_row
        return None if row is None else self.session.event(row)
