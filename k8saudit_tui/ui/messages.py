"""Messages the widgets and workers post up to the main screen (the hub).

Widgets never import each other: they post one of these and the main screen calls the others
through typed accessors. Workers post them from their threads (`post_message` is thread-safe):
it is their one way back to the UI; a worker that fails raises, and the screen's one worker
error handler tells the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class EventHighlighted(Message):
    """The events list cursor moved to store row `row` (None: the list is empty)."""

    row: int | None

    def can_replace(self, message: Message) -> bool:
        """Holding `j` only needs the last position shown in the detail pane."""
        return isinstance(message, EventHighlighted)


@dataclass
class RuleChosen(Message):
    """`enter` on a policy rule: filter the events to it (None: the "no rule matched" line)."""

    rule: int | None


@dataclass
class FilterEditing(Message):
    """A key that edits the filter text reached the filter input, before the input handles it
    (posted straight to the screen, so it is there before the input's repaint)."""


@dataclass
class FilterChanged(Message):
    """The filter bar text changed (debounced by the screen before filtering)."""

    text: str


@dataclass
class FilterDone(Message):
    """The filter bar is finished with (`enter` or `escape`): focus goes back to the list."""

    text: str
    cancelled: bool = False


@dataclass
class LoadProgressed(Message):
    """A batch of events is in the store: refresh the view and the progress bar."""

    done_bytes: int
    total_bytes: int

    def can_replace(self, message: Message) -> bool:
        """A burst of batches collapses to the latest: the store already holds them all."""
        return isinstance(message, LoadProgressed)


@dataclass
class LoadFinished(Message):
    """The loader stopped: finished, cancelled, or failed (the worker error handler says why)."""

    cancelled: bool = False
    failed: bool = False


@dataclass
class FilterApplied(Message):
    """A filter worker's result: the selected store rows, or the error of the filter text."""

    generation: int
    text: str
    rows: Any = None
    """numpy array of store row indices (None when `error` is set)."""
    error: str = ""
    error_position: int | None = None


@dataclass
class EventsAppended(Message):
    """`--follow` appended events to the store."""

    def can_replace(self, message: Message) -> bool:
        """One refresh shows every event appended so far."""
        return isinstance(message, EventsAppended)


@dataclass
class PolicyReplaced(Message):
    """A policy worker loaded another policy and re-evaluated every event under it."""


@dataclass
class DetailBuilt(Message):
    """A detail worker's result: the content for store row `row` (stale if `generation` is old)."""

    generation: int
    row: int
    content: Any
    """A `DetailContent` (typed loosely: this module does not import the widgets)."""


@dataclass
class TermsMatched(Message):
    """The filter thread worked out what the fuzzy terms and bare words of `text` matched, after
    its rows were shown: the status line can say it (`Session.matched_for`)."""

    text: str
