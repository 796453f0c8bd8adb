"""The policy workbench in the TUI (issue 13): a candidate loaded with `P`, the change column, the
`W` panel (changes, bytes, security classes, drift) and the policy pane showing either policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.workbench.cost import cost_of_lines
from k8saudit_tui.engine.workbench.security import SECURITY_CLASSES
from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.render.columns import ORDER, ContentWidths, allocate
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.screens.workbench_screen import WorkbenchScreen, byte_size
from k8saudit_tui.ui.session import open_session

from .conftest import DATA, EVENTS, POLICY, detail_shown, make_app, notices, settle

CANDIDATE = Path(__file__).parents[1] / "data" / "policies" / "kubespray-apiserver-audit-policy.yaml"
"""Against the website policy over events-300: every change class occurs (dropped 7, added 5,
up 26, down 21) and two security classes are flagged."""


def plain_change(store: object, row: int) -> str:
    """The change class of one row from the two verdicts, written out per event (issue 13's words)."""
    value = store.value  # type: ignore[attr-defined]
    written, candidate_written = not value(row, "omitted"), not value(row, "candidate_omitted")
    if written and not candidate_written:
        return "dropped"
    if candidate_written and not written:
        return "added"
    if written and candidate_written:
        before, after = LEVELS.index(value(row, "level")), LEVELS.index(value(row, "candidate_level"))
        return "up" if after > before else "down" if after < before else ""
    return ""


async def load_candidate_by_key(app: ExplorerApp, pilot: Pilot, path: str) -> None:
    """`P`, clear the offered path, type `path`, `enter`; wait for the evaluation."""
    await pilot.press("P")
    await pilot.pause()
    assert isinstance(app.screen, OpenPolicyScreen)
    assert "candidate" in str(app.screen.query_one("#open-policy-title").render())
    await pilot.press("ctrl+u", *path, "enter")
    await settle(app, pilot)


def panel_text(screen: WorkbenchScreen) -> str:
    return str(screen.query_one("#workbench-body").render())


async def test_a_candidate_loaded_by_key_adds_the_change_column_with_the_store_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CANDIDATE.parent)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        table = app.main_screen.events_table
        assert "change" not in [column.field for column in table.columns]
        await load_candidate_by_key(app, pilot, CANDIDATE.name)
        assert isinstance(app.screen, WorkbenchScreen)  # the panel opens once the candidate is in
        await pilot.press("escape")
        await pilot.pause()
        fields = [column.field for column in table.columns]
        assert fields[fields.index("rule") + 1] == "change"
        session = app.main_screen.session
        store = session.store
        assert store is not None
        shown = [session.row_values(int(row))["change"] for row in table.rows]
        assert shown == [plain_change(store, int(row)) for row in table.rows]
        assert {"dropped", "added", "up", "down", ""} == set(shown)
        # the row as painted carries the word
        dropped = shown.index("dropped")
        table.cursor = dropped
        await pilot.pause()
        assert "dropped" in table.render_line(table.cursor - int(table.scroll_y) + 1).text


async def test_the_dropped_filter_counts_what_the_panel_says_and_the_panel_lists_security_classes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CANDIDATE.parent)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await load_candidate_by_key(app, pilot, CANDIDATE.name)
        panel = app.screen
        assert isinstance(panel, WorkbenchScreen)
        text = panel_text(panel)
        summary = app.main_screen.session.workbench_summary()
        assert summary is not None
        dropped = summary.changes.dropped
        assert dropped > 0 and f"dropped {dropped:,}" in text
        for security_class in SECURITY_CLASSES:
            assert security_class.title in text
        lost = [c for c in summary.security if c.lost]
        assert lost and all(f"LOST {c.lost:,}" in text for c in lost)
        assert summary.drift.verdict in text
        await pilot.press("escape", "slash", *"change:dropped", "enter")
        await settle(app, pilot)
        assert app.main_screen.events_table.row_count == dropped


async def test_the_panel_counts_the_bytes_of_each_policy_as_apply_would_write_them() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        session = app.main_screen.session
        await pilot.press("W")
        await pilot.pause()
        assert isinstance(app.screen, app.main_screen.__class__)  # no candidate: no panel
        session.load_candidate(str(CANDIDATE))
        await pilot.press("W")
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, WorkbenchScreen)
        for _ in range(200):
            if panel.bytes_counted:
                break
            await pilot.pause(0.02)
        shown = str(panel.query_one("#workbench-bytes").render())
        lines = EVENTS.read_bytes().splitlines()
        current = cost_of_lines(PolicyEvaluator(load_policy_file(str(POLICY)).policy), lines)  # type: ignore[arg-type]
        candidate = cost_of_lines(PolicyEvaluator(load_policy_file(str(CANDIDATE)).policy), lines)  # type: ignore[arg-type]
        assert current.bytes != candidate.bytes
        expected = [cost.bytes_per_day or cost.bytes for cost in (current, candidate)]
        assert f"current {byte_size(expected[0])}  candidate {byte_size(expected[1])}" in shown


async def test_w_without_a_candidate_says_how_to_load_one() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("W")
        await pilot.pause()
        assert app.screen is app.main_screen
        assert notices(app) == [("warning", "Load a candidate policy first (P)")]


async def test_v_shows_the_candidate_in_the_policy_pane_with_hits_and_written_events() -> None:
    app = ExplorerApp(open_session(str(POLICY), [str(EVENTS)], str(CANDIDATE)))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        pane = app.main_screen.policy_pane
        session = app.main_screen.session
        current = session.rule_stats()
        first = next(line for line in pane.lines if line.startswith("rule #0"))
        assert f"{current.hits.get(0, 0):,} hit" in first and f"{current.written.get(0, 0):,} written" in first
        await pilot.press("v")
        await pilot.pause()
        stats = session.rule_stats(candidate=True)
        candidate_policy = load_policy_file(str(CANDIDATE)).policy
        assert candidate_policy is not None
        headers = [line for line in pane.lines if line.startswith("rule #")]
        assert len(headers) == len(candidate_policy.rules)
        for index, header in enumerate(headers):
            assert f"{stats.hits.get(index, 0):,} hit" in header
            assert f"{stats.written.get(index, 0):,} written" in header
        assert "candidate" in str(pane.border_title)
        assert sum(stats.hits.values()) == session.total
        await pilot.press("v")
        await pilot.pause()
        assert len([line for line in pane.lines if line.startswith("rule #")]) == len(session.policy.rules)  # type: ignore[union-attr]
        await detail_shown(app, pilot)


def test_the_change_column_follows_the_rule_only_with_a_candidate() -> None:
    widths = {"verb": 6, "user": 20, "resource": 10, "namespace": 10, "name": 10, "rule": 3, "code": 3, "change": 7}
    plain = [column.field for column in allocate(200, ContentWidths(widths))]
    compared = [column.field for column in allocate(200, ContentWidths(widths, changes=True))]
    assert plain == [spec.key for spec in ORDER]
    assert compared == [*plain[:3], "change", *plain[3:]]


def test_panel_80x24(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    candidate = "../../data/policies/kubespray-apiserver-audit-policy.yaml"
    app = ExplorerApp(open_session("website-policy.yaml", ["events-300.log"], candidate))

    async def run_before(pilot: Pilot) -> None:
        for _ in range(3):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        await detail_shown(pilot.app, pilot)  # type: ignore[arg-type]
        await pilot.press("W")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


async def test_a_candidate_shown_without_a_policy_gets_the_policy_panes_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80x24 the policy pane is one line while no rules are shown, and five for a candidate's
    rules (`v`), even with no policy loaded."""
    monkeypatch.chdir(CANDIDATE.parent)
    app = make_app(policy=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.main_screen.policy_pane.region.height == 1
        await load_candidate_by_key(app, pilot, CANDIDATE.name)
        assert not isinstance(app.screen, WorkbenchScreen)  # nothing to compare: no panel
        await pilot.press("v")
        await pilot.pause()
        assert app.main_screen.policy_pane.region.height == 5
