"""The filter indexes built once loaded stay within the memory limit (engine/query/ahead.py): each
is built only while resident memory is under it, and what was left is said, not silently skipped."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import ahead, compile_filter, prepare, suggest
from k8saudit_tui.engine.query.matched import matched_values
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.cache_files import CacheDir
from k8saudit_tui.ui.session import Session, open_session
from tests.auditlog_helpers import event, line, write_lines

POLICY = Path(__file__).parent / "ui" / "data" / "website-policy.yaml"


def loaded(tmp_path: Path) -> tuple[Path, EventStore]:
    lines = [line(event(n, user=f"user-{n % 7}", name=f"pod-{n}", namespace=f"ns-{n % 3}")) for n in range(40)]
    log = write_lines(tmp_path / "audit.log", lines)
    return log, StoreLoader(expand_sources([str(log)]), workers=1).load_all()


def built(store: EventStore) -> set[tuple[object, ...]]:
    return {key for key in store.match_cache if key and key[0] == "joined"}


def resident_after(monkeypatch: pytest.MonkeyPatch, under: int) -> list[int]:
    """Resident memory as `ahead` reads it: under the limit for the first `under` reads, then over."""
    reads: list[int] = []

    def fake() -> int:
        reads.append(1)
        return 10 if len(reads) <= under else 1_000_000

    monkeypatch.setattr(ahead, "tree_resident_mb", fake)
    return reads


def test_without_a_limit_or_under_it_every_index_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, free = loaded(tmp_path)
    assert prepare(free) == ""
    _, limited = loaded(tmp_path)
    resident_after(monkeypatch, 100)
    assert prepare(limited, memory_limit_mb=500) == ""
    assert built(limited) == built(free) and len(built(free)) >= 6


@pytest.mark.parametrize("under", [0, 1, 3])
def test_indexes_over_the_limit_are_left_and_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, under: int) -> None:
    _, everything = loaded(tmp_path)
    prepare(everything)
    _, store = loaded(tmp_path)
    reads = resident_after(monkeypatch, under)
    left = prepare(store, memory_limit_mb=500)
    assert "memory use would pass the limit of 500 MB" in left and "K8SAUDIT_TUI_MEMORY_LIMIT_MB" in left
    assert len(reads) > under  # checked before each index: built while under, left once over
    assert len(built(store)) < len(built(everything))
    assert (len(built(store)) == 0) is (under == 0)
    monkeypatch.setattr(ahead, "tree_resident_mb", lambda: 10)  # memory freed since
    for text in ("user-3", "pod-1", "verb:get ns-2"):  # what was not built is built by the filter
        assert compile_filter(text).apply(store).tolist() == compile_filter(text).apply(everything).tolist()


def test_an_index_left_for_its_peak_does_not_stop_the_smaller_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column with a million distinct values has a search text and a token index far bigger than
    the other indexes: those are left (a token index with its text), named, and the rest built."""
    _, store = loaded(tmp_path)
    monkeypatch.setattr(ahead, "tree_resident_mb", lambda: 100)
    monkeypatch.setattr(ahead, "PEAK_BYTES", {**ahead.PEAK_BYTES, "search text": (0, 10 << 20)})  # 10 MB a value
    left = prepare(store, memory_limit_mb=450)
    assert "(name search text, name typo index)" in left  # 40 names: 400 MB
    assert ("joined", "name") not in store.match_cache
    assert ("joined", "user") in store.match_cache and ("joined", "ns") in store.match_cache  # 7 and 3 values
    assert {("joined", "uri-tokens"), ("joined", "requests"), ("joined", "by-request")} <= built(store)
    _, everything = loaded(tmp_path)
    prepare(everything)
    assert compile_filter("pod-1").apply(store).tolist() == compile_filter("pod-1").apply(everything).tolist()


def test_the_explorer_lists_indexes_left_for_memory_as_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, _ = loaded(tmp_path)
    resident_after(monkeypatch, 2)
    session = open_session(str(POLICY), [str(log)])
    list(session.load(threading.Event()))
    assert session.total == 40
    problem = session.load_problems[-1]
    assert problem.file == str(log) and problem.severity == "warning"
    assert "search indexes were not all built ahead" in problem.message


def test_a_step_whose_projected_peak_would_pass_the_limit_is_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resident memory under the limit is not enough: the step's own projected peak is added first
    (the request groups took 67-71 bytes an event at their peak)."""
    _, store = loaded(tmp_path)
    monkeypatch.setattr(ahead, "tree_resident_mb", lambda: 100)
    monkeypatch.setattr(ahead, "PEAK_BYTES", {**ahead.PEAK_BYTES, "requests": (0, 10 << 20)})  # 40 events: 400 MB
    assert "would pass the limit of 450 MB" in prepare(store, memory_limit_mb=450)
    assert ("joined", "name") in store.match_cache and ("joined", "uri-tokens") in store.match_cache
    assert ("joined", "requests") not in store.match_cache
    assert prepare(store, memory_limit_mb=550) == ""
    assert ("joined", "requests") in store.match_cache


def session_on(log: Path, cache: StoreCache) -> Session:
    session = open_session(str(POLICY), [str(log)])
    session.cache = cache
    list(session.load(threading.Event()))
    session.save_index()
    return session


def test_the_warning_is_not_kept_in_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The warning is about this process's memory, not about the log: a reopen with memory to
    spare builds what was left and says nothing."""
    log, _ = loaded(tmp_path)
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    resident_after(monkeypatch, 3)
    first = session_on(log, cache)
    assert [p.severity for p in first.load_problems] == ["warning"]
    monkeypatch.setattr(ahead, "tree_resident_mb", lambda: 10)
    again = session_on(log, cache)
    assert cache.last.startswith("reopened") and list(again.load_problems) == []
    assert again.store is not None and ("joined", "by-request") in again.store.match_cache


def test_indexes_reopened_from_the_cache_are_not_charged_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log, _ = loaded(tmp_path)
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    session_on(log, cache)
    reads = resident_after(monkeypatch, 0)  # over the limit from the start: nothing left to build
    again = session_on(log, cache)
    assert cache.last.startswith("reopened") and list(again.load_problems) == [] and reads == []


def test_the_places_of_recently_typed_words_are_not_kept_in_the_index(tmp_path: Path) -> None:
    """A filter thread adds to a search text's `recent` while the explorer writes the index: it is
    not written (nor iterated while it changes)."""
    from k8saudit_tui.engine.store import cache_indexes

    _, store = loaded(tmp_path)
    prepare(store)
    compile_filter("user-").apply(store)
    typed = store.match_cache[("joined", "user")]
    assert typed.recent
    reopened = cache_indexes.decode(cache_indexes.encode(store.match_cache))[("joined", "user")]
    assert reopened.recent == {} and reopened.text == typed.text


def test_a_filter_does_not_build_a_typo_index_over_the_limit_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo index left for memory is not built by the first bare word behind the limit's back:
    the word is matched itself (a substring) in that column, for the rest of the session, and the
    matched values name the fields searched without typos; with no limit (a headless command),
    typos are matched as ever."""
    _, everything = loaded(tmp_path)
    assert prepare(everything) == ""
    _, store = loaded(tmp_path)
    monkeypatch.setattr(ahead, "tree_resident_mb", lambda: 1_000_000)
    assert prepare(store, memory_limit_mb=500)
    exact = compile_filter("user:user-3").apply(everything).tolist()
    typos = compile_filter("user-3").apply(everything).tolist()
    assert len(typos) > len(exact) > 0  # user-2, user-4, ... are one typo away
    word = compile_filter("user-3")
    rows = word.apply(store)
    assert rows.tolist() == exact
    assert "tokens" not in store.match_cache[("joined", "user")].indexed
    (matched,) = matched_values(store, word, rows)
    assert "user" in matched.exact_only and "uri" not in matched.exact_only  # the URI has no typo index
    ((everything_matched),) = matched_values(everything, compile_filter("user-3"), np.array(typos))
    assert everything_matched.exact_only == ()
    offered = {s.term for s in suggest("user:usr-3", everything)}
    assert "user:user-3" in offered  # a typo away: suggested where typos are looked for
    assert "user:user-3" not in {s.term for s in suggest("user:usr-3", store)}
    monkeypatch.setattr(ahead, "tree_resident_mb", lambda: 10)  # memory freed: the refusal stands
    assert compile_filter("user-3").apply(store).tolist() == exact
    assert compile_filter("user:~user-3").apply(store).tolist() == exact
    assert compile_filter("ab").apply(store).tolist() == compile_filter("ab").apply(everything).tolist()
    (short,) = matched_values(store, compile_filter("ab"), compile_filter("ab").apply(store))
    assert short.exact_only == ()  # a word too short for a typo loses nothing
