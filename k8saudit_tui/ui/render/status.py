"""The events list's status line: how many events show, under which filter, and what is missing.

One line of fixed height: the screen updates it without a layout, so it must never wrap: what
does not fit is cut with an ellipsis. While a fuzzy term or a bare word is active, the filter text
gives way to what it matched (`user:~alice → alice@example.com 1,983 · alice-admin 12`), the
values being untrusted text made safe. The panes' border titles are here too (what each pane shows:
a count, a file, a place in a file); a file name is untrusted text like any other, so they are
built with `safe`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from rich.text import Text

from k8saudit_tui.engine.policy import presets
from k8saudit_tui.ui.render import count, safe

TITLE_LIMIT = 60
"""Characters of a file name a pane title shows."""
FILTER_LIMIT = 80
"""Characters of the filter text the status line repeats."""
VALUE_LIMIT = 40
"""Characters of one matched value the status line shows (a URI must leave room for the others)."""


class MatchedValue(Protocol):
    """A value a fuzzy term matched (the engine's `query.matched.MatchedValue`, which the
    session hands over: render reads engine values, it imports no engine work)."""

    @property
    def label(self) -> str: ...
    @property
    def events(self) -> int: ...


class FieldMatch(Protocol):
    """The values a term matched in one field (`query.matched.FieldMatch`)."""

    @property
    def field(self) -> str: ...
    @property
    def values(self) -> Sequence[MatchedValue]: ...
    @property
    def more(self) -> int: ...


class TermMatch(Protocol):
    """One fuzzy term or bare word and its fields (`query.matched.TermMatch`)."""

    @property
    def text(self) -> str: ...
    @property
    def fields(self) -> Sequence[FieldMatch]: ...
    @property
    def exact_only(self) -> Sequence[str]: ...


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
    matched: Sequence[TermMatch] = (),
    unknown: int = 0,
) -> Text:
    """`shown of total events`, then what qualifies it; while `loading`, the share of the bytes
    read (`loaded_share`, None while the size is unknown); with `--follow`, that the log is
    followed and how many new events arrived below the cursor. With `matched` (the filter's fuzzy
    terms and bare words), what they matched stands last, in place of the filter text and of the
    "no policy" hint, which the policy pane gives too (at 80 columns the hint left no room for it). `unknown`:
    events whose verdict the policy cannot decide (their format lost what it reads: GKE)."""
    text = Text(end="", no_wrap=True, overflow="ellipsis")
    text.append(f"{shown:,} of {count(total, 'event')}", style="bold")  # a span: the rest is not bold
    if collapsed:
        text.append("  (stages collapsed)")
    if filter_text and not matched:
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
        text.append(f"  {count(problems, 'problem')} (press !)", style="red")
    if not has_policy and not matched:  # the policy pane says it too: what a filter matched comes first
        text.append("  no policy: press p to load one", style="italic")
    if unknown:
        text.append(f"  {count(unknown, 'unknown verdict')}", style="italic")
    for term in matched:
        text.append("  ")
        text.append_text(matched_text(term))
    return text


def matched_text(term: TermMatch) -> Text:
    """`user:~alice → alice@example.com 1,983 · alice-admin 12 +2 more` for a fuzzy term; for
    a bare word, the top value of each field it matched: `secret → resource: secrets 4,120 ·
    ns: external-secrets 310 +2 more`; `→ nothing` when the rows hold no matched value; then the
    fields searched without typos, their typo index being over the memory limit."""
    text = safe(term.text, "italic")
    text.append(" → ", style="dim")
    if not term.fields:
        text.append("nothing", style="dim")
    bare = ":" not in term.text or len(term.fields) > 1
    for index, found in enumerate(term.fields):
        if index:
            text.append(" · ", style="dim")
        text.append_text(_field_text(found, named=bare, limit=1 if bare else len(found.values)))
    if term.exact_only:  # its typo index would pass the memory limit: the word itself was matched
        text.append(f" (no typos in {', '.join(term.exact_only)}: memory limit)", style="yellow")
    return text


def _field_text(found: FieldMatch, *, named: bool, limit: int) -> Text:
    """`ns: kube-system 282 · kube-public 9 +1 more`: the first `limit` values and the rest counted."""
    text = Text(f"{found.field}: " if named else "", style="dim", end="")
    shown = found.values[:limit]
    for index, value in enumerate(shown):
        if index:
            text.append(" · ", style="dim")
        text.append_text(safe(value.label if value.label else '""', "bold", limit=VALUE_LIMIT))
        text.append(f" {value.events:,}")
    more = found.more + len(found.values) - len(shown)
    if more:
        text.append(f" +{more:,} more", style="dim")
    return text


def events_title(shown: int, total: int) -> Text:
    """`Events 3,000`, or `Events 1,234 of 3,000` when a filter (or collapsing) shows fewer."""
    text = f"Events {total:,}" if shown == total else f"Events {shown:,} of {total:,}"
    return Text(text, end="")


def short_path(path: str, cwd: str | None = None) -> str:
    """`path` relative to the working directory when it is inside it, else its base name."""
    try:
        relative = os.path.relpath(os.path.abspath(path), cwd or os.getcwd())
    except ValueError:  # another drive (Windows)
        relative = os.pardir
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return os.path.basename(path) or path
    return relative


def file_title(path: str | None) -> Text | None:
    """The title of a pane showing a file (the policy): its short path, made safe; a preset
    (`@gke`) with its label, so it is never taken for the provider's own policy."""
    if path and presets.find(path) is not None:
        return safe(presets.display_name(path), limit=TITLE_LIMIT)
    return safe(short_path(path), limit=TITLE_LIMIT) if path else None


def location_title(location: str | None) -> Text | None:
    """The title of the detail pane: the event's `file:line`, the file made short and safe."""
    if not location:
        return None
    path, sep, line = location.rpartition(":")
    if not sep or not line.isdigit():
        return safe(location, limit=TITLE_LIMIT)
    return safe(f"{short_path(path)}:{line}", limit=TITLE_LIMIT)


SUGGESTIONS_SHOWN = 8
"""Suggestions the filter bar's line lists (what does not fit is cut with an ellipsis)."""


def suggestions_text(suggestions: Sequence[tuple[str, int | None]]) -> Text:
    """`verb:get 1,204 · verb:watch 890 · …`: the top suggestions with their events (a field
    name has no count), values made safe, on one line."""
    text = Text(end="", no_wrap=True, overflow="ellipsis")
    for index, (term, events) in enumerate(suggestions[:SUGGESTIONS_SHOWN]):
        if index:
            text.append(" · ", style="dim")
        text.append_text(safe(term, "bold", limit=VALUE_LIMIT))
        if events is not None:
            text.append(f" {events:,}", style="dim")
    return text
