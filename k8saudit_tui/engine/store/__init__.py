"""The event store: compact columns for every event, the full event re-read from disk on demand.

The public names of the package, so that callers import from `k8saudit_tui.engine.store` whatever
module a name lives in: columns.py (EventStore, the read/append API), codes.py (dictionary
encoding), verdicts.py (the policy's verdicts, swapped whole), files.py, loader.py
(StoreLoader, load), follow.py (follow), cache.py (StoreCache: the persistent index a loader
reopens, with cache_key, cache_files, cache_state, cache_indexes). Process tuning is
engine/runtime.py's.
"""

from __future__ import annotations

from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.codes import COLUMNS
from k8saudit_tui.engine.store.columns import EventStore
from k8saudit_tui.engine.store.files import EventGone, FileEntry
from k8saudit_tui.engine.store.follow import follow
from k8saudit_tui.engine.store.loader import (
    FIRST_BATCH_LINES,
    MEMORY_LIMIT_MB,
    LoadProgress,
    StoreLoader,
    load,
    resident_mb,
    unwrap_for_store,
)
from k8saudit_tui.engine.store.verdicts import VerdictTable

__all__ = [
    "COLUMNS",
    "FIRST_BATCH_LINES",
    "MEMORY_LIMIT_MB",
    "EventGone",
    "EventStore",
    "FileEntry",
    "LoadProgress",
    "StoreCache",
    "StoreLoader",
    "VerdictTable",
    "follow",
    "load",
    "resident_mb",
    "unwrap_for_store",
]
