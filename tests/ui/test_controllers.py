"""The UI's timing rules, driven by hand: which answer is taken, when the detail is due, when
paints are let through. No app runs here: a fake owner records the timers, the clock is set."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.ui import controllers
from k8saudit_tui.ui.controllers import LatestOnly, PaintHold, RestDebounce, Throttle


class FakeTimer:
    def __init__(self, delay: float, callback: Callable[[], object]) -> None:
        self.delay = delay
        self.callback = callback
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


class FakeBatch:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def __enter__(self) -> None:
        self.log.append("hold")

    def __exit__(self, *exc: object) -> None:
        self.log.append("let through")


class FakeOwner:
    """Records timers instead of running them; its `app` counts held and released paints."""

    def __init__(self) -> None:
        self.timers: list[FakeTimer] = []
        self.log: list[str] = []
        self.app = self

    def set_timer(self, delay: float, callback: Callable[[], object], *, name: str = "") -> FakeTimer:
        timer = FakeTimer(delay, callback)
        self.timers.append(timer)
        return timer

    def batch_update(self) -> FakeBatch:
        return FakeBatch(self.log)


def recorder() -> tuple[list[tuple[str, int]], LatestOnly[str]]:
    started: list[tuple[str, int]] = []
    return started, LatestOnly(lambda request, generation: started.append((request, generation)))


def test_requests_made_while_one_runs_collapse_into_the_latest() -> None:
    started, runner = recorder()
    runner.offer("v")
    for text in ("ve", "ver", "verb"):
        runner.offer(text)
    assert started == [("v", 1)]  # one run at a time
    assert not runner.take(1, "v")  # "v" is out of date: "verb" starts instead
    assert started == [("v", 1), ("verb", 2)]
    assert not runner.settled
    assert runner.take(2, "verb")
    assert runner.settled


def test_a_request_kept_equal_to_the_answer_is_not_run_again() -> None:
    started, runner = recorder()
    runner.offer("verb:get")
    runner.offer("verb:get")
    assert runner.take(1, "verb:get")
    assert started == [("verb:get", 1)]


def test_run_now_replaces_the_kept_request_and_makes_the_running_one_stale() -> None:
    started, runner = recorder()
    runner.offer("a")
    runner.offer("b")
    runner.run_now("rule:3")
    assert not runner.take(1, "a")
    assert runner.take(2, "rule:3")
    assert started == [("a", 1), ("rule:3", 2)]  # "b" never ran


def test_an_answer_for_where_the_cursor_was_is_stale() -> None:
    _, runner = recorder()
    runner.run("row 7")
    runner.invalidate()  # the cursor moved while it was built
    assert not runner.take(1, "row 7")
    assert not runner.settled
    runner.answer_here()  # nothing to build where it stopped (an empty list)
    assert runner.settled


@given(st.lists(st.lists(st.text(max_size=3), min_size=1, max_size=4), min_size=1, max_size=6))
def test_the_last_text_typed_is_the_one_answered(bursts: list[list[str]]) -> None:
    """Against the plain rule: whatever arrives while filters run, the text shown at the end is
    the last one typed, and no run is ever started for a text that is not the latest."""
    started, runner = recorder()
    for burst in bursts:
        for text in burst:
            runner.offer(text)
        answered = None
        while answered is None:
            text, generation = started[-1]
            if runner.take(generation, text):
                answered = text
        assert answered == burst[-1]
        assert runner.settled
    assert len(started) <= 2 * len(bursts)


def clocked(monkeypatch: pytest.MonkeyPatch) -> tuple[list[float], FakeOwner, list[float]]:
    """The controllers' clock set by hand (`now[0]`, from 100 s), a fake owner, and a list of the
    clock times at which a controller called back."""
    now = [100.0]
    monkeypatch.setattr(controllers.time, "monotonic", lambda: now[0])
    return now, FakeOwner(), []


def test_the_detail_is_due_only_once_the_cursor_rests(monkeypatch: pytest.MonkeyPatch) -> None:
    now, owner, calls = clocked(monkeypatch)
    debounce = RestDebounce(owner, 0.1, lambda: calls.append(now[0]), name="detail")  # type: ignore[arg-type]
    debounce.poke()
    now[0] = 100.05
    debounce.poke()  # `j` held: the deadline moves, no second timer
    assert [timer.delay for timer in owner.timers] == [0.1]
    now[0] = 100.1
    owner.timers[-1].callback()  # fired at the first deadline: the cursor moved since
    assert calls == []
    assert owner.timers[-1].delay == pytest.approx(0.05)
    assert debounce.waiting
    now[0] = 100.15
    owner.timers[-1].callback()
    assert calls == [100.15]
    assert not debounce.waiting


def test_paints_are_held_once_and_let_through_once() -> None:
    owner = FakeOwner()
    resumed: list[Any] = []
    hold = PaintHold(owner, 0.06, lambda: resumed.append(True))  # type: ignore[arg-type]
    hold.hold()
    hold.hold()  # a second key while held: the hold is not extended
    assert owner.log == ["hold"]
    assert [timer.delay for timer in owner.timers] == [0.06]
    assert hold.held
    hold.release()  # the filter answered
    assert owner.log == ["hold", "let through"]
    assert owner.timers[0].stopped
    assert resumed == [True]
    assert not hold.held
    hold.release()  # the hold timer firing late, or the screen going away
    assert owner.log == ["hold", "let through"]
    assert resumed == [True]


def test_progress_is_painted_at_once_then_at_most_once_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    now, owner, calls = clocked(monkeypatch)
    throttle = Throttle(owner, 0.25, lambda: calls.append(now[0]), name="progress")  # type: ignore[arg-type]
    throttle.poke()  # the first batch shows at once
    assert calls == [100.0] and owner.timers == []
    now[0] = 100.1
    throttle.poke()
    now[0] = 100.2
    throttle.poke()  # batches within the interval: one paint, when it ends
    assert calls == [100.0]
    assert [timer.delay for timer in owner.timers] == [pytest.approx(0.15)]
    now[0] = 100.25
    owner.timers[0].callback()
    assert calls == [100.0, 100.25]
    now[0] = 100.6
    throttle.poke()  # after a quiet interval: at once again
    assert calls == [100.0, 100.25, 100.6] and len(owner.timers) == 1
    now[0] = 100.7
    throttle.poke()
    throttle.cancel()  # the load finished: it shows everything itself
    assert owner.timers[-1].stopped
    throttle.poke()  # a timer waits again after a cancel
    assert len(owner.timers) == 3


@given(st.lists(st.floats(min_value=0.0, max_value=2.0, allow_nan=False), min_size=1, max_size=40))
def test_throttled_calls_are_spaced_and_none_is_lost(gaps: list[float]) -> None:
    """Against the plain rule, pokes at any times with timers firing when due: calls are at least
    an interval apart, and every poke is followed by a call at or after it (the last state is
    always shown)."""
    interval = 0.25
    clock = [1000.0]
    owner = FakeOwner()
    calls: list[float] = []
    throttle = Throttle(owner, interval, lambda: calls.append(clock[0]), name="progress")  # type: ignore[arg-type]
    due: list[tuple[float, FakeTimer]] = []
    original = controllers.time.monotonic
    controllers.time.monotonic = lambda: clock[0]  # type: ignore[assignment]
    try:
        pokes = []
        for gap in gaps:
            target = clock[0] + gap
            while due and due[0][0] <= target:  # timers due before this poke fire first
                when, timer = due.pop(0)
                clock[0] = when
                timer.callback()
            clock[0] = target
            timers = len(owner.timers)
            throttle.poke()
            pokes.append(clock[0])
            due.extend((clock[0] + timer.delay, timer) for timer in owner.timers[timers:])
        for when, timer in due:
            clock[0] = when
            timer.callback()
    finally:
        controllers.time.monotonic = original  # type: ignore[assignment]
    assert all(later - earlier >= interval - controllers.RESCHEDULE_SLACK for earlier, later in pairwise(calls))
    assert all(any(call >= poke for call in calls) for poke in pokes)
    assert len(calls) <= len(pokes)
