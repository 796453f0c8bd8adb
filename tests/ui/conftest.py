"""Fixtures for the TUI tests: apps built from test data, hostile events, frozen cursors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from textual.widgets import Input

from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.session import open_session

DATA = Path(__file__).parent / "data"
POLICY = DATA / "website-policy.yaml"
EVENTS = DATA / "events-300.log"
BROKEN = DATA / "broken.log"
CORPUS = DATA / "audit2rbac-demo.jsonl"

HOSTILE_STRINGS: tuple[str, ...] = (
    "[b]root[/b]",
    "[/]",
    "[link=https://evil.example]click[/link]",
    "\x1b[31mred\x1b[0m",
    "\x1b]52;c;aGFja2Vk\x07",
    "\u202eevil\u202c",
    "zero\u200bwidth",
    "\x9b31m",
)
"""Markup, ANSI colour, an OSC 52 clipboard write, a bidi override, zero-width and a C1 CSI."""


def hostile_event(index: int, text: str) -> dict[str, object]:
    """An otherwise valid event carrying `text` in every string field users see."""
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-0000-0000-{index:012d}",
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/ns/pods/{text}",
        "verb": "get",
        "user": {"username": text, "groups": [text, "system:authenticated"]},
        "sourceIPs": ["10.0.0.1"],
        "userAgent": text,
        "objectRef": {"resource": "pods", "namespace": text, "name": text, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": f"2024-05-14T09:00:{index:02d}.000000Z",
        "stageTimestamp": f"2024-05-14T09:00:{index:02d}.002000Z",
    }


def write_hostile_log(path: Path, strings: Sequence[str] = HOSTILE_STRINGS) -> Path:
    """A log with one hostile event per string (JSON escapes them; decoding restores them)."""
    path.write_text("".join(json.dumps(hostile_event(i, s)) + "\n" for i, s in enumerate(strings)))
    return path


def make_app(policy: Path | None = POLICY, logs: Sequence[Path] = (EVENTS,), **options: object) -> ExplorerApp:
    """An app on test data, as the launcher would build it."""
    session = open_session(str(policy) if policy else None, [str(p) for p in logs])
    return ExplorerApp(session, **options)  # type: ignore[arg-type]


async def settle(app: ExplorerApp, pilot: object, rounds: int = 3) -> None:
    """Wait for the loader and filter workers and the messages they post, then for the detail
    pane, which follows the cursor after a short rest (`DETAIL_DELAY`) from a worker."""
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]
    await detail_shown(app, pilot)


async def detail_shown(app: ExplorerApp, pilot: object, timeout: float = 5.0) -> None:
    """Wait until the detail pane shows the selected event (the debounce and its worker); it
    does not wait for other workers, so it works with `--follow` (whose worker never ends)."""
    from k8saudit_tui.ui.screens.main_screen import MainScreen

    await pilot.pause()  # type: ignore[attr-defined]  # the cursor's message reaches the screen
    for _ in range(int(timeout / 0.02)):
        main = next((s for s in app.screen_stack if isinstance(s, MainScreen)), None)
        if main is None or not main.detail_pending:
            break
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


def notices(app: ExplorerApp) -> list[tuple[str, str]]:
    """(severity, text) of every notification on the screen now, as its toast shows it: the
    title (when there is one) on its first line, then the message (`run_test(notifications=True)`)."""
    shown = []
    for toast in app.screen.query("Toast"):
        severity = next(name for name in ("error", "warning", "information") if toast.has_class(f"-{name}"))
        shown.append((severity, toast.render().plain))  # type: ignore[union-attr]
    return shown


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stable screens: the input cursor does not blink."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
