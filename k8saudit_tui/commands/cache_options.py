"""The cache options of every command that loads a store, and of the explorer: `--no-cache` and
`--cache-max-mb`, turned into the `StoreCache` the loader takes (engine/store/cache.py).

Why one module: the explorer and export, top and report must spell and explain the options the
same way, and agree on where the default cap comes from (K8SAUDIT_TUI_CACHE_MAX_MB, else 2 GiB).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by `store_cache`: adding the options must not import the store (streamed export)
    from k8saudit_tui.engine.store.cache import StoreCache


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --no-cache and --cache-max-mb to a command line."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="neither reopen nor save the index of the logs ($XDG_CACHE_HOME/k8saudit-tui, default ~/.cache)",
    )
    parser.add_argument(
        "--cache-max-mb",
        type=int,
        metavar="MB",
        help="size cap of the cache directory; least recently used indexes are removed first "
        "(default: $K8SAUDIT_TUI_CACHE_MAX_MB, else 2048)",
    )


def store_cache(args: argparse.Namespace) -> StoreCache | None:
    """The cache the options ask for; None with --no-cache."""
    from k8saudit_tui.engine.store.cache import StoreCache
    from k8saudit_tui.engine.store.cache_files import CacheDir

    if getattr(args, "no_cache", False):
        return None
    limit = getattr(args, "cache_max_mb", None)
    return StoreCache(CacheDir(max_bytes=None if limit is None else max(0, limit) << 20))
