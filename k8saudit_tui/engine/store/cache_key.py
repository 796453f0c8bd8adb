"""What a cached index is keyed by, and how a log changed since it was cached.

Contract: `fingerprint(path, size)` reads at most two 64 KiB blocks (the head, and the block
ending at `size`) and never raises for a readable file; `compare(old, now)` says whether a file is
unchanged (same identity, size, mtime and blocks), appended (same identity and head, larger, the
block that ended the old size still there) or rewritten (anything else). `entry_name` names a
cache entry by the files' identities (device, inode) only, so an appended file finds the entry
of its shorter self. `code_fingerprint` changes whenever the parser or the store's code does, so
an index written by another version is never read as this one's.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from k8saudit_tui.engine.model import Policy

BLOCK = 64 * 1024
"""Bytes hashed at each end of a file: a rewritten log differs in its first or its last lines."""

Change = Literal["unchanged", "appended", "rewritten"]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A file as it was: identity, size, mtime, and hashes of its first and last BLOCK bytes."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    head: str
    tail: str

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: Any) -> Fingerprint:
        """The fingerprint a manifest holds; ValueError when it is not one (a foreign file)."""
        if not isinstance(data, dict):
            raise ValueError("fingerprint is not an object")
        values: list[Any] = [data.get(name) for name in cls.__slots__]
        kinds = (int, int, int, int, str, str)
        if not all(isinstance(value, kind) and type(value) is not bool for value, kind in zip(values, kinds)):
            raise ValueError("fingerprint fields have the wrong types")
        return cls(*values)


def _hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def block_hash(descriptor: int, end: int) -> str:
    """The hash of the BLOCK bytes ending at `end` (fewer at the start of a short file)."""
    start = max(0, end - BLOCK)
    return _hash(os.pread(descriptor, end - start, start))


def fingerprint(path: str, limit: int | None = None) -> Fingerprint | None:
    """The fingerprint of the regular file at `path` now, of its first `limit` bytes when given
    (what a load consumed of a log still being written); None when it is not one or cannot be read."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return None
        size = info.st_size if limit is None else min(limit, info.st_size)
        head = _hash(os.pread(descriptor, min(BLOCK, size), 0))  # the whole file when it is shorter
        return Fingerprint(info.st_dev, info.st_ino, size, info.st_mtime_ns, head, block_hash(descriptor, size))
    except OSError:
        return None
    finally:
        os.close(descriptor)


def compare(old: Fingerprint, now: Fingerprint, path: str) -> Change:
    """How the file at `path` (now `now`) changed since `old` was taken.

    Appended: same identity, larger, and the first and last bytes of the old file (its head
    block, and the BLOCK bytes that ended it) still where they were, read again now. A file of the
    same size with another mtime is rewritten even when its blocks agree: the middle may differ,
    and only a rebuild can tell."""
    if (old.device, old.inode) != (now.device, now.inode):
        return "rewritten"
    if now.size == old.size:
        same = now.mtime_ns == old.mtime_ns and now.head == old.head and now.tail == old.tail
        return "unchanged" if same else "rewritten"
    if now.size < old.size:
        return "rewritten"
    try:
        with open(path, "rb") as handle:
            head = _hash(os.pread(handle.fileno(), min(BLOCK, old.size), 0))
            tail = block_hash(handle.fileno(), old.size)
    except OSError:
        return "rewritten"
    return "appended" if (head, tail) == (old.head, old.tail) else "rewritten"


def entry_name(identities: list[tuple[int, int]]) -> str:
    """The cache entry's directory name for files of these (device, inode), in load order."""
    text = ";".join(f"{device}:{inode}" for device, inode in identities)
    return _hash(f"k8saudit-tui-store;{text}".encode())


def policy_hash(policy: Policy) -> str:
    """A hash of what decides a policy's verdicts (its rules and policy-wide fields; not its file
    name or text), so the same policy read from another path reuses the cached verdicts."""
    content = repr((policy.rules, policy.omit_stages, policy.omit_managed_fields, policy.api_version))
    return _hash(content.encode())


_CODE_DIRECTORIES = ("logs", "store")
"""The engine packages whose code decides what the store holds for a log (with engine/model.py)."""


@cache
def code_fingerprint() -> str:
    """A hash of the parser's and the store's source files: any change to them (a new column, a
    fixed field extraction) makes old indexes foreign, so they are rebuilt instead of trusted."""
    engine = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    modules = [engine / "model.py"]
    for directory in _CODE_DIRECTORIES:
        modules.extend(sorted((engine / directory).rglob("*.py")))
    for module in modules:
        digest.update(str(module.relative_to(engine)).encode())
        try:
            digest.update(module.read_bytes())
        except OSError:
            digest.update(b"?")
    return digest.hexdigest()
