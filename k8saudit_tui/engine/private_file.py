"""Files that hold audit data: created 0600, atomically, never through a symbolic link, never over
a file without `force`.

Why one module: audit logs hold secrets and user names, and every file this tool writes from them
(an export, `apply`'s log, a streamed export's parts) must be created the same careful way: a
temporary file in the target directory (mode 0600, O_EXCL) written, flushed and renamed, so a
failed write (disk full, permission) leaves no half file behind. Light on imports: `apply`'s
workers load the module of its job, and that must not pull in the store.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


class ExportError(Exception):
    """An export that could not be written; the message says why in plain words."""


def write_private(target: Path, chunks: Iterable[bytes], force: bool = False) -> int:
    """Write `chunks` to `target` (0600, atomically: a temporary file in the same directory, fsync,
    rename); the bytes written. Raises ExportError."""
    check_target(target, force)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as error:
        raise ExportError(describe_error(error, directory)) from None
    written = 0
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                written += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        place(temporary, target, force)
    except OSError as error:
        remove_quietly(temporary)
        raise ExportError(describe_error(error, target)) from None
    except BaseException:
        remove_quietly(temporary)
        raise
    return written


def check_target(target: Path, force: bool) -> None:
    if target.is_symlink():
        raise ExportError(f"{target}: is a symbolic link; refusing to write through it")
    if target.exists():
        if target.is_dir():
            raise ExportError(f"{target}: is a directory")
        if not force:
            raise ExportError(f"{target}: already exists (use --force to overwrite)")


def place(temporary: str, target: Path, force: bool) -> None:
    """Rename into place. Without force, link() refuses an existing target atomically."""
    if force:
        if target.is_symlink():
            raise ExportError(f"{target}: is a symbolic link; refusing to write through it")
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        remove_quietly(temporary)
        raise ExportError(f"{target}: already exists (use --force to overwrite)") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if target.exists() or target.is_symlink():
            remove_quietly(temporary)
            raise ExportError(f"{target}: already exists (use --force to overwrite)") from None
        os.replace(temporary, target)
        return
    remove_quietly(temporary)


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def describe_error(error: OSError, where: Path) -> str:
    """A plain message for the errors a user can act on."""
    if error.errno == errno.ENOSPC:
        return f"{where}: disk full (no space left on device); nothing was written"
    if error.errno == errno.EDQUOT:
        return f"{where}: disk quota exceeded; nothing was written"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"{where}: permission denied"
    if error.errno == errno.ENOENT:
        if where.is_dir():  # /proc and similar: the directory is there but takes no new files
            return f"{where}: cannot create files in this directory (its file system does not allow it)"
        return f"{where}: directory does not exist"
    if error.errno == errno.EROFS:
        return f"{where}: read-only file system"
    return f"{where}: {error.strerror or error}"
