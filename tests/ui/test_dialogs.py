"""The export and policy dialogs (issue 12): errors shown in the dialog with the choices kept,
the dialog's own Overwrite box instead of the CLI's `--force`, the last format and path offered
again, file-system completion of paths, and the written path absolute in the notification."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, RadioSet

from k8saudit_tui.ui.screens.export_screen import ExportScreen
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.widgets.path_suggester import complete_path

from .conftest import make_app, notices, settle


async def open_export(app: object, pilot: object) -> ExportScreen:
    await pilot.press("e")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    dialog = app.screen  # type: ignore[attr-defined]
    assert isinstance(dialog, ExportScreen)
    return dialog


async def submit(app: object, pilot: object, dialog: ExportScreen, path: str) -> None:
    path_input = dialog.query_one("#export-path", Input)
    path_input.value = path
    path_input.focus()
    await pilot.press("enter")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_an_existing_file_is_refused_in_the_dialog_and_overwrite_replaces_it(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        dialog = await open_export(app, pilot)
        await pilot.press("right", "enter")  # csv
        assert dialog.fmt == "csv"
        await submit(app, pilot, dialog, str(target))
        assert app.screen is dialog  # still open, choices in place
        assert dialog.error == f"{target}: already exists (tick Overwrite to replace it)"
        assert "--force" not in dialog.error
        assert dialog.fmt == "csv" and dialog.query_one("#export-path", Input).value == str(target)
        assert notices(app) == []
        assert target.read_text() == "old\n"

        dialog.query_one("#export-force", Checkbox).value = True
        await submit(app, pilot, dialog, str(target))
        assert app.screen is not dialog
        count = app.main_screen.events_table.row_count
        assert notices(app) == [("information", f"Wrote {count:,} events to {target}")]
        assert target.read_text().startswith("time,")


async def test_a_missing_directory_is_shown_in_the_dialog(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "out.jsonl"
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        dialog = await open_export(app, pilot)
        await submit(app, pilot, dialog, str(target))
        assert app.screen is dialog
        assert dialog.error == f"{target.parent}: directory does not exist"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main_screen and notices(app) == []


async def test_the_next_export_offers_the_last_format_and_path_and_the_path_is_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(policy=Path(__file__).parent / "data" / "website-policy.yaml")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        dialog = await open_export(app, pilot)
        await pilot.press("right", "right", "enter")  # json
        await submit(app, pilot, dialog, "relative.json")
        assert (tmp_path / "relative.json").exists()
        count = app.main_screen.events_table.row_count
        assert notices(app) == [("information", f"Wrote {count:,} events to {tmp_path / 'relative.json'}")]

        dialog = await open_export(app, pilot)
        assert dialog.fmt == "json"
        assert dialog.query_one("#export-path", Input).value == "relative.json"
        assert dialog.query_one("#format-json").value
        assert dialog.query_one("#export-redact", Checkbox).value  # redaction is never remembered off
        assert not dialog.query_one("#export-force", Checkbox).value
        assert dialog.query_one("#export-format", RadioSet).pressed_index == 2


async def test_a_home_relative_export_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        dialog = await open_export(app, pilot)
        await submit(app, pilot, dialog, "~/home.jsonl")
        assert app.screen is not dialog
        assert (tmp_path / "home.jsonl").exists()


def test_complete_path_lists_directories_and_files_under_the_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "policy.yaml").write_text("")
    (tmp_path / "audit" / "policy-old.yaml").write_text("")
    (tmp_path / "export.jsonl").write_text("")
    (tmp_path / ".hidden").write_text("")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert complete_path(f"{tmp_path}/au") == f"{tmp_path}/audit/"
    assert complete_path(f"{tmp_path}/audit/policy.") == f"{tmp_path}/audit/policy.yaml"
    assert complete_path(f"{tmp_path}/audit/policy") == f"{tmp_path}/audit/policy-old.yaml"
    assert complete_path("~/ex") == "~/export.jsonl"
    assert complete_path("~") == "~/"
    assert complete_path("ex") == "export.jsonl"
    assert complete_path("au") == "audit/"
    assert complete_path("audit/policy.yaml") is None  # complete already
    assert complete_path(f"{tmp_path}/nothing") is None
    assert complete_path(f"{tmp_path}/no-such-dir/x") is None
    assert complete_path("~/.hi") == "~/.hidden"
    assert complete_path(f"{tmp_path}/") in (f"{tmp_path}/audit/", f"{tmp_path}/export.jsonl")
    assert complete_path(f"{tmp_path}/") != f"{tmp_path}/.hidden"


async def test_both_dialogs_complete_the_typed_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "strict.yaml").write_text("")
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, OpenPolicyScreen)
        path_input = dialog.query_one("#open-policy-path", Input)
        path_input.value = ""
        await pilot.press(*"pol")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert path_input.value == "policies/"
        await pilot.press("s")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert path_input.value == "policies/strict.yaml"
        await pilot.press("escape")
        await pilot.pause()

        export = await open_export(app, pilot)
        path_input = export.query_one("#export-path", Input)
        path_input.value = ""
        path_input.focus()
        await pilot.press(*"policies/st")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert path_input.value == "policies/strict.yaml"
    assert os.getcwd() == str(tmp_path)
