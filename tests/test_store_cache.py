"""The persistent index of the store (engine/store/cache.py): a reopened store equals the one that
was loaded, appended logs read only their new bytes, rewritten ones are rebuilt, the cache stays
private, bounded and atomic, and a damaged or foreign index is a miss, never a crash."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import compile_filter, indexes, prepare
from k8saudit_tui.engine.store import (
    EventStore,
    StoreLoader,
    cache_files,
    cache_indexes,
    cache_key,
    cache_state,
    follow,
)
from k8saudit_tui.engine.store import cache as cache_module
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.cache_files import CacheDir
from k8saudit_tui.engine.store.verdicts import VERDICT_COLUMNS
from k8saudit_tui.sample import write_log
from tests.auditlog_helpers import event, line, simple_policy
from tests.strategies import filters

EVENTS = 1500


def _other_policy() -> Policy:
    return Policy(
        rules=(
            PolicyRule(level="Metadata", verbs=("watch", "list")),
            PolicyRule(level="RequestResponse", resources=(GroupResources("coordination.k8s.io", ()),)),
            PolicyRule(level="None", omit_stages=("RequestReceived",)),
        )
    )


def _write(path: Path, events: int = EVENTS, seed: int = 7) -> Path:
    """A generated log, then lines the store must keep as they were: a broken line, a blank
    line, an auditID longer than the column holds, and a last line without its newline."""
    write_log(path, events, seed)
    long_id = "x" * 70
    with open(path, "ab") as handle:
        handle.write(b'{"kind":"Event", broken\n\n')
        handle.write(line(event(9_000, user="long-id-user")).replace(b'"auditID":"', f'"auditID":"{long_id}'.encode()))
        handle.write(b"\n")
        handle.write(line(event(9_001, user="no-newline")))
    return path


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return _write(tmp_path / "audit.log")


@pytest.fixture
def cache(tmp_path: Path) -> StoreCache:
    return StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)


def _open(
    path: Path | list[Path], cache: StoreCache | None, policy: Policy | None = None, candidate: Policy | None = None
) -> EventStore:
    paths = [str(p) for p in (path if isinstance(path, list) else [path])]
    return StoreLoader(
        expand_sources(paths),
        PolicyEvaluator(policy or simple_policy()),
        candidate=PolicyEvaluator(candidate) if candidate else None,
        cache=cache,
    ).load_all()


def _values(store: EventStore, name: str) -> list[Any]:
    """Column `name` of every row as values (codes decoded): equal stores agree whatever their codes."""
    array = store._arrays[name][: len(store)]
    coded = store._codes.coded.get(name)
    if coded is None:
        return array.tolist()  # type: ignore[no-any-return]
    return [coded.values[code] for code in array.tolist()]


def _assert_same(loaded: EventStore, reopened: EventStore) -> None:
    assert len(reopened) == len(loaded) > 0
    assert set(reopened._arrays) == set(loaded._arrays)
    for name in loaded._arrays:
        assert _values(reopened, name) == _values(loaded, name), name
    for name in VERDICT_COLUMNS:
        assert reopened.column(name).tolist() == loaded.column(name).tolist(), name
    assert dict(reopened.long_auditids) == dict(loaded.long_auditids)
    assert reopened.problems == loaded.problems
    assert (reopened.line_count, reopened.blank_lines) == (loaded.line_count, loaded.blank_lines)
    assert [(f.name, f.consumed, f.lines) for f in reopened.files] == [
        (f.name, f.consumed, f.lines) for f in loaded.files
    ]
    for row in (0, len(loaded) // 2, len(loaded) - 1):
        assert reopened.raw(row) == loaded.raw(row)
        assert reopened.value(row, "auditid") == loaded.value(row, "auditid")


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record the byte ranges the loader cuts for parsing (a reopen must cut none of the old bytes)."""
    cut: list[tuple[int, int]] = []
    original = split.cut

    def recording(file: int, path: str, start: int, end: int) -> Any:
        cut.append((start, end))
        return original(file, path, start, end)

    monkeypatch.setattr(split, "cut", recording)
    return cut


# ------------------------------------------------------------------------------ round trip


def test_a_reopened_store_equals_the_loaded_one_in_every_column_and_dictionary(
    log: Path, cache: StoreCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = _open(log, cache, candidate=_other_policy())
    assert "index saved" in cache.last, cache.last
    cut = _no_parsing(monkeypatch)
    reopened = _open(log, cache, candidate=_other_policy())
    assert cache.last.startswith("reopened"), cache.last
    assert cut == []  # nothing was parsed
    _assert_same(loaded, reopened)
    for name, dictionary in loaded._codes.coded.items():
        assert reopened._codes.coded[name].values == dictionary.values, name
        assert reopened._codes.coded[name].index == dictionary.index, name
    long_id = next(row for row in range(len(loaded)) if loaded.value(row, "user") == "long-id-user")
    assert reopened.value(long_id, "auditid") == loaded.value(long_id, "auditid") == "x" * 70 + event(9_000)["auditID"]
    assert any(p.line for p in loaded.problems)
    assert not reopened._arrays["time"].flags.writeable  # mapped from the cache file, not parsed


def test_a_reopened_store_takes_appends_without_touching_the_cache_files(log: Path, cache: StoreCache) -> None:
    _open(log, cache)
    reopened = _open(log, cache)
    before = len(reopened)
    times = reopened.column("time").copy()
    reopened.reserve(before + 1)  # what append does: copy the mapped arrays before writing
    assert reopened._arrays["time"].flags.writeable
    assert reopened.column("time", before).tolist() == times.tolist()


def test_a_reopened_store_follows_its_log(log: Path, cache: StoreCache) -> None:
    """Following after a reopen: the restored files know where they stopped and read on from there
    (the mapped arrays are copied on the first append)."""
    with open(log, "ab") as handle:
        handle.write(b"\n")  # end the last line: whole lines only
    _open(log, cache)
    reopened = _open(log, cache)
    assert cache.last.startswith("reopened")
    before = len(reopened)
    with open(log, "ab") as handle:
        handle.write(line(event(9_100, user="followed")) + b"\n")
    cancel = threading.Event()
    found = []
    for added in follow(reopened, None, cancel, interval=0.01):
        found.append(added)
        cancel.set()
    assert found == [1] and len(reopened) == before + 1
    assert reopened.value(before, "user") == "followed"
    assert reopened.location(before) == (str(log), reopened.files[0].lines)


@pytest.fixture(scope="module", params=["store only", "with the explorer's indexes"])
def pair(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> tuple[EventStore, EventStore]:
    """A loaded store and the same log reopened: from the store's index alone (filters build
    their indexes), or with the indexes `prepare` built saved beside it (as the explorer does)."""
    directory = tmp_path_factory.mktemp("pair")
    path = _write(directory / "audit.log", 2500, seed=11)
    cache = StoreCache(CacheDir(directory / "cache"), min_bytes=0)
    loaded = _open(path, cache, candidate=_other_policy())
    if request.param != "store only":
        prepare(loaded)
        assert cache.save_indexes(loaded)
    reopened = _open(path, cache, candidate=_other_policy())
    assert cache.last.startswith("reopened")
    assert bool(reopened.match_cache) == (request.param != "store only")
    return loaded, reopened


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters())
def test_every_filter_selects_the_same_rows_after_a_reopen(pair: tuple[EventStore, EventStore], text: str) -> None:
    loaded, reopened = pair
    compiled = compile_filter(text)
    assert compiled.apply(reopened).tolist() == compiled.apply(loaded).tolist()


# ------------------------------------------------------------------------------ what changed


def _more(path: Path, events: int, seed: int) -> bytes:
    extra = path.with_suffix(".more")
    write_log(extra, events, seed, start="2026-11-21T09:00:00Z")
    return extra.read_bytes()


@pytest.mark.parametrize("tail", ["parsed without its newline", "half a line", "whole lines"])
def test_an_appended_log_reads_only_its_new_bytes(
    tmp_path: Path, cache: StoreCache, monkeypatch: pytest.MonkeyPatch, tail: str
) -> None:
    log = _write(tmp_path / "audit.log")  # ends with a whole event without its newline
    more = _more(log, 400, seed=3)
    if tail == "half a line":
        cut_at = more.index(b"\n", 5000) + 100
        with open(log, "ab") as handle:
            handle.write(b"\n" + more[:cut_at])
        more = more[cut_at:]
    elif tail == "whole lines":
        with open(log, "ab") as handle:
            handle.write(b"\n")
    else:
        more = b"\n" + more
    first = _open(log, cache)
    consumed = first.files[0].consumed
    assert (consumed < log.stat().st_size) == (tail == "half a line")
    with open(log, "ab") as handle:
        handle.write(more)
    cut = _no_parsing(monkeypatch)
    grown = _open(log, cache)
    assert cache.last.startswith("reopened") and "gained" in cache.last, cache.last
    assert cut and min(start for start, _ in cut) >= consumed
    fresh = _open(log, None)
    _assert_same(fresh, grown)
    cut.clear()
    again = _open(log, cache)  # the index was saved again, with the appended rows
    assert cut == [] and len(again) == len(fresh)


def test_a_last_line_continued_by_the_append_is_rebuilt(log: Path, cache: StoreCache) -> None:
    _open(log, cache)  # its last line is a whole event without a newline: it was parsed
    data = log.read_bytes()
    log.write_bytes(data[:-1] + b',"extra":1}\n')  # not an append: that line's bytes changed
    with open(log, "ab") as handle:
        handle.write(b"\n")
    rebuilt = _open(log, cache)
    assert not cache.last.startswith("reopened"), cache.last
    _assert_same(_open(log, None), rebuilt)


def test_a_log_rewritten_in_place_is_rebuilt(log: Path, cache: StoreCache) -> None:
    _open(log, cache)
    data = bytearray(log.read_bytes())
    middle = data.index(b'"verb":"', len(data) // 2) + len(b'"verb":"')
    data[middle : middle + 3] = b"zzz"  # the same size; the first and last 64 KiB unchanged
    log.write_bytes(bytes(data))
    os.utime(log, ns=(log.stat().st_atime_ns, log.stat().st_mtime_ns + 10**9))
    rebuilt = _open(log, cache)
    assert "rewritten" in cache.last, cache.last
    _assert_same(_open(log, None), rebuilt)
    assert any(verb.startswith("zzz") for verb in rebuilt.values("verb"))


@pytest.mark.parametrize("change", ["head", "tail", "shorter"])
def test_a_grown_or_shrunk_log_whose_old_bytes_changed_is_rebuilt(
    tmp_path: Path, cache: StoreCache, change: str
) -> None:
    log = _write(tmp_path / "audit.log", 300)  # larger than the 64 KiB blocks
    _open(log, cache)
    data = log.read_bytes()
    if change == "head":
        data = data.replace(b'"verb":"', b'"verb":"x', 1) + b"\n"
    elif change == "tail":
        data = data[:-40] + b"X" * 40 + b"\n" + data[:2000]
    else:
        data = data[: len(data) // 2]
    log.write_bytes(data)
    rebuilt = _open(log, cache)
    assert "rewritten" in cache.last, cache.last
    _assert_same(_open(log, None), rebuilt)


def test_a_gzip_log_is_keyed_by_the_gz_file_and_its_spool_rebuilt(tmp_path: Path, cache: StoreCache) -> None:
    plain = _write(tmp_path / "audit.log")
    packed = tmp_path / "audit.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    loaded = _open(packed, cache)
    reopened = _open(packed, cache)
    assert cache.last.startswith("reopened"), cache.last
    assert reopened.files[0].path != loaded.files[0].path  # a new spool, decompressed again
    _assert_same(loaded, reopened)


def test_a_gzip_log_is_sized_by_its_text_not_its_compressed_bytes(tmp_path: Path) -> None:
    """The size under which a log is not cached is about parsing cost: a .gz counts its text."""
    plain = _write(tmp_path / "audit.log")
    packed = tmp_path / "audit.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    assert packed.stat().st_size * 2 < plain.stat().st_size
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=plain.stat().st_size - 1)
    _open(packed, cache)
    _open(packed, cache)
    assert cache.last.startswith("reopened"), cache.last


def test_stdin_is_never_cached(log: Path, cache: StoreCache) -> None:
    with open(log, "rb") as stdin:
        store = StoreLoader(expand_sources(["-"], stdin=stdin), cache=cache).load_all()
    assert len(store) and "not cached" in cache.last
    assert not list((cache.directory.root).glob("*/manifest.json"))


# ------------------------------------------------------------------------------ verdicts


def test_verdicts_are_kept_per_policy_content(log: Path, cache: StoreCache, monkeypatch: pytest.MonkeyPatch) -> None:
    _open(log, cache)
    other = _open(log, cache, policy=_other_policy())  # reopened, evaluated under another policy
    assert cache.last.startswith("reopened")
    _assert_same(_open(log, None, policy=_other_policy()), other)
    entry = next(cache.directory.root.glob("*/manifest.json")).parent
    assert len(list(entry.glob("*-verdicts-*.msgpack"))) == 2
    evaluated: list[object] = []
    monkeypatch.setattr(PolicyEvaluator, "evaluate", lambda self, attrs: evaluated.append(attrs))
    again = _open(log, cache, policy=_other_policy())
    assert evaluated == []  # the verdicts came from the cache
    assert again.column("rule").tolist() == other.column("rule").tolist()


# ------------------------------------------------------------------------------ on disk


def _entry(cache: StoreCache) -> Path:
    (manifest,) = cache.directory.root.glob("*/manifest.json")
    return manifest.parent


def test_the_cache_is_private(log: Path, cache: StoreCache) -> None:
    _open(log, cache)
    root = cache.directory.root
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    entry = _entry(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o700
    modes = {stat.S_IMODE(path.stat().st_mode) for path in entry.iterdir()}
    assert modes == {0o600}


def test_the_default_directory_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert CacheDir().root == tmp_path / "xdg" / "k8saudit-tui"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert CacheDir().root == tmp_path / "home" / ".cache" / "k8saudit-tui"
    monkeypatch.setenv("K8SAUDIT_TUI_CACHE_MAX_MB", "3")
    assert CacheDir().max_bytes == 3 << 20

    def homeless() -> Path:
        raise RuntimeError("Could not determine home directory")

    monkeypatch.setattr(Path, "home", homeless)
    assert CacheDir().root.name == f"k8saudit-tui-cache-{os.getuid()}"  # never a crash at start-up


def _file(entry: Path, name: str) -> Path:
    """An entry's file by its name (stored under the entry's token: cache_files.Entry)."""
    (path,) = entry.glob(f"*-{name}")
    return path


def _damage_npy(entry: Path) -> None:
    path = _file(entry, "time.npy")
    path.write_bytes(path.read_bytes()[:-100])


def _damage_version(entry: Path) -> None:
    manifest = json.loads((entry / "manifest.json").read_text())
    (entry / "manifest.json").write_text(json.dumps({**manifest, "format": 999}))


def _damage_code(entry: Path) -> None:
    manifest = json.loads((entry / "manifest.json").read_text())
    (entry / "manifest.json").write_text(json.dumps({**manifest, "code": "another parser"}))


def _damage_manifest(entry: Path) -> None:
    (entry / "manifest.json").write_text("{not json")


def _damage_dictionaries(entry: Path) -> None:
    _file(entry, "dictionaries.msgpack").write_bytes(b"\x93garbage")


def _damage_codes(entry: Path) -> None:
    path = _file(entry, "user.npy")
    array = np.load(path)
    array[3] = np.iinfo(array.dtype).max  # a well-formed file whose codes point outside the dictionary
    np.save(path, array)


def _damage_permissions(entry: Path) -> None:
    os.chmod(_file(entry, "state.msgpack"), 0o644)


@pytest.mark.parametrize(
    "damage",
    [
        _damage_npy,
        _damage_version,
        _damage_code,
        _damage_manifest,
        _damage_dictionaries,
        _damage_codes,
        _damage_permissions,
    ],
)
def test_a_damaged_or_foreign_index_is_ignored_and_rebuilt(log: Path, cache: StoreCache, damage: Any) -> None:
    loaded = _open(log, cache)
    damage(_entry(cache))
    rebuilt = _open(log, cache)
    assert not cache.last.startswith("reopened"), cache.last
    _assert_same(loaded, rebuilt)
    again = _open(log, cache)  # the rebuild saved a good index in its place
    assert cache.last.startswith("reopened"), cache.last
    _assert_same(loaded, again)


def test_files_of_another_user_are_not_read(log: Path, cache: StoreCache, monkeypatch: pytest.MonkeyPatch) -> None:
    _open(log, cache)
    monkeypatch.setattr(cache_files, "uid", lambda: os.getuid() + 1)
    store = _open(log, cache)
    assert not cache.last.startswith("reopened") and len(store)
    assert "no private cache directory" in cache.last  # a root of another user is not written either


def test_a_writer_that_fails_leaves_no_entry_behind(
    log: Path, cache: StoreCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", failing)
    store = _open(log, cache)
    assert len(store) and "No space left" in cache.last
    assert list(cache.directory.root.iterdir()) == []


def test_an_entry_replaced_while_it_is_read_is_a_miss_and_the_new_one_stays(
    log: Path, cache: StoreCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two instances: one reads an entry while the other replaces it (renamed aside, removed).
    The reader finds its files gone: a miss, never half an index; and it leaves the new entry be."""
    loaded = _open(log, cache)
    other = StoreCache(CacheDir(cache.directory.root), min_bytes=0)
    original = cache_state.read

    def replaced_meanwhile(entry: Any, store: EventStore) -> Any:
        other.save(loaded, expand_sources([str(log)]))
        return original(entry, store)

    monkeypatch.setattr(cache_state, "read", replaced_meanwhile)
    store = _open(log, cache)
    assert "index ignored" in cache.last and len(store) == len(loaded)
    monkeypatch.undo()
    _open(log, cache)
    assert cache.last.startswith("reopened"), cache.last


def test_a_stale_temporary_directory_is_cleaned_and_never_read(log: Path, cache: StoreCache) -> None:
    _open(log, cache)
    entry = _entry(cache)
    half = cache.directory.root / f".tmp-{entry.name}-1-dead"
    shutil.copytree(entry, half)
    os.utime(half, (0, 0))
    shutil.rmtree(entry)
    _open(log, cache)
    assert not cache.last.startswith("reopened")
    assert not half.exists()


def test_least_recently_used_entries_are_evicted_over_the_cap(tmp_path: Path) -> None:
    logs = [_write(tmp_path / f"audit-{n}.log", seed=n) for n in range(4)]
    unbounded = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    _open(logs[0], unbounded)
    size = sum(path.stat().st_size for path in _entry(unbounded).iterdir())
    cache = StoreCache(CacheDir(tmp_path / "cache", max_bytes=int(size * 2.5)), min_bytes=0)
    _open(logs[1], cache)
    used = {name for _, _, name in cache.directory.entries()}
    assert len(used) == 2
    oldest = min(used)  # either: made the least recently used
    os.utime(cache.directory.root / oldest / "manifest.json", (1, 1))
    _open(logs[2], cache)
    left = {name for _, _, name in cache.directory.entries()}
    assert len(left) == 2 and oldest not in left
    tiny = StoreCache(CacheDir(tmp_path / "cache", max_bytes=1000), min_bytes=0)
    _open(logs[3], tiny)
    assert "not cached" in tiny.last  # an index over the cap is not written at all


def test_small_logs_are_not_cached(log: Path, tmp_path: Path) -> None:
    cache = StoreCache(CacheDir(tmp_path / "cache"))
    assert cache.min_bytes == cache_module.MIN_BYTES > log.stat().st_size
    _open(log, cache)
    assert "small log" in cache.last


# ------------------------------------------------------------------------------ the explorer's indexes


def test_the_explorers_indexes_round_trip_and_extend_over_appended_rows(
    log: Path, cache: StoreCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = _open(log, cache)
    prepare(loaded)
    assert cache.save_indexes(loaded)
    reopened = _open(log, cache)
    assert cache_indexes.encode(reopened.match_cache) == cache_indexes.encode(loaded.match_cache)
    built: list[object] = []
    monkeypatch.setattr(indexes, "_PieceCodes", lambda *args: built.append(args))
    prepare(reopened)
    assert built == []  # nothing to build: the URI pieces came from the cache
    monkeypatch.undo()
    with open(log, "ab") as handle:
        handle.write(b"\n" + _more(log, 300, seed=5))
    grown = _open(log, cache)  # the old rows' indexes, extended by prepare over the new rows
    assert "gained" in cache.last and grown.match_cache
    prepare(grown)
    fresh = _open(log, None)
    prepare(fresh)
    for text in ("leases", "kube", "a", "web", "user:~alice", '"system:node"', "/api/v1 watch"):
        assert compile_filter(text).apply(grown).tolist() == compile_filter(text).apply(fresh).tolist(), text


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        cache_indexes.encode({}) + b"x",
        b"\x91\x92\x81\xa1t\x91\xa6joined\x81\xa2dc\x93\xa2os\xa6system\x80",  # os.system
    ],
)
def test_an_indexes_file_that_is_not_ours_is_ignored(log: Path, cache: StoreCache, data: bytes) -> None:
    loaded = _open(log, cache)
    prepare(loaded)
    cache.save_indexes(loaded)
    (path,) = _entry(cache).glob("*-indexes-*.msgpack")
    path.write_bytes(data)
    reopened = _open(log, cache)
    assert cache.last.startswith("reopened") and not reopened.match_cache
    with pytest.raises(ValueError):
        cache_indexes.decode(data)


# ------------------------------------------------------------------------------ the command line


@pytest.mark.parametrize("command", ["top", "export"])
def test_no_cache_neither_reads_nor_writes_the_cache(
    command: str, log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_cache_directory: Path
) -> None:
    """Commands that load a store (here: an AKS envelope, numbered by its original records) take the index."""
    from k8saudit_tui.cli import main

    monkeypatch.setattr(cache_module, "MIN_BYTES", 0)
    aks = tmp_path / "PT1H.json"
    records = [
        json.dumps({"category": "kube-audit", "properties": {"log": text, "stream": "stdout"}})
        for text in log.read_text().splitlines(keepends=True)[:200]
        if text.startswith('{"kind":"Event"')
    ]
    aks.write_text("\n".join(records) + "\n")
    arguments = {
        "top": ["top", "--by", "user", str(aks)],
        "export": ["export", str(aks), "-o", str(tmp_path / "out.jsonl"), "--force"],
    }[command]
    root = private_cache_directory / "k8saudit-tui"
    assert main([*arguments, "--no-cache"]) == 0
    assert not root.exists() or not list(root.glob("*/manifest.json"))
    assert main(arguments) == 0
    assert len(list(root.glob("*/manifest.json"))) == 1


@pytest.mark.parametrize("command", ["top", "export"])
def test_streamed_commands_leave_the_cache_alone(
    command: str, log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_cache_directory: Path
) -> None:
    """A plain log is streamed by `top` and `export` (no store): nothing is cached."""
    from k8saudit_tui.cli import main

    monkeypatch.setattr(cache_module, "MIN_BYTES", 0)
    arguments = {
        "top": ["top", "--by", "user", str(log)],
        "export": ["export", str(log), "-o", str(tmp_path / "out.jsonl"), "--force"],
    }[command]
    assert main(arguments) == 0
    root = private_cache_directory / "k8saudit-tui"
    assert not root.exists() or not list(root.glob("*/manifest.json"))


def test_the_explorer_takes_no_cache_and_a_cap() -> None:
    from k8saudit_tui.commands.cache_options import store_cache
    from k8saudit_tui.ui.launch import parser

    assert store_cache(parser().parse_args(["--no-cache", "a.log"])) is None
    cache = store_cache(parser().parse_args(["--cache-max-mb", "5", "a.log"]))
    assert cache is not None and cache.directory.max_bytes == 5 << 20


# ------------------------------------------------------------------------------ the key's fast path


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.binary(min_size=1, max_size=16),
    st.sampled_from(["append", "change", "cut", "same"]),
    st.binary(min_size=1, max_size=8),
    st.integers(0, 15),
)
def test_hashed_ends_classify_small_files_as_comparing_them_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: bytes, edit: str, more: bytes, at: int
) -> None:
    """The key hashes BLOCK bytes at each end instead of comparing whole files; with BLOCK at 8
    and files of at most 16 bytes the two blocks cover the old file, so it must agree with a
    plain comparison of the contents (a change between the blocks of a big file is what the
    mtime and a rebuild on any doubt are for)."""
    monkeypatch.setattr(cache_key, "BLOCK", 8)
    path = tmp_path / "file.log"
    path.write_bytes(old)
    before = cache_key.fingerprint(str(path))
    new = {
        "append": old + more,
        "change": old[: at % len(old)] + bytes([old[at % len(old)] ^ 1]) + old[at % len(old) + 1 :],
        "cut": old[: at % len(old)],
        "same": old,
    }[edit]
    if new != old:
        with open(path, "r+b") as handle:  # in place: the same inode, as a writer appends or rewrites
            handle.write(new)
            handle.truncate(len(new))
    now = cache_key.fingerprint(str(path))
    assert before is not None and now is not None
    if new == old:
        plain = "unchanged"
    elif len(new) > len(old) and new.startswith(old):
        plain = "appended"
    else:
        plain = "rewritten"
    assert cache_key.compare(before, now, str(path)) == plain


def test_an_unwrapped_cloud_log_reopens_with_its_original_lines_and_formats(tmp_path: Path, cache: StoreCache) -> None:
    from k8saudit_tui.engine.logs.formats import BY_NAME

    events = [line(event(number, user=f"user-{number}")) for number in range(40)]
    records = [
        json.dumps({"category": "kube-audit", "properties": {"log": text.decode() + "\n", "stream": "stdout"}})
        for text in events
    ]
    aks = tmp_path / "PT1H.json"
    aks.write_text("\n".join(records) + "\n")
    loaded = _open(aks, cache)
    reopened = _open(aks, cache)
    _assert_same(loaded, reopened)
    assert cache.last.startswith("reopened"), cache.last
    assert set(reopened.column("format").tolist()) == {BY_NAME["aks-diagnostic"].code}
    assert [reopened.value(row, "line") for row in range(3)] == [1, 2, 3]
    assert all(f.unwrapped for f in reopened.files)
    assert reopened.raw(5) == events[5]
