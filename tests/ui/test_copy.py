"""`c` copies the selected event with secrets masked (issue 5: "the TUI offers the same [redaction]
when exporting and copying"); `C` copies it exactly as logged, and says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.binding import Binding

from k8saudit_tui.engine.export import REDACTED
from k8saudit_tui.ui.commands import binding_commands
from k8saudit_tui.ui.screens.help_screen import HelpScreen
from k8saudit_tui.ui.screens.main_screen import MainScreen

from .conftest import hostile_event, make_app, notices, settle

SECRET_VALUE = "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"  # base64 of super-secret-password
TOKEN_VALUE = "eyJhbGciOiJSUzI1NiJ9.service-account-token"
BEARER = "Bearer 0123456789abcdef"


def secret_event() -> dict[str, Any]:
    """A Secret created with its data in the request and response bodies."""
    event = hostile_event(0, "app")
    event["verb"] = "create"
    event["level"] = "RequestResponse"
    event["objectRef"] = {"resource": "secrets", "namespace": "prod", "name": "db", "apiVersion": "v1"}
    body = {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "db"},
        "data": {"password": SECRET_VALUE},
        "stringData": {"user": "admin"},
    }
    event["requestObject"] = body
    event["responseObject"] = dict(body)
    return event


def token_review_event() -> dict[str, Any]:
    """A TokenReview whose body carries a bearer token, and an Authorization header value."""
    event = hostile_event(1, "kubelet")
    event["verb"] = "create"
    event["level"] = "Request"
    event["objectRef"] = {"resource": "tokenreviews", "apiGroup": "authentication.k8s.io", "apiVersion": "v1"}
    event["requestObject"] = {
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "spec": {"token": TOKEN_VALUE},
        "metadata": {"annotations": {"Authorization": BEARER}},
    }
    return event


def write_log(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path


async def test_c_copies_a_secret_event_masked_and_says_so(tmp_path: Path) -> None:
    log = write_log(tmp_path / "secrets.log", [secret_event(), token_review_event()])
    app = make_app(logs=(log,))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        assert main.store_event()["objectRef"]["resource"] == "secrets"
        await pilot.press("c")
        await pilot.pause()
        copied = json.loads(app.clipboard)
        assert SECRET_VALUE not in app.clipboard and "admin" not in app.clipboard
        assert copied["requestObject"]["data"] == {"password": REDACTED}
        assert copied["responseObject"]["stringData"] == {"user": REDACTED}
        assert copied["auditID"] == main.store_event()["auditID"]  # the rest is the event
        assert notices(app) == [
            ("information", f"Copied event ({len(app.clipboard):,} characters) with secrets masked; C copies it raw")
        ]

        await pilot.press("j", "c")
        await pilot.pause()
        assert TOKEN_VALUE not in app.clipboard and BEARER not in app.clipboard
        copied = json.loads(app.clipboard)
        assert copied["requestObject"]["spec"]["token"] == REDACTED


async def test_shift_c_copies_the_raw_event_with_a_warning(tmp_path: Path) -> None:
    log = write_log(tmp_path / "secrets.log", [secret_event()])
    app = make_app(logs=(log,))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("C")
        await pilot.pause()
        assert SECRET_VALUE in app.clipboard
        assert json.loads(app.clipboard) == app.main_screen.store_event()
        assert notices(app) == [
            ("warning", f"Copied the raw event ({len(app.clipboard):,} characters): secrets in it are NOT masked")
        ]


async def test_c_on_an_event_without_secrets_copies_it_unchanged() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        assert json.loads(app.clipboard) == app.main_screen.store_event()
        assert notices(app) == [
            (
                "information",
                f"Copied event ({len(app.clipboard):,} characters); no secrets found to mask; C copies it raw",
            )
        ]


async def test_help_and_palette_offer_both_copies() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {(keys, text) for _, keys, text in app.screen.rows}
        assert ("c", "Copy the event as JSON, secrets masked (OSC 52)") in rows
        assert ("C", "Copy the event exactly as logged, secrets NOT masked") in rows
        await pilot.press("escape")
        await pilot.pause()
        ran: list[str] = []
        commands = {command.title: command for command in binding_commands(MainScreen.BINDINGS, ran.append)}
        commands["Copy"].run()
        commands["Copy raw"].run()
        assert ran == ["copy_event", "copy_raw_event"]
        assert commands["Copy"].help == "c: Copy the event as JSON, secrets masked (OSC 52)"
        assert commands["Copy raw"].help == "C: Copy the event exactly as logged, secrets NOT masked"


async def test_the_palette_runs_every_binding_of_the_main_screen() -> None:
    """The palette is built from the bindings: each of its key commands runs its action."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        ran: list[str] = []
        commands = binding_commands(MainScreen.BINDINGS, ran.append)
        for command in commands:
            command.run()
        described = [b.action for b in MainScreen.BINDINGS if isinstance(b, Binding) and b.description]
        assert ran == described
        for action in ran:
            namespace, _, name = action.rpartition(".")
            target = app if namespace == "app" else main
            assert callable(getattr(target, f"action_{name}")), action
