"""Issue 5 for the explorer: files that change under it, keys that arrive in a burst, a log on
stdin. Nothing crashes, the user is told what went wrong, and the app keeps working."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Input

from k8saudit_tui.ui import launch
from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.screens.export_screen import ExportScreen
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.session import Session, open_session

from .conftest import EVENTS, POLICY, detail_shown, hostile_event, make_app, notices, settle


async def reload_policy(app: ExplorerApp, pilot: Any) -> None:
    """`p`, accept the path the dialog offers (the policy in use), `enter`."""
    await pilot.press("p")
    await pilot.pause()
    assert isinstance(app.screen, OpenPolicyScreen)
    await pilot.press("enter")
    await settle(app, pilot)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b"\x00\xff\xfe rules: [ {{{\n\x1b[31m"), id="garbage"),
        pytest.param(
            lambda path: path.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: 7\n"), id="not-a-policy"
        ),
        pytest.param(lambda path: path.unlink(), id="deleted"),
    ],
)
async def test_policy_replaced_while_open_keeps_the_previous_one(tmp_path: Path, damage: Any) -> None:
    policy = tmp_path / "policy.yaml"
    shutil.copy(POLICY, policy)
    app = make_app(policy=policy)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        evaluator = main.session.evaluator
        counts = main.session.rule_counts()
        damage(policy)
        await reload_policy(app, pilot)
        errors = [text for severity, text in notices(app) if severity == "error"]
        assert len(errors) == 1, notices(app)
        title, _, message = errors[0].partition("\n")
        assert title == f"Cannot use {policy}"  # which file
        assert message  # and why
        assert "\x1b" not in title + message  # the garbage is not echoed raw to the terminal
        # the previous policy is still the one in force, and everything still works
        assert main.session.evaluator is evaluator
        assert main.session.rule_counts() == counts
        assert main.policy_pane.rule_count == 9
        await pilot.press("j", "j")
        await detail_shown(app, pilot)
        assert main.events_table.cursor == 2
        assert "Verdict: rule #" in main.detail_pane.text.plain
        main.apply_filter("verb:watch")
        await settle(app, pilot)
        assert 0 < main.events_table.row_count < main.session.total


async def test_keys_typed_in_a_burst_after_slash_reach_the_filter() -> None:
    """A paste or a fast typist (tmux send-keys): every key is queued before the first is
    handled. None may reach the list's bindings (e exports, s collapses, n steps, k moves)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        text = "ns:kube-system"
        app.post_message(events.Key("slash", "/"))
        for char in text:
            app.post_message(events.Key({":": "colon", "-": "minus"}.get(char, char), char))
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert main.filter_bar.value == text
        assert isinstance(app.focused, Input)
        assert main.filter_bar.query_one("#filter-error").display  # the hint line, while typing
        assert not isinstance(app.screen, ExportScreen)
        assert not main.collapsed
        assert main.events_table.cursor == 0
        assert main.filter_text == text
        namespaces = {main.session.row_values(int(row))["namespace"] for row in main.events_table.rows}
        assert namespaces == {"kube-system"}


def test_log_on_stdin_is_spooled_and_explored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`k8saudit-tui --policy P -` with the log piped in: spooled, then keys come from the tty."""
    piped = EVENTS.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(piped)))
    attached: list[bool] = []
    opened: list[ExplorerApp] = []
    monkeypatch.setattr(launch, "attach_terminal_input", lambda: attached.append(True) or True)

    def fake_run(self: ExplorerApp) -> int:
        opened.append(self)
        return 0

    monkeypatch.setattr(ExplorerApp, "run", fake_run)
    assert launch.run_tui(["--policy", str(POLICY), "-"]) == 0
    assert attached == [True]
    (app,) = opened
    (source,) = app.session.sources
    assert source.name == "<stdin>" and source.path != "-"
    assert Path(source.path).read_bytes() == piped


def test_log_on_stdin_without_a_terminal_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(EVENTS.read_bytes())))
    monkeypatch.setattr(launch, "attach_terminal_input", lambda: False)
    monkeypatch.setattr(ExplorerApp, "run", lambda self: pytest.fail("must not start without a terminal"))
    assert launch.run_tui(["--policy", str(POLICY), "-"]) == 2
    assert "no terminal" in capsys.readouterr().err


async def test_stdin_session_loads_in_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(EVENTS.read_bytes())))
    app = ExplorerApp(open_session(str(POLICY), ["-"]))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert main.session.total == sum(1 for line in EVENTS.read_bytes().split(b"\n") if line.strip())
        assert main.session.location(main.events_table.current_row).startswith("<stdin>:")
        assert "<stdin>:" in main.detail_pane.text.plain


def event_lines(start: int, count: int) -> str:
    """`count` valid events with distinct audit IDs, starting at index `start`."""
    return "".join(json.dumps(hostile_event(start + i, f"user-{start + i}")) + "\n" for i in range(count))


async def followed(app: ExplorerApp, pilot: Any) -> None:
    """Wait for the load to finish (`settle` would wait forever: the follow worker never ends)."""
    for _ in range(200):
        await pilot.pause(0.05)
        if not app.main_screen.is_loading:
            break
    await detail_shown(app, pilot)


async def wait_for_total(app: ExplorerApp, pilot: Any, total: int) -> None:
    """Let the follow worker (polling every 0.2 s) pick up what was written."""
    for _ in range(100):
        if app.main_screen.session.total >= total:
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def test_followed_log_that_is_rotated_keeps_working(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(event_lines(0, 5))
    app = make_app(logs=(log,), follow=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await followed(app, pilot)
        main = app.main_screen
        await pilot.press("j", "j")
        log.rename(tmp_path / "audit.log.1")  # logrotate: move aside, start a new file
        (tmp_path / "audit.log.1").open("a").write(event_lines(5, 2))  # the writer's last lines
        log.write_text(event_lines(7, 3))
        await wait_for_total(app, pilot, 10)
        assert main.session.total == 10
        assert main.events_table.row_count == 10
        assert main.events_table.cursor == 2  # where the user left it
        # old, drained and new events are all readable
        for position in (0, 6, 9):
            main.events_table.cursor = position
            await detail_shown(app, pilot)
            assert main.store_event()["user"]["username"] in main.detail_pane.text.plain
        with log.open("a") as handle:
            handle.write(event_lines(10, 1))
        await wait_for_total(app, pilot, 11)
        assert main.events_table.row_count == 11


async def test_followed_log_that_is_truncated_keeps_working(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(event_lines(0, 6))
    app = make_app(logs=(log,), follow=True)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await followed(app, pilot)
        main = app.main_screen
        with log.open("r+") as handle:  # copytruncate: emptied in place, then written again
            handle.truncate(0)
        log.write_text(event_lines(20, 2))
        await wait_for_total(app, pilot, 8)
        assert main.session.total == 8
        assert main.events_table.row_count == 8
        usernames = {main.session.row_values(int(row))["user"] for row in main.events_table.rows}
        assert {"user-20", "user-21"} <= usernames
        # an event whose bytes were truncated away: the pane says it is gone (its offset now holds
        # another event, which must never be shown as its own), nothing raises; each position a
        # move of the cursor (the detail built before the truncation, from the event's own bytes,
        # stays while the cursor does)
        for position in reversed(range(main.events_table.row_count)):
            main.events_table.cursor = position
            await detail_shown(app, pilot)
            user = main.session.row_values(int(main.events_table.rows[position]))["user"]
            shown = main.detail_pane.text.plain
            if user in ("user-20", "user-21"):
                assert shown.startswith(f"{log}:") and user in shown
            else:
                assert shown.startswith("cannot read this event") and "truncated" in shown
        assert not [n for n in notices(app) if n[0] == "error"]
        await pilot.press("j", "G")
        assert main.events_table.cursor == 7


async def test_followed_log_that_is_deleted_keeps_working(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(event_lines(0, 4))
    app = make_app(logs=(log,), follow=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await followed(app, pilot)
        main = app.main_screen
        os.unlink(log)
        await pilot.pause(0.5)
        await pilot.press("G", "k")
        await detail_shown(app, pilot)
        assert main.events_table.cursor == 2
        assert main.store_event()["user"]["username"] in main.detail_pane.text.plain


async def test_pane_keys_typed_in_a_burst_follow_the_focus_they_set() -> None:
    """`tab tab z` sent at once: each tab sees the focus the previous one set, so the policy
    pane (events -> detail -> policy) is the one zoomed."""
    app = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        for key, character in (("tab", "\t"), ("tab", "\t"), ("z", "z")):
            app.post_message(events.Key(key, character))
        await pilot.pause(0.3)
        assert app.focused is main.policy_pane
        assert main.has_class("-zoomed") and main.policy_pane.has_class("-zoom")


async def test_no_color_app_runs_every_pane_and_dialog(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR=1 used to crash at the first paint (Textual's Monochrome filter on a segment
    without a style); every pane and dialog is painted here under it."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.no_color
        main = app.main_screen
        for keys in (("j", "j"), ("tab",), ("tab",), ("z",), ("z",), ("question_mark",), ("escape",)):
            await pilot.press(*keys)
            await detail_shown(app, pilot)
        assert "rule" in app.export_screenshot()  # the whole screen renders
        await pilot.press("tab", "e")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ExportScreen)
        # without colour a toggle's state is in its mark: X / ● when on, blank when off
        from textual.widgets import Checkbox, RadioButton

        marks = {w.id: w.BUTTON_INNER for w in app.screen.query(Checkbox)}
        assert marks == {"export-redact": "X", "export-force": " "}
        assert [w.BUTTON_INNER for w in app.screen.query(RadioButton)] == ["●", " ", " ", " "]
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert main.events_table.cursor == 2
    assert app.return_code is None  # nothing stopped the app: it was still running when the test left


def painted_states(app: ExplorerApp, state: Any) -> list[Any]:
    """Record `state()` at every screen update the app sends to the terminal."""
    frames: list[Any] = []
    display = app._display

    def spy(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None:
            frames.append(state())

    app._display = spy  # type: ignore[method-assign]
    return frames


async def test_a_typed_filter_key_shows_with_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The echo of a key typed in the filter waits for the filter's answer, so no frame shows
    the new text over the old rows (and Textual's frame pacing adds nothing to the answer)."""
    from k8saudit_tui.ui.screens import main_screen

    monkeypatch.setattr(main_screen, "ECHO_HOLD", 5.0)  # a slow CI machine must not let it out
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await pilot.press("slash")
        await settle(app, pilot)
        frames = painted_states(app, lambda: (main.filter_bar.value, main.answered_filter))
        for char in "verb:watch":
            app.post_message(events.Key({":": "colon"}.get(char, char), char))
            await settle(app, pilot)
        shown = [value for value, _ in frames]
        assert shown[-1] == "verb:watch" and "v" in shown  # every step was painted
        assert all(value == answered for value, answered in frames), frames
        assert not main.paints_held


async def test_a_slow_filter_lets_the_typed_key_show_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter slower than ECHO_HOLD: the key shows after ECHO_HOLD, the rows when ready."""
    import time

    from k8saudit_tui.ui.screens import main_screen
    from k8saudit_tui.ui.session import Session

    monkeypatch.setattr(main_screen, "ECHO_HOLD", 0.05)
    filter_rows = Session.filter_rows

    def slow(self: Session, text: str) -> Any:
        time.sleep(0.5)
        return filter_rows(self, text)

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await pilot.press("slash")
        await settle(app, pilot)
        monkeypatch.setattr(Session, "filter_rows", slow)
        frames = painted_states(app, lambda: (main.filter_bar.value, main.answered_filter))
        app.post_message(events.Key("x", "x"))
        await pilot.pause(0.3)
        assert ("x", None) in frames  # the echo, before any answer
        await settle(app, pilot)
        assert frames[-1] == ("x", "x")


def test_session_builds_the_filter_indexes_once_loaded_and_not_when_cancelled(tmp_path: Path) -> None:
    """The explorer's first keystrokes find the search indexes built (the loader alone does not
    build them: headless commands build what their one filter needs)."""
    import threading

    log = tmp_path / "audit.log"
    log.write_text(event_lines(0, 5))
    session = open_session(str(POLICY), [str(log)])
    list(session.load(threading.Event()))
    assert session.store is not None and ("joined", "requests") in session.store.match_cache
    cancelled = threading.Event()
    cancelled.set()
    other = open_session(str(POLICY), [str(log)])
    list(other.load(cancelled))
    assert other.store is not None and ("joined", "requests") not in other.store.match_cache


async def test_a_failed_export_is_told_in_the_dialog_and_the_app_goes_on(tmp_path: Path) -> None:
    """A failed write is told where it can be fixed (the dialog), nothing is raised."""
    target = tmp_path / "missing-dir" / "out.jsonl"
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        path_input = dialog.query_one("#export-path", Input)
        path_input.value = str(target)
        path_input.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert dialog.error == f"{target.parent}: directory does not exist"
        assert notices(app) == []
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("j")
        await detail_shown(app, pilot)
        assert app.main_screen.events_table.cursor == 1
    assert app.return_code is None  # nothing stopped the app: it was still running when the test left
    assert not target.exists()


async def test_a_loader_that_fails_stops_loading_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_load(self: Any, cancel: Any) -> Iterator[Any]:
        raise OSError("the disk went away")
        yield

    monkeypatch.setattr(Session, "load", broken_load)
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert notices(app) == [("error", "Loading stopped\nOSError: the disk went away")]
        assert not main.is_loading
        assert not main.progress_bar.display
        assert "loading" not in str(main.status_line.render())
    assert app.return_code is None  # nothing stopped the app: it was still running when the test left
