"""Engine values to rich `Text` and styles: the one place where data meets styles.

Every string that came from a log or a policy passes through `safe()` here: it becomes a literal
`Text` (never parsed as markup) whose control and format characters are shown as escapes
(`\\x1b`, `\\u202e`) by the engine's `visible()`, so nothing from the data reaches the terminal as
a control sequence and nothing can restyle or break the layout. The submodules build on it, one
per thing shown: `cells` (the events list), `policy` (the policy pane), `detail` (the detail pane).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from k8saudit_tui.engine.textsafe import visible

LEVEL_STYLES: dict[str, str] = {
    "None": "dim",
    "Metadata": "bold cyan",
    "Request": "bold yellow",
    "RequestResponse": "bold magenta",
}
"""Level colours, the same everywhere (policy pane, events list, detail)."""

STATUS_STYLES: dict[str, str] = {"matched": "bold green", "failed": "red", "n/a": "dim"}
PROBLEM_STYLES: dict[str, str] = {"error": "bold red", "warning": "yellow"}
MAX_CELL = 400
"""Cells longer than this are cut (with an ellipsis); the detail pane shows the whole value."""
MAX_JSON_CHARS = 200_000
"""The detail pane's JSON view stops here; bodies can be megabytes and the terminal is not a pager."""


def safe(value: object, style: str | Style = "", *, limit: int | None = None) -> Text:
    """`value` as a literal one-line `Text` with control characters made visible."""
    text = visible(value if isinstance(value, str) else str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text, style=style, no_wrap=True, end="")


def level_style(level: str) -> str:
    """The style of a level name; unknown levels are plain."""
    return LEVEL_STYLES.get(level, "")


def level_text(level: str) -> Text:
    """A level name in its level colour."""
    return safe(level, level_style(level))


_STYLES: dict[str, Style] = {}


def rich_style(name: str) -> Style:
    """A style name parsed once (`Style.parse` on every cell of every row is measurable)."""
    style = _STYLES.get(name)
    if style is None:
        style = Style.parse(name) if name else Style.null()
        _STYLES[name] = style
    return style
