"""The explorer writes the store's index after its screen shows everything, not before, and
nothing changes the store while it writes (engine/store/cache.py, `Session.save_index`)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.cache_files import CacheDir
from k8saudit_tui.ui.screens.main_screen import MainScreen
from k8saudit_tui.ui.session import Session, open_session

from .conftest import EVENTS, POLICY, make_app, settle

OTHER_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: Metadata
"""


def session_with_cache(log: Path, cache: StoreCache) -> Session:
    session = open_session(str(POLICY), [str(log)])
    session.cache = cache
    return session


def loaded(session: Session) -> None:
    for _ in session.load(threading.Event()):
        pass


def test_the_index_is_written_by_save_index_after_the_load(tmp_path: Path) -> None:
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    first = session_with_cache(EVENTS, cache)
    loaded(first)
    assert first.total == 300 and not cache.indexed(first.sources)  # loaded and filterable: not written yet
    first.save_index()
    assert cache.indexed(first.sources) and "index saved" in cache.last
    again = session_with_cache(EVENTS, cache)
    loaded(again)
    again.save_index()
    assert cache.last.startswith("reopened") and again.total == 300


def test_a_cancelled_load_writes_no_index(tmp_path: Path) -> None:
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    session = session_with_cache(EVENTS, cache)
    cancel = threading.Event()
    cancel.set()
    list(session.load(cancel))
    session.save_index()
    assert not cache.indexed(session.sources)


@pytest.mark.parametrize("change", ["replace_policy", "load_candidate"])
def test_a_policy_change_waits_for_the_index_to_be_written(tmp_path: Path, change: str) -> None:
    """A policy or candidate set while the index is written would leave it holding one policy's
    verdicts under another's name: the change waits."""
    other = tmp_path / "other-policy.yaml"
    other.write_text(OTHER_POLICY)
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    session = session_with_cache(EVENTS, cache)
    loaded(session)
    changing = threading.Thread(target=getattr(session, change), args=(str(other),))
    changing.start()
    changing.join(0.3)
    assert changing.is_alive() and str(other) not in (session.policy_path, session.candidate_path)
    session.save_index()
    changing.join(10)
    assert not changing.is_alive() and str(other) in (session.policy_path, session.candidate_path)


def test_following_waits_for_the_index_to_be_written(tmp_path: Path) -> None:
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    log = tmp_path / "audit.log"
    lines = EVENTS.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:200]))
    session = session_with_cache(log, cache)
    loaded(session)
    with log.open("ab") as grown:  # written while the index is pending: following would append them
        grown.write(b"".join(lines[200:]))
    cancel = threading.Event()
    appended: list[int] = []

    def follow() -> None:
        for _ in session.follow(cancel):
            appended.append(session.total)
            cancel.set()

    following = threading.Thread(target=follow)
    following.start()
    following.join(0.5)
    assert following.is_alive() and not appended and session.total == 200
    session.save_index()
    following.join(10)
    assert not following.is_alive() and appended == [300]
    again = session_with_cache(log, cache)  # the index holds the 200 events loaded, not a mix
    loaded(again)
    assert again.total == 300 and cache.last.startswith("reopened 200 events")


async def test_the_explorer_saves_the_index_once_loaded(tmp_path: Path) -> None:
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    app = make_app()
    app.session.cache = cache
    async with app.run_test() as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and not app.screen.is_loading
        assert cache.indexed(app.session.sources) and "index saved" in cache.last
