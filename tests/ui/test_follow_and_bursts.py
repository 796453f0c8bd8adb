"""Issue 12: `--follow` follows the tail, keys sent in a burst are never lost or reordered,
problems are listed (`!`), `ctrl+z` degrades where it cannot suspend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from textual import events

from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.controllers import TailFollow
from k8saudit_tui.ui.screens.help_screen import HelpScreen
from k8saudit_tui.ui.screens.problems_screen import ProblemsScreen

from .conftest import BROKEN, EVENTS, make_app, notices, settle
from .test_robustness import followed, wait_for_total

KEY_NAMES = {"/": "slash", ":": "colon", "-": "minus", "]": "right_square_bracket", "!": "exclamation_mark"}


def burst(app: ExplorerApp, *keys: str) -> None:
    """Queue every key on the app at once, as a paste or tmux send-keys does: none is handled
    before the last is queued (`pilot.press` waits for the app to idle between keys)."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(KEY_NAMES.get(key, key), key))
        else:
            app.post_message(events.Key(key, {"enter": "\r", "escape": "\x1b"}.get(key)))


def status(app: ExplorerApp) -> str:
    return str(app.main_screen.status_line.render())


async def test_slash_ctrl_u_and_text_in_a_burst_replace_the_filter() -> None:
    """`/`, `ctrl+u`, a new filter, `enter`, `j`: lost the whole edit in 7 of 8 tries."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        for attempt in range(10):
            main.apply_filter("verb:get")
            await settle(app, pilot)
            main.events_table.cursor = 0
            text = "ns:kube-system" if attempt % 2 else "verb:watch"
            burst(app, "/", "ctrl+u", *text, "enter", "j")
            await settle(app, pilot)
            assert main.filter_bar.value == text, attempt
            assert main.filter_text == text, attempt
            assert app.focused is main.events_table, attempt  # `j` found the list, not the input
            assert main.events_table.cursor == 1, attempt


async def test_escape_in_a_burst_gives_the_next_keys_to_the_list() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        for attempt in range(10):
            main.apply_filter("")
            await settle(app, pilot)
            main.events_table.cursor = 0
            burst(app, "/", "ctrl+u", *"verb:get", "escape", "j", "j")
            await settle(app, pilot)
            assert main.filter_bar.value == "verb:get", attempt
            assert app.focused is main.events_table, attempt
            assert main.events_table.cursor == 2, attempt


async def test_g_then_bracket_in_a_burst_steps_from_the_first_event_rule() -> None:
    """`g ]` within 100 ms stepped from the rule of the event the cursor was on before `g`."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        session = main.session
        hits = session.rules_with_hits()

        def after(rule: int | None) -> int:
            return next((hit for hit in hits if rule is None or hit > rule), hits[0])

        rules = [session.rule_of(int(row)) for row in main.events_table.rows]
        expected = after(rules[0])
        far = next(p for p, rule in enumerate(rules) if after(rule) != expected)
        for attempt in range(10):
            main.events_table.cursor = far  # an event whose rule is past the expected one
            await settle(app, pilot)
            assert main.policy_pane.selected == rules[far]
            burst(app, "g", "]")
            await settle(app, pilot)
            assert main.policy_pane.selected == expected, attempt
            assert rules[main.events_table.cursor] == expected, attempt
            assert rules.index(expected) == main.events_table.cursor, attempt


def event_lines(count: int, start: int = 0) -> bytes:
    return b"\n".join(EVENTS.read_bytes().split(b"\n")[start : start + count]) + b"\n"


async def test_follow_on_the_last_row_keeps_the_new_last_row_in_view(tmp_path: Path) -> None:
    log = tmp_path / "live.log"
    log.write_bytes(event_lines(50))
    app = make_app(logs=(log,), follow=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await followed(app, pilot)
        main = app.main_screen
        assert "following" in status(app)
        await pilot.press("G")
        for batch in range(3):
            with log.open("ab") as handle:
                handle.write(event_lines(10, 50 + 10 * batch))
            await wait_for_total(app, pilot, 60 + 10 * batch)
            await pilot.pause(0.1)
            table = main.events_table
            assert table.row_count == 60 + 10 * batch
            assert table.cursor == table.row_count - 1  # tail -f
            assert table.current_row == int(table.rows[-1])
            assert table.scroll_offset.y > 0 and table.cursor - table.scroll_offset.y < table.size.height
            assert "new below" not in status(app)


async def test_follow_elsewhere_stays_put_and_counts_new_events_below(tmp_path: Path) -> None:
    log = tmp_path / "live.log"
    log.write_bytes(event_lines(50))
    app = make_app(logs=(log,), follow=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await followed(app, pilot)
        main = app.main_screen
        await pilot.press("j", "j", "j")
        row, top = main.events_table.current_row, main.events_table.scroll_offset.y
        with log.open("ab") as handle:
            handle.write(event_lines(30, 50))
        await wait_for_total(app, pilot, 80)
        await pilot.pause(0.1)
        assert main.events_table.current_row == row and main.events_table.cursor == 3
        assert main.events_table.scroll_offset.y == top
        assert "30 new below: G to jump" in status(app)
        await pilot.press("G")
        await pilot.pause()
        assert "new below" not in status(app)
        assert "following" in status(app)


async def test_follow_with_a_filter_counts_only_new_matches(tmp_path: Path) -> None:
    log = tmp_path / "live.log"
    log.write_bytes(event_lines(50))
    app = make_app(logs=(log,), follow=True, filter_text="verb:get")
    async with app.run_test(size=(120, 36)) as pilot:
        await followed(app, pilot)
        main = app.main_screen
        for _ in range(50):
            await pilot.pause(0.05)
            if main.answered_filter == "verb:get":
                break
        shown = main.events_table.row_count
        main.events_table.cursor = 0
        with log.open("ab") as handle:
            handle.write(event_lines(60, 50))
        await wait_for_total(app, pilot, 110)
        for _ in range(50):
            await pilot.pause(0.05)
            if main.events_table.row_count > shown:
                break
        new = sum(1 for row in main.events_table.rows if int(row) >= 50)
        assert 0 < new < 60  # the filter leaves some of the new events out
        assert main.events_table.row_count == shown + new
        assert main.events_table.cursor == 0
        assert f"  {new} new below: G to jump" in status(app)


async def test_problems_are_listed_grouped_and_their_lines_shown() -> None:
    app = make_app(logs=(BROKEN,))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        count = len(main.session.load_problems)
        assert f"{count} problems" in status(app)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProblemsScreen)
        prompts = [
            str(screen.option_list.get_option_at_index(i).prompt) for i in range(screen.option_list.option_count)
        ]
        assert prompts[0] == "3 × truncated JSON (line cut short)"  # the most frequent reason first
        assert prompts[1:4] == [f"  {BROKEN}:{line}" for line in (10, 27, 123)]
        assert "1 × binary data, not a JSON audit Event" in prompts
        await pilot.press("j", "enter")  # the second truncated line: line 27
        for _ in range(50):
            await pilot.pause(0.02)
            if screen.lines_shown:
                break
        lines = BROKEN.read_bytes().split(b"\n")
        shown = screen.lines_shown.splitlines()
        assert [line.split()[0 if i != 2 else 1] for i, line in enumerate(shown)] == ["25", "26", "27", "28", "29"]
        assert shown[2].startswith(">") and shown[2].endswith(lines[26].decode()[-40:])
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main


async def test_a_problem_line_is_shown_safe_and_cut(tmp_path: Path) -> None:
    log = tmp_path / "hostile.log"
    long_line = b'{"kind": "Event", "x": "' + b"a" * 70_000
    log.write_bytes(event_lines(3) + b"\x1b[31m[b]red[/b]\x07 \xff\n" + event_lines(2, 3) + long_line + b"\n")
    app = make_app(logs=(log,))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        burst(app, "!")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProblemsScreen)
        texts = {}
        for index in range(screen.option_list.option_count):
            if screen.option_list.get_option_at_index(index).disabled:
                continue
            screen.option_list.highlighted = index
            await pilot.press("enter")
            for _ in range(50):
                await pilot.pause(0.02)
                if screen.lines_shown and screen.lines_shown not in texts.values():
                    break
            texts[index] = screen.lines_shown
        hostile = next(text for text in texts.values() if ">      4 " in text)
        assert "\\x1b[31m[b]red[/b]\\x07 \\xff" in hostile  # visible, not markup, not sent raw
        assert "\x1b" not in hostile and "\x07" not in hostile
        cut = next(text for text in texts.values() if ">      7 " in text)
        assert f"({len(long_line) - 64 * 1024:,} more bytes not shown)" in cut


async def test_ctrl_z_without_a_terminal_to_suspend_says_so_and_goes_on() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.is_running
        assert ("warning", "This terminal cannot suspend the app") in notices(app)
        await pilot.press("j")
        assert app.main_screen.events_table.cursor == 1


async def test_help_and_palette_list_the_new_keys() -> None:
    app = make_app(logs=(BROKEN,))
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        described = {(keys, description) for _, keys, description in app.screen.rows}
        assert ("ctrl+z", "Suspend (fg resumes)") in described
        assert any(keys == "!" and "broken lines" in description for keys, description in described)
        assert ("enter", "Apply filter and go to the list") in described
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"problems")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ProblemsScreen)


@given(st.lists(st.integers(0, 60), max_size=40, unique=True), st.integers(0, 60), st.data())
def test_tail_counts_the_new_rows_below_the_cursor_as_a_plain_count(rows: list[int], seen: int, data: Any) -> None:
    tail = TailFollow()
    tail.start(seen)
    tail.grew(61)
    view = np.array(rows, dtype=np.int64)
    cursor = data.draw(st.integers(0, max(0, len(rows) - 1)))
    was_last = data.draw(st.booleans())
    position = tail.placed(view, cursor, was_last)
    if was_last:
        assert position == max(0, len(rows) - 1) and tail.new_below == 0
    else:
        assert position is None
        assert tail.new_below == (sum(1 for row in rows[cursor + 1 :] if row >= seen) if cursor < len(rows) - 1 else 0)
