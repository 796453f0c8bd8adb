"""The explorer takes the provider baselines (`--policy @eks`, `p`/`P` with `@gke`) and names
them with their label wherever it names a policy: never as if it were the provider's own policy."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input

from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.screens.open_policy_screen import OpenPolicyScreen
from k8saudit_tui.ui.screens.workbench_screen import WorkbenchScreen
from k8saudit_tui.ui.session import open_session

from .conftest import EVENTS, settle

EKS = "@eks (approximation of EKS's policy)"
GKE = "@gke (approximation of GKE's policy)"
AKS = "@aks (approximation of AKS's policy)"


def _app(policy: str) -> ExplorerApp:
    """The app as `k8saudit-tui --policy POLICY events-300.log` builds it."""
    return ExplorerApp(open_session(policy, [str(EVENTS)]))


def _title(app: ExplorerApp) -> str:
    return str(app.main_screen.policy_pane.border_title)


async def _open(app: ExplorerApp, pilot: Pilot[None], key: str, spec: str) -> None:
    """`p` or `P`, clear the offered path, type `spec`, enter; wait for the evaluation."""
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(app.screen, OpenPolicyScreen)
    app.screen.query_one("#open-policy-path", Input).value = ""
    await pilot.press(*spec, "enter")
    await settle(app, pilot)


async def test_the_explorer_opens_with_a_preset_and_labels_it() -> None:
    app = _app("@eks")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        assert _title(app) == EKS
        session = app.main_screen.session
        assert session.policy is not None and len(session.policy.rules) == 18
        assert session.policy_problems == ()
        top = app.screen._compositor.render_strips()[0].text
        assert "╭─ @eks (approximation of EKS" in top  # a narrow pane cuts the end, never the word that warns


async def test_p_loads_a_preset_and_P_compares_with_one() -> None:
    app = _app("@eks")
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(app, pilot)
        await _open(app, pilot, "p", "@aks")
        assert _title(app) == AKS
        await _open(app, pilot, "P", "@gke")
        assert isinstance(app.screen, WorkbenchScreen)
        assert str(app.screen.query_one("#workbench-title").render()) == f"Workbench  {AKS} → {GKE}"
