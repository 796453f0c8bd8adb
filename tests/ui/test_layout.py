"""The events list shows what matters at every width: the columns from the left (time, level,
rule, verb, user, resource, ...) at 80 columns, through name at 120, every one at 200; the user
gets the free space first; time stays put while scrolling sideways; long user names lose their
middle; the date shows when the events span days."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from k8saudit_tui.ui import render
from k8saudit_tui.ui.render.cells import SHORT_LABELS, cell_value, fit_middle
from k8saudit_tui.ui.render.columns import ORDER, ColumnMeter, ContentWidths, allocate, row_width

from .conftest import make_app, settle

TITLES = [spec.key for spec in ORDER]
"""time, level, rule, verb, user, resource, namespace, name, code, stage."""
LOGS = Path(__file__).parents[1] / "data" / "logs"
TWO_DAYS = LOGS / "sysdig-aks-audit-log-samples.jsonl"
"""Events from 2020-05-05 to 2020-05-08."""

DEMO = ContentWidths({"verb": 6, "user": 54, "resource": 21, "namespace": 15, "name": 43, "rule": 2, "code": 3})
"""The widest values of the 300-event test log."""


def shown_fields(width: int, content: ContentWidths = DEMO) -> list[str]:
    """Fields of the columns that fit entirely in `width` cells, from the left."""
    shown, used = [], 0
    for column in allocate(width, content):
        used += column.width
        if used > width:
            break
        shown.append(column.field)
        used += 1
    return shown


@pytest.mark.parametrize(("width", "last"), [(79, "name"), (77, "name"), (130, "stage"), (60, "resource")])
def test_columns_from_the_left_enter_the_window(width: int, last: str) -> None:
    assert shown_fields(width) == TITLES[: TITLES.index(last) + 1]


def test_the_user_gets_the_free_space_first() -> None:
    narrow, wider = allocate(77, DEMO), allocate(80, DEMO)
    grew = {a.field: b.width - a.width for a, b in zip(narrow, wider, strict=True) if b.width != a.width}
    assert grew == {"user": 3}


def test_long_labels_only_when_every_value_fits() -> None:
    columns = {c.field: c for c in allocate(130, DEMO)}
    assert columns["stage"].short and columns["level"].short  # the name is cut: no long labels
    small = ContentWidths({"verb": 6, "user": 10, "resource": 8, "namespace": 8, "name": 8, "rule": 2})
    wide = {c.field: c for c in allocate(200, small)}
    assert not wide["stage"].short and not wide["level"].short
    assert wide["stage"].width == len("ResponseComplete") and wide["level"].width == len("RequestResponse")


def test_one_hostile_value_cannot_take_the_screen() -> None:
    huge = ContentWidths({**DEMO.widths, "user": 10_000, "name": 10_000})
    assert row_width(allocate(10_000, huge)) < 300


def test_a_narrow_namespace_column_is_headed_by_its_filter_name() -> None:
    namespace = next(c for c in allocate(79, DEMO) if c.field == "namespace")
    assert namespace.width < len("namespace") and namespace.title == "ns"


class Source:
    """A stand-in for the session: values that grow, a time span, a policy with rules."""

    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {"user": ["alice"], "resource": ["pods"], "subresource": [""]}
        self.total = 1
        self.policy: Any = type("P", (), {"rules": tuple(range(12))})()
        self.span: tuple[int, int] | None = (0, 3_600 * 10**9)
        self.reads = 0

    def distinct_values(self, column: str) -> Sequence[str]:
        self.reads += 1
        return self.values.get(column, [])

    def time_range(self) -> tuple[int, int] | None:
        return self.span


def test_the_meter_measures_new_values_and_answers_at_once_when_nothing_changed() -> None:
    source = Source()
    meter = ColumnMeter(source)
    first = meter.measure()
    assert first.widths["user"] == 5 and first.widths["rule"] == len("#11") and not first.dated
    reads = source.reads
    assert meter.measure() is first and source.reads == reads  # same data: no reading at all
    source.values["user"].append("system:serviceaccount:kube-system:x")
    source.values["subresource"].append("status")
    source.span = (0, 2 * 86_400 * 10**9)
    source.total = 2
    second = meter.measure()
    assert second.widths["user"] == len("system:serviceaccount:kube-system:x")
    assert second.widths["resource"] == len("pods/status")
    assert second.dated


@pytest.mark.parametrize(("size", "last"), [((80, 24), "name"), ((120, 36), "name"), ((200, 50), "stage")])
async def test_headers_visible_at_each_terminal_size(size: tuple[int, int], last: str) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        table = app.main_screen.events_table
        header = table.render_line(0).text
        shown = [c.title for c in table.columns]
        for title in shown[: [c.field for c in table.columns].index(last) + 1]:
            assert f"{title} " in header + " "
        assert header.startswith("time (UTC) ")
        assert len(header) == table.scrollable_content_region.width


async def test_at_80x24_the_policy_pane_is_one_line_without_a_policy() -> None:
    """Stacked panes at 80x24: the policy pane has five lines for a policy's rules, one for the
    sentence that says none is loaded, and the events list gets the four lines."""
    heights = {}
    for policy in (True, False):
        app = make_app() if policy else make_app(policy=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            heights[policy] = (app.main_screen.policy_pane.region.height, app.main_screen.events_table.region.height)
    assert heights[True][0] == 5
    assert heights[False] == (1, heights[True][1] + 4)


async def test_80_columns_show_the_user_of_each_event() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main_screen.events_table
        row = table.current_row
        assert row is not None
        values = app.main_screen.session.row_values(row)
        user = str(values["user"])
        first = table.render_line(1).text
        assert len(first) <= 80
        head, _, tail = fit_middle(user, next(c.width for c in table.columns if c.field == "user")).partition("…")
        assert head.strip() in first and tail.strip() in first


async def test_time_stays_put_while_scrolling_sideways() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main_screen.events_table
        before_header, before_row = table.render_line(0).text, table.render_line(1).text
        await pilot.press("l")
        await pilot.pause()
        assert table.scroll_offset.x == 8
        header, row = table.render_line(0).text, table.render_line(1).text
        assert header.startswith("time (UTC)   ") and row[:13] == before_row[:13]
        assert header[13:-8] == before_header[13 + 8 :]  # the rest moved 8 cells left
        assert "level" not in header and "rule" in header


async def test_the_date_shows_when_the_events_span_days() -> None:
    app = make_app(logs=(TWO_DAYS,))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        table = app.main_screen.events_table
        assert table.render_line(1).text.startswith("2020-05-05 16:16:37 ")
        assert table.render_line(0).text.startswith("time (UTC) ")


async def test_one_day_shows_the_time_of_day_only() -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        assert app.main_screen.events_table.render_line(1).text.startswith("09:00:00.000 ")


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
    assert SHORT_LABELS["ResponseComplete"] == "Complete"


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
