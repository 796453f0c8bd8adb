"""Snapshot tests (pytest-textual-snapshot): plain `def` tests, fixed sizes, fixed data.

The tests run from inside tests/ui/data with relative file names, so the pictures do not depend
on where the repository is checked out.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.session import open_session

from .conftest import DATA, detail_shown


@pytest.fixture(autouse=True)
def _in_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)


def demo_app() -> ExplorerApp:
    """The website policy and the generated 300-event log."""
    return ExplorerApp(open_session("website-policy.yaml", ["events-300.log"]))


async def loaded(pilot: Pilot) -> None:
    """Wait until the log is in and the first event is shown."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    await detail_shown(pilot.app, pilot)  # type: ignore[arg-type]


def test_main_screen_80x24(snap_compare) -> None:
    """Stacked panes: policy (rules with hits), events list with heading and cursor, detail, footer."""

    assert snap_compare(demo_app(), run_before=loaded, terminal_size=(80, 24))


def test_main_screen_120x36(snap_compare) -> None:
    """Side by side: policy on the left, events and detail on the right, status line, footer."""

    assert snap_compare(demo_app(), run_before=loaded, terminal_size=(120, 36))


def test_main_screen_200x50(snap_compare) -> None:
    """Wide: every column of the events list shows, object name and code included."""

    assert snap_compare(demo_app(), run_before=loaded, terminal_size=(200, 50))


def test_help_screen(snap_compare) -> None:
    """The `?` screen lists every key by pane."""

    async def run_before(pilot: Pilot) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(demo_app(), run_before=run_before, terminal_size=(120, 40))


def test_export_dialog(snap_compare) -> None:
    """The export dialog: event count of the filtered view, formats, path, options."""

    async def run_before(pilot: Pilot) -> None:
        await loaded(pilot)
        pilot.app.main_screen.apply_filter("verb:watch")
        await loaded(pilot)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(demo_app(), run_before=run_before, terminal_size=(120, 36))
