"""Make the README screenshots: the app drives itself headless and saves SVGs here.

    python screenshots/make.py            # bundled demo (falls back to the test data)

Each picture is the app's own `save_screenshot`, so it shows exactly what a terminal shows.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from k8saudit_tui.ui.app import ExplorerApp  # noqa: E402
from k8saudit_tui.ui.launch import demo_paths  # noqa: E402
from k8saudit_tui.ui.session import open_session  # noqa: E402

SIZE = (140, 40)
Step = Callable[[Pilot], Awaitable[None]]


def demo_files() -> tuple[str, list[str]]:
    """Demo policy and log, relative to the repository so paths in the pictures are short."""
    policy, logs = demo_paths()
    if policy is None or not logs:
        data = ROOT / "tests" / "ui" / "data"
        policy, logs = str(data / "website-policy.yaml"), [str(data / "events-300.log")]
    return os.path.relpath(policy, ROOT), [os.path.relpath(log, ROOT) for log in logs]


async def settle(pilot: Pilot) -> None:
    """Wait for workers and their messages, and for the detail pane to catch up."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for _ in range(250):
        main = getattr(pilot.app, "main_screen", None)
        if main is None or not main.detail_pending:
            break
        await pilot.pause(0.02)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def main_view(pilot: Pilot) -> None:
    """The demo as it opens."""


async def filtered(pilot: Pilot) -> None:
    """A filter typed in the filter bar."""
    await pilot.press("slash", *"verb:delete", "enter")
    await pilot.pause(0.3)
    await settle(pilot)


async def rule_stepping(pilot: Pilot) -> None:
    """`]` to the next rule with hits, then `n` through its events."""
    await pilot.press("right_square_bracket", "right_square_bracket", "n", "n")
    await settle(pilot)


async def explain_trace(pilot: Pilot) -> None:
    """The detail pane zoomed: questions, verdict and the explain trace."""
    await pilot.press("G", "tab", "z")
    await settle(pilot)


async def export_dialog(pilot: Pilot) -> None:
    """The export dialog over a filtered view."""
    await filtered(pilot)
    await pilot.press("e")
    await settle(pilot)


async def fuzzy_matched(pilot: Pilot) -> None:
    """A bare word with a typo: the status line says what it matched, per field."""
    await pilot.press("slash", *"secrte", "enter")
    await pilot.pause(0.3)
    await settle(pilot)


async def facets_panel(pilot: Pilot) -> None:
    """`f`: the top values under the filter, in events and requests."""
    await pilot.press("f")
    await pilot.pause(0.3)
    await settle(pilot)


async def timeline_strip(pilot: Pilot) -> None:
    """`t`: the timeline of the view, a few buckets picked."""
    await pilot.press("t")
    await pilot.pause(0.3)
    await settle(pilot)
    await pilot.press("home", "right", "right", "shift+right", "shift+right", "shift+right")
    await settle(pilot)


CANDIDATE = "tests/data/policies/kubespray-apiserver-audit-policy.yaml"
"""The candidate of the workbench shot (relative to the repository, where `main` runs)."""


async def workbench(pilot: Pilot) -> None:
    """`P` loads a candidate policy (typed), the `W` panel opens once it is evaluated, bytes counted."""
    await pilot.press("P")
    await pilot.pause()
    await pilot.press("ctrl+u", *CANDIDATE, "enter")
    await settle(pilot)
    for _ in range(250):
        if getattr(pilot.app.screen, "bytes_counted", True):
            break
        await pilot.pause(0.02)
    await pilot.pause()


async def managed(pilot: Pilot) -> None:
    """Managed-cluster logs (GKE LogEntries, AKS diagnostic records) under the @gke preset: a rebuilt
    GKE event whose verdict needs the user groups GKE does not export, filtered as `level:unknown`."""
    await pilot.press("slash", *"level:unknown", "enter")
    await settle(pilot)


MANAGED = (
    "@gke",
    [
        "tests/data/cloud/gke-logentry-khi-pods-create.yaml",
        "tests/data/cloud/gke-logentry-khi-pods-status-patch.yaml",
        "tests/data/cloud/aks-diagnostic-storage-datadog.jsonl",
    ],
)
"""The policy and logs of the managed-clusters shot (relative to the repository)."""

SESSIONS: dict[str, tuple[str, list[str]]] = {"managed": MANAGED}
"""Shots that open other files than the demo."""

SHOTS: dict[str, Step] = {
    "main": main_view,
    "filtered": filtered,
    "rule-stepping": rule_stepping,
    "explain": explain_trace,
    "export": export_dialog,
    "fuzzy": fuzzy_matched,
    "facets": facets_panel,
    "timeline": timeline_strip,
    "workbench": workbench,
    "managed": managed,
}


async def shoot(name: str, step: Step) -> str:
    """Run the app headless, do `step`, save `<name>.svg` here."""
    policy, logs = SESSIONS.get(name) or demo_files()
    app = ExplorerApp(open_session(policy, logs))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for field in app.query(Input):
            field.cursor_blink = False
        await step(pilot)
        await pilot.pause()
        return app.save_screenshot(filename=f"{name}.svg", path=str(HERE))


def main() -> int:
    """Save every screenshot; print their paths."""
    os.chdir(ROOT)
    for name, step in SHOTS.items():
        print(asyncio.run(shoot(name, step)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
