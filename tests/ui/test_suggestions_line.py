"""Pilot tests: under the filter input, the top suggestions with their counts, as you type."""

from __future__ import annotations

import json
from collections import Counter

from rich.text import Text

from k8saudit_tui.ui.render.status import suggestions_text
from k8saudit_tui.ui.widgets.filter_bar import HINT

from .conftest import EVENTS, make_app, settle


def verbs() -> Counter[str]:
    return Counter(json.loads(line)["verb"] for line in EVENTS.read_text().splitlines() if line)


async def test_the_line_under_the_input_lists_suggestions_with_counts() -> None:
    counted = verbs()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        bar = app.main_screen.filter_bar
        line = bar.query_one("#filter-error")
        await pilot.press("slash", *"verb:")  # an error until a value is typed: the error shows
        await pilot.press("e")
        await pilot.pause(0.3)
        await settle(app, pilot)
        ranked = sorted(
            (verb for verb in counted if "e" in verb), key=lambda verb: (not verb.startswith("e"), -counted[verb])
        )
        listed = bar.suggestions_line
        assert listed.startswith(f"verb:{ranked[0]} {counted[ranked[0]]:,} · verb:{ranked[1]} ")
        assert str(line.render()) == listed  # shown, not only kept
        await pilot.press("backspace", *"wacth")  # a typo: the typo tier still offers watch
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert bar.suggestions_line == f"verb:watch {counted['watch']:,}"
        await pilot.press("ctrl+u")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert bar.suggestions_line == HINT.plain  # nothing typed: the keys' hint again


async def test_an_error_wins_over_the_suggestions() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        bar = app.main_screen.filter_bar
        await pilot.press("slash", *"verb:get nosuch:x")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert "unknown field" in str(bar.query_one("#filter-error").render())


def test_suggestions_are_one_safe_line() -> None:
    text = suggestions_text([("verb:", None), ("user:\x1b[31mred", 1204), ("ns:a", 5)])
    assert text.plain == "verb: · user:\\x1b[31mred 1,204 · ns:a 5"
    assert isinstance(text, Text) and text.no_wrap and text.overflow == "ellipsis"
    many = suggestions_text([(f"verb:v{n}", n) for n in range(20)])
    assert many.plain.count(" · ") == 7  # eight listed
