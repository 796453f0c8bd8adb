"""The small state machines that keep the UI ahead of its work, apart from the screen that uses them.

Each encodes one timing rule the main screen relies on and that tests measure:
- `LatestOnly`: work whose answer can go stale (a filter, an event's detail) is numbered, only
  the newest request's answer is taken, and requests made while one runs collapse into one
  run with the latest (so typing fast never queues a filter per key);
- `RestDebounce`: the detail follows the cursor only once it has rested, by moving a deadline
  (not a timer per key: holding `j` costs nothing but the list's repaint);
- `PaintHold`: a typed filter key and its rows show in one frame, for at most a short hold;
- `Throttle`: a load's progress repaints the screen a few times a second, not once a batch;
- `TailFollow`: `--follow` is `tail -f` on the last row and leaves the view alone anywhere else,
  counting the new events below the cursor (store rows only grow, so "new" is a row number).
They run on the UI thread only; workers answer through messages that carry the generation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np
from textual.message_pump import MessagePump
from textual.timer import Timer

Request = TypeVar("Request")

RESCHEDULE_SLACK = 0.005
"""A debounce deadline closer than this (seconds) counts as reached (timers fire a little early)."""


DETAIL_DELAY = 0.1
"""Seconds the cursor must rest before the detail pane shows its event (held keys never wait)."""
PROGRESS_EVERY = 0.25
"""Seconds between two paints of a load's progress (the rows, the bar, the status line)."""
MATCH_GRACE = 0.05
"""Seconds the filter thread lets the UI paint a result before working out what its fuzzy terms
matched for the status line (10 ms of numpy at 1M events that would otherwise delay the paint)."""


class LatestOnly(Generic[Request]):
    """Runs requests through `start(request, generation)`, takes only the newest one's answer."""

    def __init__(self, start: Callable[[Request, int], object]) -> None:
        self._start = start
        self.generation = 0
        """Number of the newest request; an answer for an older one is stale."""
        self._answered = 0
        self._busy = False
        self._pending: Request | None = None

    def run(self, request: Request) -> None:
        """Start `request` now; whatever ran before is stale (a request kept by `offer` stays)."""
        self.generation += 1
        self._busy = True
        self._start(request, self.generation)

    def run_now(self, request: Request) -> None:
        """Start `request` now and forget the one `offer` kept: this one replaces it."""
        self._pending = None
        self.run(request)

    def offer(self, request: Request) -> None:
        """Start `request`, or keep it (the latest only) to start when the running one answers."""
        if self._busy:
            self._pending = request
            return
        self.run(request)

    def invalidate(self) -> None:
        """What runs now answers for a request that no longer holds (the cursor moved on)."""
        self.generation += 1

    def answer_here(self) -> None:
        """The newest request was answered without running (nothing to build)."""
        self.generation += 1
        self._answered = self.generation

    def take(self, generation: int, request: Request) -> bool:
        """Whether the answer to `request` (started as `generation`) is the one to show.

        False for a stale answer, and when a request kept by `offer` differs from this one:
        that one starts now, and its answer is the one to show."""
        if generation != self.generation:
            return False
        self._busy = False
        pending, self._pending = self._pending, None
        if pending is not None and pending != request:
            self.run(pending)
            return False
        self._answered = generation
        return True

    @property
    def settled(self) -> bool:
        """Whether the newest request's answer has been taken."""
        return self._answered == self.generation


class RestDebounce:
    """Calls `callback` once the pokes have stopped for `delay` seconds."""

    def __init__(self, owner: MessagePump, delay: float, callback: Callable[[], object], name: str) -> None:
        self._owner = owner
        self._delay = delay
        self._callback = callback
        self._name = name
        self._due = 0.0
        self._timer: Timer | None = None

    def poke(self) -> None:
        """Push the deadline `delay` from now; a timer starts only if none is waiting."""
        self._due = time.monotonic() + self._delay
        if self._timer is None:
            self._timer = self._owner.set_timer(self._delay, self._fired, name=self._name)

    def _fired(self) -> None:
        remaining = self._due - time.monotonic()
        if remaining > RESCHEDULE_SLACK:
            self._timer = self._owner.set_timer(remaining, self._fired, name=self._name)
            return
        self._timer = None
        self._callback()

    @property
    def waiting(self) -> bool:
        """Whether a deadline is still to come."""
        return self._timer is not None


class Throttle:
    """Calls `callback` at most once every `interval` seconds: the first poke at once, pokes that
    come sooner once at the end of the interval (the latest state is what `callback` reads, so
    nothing is lost, only merged).

    A million-event load lands in ~60 batches; painting each cost the UI thread 1.2-1.5 CPU-s
    of Textual's compositor and table work, taken from the parser workers on a 2-core machine.
    At a few paints a second the bar still moves and the count still climbs."""

    def __init__(self, owner: MessagePump, interval: float, callback: Callable[[], object], name: str) -> None:
        self._owner = owner
        self._interval = interval
        self._callback = callback
        self._name = name
        self._last = -interval
        self._timer: Timer | None = None

    def poke(self) -> None:
        """Call `callback` now if the last call is `interval` old, else once that time comes."""
        if self._timer is not None:
            return
        wait = self._last + self._interval - time.monotonic()
        if wait > RESCHEDULE_SLACK:
            self._timer = self._owner.set_timer(wait, self._fired, name=self._name)
            return
        self._fired()

    def cancel(self) -> None:
        """Forget a call that waits (what it would show is shown another way)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _fired(self) -> None:
        self._timer = None
        self._last = time.monotonic()
        self._callback()


class PaintHold:
    """Holds the app's paints (`App.batch_update`) for at most `hold_for` seconds.

    Without it a typed key's echo is painted at once, and Textual paints the next frame (the
    filter's result) a whole frame period or two after that one: 17 to 33 ms on top of the
    filter, measured. Work slower than the hold lets the echo through, then paints as usual."""

    def __init__(self, owner: MessagePump, hold_for: float, resume: Callable[[], object]) -> None:
        self._owner = owner
        self._hold_for = hold_for
        self._resume = resume
        self._hold: contextlib.AbstractContextManager[None] | None = None
        self._timer: Timer | None = None

    def hold(self) -> None:
        """Hold paints from now (a hold in force is not extended)."""
        if self._hold is not None:
            return
        self._hold = self._owner.app.batch_update()
        self._hold.__enter__()
        self._timer = self._owner.set_timer(self._hold_for, self.release, name="echo-hold")

    def release(self) -> None:
        """Let paints through again and paint what waited (`resume`: a refresh after the batch
        is what resumes painting)."""
        hold, self._hold = self._hold, None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if hold is not None:
            hold.__exit__(None, None, None)
            self._resume()

    @property
    def held(self) -> bool:
        """Whether paints are held now."""
        return self._hold is not None


class TailFollow:
    """What a growing view does with its cursor, and how many new events it has below it.

    `grew(total)` says the store now holds `total` rows; once the view shows them, `placed` says
    where the cursor goes: to the new last row when it was on the last row (the new events
    scroll into view), else nowhere, and the events new since the user was last at the end that
    lie below the cursor are counted (`new_below`; only those of the view: a filter's matches)."""

    def __init__(self) -> None:
        self.new_below = 0
        self._total: int | None = None
        """Store rows when the view last showed them (None: not following yet)."""
        self._unseen_from: int | None = None
        """First store row the user has not seen at the end of the view (None: all seen)."""
        self._growing = False

    def start(self, total: int) -> None:
        """Following starts with `total` rows in the store, all of them seen."""
        self._total = total

    @property
    def following(self) -> bool:
        """Whether `start` was called (the log is being followed)."""
        return self._total is not None

    def reorders(self, shown: np.ndarray, rows: np.ndarray, collapsed: bool) -> bool:
        """Whether the followed view `rows` is more than `shown` with rows after it: rows of
        several logs merged by time, or collapsed requests, can land above the cursor, whose
        event must then be kept rather than its position."""
        if not self.following:
            return False
        return collapsed or not np.array_equal(rows[: len(shown)], shown)

    def grew(self, total: int) -> None:
        """The store holds `total` rows now; the view is about to show them."""
        if self._total is None or total <= self._total:
            return
        if self._unseen_from is None:
            self._unseen_from = self._total
        self._total = total
        self._growing = True

    def placed(self, rows: np.ndarray, cursor: int, was_last: bool) -> int | None:
        """The view now shows `rows` with the cursor at `cursor`; `was_last`: it was on the last
        row of the view before. The position to move the cursor to, or None to leave it."""
        if not self._growing:
            return None
        self._growing = False
        if was_last:
            self._unseen_from, self.new_below = None, 0
            return max(0, len(rows) - 1)
        self.moved(rows, cursor)
        return None

    def moved(self, rows: np.ndarray, cursor: int) -> bool:
        """The cursor moved to `cursor` in `rows`: count again what is below it (nothing once it
        is on the last row). Whether `new_below` changed."""
        before = self.new_below
        if self._unseen_from is None:
            return False
        if cursor >= len(rows) - 1:
            self._unseen_from, self.new_below = None, 0
        else:
            self.new_below = int(np.count_nonzero(rows[cursor + 1 :] >= self._unseen_from))
        return self.new_below != before
