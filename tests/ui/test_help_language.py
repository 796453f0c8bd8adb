"""`?` summarises the filter language: its terms, and every field with what it matches."""

from __future__ import annotations

from rich.console import Console

from k8saudit_tui.engine import fields
from k8saudit_tui.ui.screens.help_screen import HelpScreen
from tests.ui.conftest import make_app, settle


async def test_help_lists_the_terms_and_every_field() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.query("#help-language")  # shown under the keys
        console = Console(record=True, width=200, color_system=None)
        console.print(app.screen.language_table())
        text = console.export_text()
        for term in ("field:~value", "a b | c", "time:A..B", "latency:>1s"):
            assert term in text
        for field in fields.FIELDS:
            if field.name in fields.FILTER_NAMES:
                assert f"{field.name}:" in text
                assert field.description[:40] in text
