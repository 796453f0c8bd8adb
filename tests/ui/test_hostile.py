"""Untrusted strings on screen: shown literally, escapes visible, nothing reaches the terminal.

The terminal output is captured by recording what the (headless) driver is asked to write, so the
test sees exactly the bytes a real terminal would receive.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from textual.drivers.headless_driver import HeadlessDriver

from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.loader import load_policy_text
from k8saudit_tui.ui import render
from k8saudit_tui.ui.render.detail import json_line_text, json_lines, questions_text
from k8saudit_tui.ui.render.policy import policy_lines
from k8saudit_tui.ui.widgets.policy_pane import PolicyPane

from .conftest import HOSTILE_STRINGS, detail_shown, make_app, settle, write_hostile_log

LEAKS: tuple[str, ...] = ("\x1b[31mred", "\x1b]52;c;aGFja2Vk", "aGFja2Vk\x07", "\u202e", "\u200b", "\x9b31m")
"""Sequences from the data that must never reach the terminal as such."""


@pytest.fixture
def terminal_output(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Everything the app writes to its (headless) terminal."""
    written: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    return written


SHOWN_AS: dict[str, str] = {
    "[b]root[/b]": "[b]root[/b]",
    "[/]": "[/]",
    "[link=https://evil.example]click[/link]": "[link=https://evil.example]click[/link]",
    "\x1b[31mred\x1b[0m": "\\x1b[31mred\\x1b[0m",
    "\x1b]52;c;aGFja2Vk\x07": "\\x1b]52;c;aGFja2Vk\\x07",
    "\u202eevil\u202c": "\\u202eevil\\u202c",
    "zero\u200bwidth": "zero\\u200bwidth",
    "\x9b31m": "\\x9b31m",
}
"""Each hostile string as the screen must show it: markup as typed, control and format
characters as escapes."""


def test_every_hostile_string_has_its_expected_rendering() -> None:
    assert set(SHOWN_AS) == set(HOSTILE_STRINGS)


@pytest.mark.parametrize("value", HOSTILE_STRINGS)
def test_safe_text_is_literal_and_visible(value: str) -> None:
    text = render.safe(value)
    assert isinstance(text, Text) and not text.spans  # no markup parsed into styles
    assert text.plain == SHOWN_AS[value]
    assert text.plain.isprintable()


def test_markup_is_kept_as_typed() -> None:
    assert render.safe("[b]root[/b]").plain == "[b]root[/b]"
    assert render.safe("[/]").plain == "[/]"
    assert render.safe("\x1b[31m").plain == "\\x1b[31m"
    assert render.safe("\u202eevil").plain == "\\u202eevil"


async def test_hostile_log_renders_literally_and_leaks_nothing(tmp_path: Path, terminal_output: list[str]) -> None:
    log = write_hostile_log(tmp_path / "hostile.log")
    app = make_app(logs=(log,))
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert main.events_table.row_count == len(HOSTILE_STRINGS)
        seen_details = []
        for _ in HOSTILE_STRINGS:
            await detail_shown(app, pilot)
            seen_details.append(main.detail_pane.text.plain)
            await pilot.press("j")
        screen_svg = app.export_screenshot()
        await pilot.press("c")  # copying goes base64 through OSC 52: allowed, and encoded
    output = "".join(terminal_output)
    for leak in LEAKS:
        assert leak not in output, repr(leak)
    details = "\n".join(seen_details)
    assert "[b]root[/b]" in details
    assert "[/]" in details
    assert "\\x1b[31mred\\x1b[0m" in details
    assert "\\u202eevil\\u202c" in details
    assert "\\x1b]52;c;aGFja2Vk\\x07" in details
    assert "[b]root[/b]" in screen_svg
    assert "\u202e" not in screen_svg and "\x1b" not in screen_svg


def test_hostile_policy_values_are_shown_literally() -> None:
    load = load_policy_text(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
        '- level: Metadata\n  users: ["[b]x[/b]", "[/]", "\\u001b[31m", "\\u202e"]  # [link=x]y[/link]\n'
    )
    assert load.policy is not None
    lines = policy_lines(load.policy, {}, 0, [Problem("p.yaml", 4, "users", "[red]bad\x1b[0m")])
    plain = "\n".join(line.text.plain for line in lines)
    assert '"[b]x[/b]", "[/]"' in plain and "[link=x]y[/link]" in plain
    assert "\x1b" not in plain and "\u202e" not in plain
    assert "[red]bad\\x1b[0m" in plain
    pane = PolicyPane()
    pane.show(load.policy, {}, 0, load.problems)
    assert pane.rule_count == 1


def test_policy_with_control_characters_is_refused_with_a_safe_message() -> None:
    load = load_policy_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None # \x1b]0;t\x07\n")
    lines = policy_lines(load.policy, {}, 0, load.problems)
    plain = "\n".join(line.text.plain for line in lines)
    assert "\x1b" not in plain and "\x07" not in plain
    # YAML forbids the escape character, in comments too: the file is no policy, and says why
    assert load.policy is None
    assert [problem.severity for problem in load.problems] == ["error"]
    assert "error: unacceptable character #x001b" in plain


def test_json_view_escapes_format_characters() -> None:
    lines = [json_line_text(line).plain for line in json_lines({"user": {"username": "\u202eevil", "x": "\x1b[2J"}})]
    plain = "\n".join(lines)
    assert "\u202e" not in plain and "\x1b" not in plain
    assert '"username": "\\u202eevil"' in plain
    assert '"x": "\\u001b[2J"' in plain  # JSON's own escape


def test_detail_questions_use_safe_values() -> None:
    from .conftest import hostile_event

    text = questions_text(hostile_event(0, "[/]\x1b[31m"))
    assert "[/]\\x1b[31m" in text.plain
    assert "\x1b" not in text.plain
