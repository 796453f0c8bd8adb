"""The facet panel (`f`): counted off the event loop, moved by keys, and `enter` / `x` add the
exact term to the filter, so the list shows exactly the counted events (or all the others)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.screens.facets_screen import FacetsScreen
from k8saudit_tui.ui.session import open_session

from .conftest import DATA, HOSTILE_STRINGS, make_app, settle, write_hostile_log


async def _open(app: ExplorerApp, pilot: Pilot) -> FacetsScreen:
    await pilot.press("f")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, FacetsScreen)
    for _ in range(250):
        if screen.counted:
            break
        await pilot.pause(0.02)
    assert screen.counted
    await pilot.pause()
    return screen


def _shown(screen: FacetsScreen) -> str:
    return str(screen.query_one("#facets-body").render())


async def test_enter_adds_the_value_and_the_list_shows_exactly_its_events() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.main_screen.apply_filter("!verb:watch")
        await settle(app, pilot)
        screen = await _open(app, pilot)
        assert screen.current is not None and screen.current[0] == "user"
        await pilot.press("right", "down")  # verb, its second value
        field, label = screen.current  # type: ignore[misc]
        assert field == "verb"
        verbs = screen._facets[1]  # type: ignore[index]
        expected = verbs.values[1]
        assert expected.label == label
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.main_screen.filter_text == f"!verb:watch verb:{label}"
        assert app.main_screen.events_table.row_count == expected.events


async def test_x_filters_the_value_out() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        total = app.main_screen.events_table.row_count
        screen = await _open(app, pilot)
        await pilot.press("tab", "tab")  # resource
        field, label = screen.current  # type: ignore[misc]
        assert field == "resource"
        count = screen._facets[2].values[0].events  # type: ignore[index]
        await pilot.press("x")
        await settle(app, pilot)
        assert app.main_screen.filter_text == f"!resource:{label}/"
        assert app.main_screen.events_table.row_count == total - count


async def test_escape_closes_and_leaves_the_filter() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await _open(app, pilot)
        await pilot.press("down", "escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, FacetsScreen)
        assert app.main_screen.filter_text == ""
        assert app.main_screen.events_table.row_count == app.session.total


async def test_counting_is_shown_until_the_worker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        monkeypatch.setattr(FacetsScreen, "_count", lambda self: None)  # never answers
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, FacetsScreen) and "counting..." in _shown(app.screen)
        await pilot.press("enter")  # nothing to pick yet
        assert isinstance(app.screen, FacetsScreen)


async def test_hostile_values_are_shown_as_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(None, [write_hostile_log(tmp_path / "hostile.log")])
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        screen = await _open(app, pilot)
        text = _shown(screen)
        assert "[b]root[/b]" in text and "\\x1b[31mred" in text and "\x1b" not in text
        assert all(visible(s) in text for s in HOSTILE_STRINGS)  # every user, made visible


def test_facet_panel_80x24(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The panel over the demo log at 80x24: fields, the verb values, the keys."""
    monkeypatch.chdir(DATA)

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await settle(app, pilot)  # type: ignore[arg-type]
        await _open(app, pilot)  # type: ignore[arg-type]
        await pilot.press("right", "down")

    app = ExplorerApp(open_session("website-policy.yaml", ["events-300.log"]))
    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))
