"""The main screen's keys: its bindings and the actions that need no state of the hub.

The second of the main screen's three layers (see `main_layout`): moving between events and
rules, collapsing stages, copying, help, the problems list, opening a policy (its worker
answers with `PolicyReplaced`, which the hub handles). The bindings here are the one list of these actions:
the footer, the `?` screen and the command palette (`ui.commands`) are all built from them.

Keys arrive in bursts (a paste, tmux send-keys): Textual forwards each key to the widget focused
when the App reads it, before the previous key has been handled. So a key that moves the focus
(`/`) is a priority binding, run by the App itself before it reads the next key; and an action
reads the state the keys before it set (the selected event), never a pane that a worker is still
to update.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.render import count
from k8saudit_tui.ui.screens.export_screen import ExportScreen
from k8saudit_tui.ui.screens.facets_screen import FacetsScreen
from k8saudit_tui.ui.screens.help_screen import HelpScreen, binding_rows
from k8saudit_tui.ui.screens.jump_screen import JumpScreen
from k8saudit_tui.ui.screens.main_layout import MainLayout
from k8saudit_tui.ui.screens.problems_screen import ProblemsScreen
from k8saudit_tui.ui.widgets.detail_pane import DetailPane
from k8saudit_tui.ui.widgets.events_table import EventsTable
from k8saudit_tui.ui.widgets.filter_bar import FilterBar
from k8saudit_tui.ui.widgets.policy_pane import NO_RULE, PolicyPane
from k8saudit_tui.ui.widgets.timeline import TimelineStrip


class MainActions(MainLayout):
    """The main screen's bindings and the actions that act on the panes at once."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", priority=True),
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
        Binding("P", "open_candidate", "Candidate policy", show=False, tooltip="Load a candidate policy to compare"),
        Binding(
            "W", "workbench", "Workbench", show=False, tooltip="What the candidate changes: events, bytes, security"
        ),
        Binding("v", "toggle_policy_view", "Current/candidate", show=False, tooltip="Policy pane: loaded or candidate"),
        Binding(
            "B", "count_bytes", "Bytes per rule", show=False, tooltip="Count the bytes each rule writes (policy pane)"
        ),
        Binding(
            "r",
            "reveal_secrets",
            "Reveal secrets",
            show=False,
            tooltip="Reveal the secrets the detail pane masks, or mask them again",
        ),
        Binding("f", "facets", "Top values", show=False, tooltip="Top values of nine fields; enter filters to one"),
        Binding("T", "jump_time", "Jump to time", show=False),
        Binding("s", "toggle_collapse", "Collapse stages", show=False),
        Binding("t", "toggle_timeline", "Timeline", show=False),
        Binding("z", "zoom", "Zoom", show=False),
        Binding(
            "exclamation_mark",
            "problems",
            "Problems",
            key_display="!",
            show=False,
            tooltip="Problems: the broken lines and unreadable files, by reason",
        ),
        Binding("tab", "cycle_panes", "Next pane", show=False),
        Binding("shift+tab", "cycle_panes_back", "Previous pane", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    collapsed: reactive[bool] = reactive(False, init=False)
    """One row per auditID (the stages of one request collapsed)."""

    marked_row: int | None = None
    """The event whose rule the policy pane marks now (the hub sets it with the mark)."""

    def action_focus_filter(self) -> None:
        """`/`: type a filter. A priority binding, so the focus has moved before the App reads
        the keys typed right after it; in the filter itself `/` is a character (`uri:/^\\/api/`)."""
        if self.focused is self.filter_bar.input:
            raise SkipAction()
        self.filter_bar.focus_input(self.events_table)

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

    def _rule_stepped_from(self) -> int | None:
        """The rule `]` and `[` step from: the policy pane's cursor, unless the pane is still to
        follow the selected event (it does once the event's detail is built: `g ]` typed fast
        must not step from the rule of the event before), then the event's rule itself."""
        row = self.events_table.current_row
        if row is not None and self.session.evaluator is not None and row != self.marked_row:
            return self.session.rule_of(row)
        return self.policy_pane.selected

    def _step_rule(self, forward: bool) -> None:
        hit_rules = self.session.rules_with_hits()
        if not hit_rules:
            self.app.bell()
            return
        current = self._rule_stepped_from()
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

    def action_jump_time(self) -> None:
        """`T`: move the cursor to the first event at or after a time (the dialog checks it)."""
        self.app.push_screen(JumpScreen(partial(self.session.first_at_or_after, self.events_table.rows)), self._jump)

    def _jump(self, text: str | None) -> None:
        if text is None:
            return
        try:  # read again on the view now: a filter or a follow batch may have changed it
            self.events_table.cursor = self.session.first_at_or_after(self.events_table.rows, text)
        except ValueError:
            self.app.bell()

    def action_toggle_collapse(self) -> None:
        """`s`: one row per request (auditID) or one row per stage."""
        self.collapsed = not self.collapsed

    def action_help(self) -> None:
        """`?`: every key."""
        from k8saudit_tui.ui.app import ExplorerApp

        sections = [
            ("everywhere", ExplorerApp.BINDINGS),
            ("main", self.BINDINGS),
            ("events list", EventsTable.BINDINGS),
            ("policy pane", PolicyPane.BINDINGS),
            ("detail pane", DetailPane.BINDINGS),
            ("timeline", TimelineStrip.BINDINGS),
            (
                "filter bar",
                [*FilterBar.BINDINGS, Binding("right", "", "Accept the suggestion")],
            ),
            ("export dialog", ExportScreen.BINDINGS),
            ("problems", ProblemsScreen.BINDINGS),
            ("top values (f)", FacetsScreen.BINDINGS),
        ]
        self.app.push_screen(HelpScreen(binding_rows(sections), self.session.filter_help()))

    def action_problems(self) -> None:
        """`!`: every broken line and unreadable file, grouped by reason."""
        self.app.push_screen(ProblemsScreen(self.session))

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
            text, masked = self.session.copy_text(row, redact=redact)
        except Exception as error:
            self.app.notify(visible(f"cannot read this event: {error}"), severity="error", markup=False)
            return
        self.app.copy_to_clipboard(text)
        size = count(len(text), "character")
        if not redact:
            note = f"Copied the raw event ({size}): secrets in it are NOT masked"
            self.app.notify(note, severity="warning", markup=False)
        elif masked:
            self.app.notify(f"Copied event ({size}) with secrets masked; C copies it raw", markup=False)
        else:
            self.app.notify(f"Copied event ({size}); no secrets found to mask; C copies it raw", markup=False)
