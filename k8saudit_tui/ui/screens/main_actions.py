"""The main screen's keys: its bindings and the actions that need no worker.

The second of the main screen's three layers (see `main_layout`): moving between events and
rules, collapsing stages, copying, help. The bindings here are the one list of these actions:
the footer, the `?` screen and the command palette (`ui.commands`) are all built from them.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.events import Key
from textual.reactive import reactive

from k8saudit_tui.ui.screens.export_screen import ExportScreen
from k8saudit_tui.ui.screens.help_screen import HelpScreen, binding_rows
from k8saudit_tui.ui.screens.main_layout import MainLayout
from k8saudit_tui.ui.widgets.detail_pane import DetailPane
from k8saudit_tui.ui.widgets.events_table import EventsTable
from k8saudit_tui.ui.widgets.filter_bar import FilterBar
from k8saudit_tui.ui.widgets.policy_pane import NO_RULE, PolicyPane
from k8saudit_tui.ui.widgets.timeline import TimelineStrip


class MainActions(MainLayout):
    """The main screen's bindings and the actions that act on the panes at once."""

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
        Binding("t", "toggle_timeline", "Timeline", show=False),
        Binding("z", "zoom", "Zoom", show=False),
        Binding("tab", "cycle_panes", "Next pane", show=False),
        Binding("shift+tab", "cycle_panes_back", "Previous pane", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    collapsed: reactive[bool] = reactive(False, init=False)
    """One row per auditID (the stages of one request collapsed)."""

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
            text, masked = self.session.copy_text(row, redact=redact)
        except Exception as error:
            self.app.notify(f"cannot read this event: {error}", severity="error", markup=False)
            return
        self.app.copy_to_clipboard(text)
        size = f"{len(text):,} characters"
        if not redact:
            note = f"Copied the raw event ({size}): secrets in it are NOT masked"
            self.app.notify(note, severity="warning", markup=False)
        elif masked:
            self.app.notify(f"Copied event ({size}) with secrets masked; C copies it raw", markup=False)
        else:
            self.app.notify(f"Copied event ({size}); no secrets found to mask; C copies it raw", markup=False)
