"""Pilot tests of the timeline strip: `t` toggles it, its counts are the view's, and the buckets
chosen with the keys become a `time:A..B` term that selects exactly their events."""

from __future__ import annotations

from pathlib import Path

from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.widgets.timeline import BARS, TimelineStrip
from tests.auditlog_helpers import event, line, write_lines

from .conftest import make_app, settle


def spread_log(path: Path, count: int = 400) -> Path:
    """`count` events over about five hours, of several verbs, some slow (received long before
    their stage time: the timeline and `time:` read the receive time)."""
    events = []
    for n in range(count):
        seconds = n * 47 % 18_000
        stamp = f"2024-05-14T{9 + seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{n:06d}Z"
        one = event(n, verb=("get", "list", "watch", "create")[n % 4], time=stamp)
        if n % 9 == 0:
            one["stageTimestamp"] = f"2024-05-14T15:00:00.{n:06d}Z"
        events.append(one)
    return write_lines(path, [line(e) for e in sorted(events, key=lambda e: str(e["stageTimestamp"]))])


async def timeline_built(app: ExplorerApp, pilot: object) -> TimelineStrip:
    """Wait for the strip's build (thread worker, throttled) and return the strip."""
    strip = app.main_screen.timeline
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        if not strip.pending:
            break
    assert not strip.pending
    return strip


def strip_lines(strip: TimelineStrip) -> list[str]:
    return [strip.render_line(y).text for y in range(2)]


async def test_t_shows_focuses_and_hides_the_timeline() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert not main.timeline.display
        await pilot.press("t")
        assert main.timeline.display and main.focused is main.timeline
        await pilot.press("escape")
        assert main.timeline.display and main.focused is main.events_table
        await pilot.press("t")
        assert main.focused is main.timeline
        await pilot.press("t")
        assert not main.timeline.display and main.focused is main.events_table


async def test_the_strip_counts_the_filtered_view(tmp_path: Path) -> None:
    app = make_app(logs=(spread_log(tmp_path / "audit.log"),))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await pilot.press("t")
        strip = await timeline_built(app, pilot)
        total = main.session.total
        assert strip.timeline.total + strip.timeline.unknown == total > 0
        main.apply_filter("verb:get,list")
        await settle(app, pilot)
        strip = await timeline_built(app, pilot)
        shown = main.events_table.row_count
        assert 0 < shown < total
        assert strip.timeline.total + strip.timeline.unknown == shown
        await pilot.press("w")  # written / dropped: the same events, split otherwise
        strip = await timeline_built(app, pilot)
        assert strip.timeline.classes == ("written", "dropped")
        assert strip.timeline.total + strip.timeline.unknown == shown


async def test_bars_are_heights_and_the_cursor_is_marked(tmp_path: Path) -> None:
    app = make_app(logs=(spread_log(tmp_path / "audit.log"),))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await pilot.press("t", "escape")
        strip = await timeline_built(app, pilot)
        bars, labels = strip_lines(strip)
        totals = strip.timeline.totals.tolist()
        for count, cell in zip(totals, bars, strict=False):
            assert (cell == " ") == (count == 0) and (cell == " " or cell in BARS)
        assert bars[totals.index(max(totals))] == BARS[-1]
        cursor_bucket = strip.timeline.bucket_of(main.session.time_of(main.events_table.current_row or 0))
        assert cursor_bucket is not None and labels[cursor_bucket] == "▲"


async def test_a_chosen_range_filters_to_exactly_its_buckets(tmp_path: Path) -> None:
    app = make_app(logs=(spread_log(tmp_path / "audit.log"),))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        main.apply_filter("!verb:watch")
        await settle(app, pilot)
        await pilot.press("t")
        strip = await timeline_built(app, pilot)
        timeline = strip.timeline
        await pilot.press("home", "right", "shift+right", "shift+right", "shift+right")
        first, last = strip.selection
        assert (first, last) == (1, 4)
        assert "events" in strip_lines(strip)[1]  # the selection's summary, in words
        view = main.events_table.rows.tolist()
        expected = [row for row in view if timeline.bucket_of(main.session.time_of(row)) in range(first, last + 1)]
        await pilot.press("enter")
        await settle(app, pilot)
        term = timeline.range_term(first, last)
        assert main.filter_text == f"!verb:watch {term}"
        assert main.filter_bar.value == f"!verb:watch {term}"
        assert main.focused is main.events_table
        assert main.events_table.rows.tolist() == expected
        assert len(expected) == int(timeline.totals[first : last + 1].sum()) > 0
