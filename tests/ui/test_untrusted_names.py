"""Values and names written by someone else never reach an input or a message raw: a facet value
with control characters gives no term (it would be typed into the filter input), path completion
skips file names with them, and the export dialog shows its error with them made visible."""

from __future__ import annotations

from pathlib import Path

from k8saudit_tui.engine.query.facets import term
from k8saudit_tui.ui.widgets.path_suggester import complete_path

HOSTILE = "red\x1b[31mX\u202eY"


def test_a_facet_value_with_control_characters_gives_no_term() -> None:
    assert term("user", HOSTILE) == ""
    assert term("user", HOSTILE, negate=True) == ""
    assert term("user", "alice") == "user:alice"


def test_path_completion_skips_names_with_control_characters(tmp_path: Path) -> None:
    (tmp_path / f"pol-{HOSTILE}.yaml").write_text("x")
    (tmp_path / "policy.yaml").write_text("x")
    assert complete_path(str(tmp_path / "po")) == str(tmp_path / "policy.yaml")
    assert complete_path(str(tmp_path / "pol-")) is None
