"""The explorer on real GKE LogEntries (format lost user groups and stage): `unknown` in the rule
and level columns, the status line, the policy pane, and a detail pane that says where the event
came from, what its format derived and lost, and why its verdict cannot be evaluated."""

from __future__ import annotations

from pathlib import Path

from k8saudit_tui.ui.render.status import status_text
from tests.test_lossy_store import POLICY, gke_log

from .conftest import make_app, settle
from .test_detail import shown


def write_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


async def test_the_explorer_shows_unknown_where_the_lost_groups_decide(tmp_path: Path) -> None:
    app = make_app(policy=write_policy(tmp_path), logs=(gke_log(tmp_path),))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        main, session = app.main_screen, app.main_screen.session
        rows = {session.store.value(row, "verb"): row for row in range(session.total)}
        patch, create = rows["patch"], rows["create"]
        assert {k: session.row_values(patch)[k] for k in ("rule", "level")} == {"rule": "unknown", "level": "unknown"}
        assert {k: session.row_values(create)[k] for k in ("rule", "level")} == {"rule": "#3", "level": "Request"}
        assert "1 unknown verdict" in main.status_line.render().plain  # type: ignore[union-attr]
        pane = "\n".join(line.text.plain for line in main.policy_pane._source)
        assert "#1 RequestResponse" in pane and "1 unknown" in pane

        while main.events_table.current_row != patch:
            await pilot.press("j")
        await settle(app, pilot)
        text = shown(app)
        assert "Format: GKE, Cloud Logging LogEntry (protoPayload AuditLog); reconstructed" in text
        assert "lost: stage, user.groups" in text
        assert "Verdict: unknown (rule #1 or #2), level unknown" in text
        assert "Written: unknown (it depends on the unknown rule)" in text
        assert "rule 1 (line 7) level RequestResponse: CANNOT EVALUATE" in text
        assert "[?] userGroups: cannot evaluate: user groups are not present in GKE logs" in text
        assert main.policy_pane.event_rule == 1  # the rule that needs the groups, not "no rule matched"


def test_the_status_line_counts_unknown_verdicts_only_when_there_are() -> None:
    options = {"collapsed": False, "filter_text": "", "loading": False, "loaded_share": None, "has_policy": True}
    assert status_text(2, 2, problems=0, unknown=1, **options).plain == "2 of 2 events  1 unknown verdict"  # type: ignore[arg-type]
    assert status_text(2, 2, problems=0, **options).plain == "2 of 2 events"  # type: ignore[arg-type]
