"""All process tuning, as named phases that the app, the loader, the workers and the benchmarks
call alike, so that a benchmark measures what the app runs.

Why each knob (all measured on this project's 2-core machines, 1M events):

- `interactive()`: the GIL is handed over every 1 ms (Python's 5 ms made the loader wait behind
  the event loop at start-up), every thread allocates from one glibc heap (`share_one_heap`), and
  numpy asks for no transparent huge pages (`small_pages`: a keystroke must never wait for the
  kernel to compact memory).
- `loading()`: while batches arrive, blocks of 256 KiB or more get their own mapping, so that
  unpickled batches go back to the OS when freed; afterwards the heap keeps up to 64 MiB free
  for the filters' arrays (see `_set_heap_thresholds`).
- `parsing()`: the cyclic GC is off while a batch is parsed in-process (parsing makes no cycles,
  and a collection every few thousand objects cost a tenth of the parse); `worker_process()`
  turns it off for good in parser workers.
- `importing()`: around a command's start-up imports, the cyclic GC is off and what they made is
  frozen after (`gc.freeze`): they make ~90k objects that live as long as the process and no
  garbage, and the collections they set off walked all of them (the explorer's imports: 0.43-0.53
  s without, 0.50-0.76 with).
- `release_memory()`: once parsed, give the freed heap back to the OS (malloc_trim; `trim_heap()`
  alone between the steps that build the filter indexes).
- `after_first_view(events)`: once the explorer shows what it loaded, collect garbage; for a big
  log keep the free heap resident (`keep_for_filters`: the first keystrokes allocate it again),
  for a smaller one give it back (`release_memory`): see its docstring.

Without glibc (or ctypes) the heap phases do nothing.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (Python's default is 0.005).

The loader and filter threads run beside the event loop; each time one comes back from a call
that let the GIL go (a read, most numpy calls), it waited for the busy thread's whole interval.
At start-up that stretched parsing the first 1,000 lines from 25 ms to 340 ms while Textual
built the screen, and the first rows showed at 0.8 s instead of 0.4 s (measured, 1M events)."""

M_TRIM_THRESHOLD = -1
"""glibc's mallopt parameter: once this much is free at the top of the heap, it goes back to the OS."""
M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter: blocks this big or bigger get their own mapping."""
M_ARENA_MAX = -8
"""glibc's mallopt parameter: how many heaps (arenas) threads may get."""
LOADING_THRESHOLDS = (256 * 1024, 512 * 1024)
"""(mmap, trim) thresholds while batches arrive."""
LOADED_THRESHOLDS = (32 * 1024 * 1024, 64 * 1024 * 1024)
"""(mmap, trim) thresholds once loaded: the trim threshold twice the mmap one, as glibc keeps it."""


def interactive() -> None:
    """The explorer's settings; call before Textual starts its threads."""
    share_one_heap()
    sys.setswitchinterval(SWITCH_INTERVAL)
    small_pages()


def small_pages() -> None:
    """Stop numpy from asking for transparent huge pages (madvise MADV_HUGEPAGE, which it does for
    every array of 4 MiB or more on Linux). The explorer's setting, and every store load's (the
    loader's parent: 1.03-1.04 CPU-s at 1M events against 1.13-1.23, alternated).

    Where the kernel serves that advice at fault time (THP `defrag` set to `madvise`, the common
    default), a fault in such an array waits while the kernel compacts memory for a 2 MiB page,
    and with the log in the page cache memory is fragmented: at 10M events the first one- and
    two-letter words spent 160-600 ms of system time there (`ku` 663 ms once, p50 41 ms), and the
    first filter after loading 75 ms. Small pages cost a fault every 4 KiB instead: 10-25 ms for
    the 40-60 MB row lists of those words, every time, and never a stall (measured)."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1: numpy.core
        from numpy.core import multiarray  # type: ignore[no-redef]
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)


@contextmanager
def loading() -> Iterator[None]:
    """Around the arrival of batches: LOADING_THRESHOLDS inside, LOADED_THRESHOLDS after."""
    _set_heap_thresholds(LOADING_THRESHOLDS)
    try:
        yield
    finally:
        _set_heap_thresholds(LOADED_THRESHOLDS)


@contextmanager
def parsing() -> Iterator[None]:
    """Around an in-process parse: the cyclic GC off, back on after if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def importing() -> Iterator[None]:
    """Around a command's start-up imports: the cyclic GC off, and what they made frozen after
    (later collections never walk the modules, classes and functions again) when nothing is
    frozen yet, as at a process's start (a process that runs commands in-process, as the tests
    do, would otherwise pin whatever garbage each call found); the GC back on after if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            gc.freeze()
        if enabled:
            gc.enable()


def freeze_loaded() -> None:
    """Take what is loaded now out of the cycle collector's sight (`gc.freeze`).

    The store's columns hold big lists and dicts of values; a full collection walks every item of
    them (60 ms at 1M events, measured), and the UI's own garbage sets one off every few seconds:
    a key that lands then waits. They live as long as the app, so the collector need never look at
    them again."""
    gc.collect()
    gc.freeze()


def worker_process() -> None:
    """A parser worker process's settings: it makes no reference cycles, so no cyclic GC."""
    gc.disable()


def _set_heap_thresholds(thresholds: tuple[int, int]) -> None:
    """While batches arrive the loader maps every block of 256 KiB or more on its own, so it goes
    back to the OS when freed; afterwards big blocks come from the heap, which gives memory back
    only once 64 MiB is free at its top.

    glibc raises its threshold to the biggest block freed so far, so after the first batches
    every unpickled batch came from the heap and left it fragmented: 50 MB more resident with
    1M events loaded (measured). Afterwards the filters allocate the same big arrays at every
    keystroke, which a high threshold lets the heap reuse (a mapping each time doubled the
    filter latency, measured). Setting a threshold also stops glibc from raising its trim
    threshold with it, and a trim gives back all the free top, not the excess: at 128 KiB (the
    default) or 16 MiB, the heap gave a keystroke's temporaries back and the next keystroke
    faulted them in again (1,000-5,500 page faults, up to a third of a filter at 1M events,
    measured)."""
    mallopt = libc_function("mallopt")
    if mallopt is not None:
        mmap_threshold, trim_threshold = thresholds
        mallopt(M_MMAP_THRESHOLD, mmap_threshold)
        mallopt(M_TRIM_THRESHOLD, trim_threshold)


def share_one_heap() -> None:
    """Have every thread allocate from one heap (glibc arena); call before starting threads.

    glibc gives threads heaps of their own, up to eight per core, and the explorer runs each
    filter in a new thread (a Textual worker): its arrays came from whichever heap that thread
    got, often one that had given its pages back, so a keystroke faulted in 4-10 MB again
    (measured). Python threads take turns (the GIL), so one heap costs no waiting."""
    mallopt = libc_function("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def libc_function(name: str) -> Callable[..., Any] | None:
    """A function of the C library, or None (not glibc, no ctypes)."""
    try:
        import ctypes

        function: Callable[..., Any] = getattr(ctypes.CDLL("libc.so.6"), name)
        return function
    except (OSError, AttributeError):
        return None


def release_memory() -> None:
    """Give freed heap back to the OS (glibc): after parsing (unpickled batches, temporaries).
    The heap otherwise keeps up to 64 MiB free at its top (see `_set_heap_thresholds`)."""
    gc.collect()
    trim_heap()


def trim_heap() -> None:
    """Give the free heap back to the OS (glibc's malloc_trim), without collecting garbage first:
    between steps that free what they allocated, so resident memory says what is in use."""
    malloc_trim = libc_function("malloc_trim")
    if malloc_trim is not None:
        malloc_trim(0)


KEEP_HEAP_EVENTS = 5_000_000
"""From this many events the explorer keeps its free heap after the first view (`after_first_view`)."""


def after_first_view(events: int) -> None:
    """What the explorer does once its first view of `events` loaded events is painted: keep the
    free heap for the first keystrokes from KEEP_HEAP_EVENTS on (`keep_for_filters`: at 10M, given
    back, it is 95 MB that the first filter faults in afresh, 30 ms of its 100 ms budget), give
    it back below (`release_memory`: at 1M, kept, it is 60 bytes an event resident, 232 against
    174 with the filter indexes, for 3-10 ms saved on a first keystroke of 10-30 ms)."""
    if events >= KEEP_HEAP_EVENTS:
        keep_for_filters()
    else:
        release_memory()


def keep_for_filters() -> None:
    """Once the explorer's first view of everything loaded is painted: collect garbage, but leave
    the free heap resident (no malloc_trim).

    What building the filter indexes and the view freed is what the first keystrokes allocate
    again. Given back, the first filter faulted it in afresh: at 10M events 95 MB, 36 ms of
    system time with small pages (`small_pages`) and 75-340 ms with numpy's huge pages, the
    first bare word 106 ms of CPU against 77 later. Kept, the first filter pays nothing; at 10M
    resident memory once a few filters ran is the same (2,162 against 2,169 MB, measured: the
    trim only lowered it until the first keystroke), at 1M the filters reuse less of it and
    20 MB more stay resident (303 against 283 MB)."""
    gc.collect()
