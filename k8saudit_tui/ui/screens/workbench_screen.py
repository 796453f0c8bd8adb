"""The workbench panel (`W`): what the candidate policy does to the loaded log, on one screen.

Why a modal of its own: it answers the question people open a policy for ("what would this change
do to my traffic, my bytes, and the events security cannot lose") at a glance, at 80x24, without
leaving the explorer. Counts, security classes and drift come from the store's verdict columns (a
few ms at 1M events, read when the panel opens); the bytes need every event re-read and applied
(engine cost: seconds at 1M), so the panel asks the main screen to count them (`count`: its one
worker, whose figures the policy pane shows too), shows "counting... N%" meanwhile, and shows
them when the main screen hands them over (`show_costs`). Everything from the log or a policy is
shown through `render.safe`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from k8saudit_tui.engine.policy import presets
from k8saudit_tui.ui.render import safe
from k8saudit_tui.ui.render.cells import CHANGE_STYLES
from k8saudit_tui.ui.render.sizes import byte_size
from k8saudit_tui.ui.session import Session
from k8saudit_tui.ui.session_views import PolicyCosts, WorkbenchSummary

CLASS_WIDTH = 40
"""Cells of a security class's title in the table (the panel is readable at 80 columns)."""
SECURITY_ROW = "{:<40} {:>9} {:>9}  "


def summary_text(summary: WorkbenchSummary) -> Text:
    """Change counts, the security classes (flagged when the candidate drops or lowers one) and
    the drift verdict: the panel's body above and below the bytes."""
    text = Text(end="")
    text.append("Changes  ", style="bold")
    for name, events in summary.changes.as_dict().items():
        style = CHANGE_STYLES.get(name, "") if events else "dim"
        text.append(f"{name} {events:,}", style=style)
        text.append("  ")
    text.append("\n\n")
    text.append(SECURITY_ROW.format("Security class", "current", "candidate") + "\n", style="bold")
    for coverage in summary.security:
        title = safe(coverage.security_class.title, limit=CLASS_WIDTH).plain
        candidate = "-" if coverage.candidate is None else f"{coverage.candidate:,}"
        row = SECURITY_ROW.format(title, f"{coverage.current:,}", candidate)
        text.append(row, style="" if coverage.events else "dim")
        if coverage.lost:
            text.append(f"LOST {coverage.lost:,}", style="bold red")
        elif coverage.lowered:
            text.append(f"lowered {coverage.lowered:,}", style="yellow")
        text.append("\n")
    text.append("\nDrift  ", style="bold")
    text.append_text(safe(summary.drift.verdict, "yellow" if summary.drift.drifted else ""))
    return text


def bytes_text(costs: PolicyCosts | None, done: float = 0.0) -> Text:
    """The bytes per day under each policy, and how the candidate compares ("counting... N%"
    first, `done` the share of events counted)."""
    text = Text("Bytes/day  ", style="bold", end="")
    if costs is None or costs.candidate is None:
        text.append(f"counting... {100 * done:.0f}%", style="dim italic")
        return text
    current, candidate = costs.current, costs.candidate
    per_day = current.bytes_per_day, candidate.bytes_per_day
    if per_day[0] is None or per_day[1] is None:  # no time span: the totals over the log
        text = Text("Bytes (log)  ", style="bold", end="")
        amounts = float(current.bytes), float(candidate.bytes)
    else:
        amounts = per_day[0], per_day[1]
    text.append(f"current {byte_size(amounts[0])}  candidate {byte_size(amounts[1])}")
    if amounts[0]:
        change = 100 * (amounts[1] - amounts[0]) / amounts[0]
        text.append(f"  {change:+.1f}%", style="red" if change > 0 else "green")
    if current.lower_bound or candidate.lower_bound:
        text.append("  (lower bound)", style="dim")
    return text


class WorkbenchScreen(ModalScreen[None]):
    """The candidate's changes, bytes, security classes and drift over every loaded event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,W,q", "close", "Close", key_display="esc"),
        Binding("j,down", "scroll(1)", "Scroll", show=False),
        Binding("k,up", "scroll(-1)", "Scroll", show=False),
    ]

    def __init__(
        self, session: Session, summary: WorkbenchSummary, costs: PolicyCosts | None, count: Callable[[], None]
    ) -> None:
        super().__init__(id="workbench")
        self._session = session
        self._summary = summary
        self._costs = costs
        self._count = count

    def compose(self) -> ComposeResult:
        """Title, the bytes line, the body, the keys."""
        with Vertical(id="workbench-box"):
            yield Label(self._title(), id="workbench-title")
            yield Static(bytes_text(self._costs), id="workbench-bytes")
            with VerticalScroll(id="workbench-scroll"):
                yield Static(summary_text(self._summary), id="workbench-body")
            yield Static(Text("v policy pane: current/candidate  change:dropped filters  esc close", style="dim"))

    def _title(self) -> Text:
        session = self._session
        text = Text("Workbench  ", style="bold", end="")
        text.append_text(_policy_name(session.policy_path or "policy"))
        text.append(" → ")
        text.append_text(_policy_name(session.candidate_path or "candidate"))
        return text

    def on_mount(self) -> None:
        """Have the bytes counted unless they are known."""
        if self._costs is None:
            self._count()

    def show_progress(self, done: float) -> None:
        """The share of events whose bytes are counted so far."""
        if self._costs is None and self.is_mounted:
            self.query_one("#workbench-bytes", Static).update(bytes_text(None, done))

    def show_costs(self, costs: PolicyCosts) -> None:
        """The bytes, counted."""
        self._costs = costs
        if self.is_mounted:
            self.query_one("#workbench-bytes", Static).update(bytes_text(costs))

    @property
    def bytes_counted(self) -> bool:
        """Whether the bytes line shows figures (tests and scripts wait for it)."""
        return self._costs is not None

    def action_scroll(self, step: int) -> None:
        """Scroll the body."""
        self.query_one("#workbench-scroll", VerticalScroll).scroll_relative(y=step, animate=False)

    def action_close(self) -> None:
        """Back to the explorer."""
        self.dismiss(None)


def _policy_name(path: str) -> Text:
    """A policy's path cut to 30 characters; a preset's whole title (`@gke (approximation of
    GKE's policy)`): cutting it would cut the word that says it is not the provider's policy."""
    preset = presets.find(path)
    return safe(preset.title) if preset is not None else safe(path, limit=30)
