"""The policy pane wraps what does not fit under its own text (issue 12): a warning's consequence
and a long YAML line are read whole at 80 columns, nothing is cut, nothing is off to the side."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from k8saudit_tui.ui.render.policy import GUTTER, PolicyLine, wrap_policy_lines

from .conftest import make_app, settle

LONG_VALUE = "-".join(f"part{i}" for i in range(30))
POLICY_TEXT = f"""apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  users: ["system:kube-proxy"]
- level: Metadata
  namespaces: ["{LONG_VALUE}"]
- level: Request
  resources:
  - group: ""
    resources: ["pods"]
    verbs: ["get"]
- level: Metadata
"""


async def test_warnings_and_long_yaml_lines_wrap_under_their_text_at_80_columns(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_TEXT)
    app = make_app(policy=policy)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        pane = app.main_screen.policy_pane
        width = pane.scrollable_content_region.width
        shown = pane.shown_lines
        assert all(len(line) <= width for line in shown)
        assert pane.virtual_size.width <= width  # nothing to scroll sideways to

        warning = next(i for i, line in enumerate(shown) if "warning: " in line)
        joined = shown[warning]
        for line in shown[warning + 1 :]:
            if not line.startswith(" " * (GUTTER + len("warning: "))):
                break
            joined += " " + line.strip()
        assert "rule 2 now applies to every verb" in joined
        assert "…" not in joined

        start = next(i for i, line in enumerate(shown) if "namespaces:" in line)
        assert shown[start + 1].startswith(" " * (GUTTER + 2 + 2))  # under the YAML, past the indentation
        assert LONG_VALUE in "".join(line.strip() for line in shown[start : start + 4])
        assert pane.rule_count == 4


async def test_the_cursor_steps_by_rule_over_wrapped_lines(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_TEXT)
    app = make_app(policy=policy)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        pane = app.main_screen.policy_pane
        pane.selected = 0
        seen = []
        for _ in range(4):
            seen.append(pane.selected)
            pane.action_next_rule()
        assert seen == [0, 1, 2, 3]


def test_a_wrapped_header_stays_one_header() -> None:
    header = PolicyLine(Text("rule #7 RequestResponse  1,234,567 hits  99.9%", end=""), 7, True, hang=2)
    lines = wrap_policy_lines([header, PolicyLine(Text("  12 - level: None", end=""), 7)], Console(), 20)
    assert len(lines) > 2
    assert [line.starts_rule for line in lines].count(True) == 1
    assert all(line.header for line in lines[:-1]) and not lines[-1].header
    assert all(line.rule == 7 for line in lines)
