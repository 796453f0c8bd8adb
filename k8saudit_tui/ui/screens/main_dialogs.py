"""The main screen's dialogs that start work: export the view (`e`), load another policy (`p`),
the top values (`f`).

The third of the main screen's layers (`main_layout`, `main_actions`, this one, `main_screen`):
a dialog gathers the user's choice, then the work runs through the `Session` (the export dialog
writes itself and says where; another policy is loaded in a worker that answers with
`PolicyReplaced`, which the hub handles since it refreshes every pane).
"""

from __future__ import annotations

from textual import work

from k8saudit_tui.ui.messages import PolicyReplaced
from k8saudit_tui.ui.screens.export_screen import ExportChoice, ExportScreen
from k8saudit_tui.ui.screens.facets_screen import FacetsScreen
from k8saudit_tui.ui.screens.main_actions import MainActions
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.session import ExportOutcome

DEFAULT_EXPORT = "k8saudit-export.jsonl"
"""Suggested export path, relative to the directory the app was started in."""


class MainDialogs(MainActions):
    """Export and policy dialogs, and the work they start."""

    @property
    def filter_text(self) -> str:
        """The filter in force (the hub knows it)."""
        raise NotImplementedError

    def apply_filter(self, text: str) -> None:
        """Filter the list to `text` (the hub runs it)."""
        raise NotImplementedError

    def action_facets(self) -> None:
        """`f`: the top values under the current filter; the term picked is added to the filter."""
        current = self.filter_text

        def chosen(term: str | None) -> None:
            if term:
                self.apply_filter(f"{current} {term}".strip())

        self.app.push_screen(FacetsScreen(self.session, current), chosen)

    def action_export(self) -> None:
        """`e`: the export dialog for the current view (it writes, and tells where it wrote)."""
        count = self.events_table.row_count
        if self.session.store is None or not count:
            self.app.notify("Nothing to export", severity="warning")
            return
        rows = self.events_table.rows.copy()
        fmt, path = self.session.export_target or ("jsonl", DEFAULT_EXPORT)

        def write(choice: ExportChoice) -> ExportOutcome:
            return self.session.export(rows, choice.fmt, choice.path, force=choice.force, redact=choice.redact)

        self.app.push_screen(ExportScreen(count, write, path=path, fmt=fmt, filter_text=self.filter_text))

    def action_open_policy(self) -> None:
        """`p`: load another policy and re-evaluate every event in place."""
        self.app.push_screen(OpenPolicyScreen(self.session.policy_path or ""), self._policy_chosen)

    def _policy_chosen(self, path: str | None) -> None:
        if path:
            self._replace_policy(path)

    @work(thread=True, exclusive=True, group="policy", exit_on_error=False, description="Re-evaluating")
    def _replace_policy(self, path: str) -> None:
        self.session.replace_policy(path)
        self.post_message(PolicyReplaced())
