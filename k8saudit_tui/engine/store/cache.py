"""Reopen in a second: a persistent index of the store in the user's cache directory (issue 15).

Contract: `StoreCache.reopen(store, sources)` fills an empty store from the index saved for the
same files and returns the files whose appended bytes are still to be read (the loader reads
them: nothing before them is parsed again), or None when there is no usable index (the loader
loads as it would without a cache). `StoreCache.save(store, sources)` writes the index of a fully
loaded store and says whether it did. Neither raises: a missing, corrupt, foreign (another
version, another user, readable by others) or half-written index is a miss, and is replaced by
the next save.

What is saved (cache_state.py): every column array (memory-mapped when reopened, copied on the
first append), the dictionaries, the files' progress, problems, long auditIDs, and the verdicts
of each policy by a hash of its content. What an index is keyed by (cache_key.py): the files'
(device, inode); then their size, mtime and first and last 64 KiB decide unchanged / appended /
rewritten. Where it lives and how big it may grow (cache_files.py): 0700/0600, LRU under a cap.

Spooled inputs: a gzip file is keyed by the .gz itself and its spool is checked to be the same
bytes (size and both ends); the spool is never stored in the cache: it is the full text of every
event (request and response bodies: Secrets, tokens), which the index otherwise does not hold,
and it is 5-10x the .gz on disk, while decompressing it again costs a fraction of parsing it. A
cloud envelope unwrapped to a spool is treated the same way (keyed by the original file). stdin
has no identity to key by: it is never cached.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from k8saudit_tui.engine.logs.sources import LogSource
from k8saudit_tui.engine.model import RequestAttributes
from k8saudit_tui.engine.policy.decision import AttributeCodes
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import cache_indexes, cache_state
from k8saudit_tui.engine.store.cache_files import MANIFEST, CacheDir, Entry
from k8saudit_tui.engine.store.cache_key import (
    Change,
    Fingerprint,
    code_fingerprint,
    compare,
    entry_name,
    fingerprint,
    policy_hash,
)
from k8saudit_tui.engine.store.cache_state import Foreign
from k8saudit_tui.engine.store.columns import EventStore
from k8saudit_tui.engine.store.verdicts import Verdicts, VerdictTable

FORMAT = 4
"""The layout of an entry (manifest, files); with the code fingerprint, what makes an index ours.
2: offsets and latencies narrow (narrow.py), the latency dictionary. 3: times narrow, their windows.
4: request attributes written as arrays of their fields (a NamedTuple), not maps."""

MIN_BYTES = 8 << 20
"""Logs smaller than this (8 MiB, about 8,000 events) load faster than an index is checked: not cached."""


@dataclass(frozen=True, slots=True)
class _Source:
    """One source as the index knows it: the original file's fingerprint, and the spool's."""

    original: Fingerprint
    spool: Fingerprint | None

    def to_json(self) -> dict[str, Any]:
        spool = None if self.spool is None else [self.spool.size, self.spool.head, self.spool.tail]
        return {"original": self.original.to_json(), "spool": spool}


def _original(source: LogSource) -> str | None:
    """The file a source's events come from: the file itself, or what was spooled (a .gz, an
    unwrapped cloud export); None for what has no identity (stdin, a pipe) or could not be read."""
    if source.problem is not None:
        return None
    path = source.name if source.spooled else source.path
    try:
        return path if stat.S_ISREG(os.stat(path).st_mode) else None
    except OSError:
        return None


class StoreCache:
    """The persistent index of loaded stores (see the module docstring)."""

    def __init__(self, directory: CacheDir | None = None, min_bytes: int | None = None) -> None:
        self.directory = directory if directory is not None else CacheDir()
        self.min_bytes = MIN_BYTES if min_bytes is None else min_bytes
        self.last: str = ""
        """What the last reopen or save did, in words (for the status line and the benchmark)."""
        self._entry: tuple[str, int, str] | None = None
        """The entry the last reopen or save used, and its rows (`save_indexes` writes there)."""
        self._indexes_loaded = False

    # ------------------------------------------------------------------------------ reopen

    def indexed(self, sources: Sequence[LogSource]) -> bool:
        """Whether an index was saved for these files, changed since or not (`reopen` decides).
        Asked before cloud envelopes are unwrapped: an index is checked against a finished spool,
        so with one the caller spools them whole first; without one it may unwrap while loading."""
        found = [fingerprint(path) if path is not None else None for path in map(_original, sources)]
        known = [stamp for stamp in found if stamp is not None]
        if not sources or len(known) < len(found) or not self.directory.ready():
            return False
        return self.directory.entry(entry_name([(stamp.device, stamp.inode) for stamp in known])) is not None

    def reopen(self, store: EventStore, sources: Sequence[LogSource]) -> list[int] | None:
        """Fill the empty `store` from the index of `sources`; the indexes of the files that grew
        since (their bytes from `consumed` on are to be read), or None (load normally)."""
        self._entry, self._indexes_loaded = None, False
        originals = [_original(source) for source in sources]
        now = [fingerprint(path) if path is not None else None for path in originals]
        if len(store) or store.files or not sources or None in now:
            self.last = "not cached: an input has no file to key by (stdin, a pipe, unreadable)"
            return None
        known = [found for found in now if found is not None]
        parsed = sum(max(found.size, source.size) for found, source in zip(known, sources))  # a .gz: its text
        if parsed < self.min_bytes or not self.directory.ready():
            self.last = "not cached: small log, or no private cache directory"
            return None
        name = entry_name([(found.device, found.inode) for found in known])
        entry = self.directory.entry(name)
        if entry is None:
            self.last = "no index for these files"
            return None
        try:
            changes = self._changes(entry, sources, originals, known)
        except (Foreign, OSError, ValueError) as problem:
            self.directory.remove(name, entry)
            self.last = f"index ignored: {problem}"
            return None
        if "rewritten" in changes:
            self.last = "a file was rewritten: rebuilding its index"
            return None
        try:
            state = cache_state.read(entry, store)
            if len(state.files) != len(sources):
                raise Foreign("the index is of another set of files")
        except Foreign as problem:
            self.directory.remove(name, entry)
            self.last = f"index ignored: {problem}"
            return None
        if not _continued(state, changes, sources):
            self.last = "a file's unterminated last line was rewritten: rebuilding its index"
            return None
        attributes = _attributes(store, state)
        verdicts, computed = self._verdicts(entry, store, attributes)
        cache_state.install(store, state, list(sources), verdicts)
        grown = [index for index, change in enumerate(changes) if change == "appended"]
        for index in grown:
            file = store.files[index]
            if file.tail_problem is not None:  # its half last line is read again with the new bytes
                store.withdraw_problem(file.tail_problem)
                file.tail_problem = None
        entry.touch()
        self._entry, self._indexes_loaded = (name, state.rows, entry.token), _load_indexes(entry, store)
        for file_name, table in computed:
            try:
                cache_state.write_verdicts(entry, file_name, table, len(attributes))
            except OSError:
                pass
        self.last = f"reopened {len(store):,} events from the index" + (
            f"; reading what {len(grown)} file(s) gained since" if grown else ""
        )
        return grown

    def _changes(
        self, entry: Entry, sources: Sequence[LogSource], originals: list[str | None], now: list[Fingerprint]
    ) -> list[Change]:
        """How each source changed since the index was saved (Foreign: not our manifest)."""
        manifest = _read_manifest(entry)
        saved = manifest.get("sources")
        if not isinstance(saved, list) or len(saved) != len(sources):
            raise Foreign("the index is of another set of files")
        changes: list[Change] = []
        for record, source, path, found in zip(saved, sources, originals, now):
            old = Fingerprint.from_json(record.get("original") if isinstance(record, dict) else None)
            change = compare(old, found, path or "")
            spool = record.get("spool")
            if spool is not None or source.spooled:
                spooled = fingerprint(source.path) if source.spooled else None
                same = spooled is not None and spool == [spooled.size, spooled.head, spooled.tail]
                change = change if change == "unchanged" and same else "rewritten"
            changes.append(change)
        return changes

    def _verdicts(
        self, entry: Entry, store: EventStore, attributes: list[RequestAttributes]
    ) -> tuple[Verdicts, list[tuple[str, VerdictTable]]]:
        """The current and candidate tables over `attributes`, from the index where it has them;
        also the (file name, table) of those evaluated now, for the index."""
        tables, computed = [], []
        codes = AttributeCodes()
        codes.extend(attributes)
        for evaluator in (store.evaluator, store.candidate_evaluator):
            table = None
            if evaluator is not None:
                file_name = _verdicts_name(evaluator)
                table = cache_state.read_verdicts(entry, file_name, evaluator, attributes, codes)
            if table is None:
                table = cache_state.fresh_table(evaluator, attributes, codes)
                if evaluator is not None:
                    computed.append((file_name, table))
            tables.append(table)
        return Verdicts(tables[0], tables[1], codes), computed

    # ------------------------------------------------------------------------------ save

    def save(self, store: EventStore, sources: Sequence[LogSource]) -> bool:
        """Write the index of the fully loaded `store` of `sources`, then evict the least recently
        used entries over the cap; False (and why, in `last`) when it was not written."""
        looked = self.last  # what the reopen before this load found: kept in front of what the save did
        saved = self._save(store, sources)
        self.last = f"{looked}; {self.last}" if looked else self.last
        return saved

    def _save(self, store: EventStore, sources: Sequence[LogSource]) -> bool:
        why = self._not_cacheable(store, sources)
        if why:
            self.last = f"not cached: {why}"
            return False
        keys = []
        for source, file in zip(sources, store.files):
            path = _original(source)
            if path is None:
                self.last = "not cached: an input has no file to key by"
                return False
            original = fingerprint(path, None if source.spooled else file.consumed)
            spool = fingerprint(source.path) if source.spooled else None
            if original is None or (source.spooled and spool is None):
                self.last = "not cached: an input could not be read again"
                return False
            keys.append(_Source(original, spool))
        if sum((key.spool or key.original).size for key in keys) < self.min_bytes:
            self.last = "not cached: small log"
            return False
        if not self.directory.ready():
            self.last = "not cached: no private cache directory"
            return False
        state = cache_state.take(store)
        if sum(array.nbytes for array in state.arrays.values()) > self.directory.max_bytes:
            self.last = "not cached: the index would be larger than the cache's size cap"
            return False
        name = entry_name([(key.original.device, key.original.inode) for key in keys])
        try:
            with self.directory.new_entry(name) as entry:
                written = cache_state.write(entry, state)
                attributes = _attributes(store, state)
                for table in (store._verdicts.current, store._verdicts.candidate):
                    if table.evaluator is not None:
                        count = min(len(table), len(attributes))
                        cache_state.write_verdicts(entry, _verdicts_name(table.evaluator), table, count)
                manifest = {
                    "token": entry.token,
                    "format": FORMAT,
                    "code": code_fingerprint(),
                    "saved": time.time(),
                    "rows": state.rows,
                    "sources": [key.to_json() for key in keys],
                }
                token = entry.token
                with entry.write(MANIFEST) as handle:
                    handle.write(json.dumps(manifest).encode())
        except (OSError, ValueError) as problem:
            self.last = f"not cached: {problem}"
            return False
        self._entry, self._indexes_loaded = (name, state.rows, token), False
        evicted = self.directory.evict(keep=name)
        self.last = f"index saved ({written / 1e6:.0f} MB)" + (f"; {len(evicted)} older evicted" if evicted else "")
        return name not in evicted

    def save_indexes(self, store: EventStore) -> bool:
        """Add the explorer's filter indexes (`query.prepare`, built over the rows the index holds)
        to the entry just reopened or saved, unless it has them; whether they were written."""
        if self._entry is None or self._indexes_loaded:
            return False
        name, rows, token = self._entry
        entry = self.directory.entry(name)
        if entry is None or len(store) != rows:
            return False
        try:
            if _read_manifest(entry) and entry.token != token:
                return False  # replaced by another instance since: its rows may not be these
            with entry.write(cache_indexes.file_name()) as handle:
                handle.write(cache_indexes.encode(store.match_cache))
        except (OSError, Foreign):
            return False
        self._indexes_loaded = True
        return True

    @staticmethod
    def _not_cacheable(store: EventStore, sources: Sequence[LogSource]) -> str:
        """Why this store's index would not reopen as it is ("" when it would)."""
        if not len(store):
            return "no events"
        if len(store.files) != len(sources) or any(source.problem is not None for source in sources):
            return "an input could not be read"
        if store._items.path:
            return "EventList documents are re-serialised to a temporary spool"
        if any(file.gone for file in store.files):
            return "a file was truncated while loading"
        return ""


def _continued(state: cache_state.State, changes: list[Change], sources: Sequence[LogSource]) -> bool:
    """Whether each appended file continues after the line its index ends with; `state` is set to
    read on from there. A last line without its newline was parsed (it may never get one): if the
    appended bytes start with that newline it is skipped (the line's row stands), if they continue
    the line, the row is wrong and False says rebuild. A half line that did not parse is read again
    with what was appended (its problem is withdrawn: `StoreCache.reopen`)."""
    for index, (change, source) in enumerate(zip(changes, sources)):
        name, consumed, lines, tail = state.files[index]
        if change != "appended" or tail >= 0 or not consumed:
            continue
        try:
            with open(source.path, "rb") as handle:
                around = os.pread(handle.fileno(), 2, consumed - 1)
        except OSError:
            return False
        if around[:1] == b"\n":
            continue
        if around[1:] != b"\n":
            return False
        state.files[index] = (name, consumed + 1, lines, tail)
    return True


def _load_indexes(entry: Entry, store: EventStore) -> bool:
    """Put the filter indexes saved in `entry` into the store's match cache; whether there were."""
    path = entry.file(cache_indexes.file_name())
    if path is None:
        return False
    try:
        store.match_cache.update(cache_indexes.decode(path.read_bytes()))
    except (OSError, ValueError):
        return False
    return True


def _verdicts_name(evaluator: PolicyEvaluator) -> str:
    return f"verdicts-{policy_hash(evaluator.policy)}.msgpack"


def _attributes(store: EventStore, state: cache_state.State) -> list[RequestAttributes]:
    """The request attributes dictionary of `state` (the one the store's verdicts index)."""
    name = next(name for name, values in store._codes.coded.items() if values is store._codes.attributes)
    return state.dictionaries[name]


def _read_manifest(entry: Entry) -> dict[str, Any]:
    """The entry's manifest when this version and this code wrote it; Foreign otherwise."""
    path = entry.file(MANIFEST)
    if path is None:
        raise Foreign("no manifest")
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise Foreign(f"manifest: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Foreign("another format version")
    if manifest.get("code") != code_fingerprint():
        raise Foreign("written by another version of the parser")
    token = manifest.get("token")
    if not isinstance(token, str) or not token.isalnum():
        raise Foreign("the manifest names no token")
    entry.token = token  # the entry's other files are read under it (see cache_files.Entry)
    return manifest
