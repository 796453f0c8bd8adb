"""Pilot tests of `T`: jump to the first event of the view at or after a time."""

from __future__ import annotations

import numpy as np
from textual.widgets import Input

from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.query.timefilter import MINUTE, SECOND, received_times
from k8saudit_tui.ui.screens.jump_screen import JumpScreen

from .conftest import make_app, settle


def clock(nanos: int) -> str:
    """`HH:MM:SS.fffffffff`: a time of day to the nanosecond (the test log spans 0.2 s)."""
    seconds = nanos // SECOND % 86_400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{nanos % SECOND:09d}"


async def test_t_moves_the_cursor_to_the_first_event_at_or_after_a_time() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        store = main.session.store
        assert store is not None
        rows = main.events_table.rows
        times = received_times(store, len(store))[rows]
        target = int(times[len(rows) // 2])
        text = clock(target)  # a time of day: on the last event's day
        expected = int(np.flatnonzero(times >= target)[0])
        assert expected > 0  # the cursor must really move
        await pilot.press("T")
        assert isinstance(app.screen, JumpScreen)
        await pilot.press(*text, "enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, JumpScreen)
        assert main.events_table.cursor == expected
        # what `time:` means by that time selects the same first event
        assert compile_filter(f"time:{text}..").apply(store)[0] == rows[expected]

        # -1m: back from the end of the log, in the view's order (here: the first event)
        await pilot.press("T", "minus", "1", "m", "enter")
        await settle(app, pilot)
        latest = int(times.max())
        assert main.events_table.cursor == int(np.flatnonzero(times >= latest - MINUTE)[0])


async def test_a_bad_time_is_shown_in_the_dialog_and_escape_keeps_the_cursor() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        before = main.events_table.cursor
        await pilot.press("T", *"25:99", "enter")
        await pilot.pause()
        assert isinstance(app.screen, JumpScreen)
        assert "bad time of day" in app.screen.error
        assert "bad time of day" in str(app.screen.query_one("#jump-error").render())
        app.screen.query_one("#jump-time", Input).value = "2999-01-01"
        await pilot.press("enter")
        await pilot.pause()
        assert "no event at or after 2999-01-01" in app.screen.error
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, JumpScreen)
        assert main.events_table.cursor == before
