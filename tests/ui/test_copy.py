"""`c` copies the selected event with secrets masked (issue 5: "the TUI offers the same [redaction]
when exporting and copying"); `C` copies it exactly as logged, and says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from k8saudit_tui.engine.export import REDACTED
from k8saudit_tui.ui.screens.help_screen import HelpScreen

from .conftest import hostile_event, make_app, settle

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


def notices(app: Any) -> list[str]:
    """The notification messages shown so far."""
    return [str(notification.message) for notification in app._notifications]


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
        assert any("secrets masked" in notice for notice in notices(app))

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
        assert any("NOT masked" in notice for notice in notices(app))


async def test_c_on_an_event_without_secrets_copies_it_unchanged() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        assert json.loads(app.clipboard) == app.main_screen.store_event()
        assert any("no secrets found" in notice for notice in notices(app))


async def test_help_and_palette_offer_both_copies() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {(keys, text) for _, keys, text in app.screen._rows}
        assert ("c", "Copy the event as JSON, secrets masked (OSC 52)") in rows
        assert ("C", "Copy the event exactly as logged, secrets NOT masked") in rows
        await pilot.press("escape")
        await pilot.pause()
        from k8saudit_tui.ui.commands import ACTIONS

        actions = {action for _, action, _ in ACTIONS}
        assert {"copy_event", "copy_raw_event"} <= actions
        for action in actions:
            assert callable(getattr(app.main_screen, f"action_{action}"))
