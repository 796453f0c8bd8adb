"""Bytes per rule in the policy pane (issue 13): `B` counts what each rule of the loaded policy and
of the candidate writes (the engine's cost, in a worker), the pane shows them for either policy
(`v`), the `W` panel and the pane share one count, and the headers shrink before they wrap."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.style import Style
from textual.pilot import Pilot

from k8saudit_tui.engine.model import Policy
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.workbench import store_cost
from k8saudit_tui.engine.workbench.cost import CostSummary, cost_of_lines
from k8saudit_tui.ui import render, session_views
from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.render.policy import RuleBytes, policy_lines, wrap_policy_lines
from k8saudit_tui.ui.render.sizes import byte_size, percent, short_count
from k8saudit_tui.ui.screens.workbench_screen import WorkbenchScreen
from k8saudit_tui.ui.session import open_session

from .conftest import EVENTS, POLICY, make_app, notices, settle
from .test_workbench import load_candidate_by_key

CANDIDATE = Path(__file__).parents[1] / "data" / "policies" / "kubespray-apiserver-audit-policy.yaml"


def policy(path: Path) -> Policy:
    loaded = load_policy_file(str(path)).policy
    assert loaded is not None
    return loaded


def engine_cost(path: Path) -> CostSummary:
    """What `apply` with the policy at `path` writes for the test log: the engine's figures."""
    return cost_of_lines(PolicyEvaluator(policy(path)), EVENTS.read_bytes().splitlines())


async def counted(app: ExplorerApp, pilot: Pilot) -> None:
    """Wait for the byte count's worker and its answer."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def headers(app: ExplorerApp) -> list[str]:
    return [line for line in app.main_screen.policy_pane.lines if line.startswith("rule #")]


def assert_bytes_shown(shown: list[str], cost: CostSummary, rules: int) -> None:
    assert len(shown) == rules
    for index, header in enumerate(shown):
        share = cost.by_rule.get(index)
        size = share.bytes if share is not None else 0
        mark = "≥" if cost.lower_bound and size else ""
        assert f"  {mark}{byte_size(size)}  {percent(size, cost.bytes)} of bytes" in header, header


async def test_b_shows_the_bytes_of_every_rule_of_both_policies_as_the_engine_counts_them() -> None:
    app = ExplorerApp(open_session(str(POLICY), [str(EVENTS)], str(CANDIDATE)))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        assert not any("of bytes" in header for header in headers(app))  # not counted before B
        await pilot.press("B")
        await counted(app, pilot)
        current, candidate = engine_cost(POLICY), engine_cost(CANDIDATE)
        assert current.by_rule != candidate.by_rule
        assert_bytes_shown(headers(app), current, len(policy(POLICY).rules))
        await pilot.press("v")
        await pilot.pause()
        assert "candidate" in str(app.main_screen.policy_pane.border_title)
        assert_bytes_shown(headers(app), candidate, len(policy(CANDIDATE).rules))
        stats = app.main_screen.session.rule_stats(candidate=True)
        for index, header in enumerate(headers(app)):  # beside the hits and written events
            assert f"{stats.hits.get(index, 0):,} hit" in header
            assert f"{stats.written.get(index, 0):,} written" in header


async def test_the_panel_and_the_pane_share_one_count_and_a_new_candidate_is_counted_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    costs = session_views.ViewQuestions.policy_costs

    def counting(self: session_views.ViewQuestions, *args: object) -> object:
        calls.append(1)
        return costs(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(session_views.ViewQuestions, "policy_costs", counting)
    app = ExplorerApp(open_session(str(POLICY), [str(EVENTS)], str(CANDIDATE)))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("W")
        await counted(app, pilot)
        assert isinstance(app.screen, WorkbenchScreen) and app.screen.bytes_counted
        await pilot.press("escape", "B", "W")  # counted already: neither counts again
        await counted(app, pilot)
        assert isinstance(app.screen, WorkbenchScreen) and app.screen.bytes_counted
        assert len(calls) == 1
        assert_bytes_shown(headers(app), engine_cost(POLICY), len(policy(POLICY).rules))
        await pilot.press("escape")
        monkeypatch.chdir(POLICY.parent)
        await load_candidate_by_key(app, pilot, POLICY.name)  # the panel opens, and counts the new pair
        await counted(app, pilot)
        assert len(calls) == 2
        assert isinstance(app.screen, WorkbenchScreen) and app.screen.bytes_counted
        await pilot.press("escape", "v")
        await pilot.pause()
        assert_bytes_shown(headers(app), engine_cost(POLICY), len(policy(POLICY).rules))  # the new candidate's


async def test_b_without_a_policy_says_what_is_missing() -> None:
    app = make_app(policy=None)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("B")
        await pilot.pause()
        assert notices(app) == [("warning", "Bytes need a policy and events (p loads a policy)")]


def test_the_count_reports_its_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    session = open_session(str(POLICY), [str(EVENTS)])
    for _ in session.load(threading.Event()):
        pass
    monkeypatch.setattr(store_cost, "READ_BYTES", 1)  # each event read alone: a report per event
    shares: list[float] = []
    costs = session.policy_costs(threading.Event(), shares.append)
    assert costs is not None and costs.candidate is None  # the loaded policy alone
    assert costs.current.by_rule == engine_cost(POLICY).by_rule
    assert shares == [n / session.total for n in range(session.total)]
    cancelled = threading.Event()
    cancelled.set()
    assert session.policy_costs(cancelled) is None
    closing = threading.Event()  # the panel closed while the count reads
    reported: list[float] = []

    def close_at_a_third(share: float) -> None:
        reported.append(share)
        if share >= 1 / 3:
            closing.set()

    assert session.policy_costs(closing, close_at_a_third) is None
    assert reported == shares[: len(reported)] and reported[-1] >= 1 / 3 and len(reported) < len(shares)


def test_headers_shrink_before_they_wrap() -> None:
    sizes = RuleBytes({0: 3_812_345, 1: 1_000}, 3_813_345, lower_bound=True)
    lines = policy_lines(policy(POLICY), {0: 123_456, 1: 1, None: 76_543}, 200_000, (), {0: 120_000, 1: 1}, sizes)
    full = lines[next(i for i, line in enumerate(lines) if line.rule == 0 and line.header)]
    assert full.text.plain == "rule #0 RequestResponse  123,456 hits  61.7%  120,000 written  ≥3.8 MB  100.0% of bytes"
    console = Console(width=200)
    wide = wrap_policy_lines([full], console, 100)
    assert [line.text.plain for line in wide] == [full.text.plain]
    narrow = wrap_policy_lines([full], console, 60)
    assert [line.text.plain for line in narrow] == ["#0 RequestResponse 123k hits 62% 120k wr ≥3.8 MB 100%"]
    side = wrap_policy_lines([full], console, 37)  # the side pane at 120 columns: wraps between parts
    assert [line.text.plain for line in side] == ["#0 RequestResponse 123k hits 62%", "  120k wr ≥3.8 MB 100%"]
    tiny = wrap_policy_lines([full], console, 12)  # a part longer than the line still wraps: nothing is cut
    assert all(line.text.cell_len <= 12 for line in tiny)
    assert "".join("".join(line.text.plain.split()) for line in tiny) == "#0RequestResponse123khits62%120kwr≥3.8MB100%"
    assert all(line.rule == 0 and line.header for line in side) and side[1].continues


def test_headers_carry_no_colour_under_no_color() -> None:
    sizes = RuleBytes({0: 5_000}, 5_000)
    render.use_colour(False)
    try:
        lines = policy_lines(policy(POLICY), {0: 3}, 3, (), {0: 3}, sizes)
    finally:
        render.use_colour(True)
    header = next(line for line in lines if line.header and line.rule == 0)
    for text in (header.text, *header.short):
        for span in text.spans:
            style = Style.parse(span.style) if isinstance(span.style, str) else span.style
            assert style.color is None and style.bgcolor is None, span


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (999, "999"), (1_000, "1.0k"), (9_949, "9.9k"), (9_950, "10k"), (999_499, "999k"), (999_500, "1.0M")],
)
def test_short_counts(value: int, shown: str) -> None:
    assert short_count(value) == shown


def _bytes_app(monkeypatch: pytest.MonkeyPatch) -> ExplorerApp:
    monkeypatch.chdir(POLICY.parent)
    candidate = "../../data/policies/kubespray-apiserver-audit-policy.yaml"
    return ExplorerApp(open_session(POLICY.name, [EVENTS.name], candidate))


async def _counted_candidate(pilot: Pilot) -> None:
    await counted(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.press("B")
    await counted(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.press("v")
    await pilot.pause()


def test_pane_bytes_120x36(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    """The candidate's rules in the side pane (37 columns): short numbers, wrapped between parts."""
    assert snap_compare(_bytes_app(monkeypatch), run_before=_counted_candidate, terminal_size=(120, 36))


def test_pane_bytes_80x24(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80x24 the policy pane zoomed (`tab`, `z`): the full headers fit the width."""

    async def run_before(pilot: Pilot) -> None:
        await _counted_candidate(pilot)
        await pilot.press("shift+tab", "z")
        await pilot.pause()

    assert snap_compare(_bytes_app(monkeypatch), run_before=run_before, terminal_size=(80, 24))


async def test_closing_the_panel_stops_its_count_but_not_one_asked_for_with_b(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 1M events a count takes seconds of CPU: one nobody waits for any more stops."""
    release = threading.Event()
    stopped: list[bool] = []

    def slow(self: session_views.ViewQuestions, cancel: threading.Event, progress: object = None) -> None:
        deadline = time.monotonic() + 3  # bounded: a count nobody stops fails the test, never hangs it
        while not cancel.is_set() and not release.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        stopped.append(cancel.is_set())

    monkeypatch.setattr(session_views.ViewQuestions, "policy_costs", slow)
    app = ExplorerApp(open_session(str(POLICY), [str(EVENTS)], str(CANDIDATE)))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("W")
        await pilot.pause()
        assert "counting bytes" in str(app.main_screen.status_line.render())
        await pilot.press("escape")
        await counted(app, pilot)
        assert stopped == [True]
        assert "counting bytes" not in str(app.main_screen.status_line.render())
        await pilot.press("B", "W", "escape")
        await pilot.pause()
        assert "counting bytes" in str(app.main_screen.status_line.render())
        release.set()
        await counted(app, pilot)
        assert stopped == [True, False]
