"""The events list's status line: how many events show, under which filter, and what is missing.

One line of fixed height: the screen updates it without a layout, so it must never wrap.
"""

from __future__ import annotations

from rich.text import Text

from k8saudit_tui.ui.render import safe

FILTER_LIMIT = 80
"""Characters of the filter text the status line repeats."""


def status_text(
    shown: int,
    total: int,
    *,
    collapsed: bool,
    filter_text: str,
    loading: bool,
    loaded_share: float | None,
    problems: int,
    has_policy: bool,
    following: bool = False,
    new_below: int = 0,
) -> Text:
    """`shown of total events`, then what qualifies it; while `loading`, the share of the bytes
    read (`loaded_share`, None while the size is unknown); with `--follow`, that the log is
    followed and how many new events arrived below the cursor."""
    text = Text(f"{shown:,} of {total:,} events", style="bold", end="")
    if collapsed:
        text.append("  (stages collapsed)")
    if filter_text:
        text.append("  filter: ")
        text.append_text(safe(filter_text, "italic", limit=FILTER_LIMIT))
    if loading:
        share = f" {100 * loaded_share:.0f}%" if loaded_share is not None else ""
        text.append(f"  loading…{share}", style="yellow")
    if following:
        text.append("  following", style="green")
    if new_below:
        text.append(f"  {new_below:,} new below: G to jump", style="bold green")
    if problems:
        text.append(f"  {problems:,} problems (press !)", style="red")
    if not has_policy:
        text.append("  no policy: press p to load one", style="italic")
    return text
