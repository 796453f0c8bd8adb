"""The detail pane: secrets masked until `r` (issue 12), wrapped lines under their value, and the
explain trace worded as the CLI's `explain`."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from k8saudit_tui.engine.export import REDACTED
from k8saudit_tui.engine.model import RequestAttributes
from k8saudit_tui.engine.policy.explain import explain, format_explanation
from k8saudit_tui.engine.policy.loader import load_policy_text
from k8saudit_tui.ui.render.detail import LABEL_WIDTH, explanation_lines, join_lines
from k8saudit_tui.ui.render.wrap import hanging_wrap
from k8saudit_tui.ui.screens.main_actions import MainActions
from k8saudit_tui.ui.widgets.detail_pane import build_detail

from .conftest import detail_shown, make_app, settle
from .test_copy import BEARER, SECRET_VALUE, TOKEN_VALUE, secret_event, token_review_event, write_log
from .test_robustness import event_lines, followed, wait_for_total


def shown(app: object) -> str:
    """Every line the detail pane lays out, joined."""
    pane = app.main_screen.detail_pane  # type: ignore[attr-defined]
    return "\n".join(line if isinstance(line, str) else line.plain for line in pane._lines)


async def test_the_detail_pane_masks_secrets_until_r_reveals_them(tmp_path: Path) -> None:
    log = write_log(tmp_path / "secrets.log", [secret_event(), token_review_event()])
    app = make_app(logs=(log,))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        text = shown(app)
        assert SECRET_VALUE not in text and '"user": "admin"' not in text
        assert f'"password": "{REDACTED}"' in text
        # data.password and stringData.user, in the request and in the response
        assert "4 values masked: r to reveal" in text

        await pilot.press("r")
        await settle(app, pilot)
        text = shown(app)
        assert SECRET_VALUE in text and '"user": "admin"' in text
        assert "4 values shown as logged (secrets): r to mask" in text

        await pilot.press("r")
        await settle(app, pilot)
        assert SECRET_VALUE not in shown(app)
        assert "4 values masked: r to reveal" in shown(app)

        await pilot.press("r", "j")  # revealed, then the cursor moves on: the next event is masked
        await settle(app, pilot)
        assert main.events_table.cursor == 1
        text = shown(app)
        assert TOKEN_VALUE not in text and BEARER not in text
        assert "2 values masked: r to reveal" in text
        await pilot.press("k")
        await settle(app, pilot)
        assert SECRET_VALUE not in shown(app)  # back on the first: masked again


async def test_an_event_without_secrets_says_nothing_of_masking() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        text = shown(app)
        assert "masked" not in text and "r to reveal" not in text
        assert app.main_screen.store_event()["auditID"] in text


def test_r_is_bound_once_in_every_binding_list() -> None:
    from k8saudit_tui.ui.app import ExplorerApp
    from k8saudit_tui.ui.screens.export_screen import ExportScreen
    from k8saudit_tui.ui.widgets.detail_pane import DetailPane
    from k8saudit_tui.ui.widgets.events_table import EventsTable
    from k8saudit_tui.ui.widgets.filter_bar import FilterBar
    from k8saudit_tui.ui.widgets.policy_pane import PolicyPane

    lists = [ExplorerApp, MainActions, EventsTable, PolicyPane, DetailPane, FilterBar, ExportScreen]
    holders = [
        owner.__name__ for owner in lists for binding in owner.BINDINGS if "r" in getattr(binding, "key", "").split(",")
    ]
    assert holders == ["MainActions"]


def test_a_wrapped_line_continues_under_its_value() -> None:
    console = Console(width=200)
    groups = ", ".join(f"group-{i}" for i in range(12))
    line = Text(f"{'Who':>10}: alice in groups {groups}", end="")
    lines = [piece.plain for piece in hanging_wrap(line, console, 40, LABEL_WIDTH)]
    assert len(lines) > 2
    assert lines[0].startswith("       Who: alice in groups")
    for piece in lines[1:]:
        assert piece.startswith(" " * LABEL_WIDTH) and piece[LABEL_WIDTH] != " "
        assert len(piece) <= 40
    assert " ".join(piece.strip() for piece in lines) == line.plain.strip()


def test_wrapped_json_lines_keep_their_indentation() -> None:
    event = secret_event()
    event["requestObject"]["metadata"]["annotations"] = {"note": "word " * 40}
    content = build_detail(event, console=Console(width=200), width=50)
    body = [line if isinstance(line, str) else line.plain for line in content.lines]
    start = next(i for i, line in enumerate(body) if '"note": "word' in line)
    indent = len(body[start]) - len(body[start].lstrip())
    assert indent > 0
    follow = body[start + 1]
    assert follow.startswith(" " * (indent + 2)) and follow.strip().startswith("word")
    assert all(len(line) <= 50 for line in body)


def test_the_explain_trace_reads_like_the_cli() -> None:
    policy = load_policy_text(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
        "- level: None\n  users: [system:kube-proxy]\n  verbs: [watch]\n"
        "- level: Metadata\n"
    ).policy
    assert policy is not None
    attrs = RequestAttributes(
        username="alice",
        groups=("system:authenticated",),
        verb="get",
        resource_request=True,
        api_group="",
        resource="pods",
        namespace="prod",
        name="web",
        path="/api/v1/namespaces/prod/pods/web",
    )
    explanation = explain(policy, attrs)
    pane = join_lines(explanation_lines(explanation)).plain.split("\n")
    cli = format_explanation(explanation).split("\n")
    assert pane == cli[:-1]  # the verdict line is the pane's own Verdict line
    assert "  other clauses not set (any value): userGroups, namespaces, resources, nonResourceURLs" in pane
    assert "  no clause set: the rule matches every request" in pane
    assert not any("not set: any value" in line for line in pane)


async def test_revealed_secrets_stay_shown_while_events_are_appended(tmp_path: Path) -> None:
    """The list growing under the cursor (a load's batches, `--follow`) is not a move of the
    cursor: the event shown keeps its detail and what `r` revealed stays revealed (each batch
    used to rebuild the first event's detail, masked again)."""
    log = write_log(tmp_path / "secrets.log", [secret_event(), token_review_event()])  # not on the last row
    app = make_app(logs=(log,), follow=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await followed(app, pilot)
        await pilot.press("r")
        await detail_shown(app, pilot)
        assert SECRET_VALUE in shown(app)
        for total in (4, 6):
            with log.open("a") as handle:
                handle.write(event_lines(total, 2))
            await wait_for_total(app, pilot, total)
            await pilot.pause(0.3)  # a detail rebuilt for the appended rows would show by now
            await detail_shown(app, pilot)  # (`settle` waits for every worker: following never ends)
            assert app.main_screen.events_table.row_count == total
            assert app.main_screen.events_table.cursor == 0
            assert SECRET_VALUE in shown(app)
