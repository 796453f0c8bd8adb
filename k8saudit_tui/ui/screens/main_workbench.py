"""The main screen's policy workbench: load a candidate policy (`P`), its summary panel (`W`), the
policy pane showing either policy (`v`), and the bytes each rule writes (`B`).

The fourth of the main screen's layers (`main_layout`, `main_actions`, `main_dialogs`, this one,
`main_screen`). The candidate is read and every event evaluated under it in a worker (the store
publishes the candidate's verdicts whole, so the list, the filters and the counts switch at once);
the worker answers with `CandidateEvaluated`, whose handler repaints the list (the change column),
the filter and the policy pane at once, then counts the panel's summary and answers with
`CandidateLoaded`, whose handler opens the panel.

The bytes of both policies (the engine's cost, `Session.policy_costs`: from the store's columns,
about a second of CPU at 1M events) are counted by one worker of this screen, never on the UI thread:
asked for by `B` or by the panel, with their progress on the status line and in the panel, and
kept per store generation, so the panel and the policy pane show the same figures and reopening
either on the same verdicts counts nothing. A new policy or candidate cancels a count in flight.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.worker import get_current_worker

from k8saudit_tui.engine.workbench.cost import CostSummary
from k8saudit_tui.ui.messages import PolicyReplaced
from k8saudit_tui.ui.render.policy import RuleBytes
from k8saudit_tui.ui.render.status import file_title
from k8saudit_tui.ui.screens.main_dialogs import MainDialogs
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.screens.workbench_screen import WorkbenchScreen
from k8saudit_tui.ui.session_views import PolicyCosts, WorkbenchSummary


@dataclass
class CandidateLoaded(Message):
    """The candidate policy is evaluated over every event (`seconds`: how long it took), and the
    panel's summary counted off the UI thread (a few hundred ms at 1M events)."""

    seconds: float
    summary: WorkbenchSummary | None


PAINT_WAIT = 0.5
"""Seconds the candidate's worker waits for the list to repaint before it counts the panel's summary."""


@dataclass
class CandidateEvaluated(Message):
    """Every event has its verdict under the candidate: the list, the filter and the policy pane
    can show them (before the panel's summary is counted, 60-90 ms more at 1M events)."""

    key: tuple[int, int]
    painted: threading.Event
    """Set once the screen has repainted with the candidate's verdicts."""


@dataclass
class CostsProgressed(Message):
    """The byte count has costed this share of the events."""

    share: float


@dataclass
class CostsCounted(Message):
    """The bytes of the policies, counted over the verdicts of `key` (`_verdicts_key`)."""

    key: tuple[int, int]
    costs: PolicyCosts


def rule_bytes(summary: CostSummary) -> RuleBytes:
    """A policy's cost as the policy pane shows it: bytes per rule, their total."""
    by_rule = {rule: share.bytes for rule, share in summary.by_rule.items() if rule is not None}
    return RuleBytes(by_rule, summary.bytes, summary.lower_bound)


class MainWorkbench(MainDialogs):
    """A candidate policy beside the loaded one, and what it changes."""

    _candidate_view = False
    """Whether the policy pane shows the candidate (`v`) rather than the loaded policy."""
    _costs: tuple[tuple[int, int], PolicyCosts] | None = None
    """The bytes of the policies and the (store generation, events) they were counted for."""
    _counting: float | None = None
    """While the bytes are counted: the share of events done."""
    _verdicts_shown: tuple[int, int] | None = None
    _count_kept = False
    """Whether the count in flight was asked for by `B` (kept), not only by the panel (which
    cancels it when closed: seconds of work at 1M that nobody would wait for)."""
    _summary: tuple[tuple[int, int], WorkbenchSummary] | None = None
    """The panel's counts, and the (store generation, events) they were counted for."""

    def _update_status(self) -> None:
        """Repaint the status line (the hub does it)."""
        raise NotImplementedError

    @property
    def is_loading(self) -> bool:
        """Whether the loader still runs (the hub knows)."""
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
        painted = threading.Event()
        self.post_message(CandidateEvaluated(self._verdicts_key(), painted))
        painted.wait(PAINT_WAIT)  # the summary's numpy passes would share the GIL with that paint
        self.post_message(CandidateLoaded(seconds, self.session.workbench_summary()))

    @on(CandidateEvaluated)
    def _on_candidate_evaluated(self, message: CandidateEvaluated) -> None:
        self._stop_counting()
        self.events_table.invalidate()  # the change column comes in, every row reads its change
        if self.filter_text:
            self.apply_filter(self.filter_text)  # `change:` and `candidate:` terms read the new verdicts
        self._refresh_policy()
        self._update_status()
        self._verdicts_shown = message.key
        self.call_after_refresh(message.painted.set)

    @property
    def verdicts_shown(self) -> tuple[int, int] | None:
        """The (store generation, events) of the candidate verdicts the list and the policy pane
        show since the last `P` (scripts and the benchmark wait for it)."""
        return self._verdicts_shown

    @on(CandidateLoaded)
    def _on_candidate_loaded(self, message: CandidateLoaded) -> None:
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
        self.app.push_screen(
            WorkbenchScreen(self.session, summary, self._known_costs(), self._count_costs), self._panel_closed
        )

    # ------------------------------------------------------------------ bytes

    def action_count_bytes(self) -> None:
        """`B`: count the bytes each rule writes, of the loaded policy and of the candidate (the
        policy pane shows them; a worker, seconds at 1M events)."""
        if self.session.policy is None or not self.session.total:
            self.app.notify("Bytes need a policy and events (p loads a policy)", severity="warning", markup=False)
            return
        if self.is_loading:
            self.app.notify("Bytes are counted once the logs are loaded", severity="warning", markup=False)
            return
        self._count_kept = True
        self._count_costs()

    def _known_costs(self) -> PolicyCosts | None:
        """The bytes counted for the verdicts in force, None when not (yet) counted."""
        return self._costs[1] if self._costs is not None and self._costs[0] == self._verdicts_key() else None

    def _count_costs(self) -> None:
        """Start counting the bytes unless they are known or being counted."""
        if self._known_costs() is not None or self._counting is not None:
            return
        self._counting = 0.0
        self._costs_worker()
        self._update_status()

    def _stop_counting(self) -> None:
        """New verdicts: a count in flight is for the old ones."""
        self.workers.cancel_group(self, "costs")
        self._counting = None
        self._count_kept = False
        self._update_status()

    def _panel_closed(self, result: None = None) -> None:
        """The panel is closed: a count only it asked for stops."""
        if self._counting is not None and not self._count_kept:
            self._stop_counting()

    @on(PolicyReplaced)
    def _costs_stale(self) -> None:
        self._stop_counting()

    @work(thread=True, exclusive=True, group="costs", exit_on_error=False, description="Counting bytes")
    def _costs_worker(self) -> None:
        worker = get_current_worker()
        key = self._verdicts_key()

        def progress(share: float) -> None:
            self.post_message(CostsProgressed(share))

        costs = self.session.policy_costs(worker.cancelled_event, progress)
        if costs is not None and not worker.is_cancelled:
            self.post_message(CostsCounted(key, costs))

    @on(CostsProgressed)
    def _on_costs_progressed(self, message: CostsProgressed) -> None:
        if self._counting is None:
            return  # cancelled: a late report
        self._counting = message.share
        self._update_status()
        if isinstance(self.app.screen, WorkbenchScreen):
            self.app.screen.show_progress(message.share)

    @on(CostsCounted)
    def _on_costs_counted(self, message: CostsCounted) -> None:
        self._counting, self._count_kept = None, False
        if message.key == self._verdicts_key():  # else the verdicts changed meanwhile
            self._costs = (message.key, message.costs)
            self._refresh_policy()
            if isinstance(self.app.screen, WorkbenchScreen):
                self.app.screen.show_costs(message.costs)
        self._update_status()

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
        with the events each rule writes while a candidate is compared or the bytes are known,
        and then their bytes."""
        session = self.session
        candidate = self._candidate_view and session.candidate_load is not None
        costs = self._known_costs()
        summary = costs.of(candidate=candidate) if costs is not None else None
        stats = session.rule_stats(candidate=candidate) if session.compared or summary is not None else None
        if candidate and session.candidate_load is not None:
            policy, problems = session.candidate_load.policy, session.candidate_load.problems
        else:
            policy, problems = session.policy, session.policy_problems
        self.set_class(policy is None, "-no-policy")  # no rules to show: at 80x24 one line, not five
        hits = stats.hits if stats is not None else session.rule_counts()
        written = stats.written if stats is not None else None
        sizes = rule_bytes(summary) if summary is not None else None
        unknown = session.unknown_by_rule(candidate=candidate)
        self.policy_pane.show(policy, hits, session.total, problems, written, sizes, unknown)

    def show_status(self, text: Text) -> None:
        """The status line (and how far the bytes are counted) and the pane titles; the policy
        pane's names the candidate it shows."""
        if self._counting is not None:
            text = Text.assemble(text, (f"  counting bytes {100 * self._counting:.0f}%", "italic"))
        super().show_status(text)
        if self._candidate_view and self.session.candidate_load is not None:
            title = file_title(self.session.candidate_path) or Text("")
            self.policy_pane.border_title = Text.assemble(("candidate ", "bold"), title)
