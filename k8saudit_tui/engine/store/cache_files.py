"""The cache directory on disk: private, written atomically, kept under a size cap.

Contract:
- The root is `$XDG_CACHE_HOME/k8saudit-tui` (default `~/.cache/k8saudit-tui`), mode 0700; every
  file in it is 0600 and owned by the user: an index holds user names and URIs. A root owned by
  someone else is not used at all; a file or entry that is not ours, or readable by others, is
  ignored as if absent (and replaced by the next save).
- An entry is a directory of files written in a temporary directory beside it and renamed into
  place whole, so a reader sees the old entry or the new one, never half of one. A file added to
  an entry later (the verdicts of another policy) is written aside and renamed the same way.
- Least recently used first: an entry's use is the mtime of its manifest, touched on every reuse;
  after a save, entries are removed oldest first until the total is under the cap.
Nothing here raises OSError to its caller except `Entry.write` inside a save, which the cache
turns into "not saved".
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MANIFEST = "manifest.json"

DEFAULT_MAX_BYTES = 2 << 30
"""The size cap when neither the flag nor K8SAUDIT_TUI_CACHE_MAX_MB says otherwise (2 GiB)."""

STALE_TEMPORARY_SECONDS = 3600.0
"""A temporary directory this old was left by a process that died while saving: removed."""

_TEMPORARY = ".tmp-"
_ASIDE = ".old-"


def default_root() -> Path:
    """`$XDG_CACHE_HOME/k8saudit-tui`, or `~/.cache/k8saudit-tui` (XDG: a relative value is
    ignored); without a home directory, a per-user directory in the temporary directory (used
    only if it is the user's own: `CacheDir.ready`)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if base and os.path.isabs(base):
        return Path(base) / "k8saudit-tui"
    try:
        return Path.home() / ".cache" / "k8saudit-tui"
    except (RuntimeError, KeyError):
        return Path(tempfile.gettempdir()) / f"k8saudit-tui-cache-{uid()}"


def max_bytes_from_environment() -> int:
    """The cap from K8SAUDIT_TUI_CACHE_MAX_MB (MiB), else DEFAULT_MAX_BYTES; a bad value is ignored."""
    text = os.environ.get("K8SAUDIT_TUI_CACHE_MAX_MB", "")
    try:
        value = int(text)
    except ValueError:
        return DEFAULT_MAX_BYTES
    return max(0, value) << 20


def uid() -> int:
    """The user whose files the cache trusts (a function so tests can pretend to be another)."""
    return os.getuid()


def private(info: os.stat_result) -> bool:
    """Whether a file or directory is ours and closed to group and others."""
    return info.st_uid == uid() and not info.st_mode & 0o077


class CacheDir:
    """The cache root and its entries (see the module docstring)."""

    def __init__(self, root: Path | None = None, max_bytes: int | None = None) -> None:
        self.root = root if root is not None else default_root()
        self.max_bytes = max_bytes_from_environment() if max_bytes is None else max_bytes

    def ready(self) -> bool:
        """Create the root (0700) if needed; False when it cannot be used (not ours, not a directory)."""
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.root)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid():
                return False
            if info.st_mode & 0o077:
                os.chmod(self.root, 0o700)  # ours but open to others: close it before writing secrets
            return True
        except OSError:
            return False

    def entry(self, name: str) -> Entry | None:
        """The entry `name` when it exists and is private (see `private`); else None."""
        path = self.root / name
        try:
            info = os.lstat(path)
            if not private(info) or not private(os.lstat(path / MANIFEST)):
                return None
        except OSError:
            return None
        return Entry(path, info.st_ino)

    @contextlib.contextmanager
    def new_entry(self, name: str) -> Iterator[Entry]:
        """A temporary entry to write into; on leaving the block without error it replaces the
        entry `name` whole (the old one is renamed aside first, then removed). On error it is
        removed and the error goes on."""
        temporary = self.root / f"{_TEMPORARY}{name}-{os.getpid()}-{secrets.token_hex(4)}"
        temporary.mkdir(mode=0o700)
        try:
            yield Entry(temporary, token=secrets.token_hex(8))
            target = self.root / name
            aside = self.root / f"{_ASIDE}{name}-{secrets.token_hex(4)}"
            with contextlib.suppress(FileNotFoundError):
                os.rename(target, aside)
            os.rename(temporary, target)
            shutil.rmtree(aside, ignore_errors=True)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    def remove(self, name: str, seen: Entry | None = None) -> None:
        """Remove an entry (a foreign or corrupt one), renamed aside first so readers never see
        half; with `seen`, only if it is still that directory (another process may have replaced
        the damaged entry by a good one since)."""
        aside = self.root / f"{_ASIDE}{name}-{secrets.token_hex(4)}"
        try:
            if seen is not None and os.lstat(self.root / name).st_ino != seen.inode:
                return
            os.rename(self.root / name, aside)
        except OSError:
            return
        shutil.rmtree(aside, ignore_errors=True)

    def entries(self) -> list[tuple[float, int, str]]:
        """(last use, bytes, name) of every entry; stale temporary directories are removed."""
        found: list[tuple[float, int, str]] = []
        try:
            names = os.listdir(self.root)
        except OSError:
            return found
        now = time.time()
        for name in names:
            path = self.root / name
            if name.startswith((_TEMPORARY, _ASIDE)):
                with contextlib.suppress(OSError):
                    if name.startswith(_ASIDE) or now - os.lstat(path).st_mtime > STALE_TEMPORARY_SECONDS:
                        shutil.rmtree(path, ignore_errors=True)
                continue
            try:
                used = os.lstat(path / MANIFEST).st_mtime
                size = sum(os.lstat(path / file).st_size for file in os.listdir(path))
            except OSError:
                used, size = 0.0, 0
            found.append((used, size, name))
        return found

    def evict(self, keep: str = "") -> list[str]:
        """Remove least recently used entries until the total is within the cap; `keep` (the entry
        just written) goes last, and only if it alone is over the cap. Returns the names removed."""
        entries = sorted(self.entries(), key=lambda item: (item[2] == keep, item[0]))
        total = sum(size for _, size, _ in entries)
        removed = []
        for _, size, name in entries:
            if total <= self.max_bytes:
                break
            self.remove(name)
            removed.append(name)
            total -= size
        return removed


class Entry:
    """One entry's directory: its files are read by name, written once each (0600).

    Every file but the manifest is stored under the entry's `token` (random, named in its
    manifest): a reader that read one entry's manifest and then finds the entry replaced under
    the same name looks for files of its token, which are gone, and misses; it never mixes the
    manifest of one entry with the columns of another."""

    def __init__(self, path: Path, inode: int = 0, token: str = "") -> None:
        self.path = path
        self.inode = inode
        """The directory's inode when it was opened: which entry this is, if it is replaced."""
        self.token = token

    def _named(self, name: str) -> str:
        return name if name == MANIFEST or not self.token else f"{self.token}-{name}"

    def file(self, name: str) -> Path | None:
        """The path of file `name` when it exists, is a regular file and is private; else None."""
        path = self.path / self._named(name)
        try:
            info = os.lstat(path)
        except OSError:
            return None
        return path if stat.S_ISREG(info.st_mode) and private(info) else None

    @contextlib.contextmanager
    def write(self, name: str) -> Iterator[BinaryIO]:
        """A new file `name` (0600), written aside and renamed into place when the block ends."""
        temporary = self.path / f"{_TEMPORARY}{name}-{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                yield handle
            os.replace(temporary, self.path / self._named(name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def touch(self) -> None:
        """Mark the entry used now (least-recently-used eviction reads this)."""
        with contextlib.suppress(OSError):
            os.utime(self.path / MANIFEST)
