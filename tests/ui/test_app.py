"""Pilot tests of the explorer: loading, every key, dialogs, layout, follow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, RadioButton

from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.launch import run_tui
from k8saudit_tui.ui.screens.export_screen import ExportScreen
from k8saudit_tui.ui.screens.help_screen import HelpScreen
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.widgets.detail_pane import DetailPane
from k8saudit_tui.ui.widgets.policy_pane import NO_RULE

from .conftest import BROKEN, CORPUS, DATA, EVENTS, POLICY, detail_shown, hostile_event, make_app, settle


def lines_of(path: Path) -> list[bytes]:
    """The non-blank lines of a log (split on newline only, as the loader does)."""
    return [line for line in path.read_bytes().split(b"\n") if line.strip()]


async def test_loads_log_and_policy_shows_counts() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        total = main.session.total
        assert total == len(lines_of(EVENTS))
        assert main.events_table.row_count == total
        assert f"{total:,} of {total:,} events" in str(main.status_line.render())
        assert main.policy_pane.rule_count == len(main.session.policy.rules)
        # hit counts add up to the events, and appear in the rule headers
        counts = main.session.rule_counts()
        assert sum(counts.values()) == total
        headers = [line for line in main.policy_pane.lines if line.startswith("rule #")]
        assert any(f"{counts[rule]:,} hits" in headers[rule] for rule in counts if rule is not None)
        assert not main.is_loading


async def test_detail_answers_the_questions_and_shows_the_verdict() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        detail = app.main_screen.query_one(DetailPane).text.plain
        for question in ("When:", "What:", "On what:", "To where:", "Observed:", "From where:", "Who:"):
            assert question in detail
        assert "Verdict:" in detail and "Written:" in detail
        assert "Why (rules tried in order)" in detail
        event = app.main_screen.store_event()
        assert event["auditID"] in detail  # the full JSON


async def test_corpus_log_loads_every_event() -> None:
    app = make_app(logs=(CORPUS,))
    async with app.run_test() as pilot:
        await settle(app, pilot)
        assert app.main_screen.events_table.row_count == len(lines_of(CORPUS))


async def test_broken_lines_are_counted_and_good_events_kept() -> None:
    app = make_app(logs=(BROKEN,))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        problems = len(main.session.load_problems)
        assert problems > 0
        assert main.session.total == 150  # the generator wrote 150 good events (tests/ui/data/README.md)
        assert main.session.total + problems == len(lines_of(BROKEN))
        assert f"{problems:,} problems" in str(main.status_line.render())


async def test_log_without_policy_opens_with_a_hint() -> None:
    app = make_app(policy=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert main.events_table.row_count == len(lines_of(EVENTS))
        assert "press p" in str(main.status_line.render())
        assert "No policy loaded" in main.detail_pane.text.plain


async def test_policy_without_log_shows_the_policy() -> None:
    app = make_app(logs=())
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert main.events_table.row_count == 0
        assert main.policy_pane.rule_count == 9


async def test_cursor_keys_move_through_the_list() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        table = app.main_screen.events_table
        await pilot.press("j", "j", "down")
        assert table.cursor == 3
        await pilot.press("k", "up")
        assert table.cursor == 1
        await pilot.press("G")
        assert table.cursor == table.row_count - 1
        await pilot.press("g")
        assert table.cursor == 0
        await pilot.press("pagedown")
        assert table.cursor > 5
        await pilot.press("pageup")
        assert table.cursor == 0
        await pilot.press("end")
        await pilot.pause()
        # the last row is painted: its time is on screen
        assert table.scroll_offset.y > 0


async def test_detail_follows_the_cursor() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        first = main.store_event()
        await pilot.press("G")
        await pilot.pause()
        event = main.store_event()
        # the list moves at once; the detail follows once the cursor rests (DETAIL_DELAY)
        assert first["auditID"] != event["auditID"]
        await detail_shown(app, pilot)
        assert event["auditID"] in main.detail_pane.text.plain


async def test_filter_bar_filters_live_and_escape_returns() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        total = main.events_table.row_count
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"verb:watch")
        await pilot.pause(0.3)
        await settle(app, pilot)
        watches = main.events_table.row_count
        assert 0 < watches < total
        for row in main.events_table.rows[:50]:
            assert main.session.row_values(int(row))["verb"] == "watch"
        assert "filter: verb:watch" in str(main.status_line.render())
        await pilot.press("escape")
        assert app.focused is main.events_table


async def test_invalid_filter_term_is_an_error_not_a_crash() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        total = main.events_table.row_count
        await pilot.press("slash", *"nosuchfield:x", "enter")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert main.filter_bar.has_class("-error")
        assert 'unknown field "nosuchfield"' in str(main.filter_bar.query_one("#filter-error").render())
        assert main.filter_text != "nosuchfield:x"  # the last valid filter stays in force
        await pilot.press("escape")
        main.apply_filter("")
        await settle(app, pilot)
        assert not main.filter_bar.has_class("-error")
        assert main.events_table.row_count == total


async def test_n_and_shift_n_step_through_the_same_rule() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        table = main.events_table
        rule = main.session.rule_of(table.current_row)
        await pilot.press("n")
        first = table.cursor
        assert first > 0
        assert main.session.rule_of(table.current_row) == rule
        await pilot.press("n")
        assert table.cursor > first
        assert main.session.rule_of(table.current_row) == rule
        await pilot.press("N")
        assert table.cursor == first


async def test_brackets_step_through_rules_with_hits() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        hit = main.session.rules_with_hits()
        counts = main.session.rule_counts()
        assert (
            len(hit) >= 2 and hit == sorted(hit) and set(hit) == {r for r, c in counts.items() if r is not None and c}
        )
        main.policy_pane.selected = hit[0]
        await pilot.press("right_square_bracket")
        assert main.policy_pane.selected == hit[1]
        assert main.session.rule_of(main.events_table.current_row) == hit[1]
        await pilot.press("left_square_bracket")
        assert main.policy_pane.selected == hit[0]


async def test_a_detail_built_for_where_the_cursor_was_is_dropped() -> None:
    """A detail (and the rule it marks in the policy pane) that arrives after the cursor moved
    on must not undo the move: `[` right after `]` once put the policy cursor back on `]`'s rule."""
    from textual.message import Message

    from k8saudit_tui.ui.messages import DetailBuilt
    from k8saudit_tui.ui.widgets.detail_pane import message_content

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        built: list[DetailBuilt] = []
        post = main.post_message

        def keep_built(message: Message) -> bool:
            if isinstance(message, DetailBuilt):
                built.append(message)
            return post(message)

        main.post_message = keep_built  # type: ignore[method-assign]
        hit = main.session.rules_with_hits()
        main.policy_pane.selected = hit[0]
        await pilot.press("right_square_bracket")
        await detail_shown(app, pilot)
        row, generation = main.events_table.current_row, built[-1].generation
        assert built[-1].row == row  # the detail shown now is for `]`'s event
        await pilot.press("left_square_bracket")
        assert row is not None and main.policy_pane.selected == hit[0]
        main.post_message(DetailBuilt(generation, row, message_content("built for the old place")))
        await pilot.pause()
        assert main.policy_pane.selected == hit[0]
        assert "built for the old place" not in main.detail_pane.text.plain


async def test_enter_on_a_rule_filters_to_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        counts = main.session.rule_counts()
        rule = max((r for r in counts if r is not None), key=lambda r: counts[r])
        main.policy_pane.focus()
        main.policy_pane.selected = rule
        await pilot.press("enter")
        await settle(app, pilot)
        assert main.events_table.row_count == counts[rule]
        assert main.filter_text == f"rule:{rule}"
        assert app.focused is main.events_table


async def test_selected_event_rule_is_highlighted_in_the_policy() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        rule = main.session.rule_of(main.events_table.current_row)
        assert main.policy_pane.event_rule == (NO_RULE if rule is None else rule)


async def test_tab_cycles_the_panes() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert app.focused is main.events_table
        await pilot.press("tab")
        assert app.focused is main.detail_pane
        await pilot.press("tab")
        assert app.focused is main.policy_pane
        await pilot.press("tab")
        assert app.focused is main.events_table


async def test_z_zooms_the_focused_pane() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await pilot.press("z")
        await pilot.pause()
        assert not main.policy_pane.display  # the events list is zoomed: the policy pane is not shown
        assert main.events_table.region.height > 15
        await pilot.press("z")
        await pilot.pause()
        assert main.policy_pane.region.height > 0


async def test_small_terminal_shows_every_pane() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert main.has_class("-narrow")
        for widget in (main.policy_pane, main.events_table, main.detail_pane, main.status_line):
            assert widget.region.height > 0 and widget.region.width == 80


async def test_collapse_shows_one_row_per_request() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        ids = {json.loads(line)["auditID"] for line in lines_of(EVENTS)}
        await pilot.press("s")
        await pilot.pause()
        assert main.events_table.row_count == len(ids)
        await pilot.press("s")
        await pilot.pause()
        assert main.events_table.row_count == len(lines_of(EVENTS))


async def test_c_copies_the_selected_event() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("j", "c")
        copied = json.loads(app.clipboard)
        assert copied == app.main_screen.store_event()


async def test_e_exports_the_filtered_view(tmp_path: Path) -> None:
    app = make_app()
    target = tmp_path / "out.jsonl"
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        main.apply_filter("verb:watch")
        await settle(app, pilot)
        count = main.events_table.row_count
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        assert f"{count:,} events" in str(dialog.query_one("#export-count").render())
        path_input = dialog.query_one("#export-path", Input)
        path_input.value = str(target)
        dialog.query_one("#export-redact", Checkbox).value = False
        path_input.focus()
        await pilot.press("enter")
        await pilot.pause()
        await settle(app, pilot)
        assert not isinstance(app.screen, ExportScreen)
    written = lines_of(target)
    assert len(written) == count
    assert all(json.loads(line)["verb"] == "watch" for line in written)


async def test_export_dialog_offers_four_formats_and_cancels() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        labels = [str(button.label) for button in dialog.query(RadioButton)]
        assert labels == ["jsonl", "csv", "json", "parquet"]
        await pilot.press("right", "enter")  # second format (RadioSet: arrows move, enter picks)
        assert dialog.fmt in ("csv", "jsonl")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)


async def test_p_loads_another_policy_and_reevaluates(tmp_path: Path) -> None:
    other = tmp_path / "metadata.yaml"
    other.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, OpenPolicyScreen)
        field = app.screen.query_one(Input)
        field.value = str(other)
        await pilot.press("enter")
        await pilot.pause()
        await settle(app, pilot)
        assert main.policy_pane.rule_count == 1
        assert main.session.rule_counts() == {0: main.session.total}
        assert main.session.row_values(main.events_table.current_row)["rule"] == "#0"


async def test_p_with_a_bad_file_keeps_the_policy(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await pilot.press("p")
        await pilot.pause()
        app.screen.query_one(Input).value = str(tmp_path / "missing.yaml")
        await pilot.press("enter")
        await settle(app, pilot)
        assert main.policy_pane.rule_count == 9


async def test_help_lists_every_key() -> None:
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        svg = app.export_screenshot()
        for description in (
            "Filter",
            "Next of rule",
            "Prev of rule",
            "Next rule",
            "Prev rule",
            "Export",
            "Copy",
            "Policy",
            "Collapse stages",
            "Zoom",
            "Next pane",
            "Quit",
            "Filter to rule",
            "First event",
            "Last event",
            "Page down",
        ):
            assert description.replace(" ", "&#160;") in svg, description  # SVG text keeps spaces as &#160;
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_offers_the_same_actions() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"collapse")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.main_screen.collapsed


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_quit_keys_quit_at_once(key: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(key)
        await pilot.pause()
    assert app.return_value == 0


async def test_follow_appends_and_keeps_the_cursor(tmp_path: Path) -> None:
    log = tmp_path / "live.log"
    source = lines_of(EVENTS)
    log.write_bytes(b"\n".join(source[:50]) + b"\n")
    app = make_app(logs=(log,), follow=True)
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.main_screen
        for _ in range(100):  # the follow worker never completes: poll instead of waiting for workers
            await pilot.pause(0.05)
            if not main.is_loading and main.events_table.row_count == 50:
                break
        await pilot.press("j", "j", "j")
        row = main.events_table.current_row
        with log.open("ab") as handle:
            handle.write(b"\n".join(source[50:80]) + b"\n")
        for _ in range(40):
            await pilot.pause(0.1)
            if main.session.total == 80:
                break
        await pilot.pause(0.2)
        assert main.session.total == 80
        assert main.events_table.row_count == 80
        assert main.events_table.current_row == row


def test_no_color_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    assert app.no_color
    os.environ.pop("NO_COLOR", None)


def test_launcher_refuses_bad_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_tui(["--nonsense"]) == 2
    assert run_tui(["--policy", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_app_module_imports_the_bundled_data_paths() -> None:
    from k8saudit_tui.ui import launch

    assert launch.DEMO_POLICY.name == "demo-policy.yaml"
    assert launch.DEMO_LOG.name == "demo-audit.log"
    assert DATA.is_dir() and POLICY.is_file()


def test_hostile_event_fixture_round_trips() -> None:
    event = hostile_event(1, "\x1b[31m")
    assert json.loads(json.dumps(event))["user"]["username"] == "\x1b[31m"
    assert isinstance(make_app(), ExplorerApp)


async def test_policy_pane_repainted_in_part_looks_as_repainted_whole() -> None:
    """A moved highlight repaints only its rules' lines; the screen must equal a full repaint."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        for keys in (
            ["right_square_bracket"],
            ["right_square_bracket"],
            ["j", "j", "j"],
            ["left_square_bracket"],
            ["G"],
            ["g"],
        ):
            await pilot.press(*keys)
            await detail_shown(app, pilot)
            await pilot.pause()
            partial = app.export_screenshot()
            main.policy_pane.clear_lines()
            main.policy_pane.refresh()
            await pilot.pause()
            assert app.export_screenshot() == partial, keys
