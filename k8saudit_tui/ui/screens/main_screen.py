"""The main screen: the hub that owns the workers and routes messages.

The last of its layers (`main_layout`, `main_actions`, `main_dialogs`, `main_workbench`, this
one). Widgets post messages up to here; this screen calls them back through the layout's typed
accessors. All engine work (loading, filtering, re-evaluating, exporting) goes through the
`Session` in thread workers that answer with messages, so the UI never waits on the disk or on a
million events; a worker that fails raises, and `on_worker_state_changed` is the one place that
tells the user. The timing rules (latest answer only, cursor rest, echo hold, following the tail) are `controllers`.
"""

from __future__ import annotations

import time

import numpy as np
from textual import on, work
from textual.worker import Worker, WorkerState, get_current_worker

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.controllers import (
    DETAIL_DELAY,
    MATCH_GRACE,
    PROGRESS_EVERY,
    LatestOnly,
    PaintHold,
    RestDebounce,
    TailFollow,
    Throttle,
)
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
    PolicyReplaced,
    RuleChosen,
    TermsMatched,
)
from k8saudit_tui.ui.render import count
from k8saudit_tui.ui.render.columns import ColumnMeter
from k8saudit_tui.ui.render.status import status_text
from k8saudit_tui.ui.screens.main_workbench import MainWorkbench
from k8saudit_tui.ui.session import Session, SessionError
from k8saudit_tui.ui.widgets.detail_pane import build_detail, message_content
from k8saudit_tui.ui.widgets.policy_pane import NO_RULE

ECHO_HOLD = 0.06
"""Seconds a typed filter key may wait for its filter's result so both show in one frame."""
WORKER_ERROR_TITLES = {"load": "Loading stopped"}
"""Notification title for an unexpected failure of a worker group (others: "Error")."""


class MainScreen(MainWorkbench):
    """Policy pane, events list with status line, detail pane, filter bar and footer."""

    def __init__(self, session: Session, *, filter_text: str = "", follow: bool = False) -> None:
        super().__init__(session)
        self._filter_text = filter_text
        self._follow = follow
        self._filter_rows: np.ndarray | None = None
        """Rows of the active filter (None: no filter: every row)."""
        self._loading = False
        self._progress = (0, 0)
        self._answered_filter: str | None = None
        self._filters: LatestOnly[str] = LatestOnly(self._filter_worker)
        self._details: LatestOnly[int] = LatestOnly(
            lambda row, generation: self._build_detail(
                row, generation, self.detail_pane.wrap_width, reveal=row == self._revealed
            )
        )
        self._detail_rest = RestDebounce(self, DETAIL_DELAY, self._refresh_detail, name="detail")
        self._progress_paint = Throttle(self, PROGRESS_EVERY, self._show_progress, name="progress")
        self._echo = PaintHold(self, ECHO_HOLD, lambda: self.filter_bar.input.refresh())
        self._revealed: int | None = None
        """Row whose secrets the detail pane shows (`r`); moving the cursor masks them again."""
        self._tail = TailFollow()

    def on_mount(self) -> None:
        """Show the policy at once, then start loading the logs in a worker."""
        self.set_layout(self.app.size.width)
        self.events_table.set_source(self.session.row_values, ColumnMeter(self.session).measure)
        self.filter_bar.set_value(self._filter_text)
        self._refresh_policy()
        self.events_table.focus()
        self._update_status()
        self.show_intro()
        if self._filter_text.strip():
            self._filter_rows = np.zeros(0, dtype=np.int64)
            self._filters.run(self._filter_text)
        if self.session.sources:
            self._loading = True
            self._load()
        else:
            self.progress_bar.display = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported: a notification, never a traceback."""
        error = event.worker.error
        if event.state != WorkerState.ERROR or error is None:
            return
        if isinstance(error, SessionError):
            message, title = str(error), error.title
        else:
            message = visible(f"{type(error).__name__}: {error}")
            title = WORKER_ERROR_TITLES.get(event.worker.group, "Error")
        self.app.notify(message, title=title, severity="error", markup=False)

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, description="Loading audit logs")
    def _load(self) -> None:
        """Fill the store batch by batch; the UI shows each batch as it lands."""
        worker = get_current_worker()
        try:
            for progress in self.session.load(worker.cancelled_event):
                self.post_message(LoadProgressed(progress.bytes, progress.total_bytes))
                if worker.is_cancelled:
                    break
        except Exception:
            self.post_message(LoadFinished(failed=True))
            raise
        self.post_message(LoadFinished(cancelled=worker.is_cancelled))
        self.session.save_index()  # once the screen shows everything; changes to the store wait for it

    @on(LoadProgressed)
    def _on_progress(self, message: LoadProgressed) -> None:
        self._progress = (message.done_bytes, message.total_bytes)
        self._progress_paint.poke()

    def _show_progress(self) -> None:
        if self._progress[1]:  # (done, total) bytes
            self.progress_bar.update(total=self._progress[1], progress=self._progress[0])
        self._show_rows(extending=True)
        self._update_status()

    @on(LoadFinished)
    def _on_finished(self, message: LoadFinished) -> None:
        self._loading = False
        self._progress_paint.cancel()  # the rows and the status are shown below
        self.session.freeze_loaded()
        self.progress_bar.display = False
        self._show_rows(extending=True)
        self._refresh_policy()
        if self._follow and not message.cancelled and not message.failed:
            self._tail.start(self.session.total)
            self._follow_sources()
        self._update_status()
        # what the loader freed went back to the OS when it finished; what the filter indexes
        # and showing every row (the view orders of the growing log) freed goes once painted
        self.call_after_refresh(self.session.release_memory)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False, description="Following logs")
    def _follow_sources(self) -> None:
        """Append events written after the load (`--follow`)."""
        worker = get_current_worker()
        for _ in self.session.follow(worker.cancelled_event):
            self.post_message(EventsAppended())
            if worker.is_cancelled:
                return

    @on(EventsAppended)
    def _on_appended(self) -> None:
        self._tail.grew(self.session.total)
        self._show_rows(extending=True)
        self._refresh_policy()
        self._update_status()

    # ------------------------------------------------------------------ views and filter

    def _show_rows(self, *, extending: bool = False, keep_row: int | None = None) -> None:
        """Put the current view into the table (every row, or the filter's rows, maybe collapsed)."""
        if self._filter_rows is None:
            rows = self.session.all_rows()
        elif extending:
            self._filters.run(self._filter_text)  # its result keeps the cursor on its event
            return
        else:
            rows = self._filter_rows
        if self.collapsed:
            rows = self.session.collapse(rows)
        table = self.events_table
        was_last = table.cursor >= table.row_count - 1
        if extending and self._tail.reorders(table.rows, rows, self.collapsed):
            keep_row = table.current_row  # followed rows sort above the cursor: keep its event
        if extending and keep_row is None and self._filter_rows is None and not self.collapsed:
            table.extend_view(rows)
        else:
            table.set_view(rows, keep_row=keep_row)
        position = self._tail.placed(table.rows, table.cursor, was_last)  # tail -f on the last row
        if position is not None:
            table.cursor = position
        self.follow_view()

    @on(FilterChanged)
    def _on_filter_changed(self, message: FilterChanged) -> None:
        """Live filtering: the first key filters at once, keys typed meanwhile make one run (latest text)."""
        self._filters.offer(message.text)

    def action_clear_filter(self) -> None:
        """Palette: show every event again."""
        self.apply_filter("")

    def apply_filter(self, text: str) -> None:
        """Filter now: `enter` on a rule, `--filter`, the palette."""
        self.filter_bar.set_value(text)
        self._filters.run_now(text)

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False, description="Filtering")
    def _filter_worker(self, text: str, generation: int) -> None:
        outcome = self.session.filter_rows(text)
        self.post_message(FilterApplied(generation, text, outcome.rows, outcome.error, outcome.position))
        if outcome.rows is None or get_current_worker().is_cancelled:
            return
        self.session.look_ahead(text)  # the answer is out: what the next keystroke will likely need
        time.sleep(MATCH_GRACE)  # the rows paint first: what fuzzy terms matched is for the reader
        if not get_current_worker().is_cancelled and self.session.match_terms(text, outcome.rows):
            self.post_message(TermsMatched(text))

    @on(TermsMatched)
    def _on_terms_matched(self, message: TermsMatched) -> None:
        if message.text == self.filter_text:
            self._update_status()

    @on(FilterApplied)
    def _on_filter_applied(self, message: FilterApplied) -> None:
        if not self._filters.take(message.generation, message.text):
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
        self._echo.release()

    @on(FilterEditing)
    def _hold_echo(self) -> None:
        """A key typed in the filter: its echo waits (at most ECHO_HOLD) for the filter's answer,
        so the key and its rows show in one frame."""
        self._echo.hold()

    def on_unmount(self) -> None:
        """Never leave the app's paints held."""
        self._echo.release()

    @on(FilterDone)
    def _on_filter_done(self, message: FilterDone) -> None:
        """The bar moved the focus itself (at once) and its text is as typed: not set again."""
        if not message.cancelled:
            self._filters.run_now(message.text)

    def watch_collapsed(self, collapsed: bool) -> None:
        """Re-show the view with or without one row per request."""
        self._show_rows(keep_row=self.events_table.current_row)
        self._update_status()

    # ------------------------------------------------------------------ selection

    @on(EventHighlighted)
    def _on_event_highlighted(self, message: EventHighlighted) -> None:
        """The cursor moved: show its event once the cursor has been still for DETAIL_DELAY; a
        build in flight is for where the cursor was, and is stale."""
        self._revealed = None
        self._details.invalidate()
        self._detail_rest.poke()
        if self._tail.moved(self.events_table.rows, self.events_table.cursor):
            self._update_status()

    def _refresh_detail(self) -> None:
        """Build the selected event's detail in a worker (`_on_detail_built` shows it)."""
        row = self.events_table.current_row
        if row is None:
            self._details.answer_here()
            self.show_intro()
            self.policy_pane.event_rule = None
            self.show_detail_title(None)
            return
        self._details.run(row)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False, description="Event detail")
    def _build_detail(self, row: int, generation: int, width: int, *, reveal: bool = False) -> None:
        """Read the event back, explain it, highlight and wrap it: off the UI thread."""
        session = self.session
        try:
            content = build_detail(
                *session.detail_event(row, reveal=reveal),
                revealed=reveal,
                verdict=session.verdict(row),
                explanation=session.explanation(row),
                origin=session.format_info(row),
                location=session.location(row),
                console=self.app.console,
                width=width,
            )
        except Exception as error:  # an unreadable event is shown in the pane, as its detail
            content = message_content(f"cannot read this event: {error}", error=True)
        self.post_message(DetailBuilt(generation, row, content))

    @on(DetailBuilt)
    def _on_detail_built(self, message: DetailBuilt) -> None:
        if not self._details.take(message.generation, message.row):
            return  # the cursor moved on while it was built
        # the policy pane points at the event's rule in the same frame: one paint, not two a frame
        # period apart (set when the build started, it cost 25-30 ms more, measured)
        self.policy_pane.event_rule = self._rule_marker(message.row)
        self.marked_row = message.row
        self.detail_pane.show_content(message.content)
        self.show_detail_title(message.row)

    @property
    def detail_pending(self) -> bool:
        """Whether the detail pane is still to catch up with the cursor (tests and scripts wait)."""
        return self._detail_rest.waiting or not self._details.settled

    def _rule_marker(self, row: int) -> int | None:
        if self.session.evaluator is None:
            return None
        rule = self.session.rule_of(row)
        if rule is None:  # no rule, or unknown: then the rule that needs what the format lost
            rule = self.session.unknown_rule_of(row)
        return NO_RULE if rule is None else rule

    @on(RuleChosen)
    def _on_rule_chosen(self, message: RuleChosen) -> None:
        self.apply_filter("rule:none" if message.rule is None else f"rule:{message.rule}")
        self.set_focus(self.events_table)  # at once: see `_cycle`

    # ------------------------------------------------------------------ status

    def _update_status(self) -> None:
        done, size = self._progress
        text = status_text(
            self.events_table.row_count,
            self.session.total,
            collapsed=self.collapsed,
            filter_text=self._filter_text if self._filter_rows is not None else "",
            loading=self._loading,
            loaded_share=done / size if size else None,
            problems=len(self.session.load_problems),
            has_policy=self.session.policy is not None,
            following=self._tail.following,
            new_below=self._tail.new_below,
            matched=self.session.matched_for(self.filter_text),
            unknown=self.session.unknown_events(),
        )
        self.show_status(text)

    # ------------------------------------------------------------------ work the actions start

    def action_reveal_secrets(self) -> None:
        """`r`: show the secrets the detail pane masks for this event, or mask them again."""
        row = self.events_table.current_row
        if row is None:
            self.app.bell()
            return
        self._revealed = None if self._revealed == row else row
        self._details.run(row)

    @on(PolicyReplaced)
    def _on_policy_replaced(self) -> None:
        self.session.freeze_loaded()
        self.events_table.invalidate()
        self._refresh_policy()
        if self._filter_rows is not None:
            self._filters.run(self._filter_text)
        self._refresh_detail()
        self._update_status()
        problems = len(self.session.policy_problems)
        self.app.notify(f"Policy loaded; {count(problems, 'problem')}" if problems else "Policy loaded", markup=False)

    # ------------------------------------------------------------------ accessors

    @property
    def filter_text(self) -> str:
        """The filter in force."""
        return self._filter_text if self._filter_rows is not None else ""

    @property
    def answered_filter(self) -> str | None:
        """The filter text whose result (rows, or its error) is on screen now; None before any."""
        return self._answered_filter

    @property
    def is_loading(self) -> bool:
        """Whether the loader still runs."""
        return self._loading

    @property
    def paints_held(self) -> bool:
        """Whether a typed key's echo is held back waiting for its filter's answer."""
        return self._echo.held
