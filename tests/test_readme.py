"""The README documents the fields the code has: its field table is engine/fields.py's, row for row."""

from __future__ import annotations

import re
from pathlib import Path

from k8saudit_tui.engine import fields

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_field_table_is_the_field_table() -> None:
    text = README.read_text(encoding="utf-8")
    language = text[text.index("## The filter language") :]
    section = language[language.index("| field | matches |") : language.index("Examples a cluster admin would type:")]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", section, flags=re.MULTILINE)
    expected = [(f.name, f.description) for f in fields.FIELDS if f.name in fields.FILTER_NAMES]
    assert rows == expected
