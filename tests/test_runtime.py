"""Process tuning phases (engine/runtime.py): the glibc settings each phase makes, in order."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from k8saudit_tui.engine import runtime


def _record_mallopt(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    calls: list[tuple[int, ...]] = []

    def fake(name: str) -> Callable[..., Any] | None:
        return (lambda *args: calls.append(args)) if name == "mallopt" else None

    monkeypatch.setattr(runtime, "libc_function", fake)
    return calls


def test_loading_maps_big_blocks_then_keeps_freed_memory_for_the_next_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """While loading, blocks of 256 KiB or more get their own mapping; after (also on an error),
    explicit thresholds stop glibc's sliding ones and the trim threshold keeps 64 MiB free, or a
    filter's freed temporaries go back to the OS at every keystroke (page faults)."""
    calls = _record_mallopt(monkeypatch)
    with pytest.raises(RuntimeError), runtime.loading():
        assert calls == [(runtime.M_MMAP_THRESHOLD, 256 << 10), (runtime.M_TRIM_THRESHOLD, 512 << 10)]
        raise RuntimeError("a batch failed")
    assert calls[2:] == [(runtime.M_MMAP_THRESHOLD, 32 << 20), (runtime.M_TRIM_THRESHOLD, 64 << 20)]


def test_interactive_shares_one_heap_and_hands_the_gil_over_every_millisecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _record_mallopt(monkeypatch)
    switched: list[float] = []
    monkeypatch.setattr(runtime.sys, "setswitchinterval", switched.append)
    monkeypatch.setattr(runtime, "small_pages", lambda: calls.append(("small pages",)))
    runtime.interactive()
    assert calls == [(runtime.M_ARENA_MAX, 1), ("small pages",)]
    assert switched == [0.001]


def test_small_pages_stops_numpy_asking_for_huge_pages() -> None:
    """numpy advises huge pages for arrays of 4 MiB or more; a keystroke then waited for the
    kernel to compact memory (160-600 ms at 10M events)."""
    multiarray = pytest.importorskip("numpy._core.multiarray")
    before = multiarray._get_madvise_hugepage()
    multiarray._set_madvise_hugepage(True)
    try:
        runtime.small_pages()
        assert multiarray._get_madvise_hugepage() is False
    finally:
        multiarray._set_madvise_hugepage(before)


def test_parsing_turns_the_collector_off_and_restores_it() -> None:
    assert gc.isenabled()
    with runtime.parsing():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with runtime.parsing():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_importing_turns_the_collector_off_and_freezes_what_it_made() -> None:
    """The start's imports run without the cyclic GC, and what they made is never walked again;
    a later call, with something frozen already, freezes nothing more."""
    assert gc.isenabled()
    gc.unfreeze()  # as at a process's start
    try:
        with runtime.importing():
            assert not gc.isenabled()
            made = [[n] for n in range(1000)]  # tracked objects, as a module's classes and functions
        assert gc.isenabled()
        frozen = gc.get_freeze_count()
        assert frozen >= len(made)
        gc.disable()
        with runtime.importing():
            more = [[n] for n in range(1000)]
        assert not gc.isenabled()  # it was off before: it stays off
        assert gc.get_freeze_count() == frozen and len(more) == 1000
    finally:
        gc.enable()
        gc.unfreeze()


def test_only_release_memory_gives_the_heap_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """After parsing, the freed heap goes back (malloc_trim); once the explorer's first view is
    painted it stays: the first keystrokes allocate it again (faulted in afresh, 36-340 ms at 10M)."""
    asked: list[str] = []

    def fake(name: str) -> Callable[..., Any] | None:
        asked.append(name)
        return lambda *args: 1

    monkeypatch.setattr(runtime, "libc_function", fake)
    runtime.keep_for_filters()
    assert asked == []
    runtime.release_memory()
    assert asked == ["malloc_trim"]


def test_after_the_first_view_only_a_big_log_keeps_the_free_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(runtime, "keep_for_filters", lambda: asked.append("keep"))
    monkeypatch.setattr(runtime, "release_memory", lambda: asked.append("release"))
    runtime.after_first_view(runtime.KEEP_HEAP_EVENTS - 1)
    runtime.after_first_view(runtime.KEEP_HEAP_EVENTS)
    assert asked == ["release", "keep"]


def test_every_store_load_stops_numpy_asking_for_huge_pages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from k8saudit_tui.engine.logs.sources import expand_sources
    from k8saudit_tui.engine.store import StoreLoader

    calls: list[bool] = []
    monkeypatch.setattr(runtime, "small_pages", lambda: calls.append(True))
    log = tmp_path / "audit.log"
    log.write_bytes(b'{"kind":"Event","stage":"ResponseComplete","verb":"get","requestURI":"/api"}\n')
    store = StoreLoader(expand_sources([str(log)]), None).load_all()
    assert (len(store), calls) == (1, [True])
