"""The main screen's policy workbench: load a candidate policy (`P`), its summary panel (`W`), and
the policy pane showing either policy (`v`).

The fourth of the main screen's layers (`main_layout`, `main_actions`, `main_dialogs`, this one,
`main_screen`). The candidate is read and every event evaluated under it in a worker (the store
publishes the candidate's verdicts whole, so the list, the filters and the counts switch at once);
the worker answers with `CandidateLoaded`, and its handler repaints the list (the change column),
the filter, the policy pane, and opens the panel. The bytes of both policies, slow to count, are
kept per store generation so that reopening the panel on the same verdicts counts nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.message import Message

from k8saudit_tui.ui.render.status import file_title
from k8saudit_tui.ui.screens.main_dialogs import MainDialogs
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.screens.workbench_screen import Costs, WorkbenchScreen
from k8saudit_tui.ui.session_views import WorkbenchSummary


@dataclass
class CandidateLoaded(Message):
    """The candidate policy is evaluated over every event (`seconds`: how long it took), and the
    panel's summary counted off the UI thread (a few hundred ms at 1M events)."""

    seconds: float
    summary: WorkbenchSummary | None


class MainWorkbench(MainDialogs):
    """A candidate policy beside the loaded one, and what it changes."""

    _candidate_view = False
    """Whether the policy pane shows the candidate (`v`) rather than the loaded policy."""
    _costs: tuple[tuple[int, int], Costs] | None = None
    """The bytes of both policies and the (store generation, events) they were counted for."""
    _summary: tuple[tuple[int, int], WorkbenchSummary] | None = None
    """The panel's counts, and the (store generation, events) they were counted for."""

    def _update_status(self) -> None:
        """Repaint the status line (the hub does it)."""
        raise NotImplementedError

    def action_open_candidate(self) -> None:
        """`P`: load a candidate policy to compare with the loaded one, event by event."""
        start = self.session.candidate_path or self.session.policy_path or ""
        title = "Load a candidate policy (compared with the loaded one, event by event)"
        self.app.push_screen(OpenPolicyScreen(start, title=title), self._candidate_chosen)

    def _candidate_chosen(self, path: str | None) -> None:
        if path:
            self._load_candidate(path)

    @work(thread=True, exclusive=True, group="policy", exit_on_error=False, description="Evaluating the candidate")
    def _load_candidate(self, path: str) -> None:
        start = time.perf_counter()
        self.session.load_candidate(path)
        seconds = time.perf_counter() - start
        self.post_message(CandidateLoaded(seconds, self.session.workbench_summary()))

    @on(CandidateLoaded)
    def _on_candidate_loaded(self, message: CandidateLoaded) -> None:
        self.events_table.invalidate()  # the change column comes in, every row reads its change
        if self.filter_text:
            self.apply_filter(self.filter_text)  # `change:` and `candidate:` terms read the new verdicts
        self._refresh_policy()
        self._update_status()
        self.app.notify(f"Candidate evaluated in {message.seconds:.2f} s", markup=False)
        if message.summary is not None:
            self._summary = (self._verdicts_key(), message.summary)
        self.action_workbench()

    def _verdicts_key(self) -> tuple[int, int]:
        """What the counts depend on: the store's verdicts generation and its events."""
        store = self.session.store
        return (store.generation, len(store)) if store is not None else (0, 0)

    def action_workbench(self) -> None:
        """`W`: the workbench panel: changes, bytes per day, security classes, drift."""
        key = self._verdicts_key()
        cached = self._summary
        summary = cached[1] if cached is not None and cached[0] == key else self.session.workbench_summary()
        if summary is None:
            self.app.notify("Load a candidate policy first (P)", severity="warning", markup=False)
            return
        self._summary = (key, summary)
        known = self._costs[1] if self._costs is not None and self._costs[0] == key else None

        def remember(costs: Costs) -> None:
            self._costs = (key, costs)

        self.app.push_screen(WorkbenchScreen(self.session, summary, known, remember))

    def action_toggle_policy_view(self) -> None:
        """`v`: the policy pane shows the candidate policy, or the loaded one again."""
        if self.session.candidate_load is None or self.session.candidate_load.policy is None:
            self.app.notify("No candidate policy loaded (P loads one)", severity="warning", markup=False)
            return
        self._candidate_view = not self._candidate_view
        self._refresh_policy()
        self._update_status()

    def _refresh_policy(self) -> None:
        """The policy pane: the loaded policy or the candidate (`v`), with hits per rule, and
        with the events each rule writes while a candidate is compared."""
        session = self.session
        candidate = self._candidate_view and session.candidate_load is not None
        stats = session.rule_stats(candidate=candidate) if session.compared else None
        if candidate and session.candidate_load is not None:
            policy, problems = session.candidate_load.policy, session.candidate_load.problems
        else:
            policy, problems = session.policy, session.policy_problems
        hits = stats.hits if stats is not None else session.rule_counts()
        self.policy_pane.show(policy, hits, session.total, problems, stats.written if stats is not None else None)

    def show_status(self, text: Text) -> None:
        """The status line and the pane titles; the policy pane's names the candidate it shows."""
        super().show_status(text)
        if self._candidate_view and self.session.candidate_load is not None:
            title = file_title(self.session.candidate_path) or Text("")
            self.policy_pane.border_title = Text.assemble(("candidate ", "bold"), title)
