"""What the panes say about themselves: border titles (policy file, event count, event place),
made safe; counts with their plural forms; the footer's `?` and `q` at 80x24; levels told apart
without colour under NO_COLOR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.style import Style
from rich.text import Text

from k8saudit_tui.ui import render
from k8saudit_tui.ui.render.status import events_title, file_title, location_title, short_path, status_text

from .conftest import DATA, make_app, settle

LEVELS = ("None", "Metadata", "Request", "RequestResponse")


def plain(title: object) -> str:
    """A title's text: render builds `Text` (never markup); a widget gives back its plain text."""
    return title.plain if isinstance(title, Text) else str(title)


@pytest.mark.parametrize(
    ("n", "noun", "expected"),
    [(0, "event", "0 events"), (1, "event", "1 event"), (2, "problem", "2 problems"), (3000, "hit", "3,000 hits")],
)
def test_count_says_one_thing_and_many_things(n: int, noun: str, expected: str) -> None:
    assert render.count(n, noun) == expected


def test_the_status_line_counts_in_the_right_number() -> None:
    options = {"collapsed": False, "filter_text": "", "loading": False, "loaded_share": None, "has_policy": True}
    assert status_text(1, 1, problems=1, **options).plain == "1 of 1 event  1 problem (press !)"  # type: ignore[arg-type]
    assert status_text(2, 3, problems=2, **options).plain == "2 of 3 events  2 problems (press !)"  # type: ignore[arg-type]


def test_events_title_has_separators_and_the_matched_count() -> None:
    assert events_title(3000, 3000).plain == "Events 3,000"
    assert events_title(1234, 3000).plain == "Events 1,234 of 3,000"


def test_file_names_are_short_and_safe(tmp_path: Path) -> None:
    assert short_path(str(tmp_path / "a" / "p.yaml"), str(tmp_path)) == os.path.join("a", "p.yaml")
    assert short_path("/elsewhere/policy.yaml", str(tmp_path)) == "policy.yaml"
    hostile = "[b]x[b]\x1b[31m.yaml"
    title = file_title(hostile)
    assert isinstance(title, Text) and title.plain == "[b]x[b]\\x1b[31m.yaml"
    assert plain(location_title(f"/var/log/{hostile}:12")) == "[b]x[b]\\x1b[31m.yaml:12"
    assert file_title(None) is None


async def test_pane_titles_at_120(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA.parent)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert plain(main.policy_pane.border_title) == "data/website-policy.yaml"
        assert plain(main.events_table.border_title) == "Events 300"
        assert plain(main.detail_pane.border_title) == "data/events-300.log:1"
        main.apply_filter("verb:watch")
        await settle(app, pilot)
        shown = main.events_table.row_count
        assert 0 < shown < 300
        assert plain(main.events_table.border_title) == f"Events {shown:,} of 300"
        assert "─ Events " in app.screen._compositor.render_strips()[0].text


async def test_the_footer_shows_help_and_quit_at_80x24() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        footer = app.screen._compositor.render_strips()[-1].text
        assert "? Help" in footer and "q Quit" in footer


async def test_no_color_levels_differ_by_weight_and_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        assert app.no_color
        styles = [Style.parse(render.level_style(level) or "none") for level in LEVELS]
        assert all(style.color is None and style.bgcolor is None for style in styles)
        looks = {(bool(s.bold), bool(s.dim), bool(s.underline), bool(s.reverse)) for s in styles}
        assert len(looks) == len(LEVELS)
    monkeypatch.delenv("NO_COLOR")
    colour = make_app()
    async with colour.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert render.level_style("RequestResponse") == render.LEVEL_STYLES["RequestResponse"]


def test_levels_differ_without_colour_in_colour_mode_too() -> None:
    looks = set()
    for level in LEVELS:
        style = Style.parse(render.LEVEL_STYLES[level])
        looks.add((bool(style.bold), bool(style.dim), bool(style.underline), bool(style.reverse)))
    assert len(looks) == len(LEVELS)
