"""Parquet in the export dialog: one more format, the same view as JSON lines, and pyarrow's
absence told in the dialog with the install command (the choices kept)."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from textual.widgets import Input

from k8saudit_tui.engine.parquet import INSTALL

from .conftest import make_app, settle
from .test_dialogs import open_export, submit


async def test_parquet_holds_the_view_the_jsonl_export_holds(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        app.main_screen.apply_filter("verb:watch")
        await settle(app, pilot)
        dialog = await open_export(app, pilot)
        await submit(app, pilot, dialog, str(tmp_path / "view.jsonl"))
        dialog = await open_export(app, pilot)
        await pilot.press("right", "right", "right", "enter")
        assert dialog.fmt == "parquet"
        assert dialog.query_one("#export-path", Input).value == str(tmp_path / "view.parquet")  # extension follows
        await submit(app, pilot, dialog, str(tmp_path / "view.parquet"))
        assert app.screen is not dialog
    lines = (tmp_path / "view.jsonl").read_bytes().split(b"\n")[:-1]
    table = pq.read_table(tmp_path / "view.parquet")
    assert len(lines) > 1
    assert [raw.encode() for raw in table.column("raw").to_pylist()] == lines
    assert set(table.column("verb").to_pylist()) == {"watch"}
    assert None not in table.column("level").to_pylist()  # the app's policy's verdicts


async def test_without_pyarrow_the_dialog_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("pyarrow", "pyarrow.parquet", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, module, None)
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        dialog = await open_export(app, pilot)
        await pilot.press("right", "right", "right", "enter")
        await submit(app, pilot, dialog, str(tmp_path / "view.parquet"))
        assert app.screen is dialog
        assert dialog.error == f"Parquet export needs pyarrow, which is not installed: {INSTALL}"
        assert dialog.fmt == "parquet"
    assert not (tmp_path / "view.parquet").exists()
