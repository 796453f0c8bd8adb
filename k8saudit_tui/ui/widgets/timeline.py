"""The timeline strip: the current view's events over time, two lines over the events list.

Why our own Line-API view and not Textual's `Sparkline`: a sparkline colours a bar by its height
on a two-colour gradient, draws an empty bucket like the smallest one (it scales from the minimum,
not from zero), and has no cursor mark, no selection and no labels; a strip that turns buckets
into a `time:A..B` term needs all of those, and a bar's colour must say its class (level, or
written/dropped). What it shares with the other panes is `LineView` (styles once per paint, every
segment styled for NO_COLOR).

Contract: the histogram (`engine.query.timeline`) is built in a thread worker, never on the event
loop: on a new view at once if none was built in the last `THROTTLE` seconds, else once they have
passed (a load's batches collapse into a few builds); a build in flight is followed by one with
the latest view. The result is swapped in whole. Heights are block characters scaled from zero
(an empty bucket is blank, a non-empty one at least `▁`) so the strip reads without colour; the
second line names the start and end times, marks the cursor's event with `▲`, and while focused
says the selection's range and counts per class in words. `enter` posts `RangeChosen` with the
filter term; the screen appends and applies it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.worker import get_current_worker

from k8saudit_tui.ui.render import level_style, rich_style
from k8saudit_tui.ui.session import EMPTY_TIMELINE, Timeline, TimelineSplit
from k8saudit_tui.ui.widgets.line_view import LineView

THROTTLE = 0.25
"""Seconds between two builds at most (loading posts a batch every few ms)."""
BARS = "▁▂▃▄▅▆▇█"
SELECTED = Style(reverse=True)
"""The selected buckets: reversed, which keeps their colour and shows under NO_COLOR."""
CLASS_STYLES: dict[str, str] = {"written": "green", "dropped": "red", "unknown": ""}
"""Bar colours of the classes that are not levels (levels: `render.level_style`)."""

Builder = Callable[[np.ndarray, int, TimelineSplit], Timeline]
"""The session's `timeline(rows, cells, split)`."""


@dataclass
class TimelineBuilt(Message):
    """A build's result (None: it failed, and the screen's worker handler said why)."""

    timeline: Timeline | None


@dataclass
class RangeChosen(Message):
    """`enter` on the timeline: the `time:A..B` term of the selected buckets."""

    term: str


@dataclass
class TimelineLeft(Message):
    """`escape` on the timeline: back to the events list."""


class TimelineStrip(LineView):
    """Bars per time bucket (line 1) and labels, cursor mark and selection (line 2)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "select(-1)", "Earlier bucket", show=False),
        Binding("right", "select(1)", "Later bucket", show=False),
        Binding("shift+left", "widen(-1)", "Widen the selection back", show=False),
        Binding("shift+right", "widen(1)", "Widen the selection on", show=False),
        Binding("home", "select_end(0)", "First bucket", show=False),
        Binding("end", "select_end(1)", "Last bucket", show=False),
        Binding("w", "switch_split", "Level / written split", show=False),
        Binding("enter", "choose", "Filter to the selected time", show=False),
        Binding("escape", "leave", "Back to the list", show=False),
    ]
    PAINT_COMPONENTS: ClassVar[tuple[str, ...]] = ("timeline--label",)
    COMPONENT_CLASSES: ClassVar[set[str]] = set(PAINT_COMPONENTS)

    def __init__(self, build: Builder, time_of: Callable[[int], int], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._build = build
        self._time_of = time_of
        self.timeline: Timeline = EMPTY_TIMELINE
        """The histogram on screen (swapped whole)."""
        self.split: TimelineSplit = "level"
        self._rows: np.ndarray = np.zeros(0, np.int64)
        self._cursor_time = 0
        self._anchor = 0
        self._edge = 0
        self._dirty = False
        self._busy = False
        self._last = 0.0
        self._timer: Timer | None = None

    # ------------------------------------------------------------------ what it shows

    def show_view(self, rows: np.ndarray) -> None:
        """The view changed: build its histogram (throttled) while the strip is shown."""
        self._rows = rows
        self._dirty = True
        if self.display:
            self._schedule()

    def mark_row(self, row: int | None) -> None:
        """The events list cursor is on store row `row`: mark its time."""
        self._cursor_time = 0 if row is None or not self.display else self._time_of(row)
        self.refresh()

    @property
    def pending(self) -> bool:
        """Whether a build runs or waits (tests wait for it)."""
        return self._busy or self._dirty

    @property
    def selection(self) -> tuple[int, int]:
        """First and last selected bucket."""
        return min(self._anchor, self._edge), max(self._anchor, self._edge)

    def _schedule(self) -> None:
        if self._busy or self._timer is not None:
            return  # the build in flight, or the timer, picks the latest view up
        wait = self._last + THROTTLE - time.monotonic()
        if wait > 0:
            self._timer = self.set_timer(wait, self._start, name="timeline")
            return
        self._start()

    def _start(self) -> None:
        self._timer = None
        if not self._dirty:
            return
        self._dirty, self._busy, self._last = False, True, time.monotonic()
        rows, cells, split = self._rows, max(1, self.size.width), self.split
        # on the screen: its one worker handler reports a failure
        self.screen.run_worker(
            lambda: self._run(rows, cells, split),
            thread=True,
            exclusive=True,
            group="timeline",
            exit_on_error=False,
            description="Timeline",
        )

    def _run(self, rows: np.ndarray, cells: int, split: TimelineSplit) -> None:
        try:
            timeline = self._build(rows, cells, split)
        except Exception:
            self.post_message(TimelineBuilt(None))
            raise
        if not get_current_worker().is_cancelled:
            self.post_message(TimelineBuilt(timeline))

    def on_timeline_built(self, message: TimelineBuilt) -> None:
        """Swap the new histogram in; build again if the view changed meanwhile."""
        message.stop()
        self._busy = False
        if message.timeline is not None:
            old = self.timeline
            self.timeline = message.timeline
            if (old.start, old.size, len(old)) != (
                message.timeline.start,
                message.timeline.size,
                len(message.timeline),
            ):
                self._select_cursor_bucket()
            self.refresh()
        if self._dirty:
            self._schedule()

    def on_show(self) -> None:
        """Shown again: build what changed while hidden."""
        if self._dirty:
            self._schedule()

    def on_resize(self, event: Resize) -> None:
        """Another width holds another number of buckets."""
        self.set_lines_size(event.size.width, 2)
        self.show_view(self._rows)

    # ------------------------------------------------------------------ keys

    def _select_cursor_bucket(self) -> None:
        bucket = self.timeline.bucket_of(self._cursor_time)
        self._anchor = self._edge = bucket if bucket is not None else max(0, len(self.timeline) - 1)

    def _clamp(self, index: int) -> int:
        return max(0, min(len(self.timeline) - 1, index))

    def action_select(self, step: int) -> None:
        """`left` / `right`: one bucket, alone."""
        self._anchor = self._edge = self._clamp(self._edge + step)
        self.refresh()

    def action_widen(self, step: int) -> None:
        """`shift+left` / `shift+right`: move the selection's moving end."""
        self._edge = self._clamp(self._edge + step)
        self.refresh()

    def action_select_end(self, last: int) -> None:
        """`home` / `end`: the first or last bucket."""
        self._anchor = self._edge = self._clamp(len(self.timeline) - 1 if last else 0)
        self.refresh()

    def action_switch_split(self) -> None:
        """`w`: split by level, or by written/dropped."""
        self.split = "written" if self.split == "level" else "level"
        self.show_view(self._rows)

    def action_choose(self) -> None:
        """`enter`: filter to the selected buckets' time."""
        if not len(self.timeline):
            self.app.bell()
            return
        self.post_message(RangeChosen(self.timeline.range_term(*self.selection)))

    def action_leave(self) -> None:
        """`escape`: back to the list."""
        self.post_message(TimelineLeft())

    # ------------------------------------------------------------------ painting

    def render_line(self, y: int) -> Strip:
        """Line 0: the bars; line 1: the labels."""
        base, label = self.paint_styles()
        width = self.size.width
        text = self._bars() if y == 0 else self._labels(width) if y == 1 else Text()
        return self.text_strip(text, base + label if y == 1 else base, 0, width)

    def _bars(self) -> Text:
        timeline = self.timeline
        text = Text(no_wrap=True, end="")
        if not len(timeline):
            return text
        totals = timeline.totals
        peak = int(totals.max()) or 1
        first, last = self.selection if self.has_focus else (-1, -2)
        for index, count in enumerate(totals.tolist()):
            height = 0 if not count else max(1, -(-count * len(BARS) // peak))
            style = rich_style(self._class_style(int(np.argmax(timeline.counts[index]))))
            if first <= index <= last:
                style += SELECTED
            text.append(BARS[height - 1] if height else " ", style)
        return text

    def _class_style(self, cls: int) -> str:
        name = self.timeline.classes[cls]
        return CLASS_STYLES.get(name, level_style(name))

    def _labels(self, width: int) -> Text:
        timeline = self.timeline
        if not len(timeline):
            unknown = f" ({timeline.unknown:,} without a time)" if timeline.unknown else ""
            return Text(f"no event time to show{unknown}", no_wrap=True, end="")
        start = _clock(timeline.bucket_start(0), timeline.size)
        end = _clock(timeline.bucket_start(len(timeline)), timeline.size)
        room = width - len(start) - len(end) - 2
        middle = f"{_duration(timeline.size)} a bar"[:room].center(room)
        line = self._summary() if self.has_focus else f"{start} {middle} {end}" if room > 0 else start
        cells = list(line[:width])
        cells.extend(" " * (width - len(cells)))
        cursor = timeline.bucket_of(self._cursor_time)
        if cursor is not None and cursor < width:
            cells[cursor] = "▲"  # over a label if need be: the mark always shows
        return Text("".join(cells), no_wrap=True, end="")

    def _summary(self) -> str:
        timeline = self.timeline
        first, last = self.selection
        counts = timeline.counts[first : last + 1].sum(axis=0)
        split = " · ".join(
            f"{name} {int(count):,}" for name, count in zip(timeline.classes, counts, strict=True) if count
        )
        low = _clock(timeline.bucket_start(first), timeline.size)
        high = _clock(timeline.bucket_start(last + 1), timeline.size)
        return f"▸ {low}..{high}: {int(counts.sum()):,} events{' (' + split + ')' if split else ''}"

    def on_focus(self) -> None:
        """Focused: select the cursor's bucket."""
        self._select_cursor_bucket()
        self.refresh()

    def on_blur(self) -> None:
        """The selection shows only while focused."""
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Two lines."""
        return 2


def _clock(nanos: int, size: int) -> str:
    """A bucket edge as short as its bucket size allows (UTC)."""
    try:
        moment = datetime.fromtimestamp(nanos // 1_000_000_000, UTC)
    except (OverflowError, ValueError, OSError):
        return "?"
    if size >= 86_400 * 1_000_000_000:
        return f"{moment.year:04d}-{moment:%m-%d}"
    return f"{moment:%m-%dT%H:%M:%S}" if size < 60 * 1_000_000_000 else f"{moment:%m-%dT%H:%M}"


def _duration(nanos: int) -> str:
    seconds = nanos // 1_000_000_000
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
