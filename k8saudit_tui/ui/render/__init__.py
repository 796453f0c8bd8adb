"""Engine values to rich `Text` and styles: the one place where data meets styles.

Every string that came from a log or a policy passes through `safe()` here: it becomes a literal
`Text` (never parsed as markup) whose control and format characters are shown as escapes
(`\\x1b`, `\\u202e`) by the engine's `visible()`, so nothing from the data reaches the terminal as
a control sequence and nothing can restyle or break the layout. The submodules build on it, one
per thing shown: `cells` (the events list), `policy` (the policy pane), `detail` (the detail pane).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from rich.style import Style
from rich.text import Text

from k8saudit_tui.engine.textsafe import visible

LEVEL_STYLES: Mapping[str, str] = MappingProxyType(
    {
        "None": "dim",
        "Metadata": "cyan",
        "Request": "bold yellow",
        "RequestResponse": "bold underline magenta",
    }
)
"""Level styles, the same everywhere (policy pane, events list, detail): a colour, and a weight or
line that tells the levels apart without it."""
NO_COLOR_LEVEL_STYLES: Mapping[str, str] = MappingProxyType(
    {"None": "dim", "Metadata": "", "Request": "bold", "RequestResponse": "bold underline"}
)
"""Under NO_COLOR: no colour at all (the monochrome filter drew magenta dark grey on black, the
hardest level to read), the levels told apart by weight and underline alone."""
_level_styles: Mapping[str, str] = LEVEL_STYLES
"""The table in force, swapped whole by `use_colour` (render runs in worker threads too)."""

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


def count(n: int, noun: str, plural: str = "") -> str:
    """`n` things with thousands separators and the noun's number: `1 event`, `3,000 events`
    (`plural` when it is not the noun plus s). Every count the UI shows goes through here."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def use_colour(enabled: bool) -> None:
    """Colour levels, or tell them apart by weight and underline only (the app's NO_COLOR)."""
    global _level_styles
    _level_styles = LEVEL_STYLES if enabled else NO_COLOR_LEVEL_STYLES


def level_style(level: str) -> str:
    """The style of a level name; unknown levels are plain."""
    return _level_styles.get(level, "")


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
