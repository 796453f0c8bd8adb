"""The events list at narrow widths: who did it (the user) shows at 80 columns, with the level
and rule, by giving stages and levels short labels and cutting long user names in the middle."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from k8saudit_tui.ui import render
from k8saudit_tui.ui.render.cells import SHORT_LABELS, cell_value, fit_middle
from k8saudit_tui.ui.widgets.events_table import COLUMNS, columns_for

from .conftest import make_app, settle

MUST_SHOW = ("time", "stage", "level", "rule", "verb", "user", "resource")


def visible_titles(width: int) -> list[str]:
    """Titles of the columns that fit entirely in `width` cells, from the left."""
    titles, used = [], 0
    for column in columns_for(width):
        used += column.width + 1
        if used > width + 1:  # the last column's separator may fall off the edge
            break
        titles.append(column.title)
    return titles


@pytest.mark.parametrize("width", [70, 79, 80, 99, 116, 130, 198])
def test_the_first_columns_always_include_user_level_and_rule(width: int) -> None:
    assert set(MUST_SHOW) <= set(visible_titles(width))


def test_full_labels_when_there_is_room() -> None:
    assert columns_for(200) == COLUMNS
    assert not any(column.short for column in COLUMNS)
    assert all(column.short for column in columns_for(79) if column.field in ("stage", "level"))


def test_short_labels_are_only_for_known_names() -> None:
    assert cell_value("stage", "ResponseComplete", short=True)[0] == "Complete"
    assert cell_value("stage", "RequestReceived", short=True)[0] == "Received"
    assert cell_value("level", "RequestResponse", short=True) == (
        "ReqResp",
        render.level_style("RequestResponse"),
    )
    assert cell_value("stage", "Panic", short=True)[0] == "Panic"
    # a value from a hostile log is shown as it is (made visible), never mapped to a label
    assert cell_value("stage", "Complete\x1b[2J", short=True)[0] == "Complete\\x1b[2J"


@pytest.mark.parametrize(
    "value",
    [
        "system:serviceaccount:kube-system:replicaset-controller",
        "system:node:ip-10-61-196-102.eu-west-1.compute.internal",
        "用户" * 20 + "-end",
        "short",
    ],
)
def test_fit_middle_keeps_both_ends_and_the_width(value: str) -> None:
    fitted = fit_middle(value, 21)
    assert cell_len(fitted) == 21
    if cell_len(value) <= 21:
        assert fitted.rstrip() == value
    else:
        assert "…" in fitted
        assert fitted.startswith(value[:3])
        assert value.endswith(fitted.split("…")[1].rstrip()[-3:])


async def test_80_columns_show_the_user_of_each_event() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main_screen.events_table
        header = table.render_line(0).text
        for title in MUST_SHOW:
            assert title in header
        row = table.current_row
        assert row is not None
        values = app.main_screen.session.row_values(row)
        user = str(values["user"])
        first = table.render_line(1).text
        assert len(first) <= 80
        head, _, tail = fit_middle(user, next(c.width for c in table.columns if c.field == "user")).partition("…")
        assert head.strip() in first and tail.strip() in first
        stage = str(values["stage"])
        assert SHORT_LABELS[stage] != stage  # the first event's stage has a shorter label
        assert f" {SHORT_LABELS[stage]} " in first
        assert stage not in first
