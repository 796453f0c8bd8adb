"""Writing a streamed selection in the store's view order, in bounded memory.

Why: the store-based export writes the selected events in view order (by stageTimestamp, stable:
load order breaks ties), and a streamed export must write the same bytes. Ranges arrive in load
order; when the selected events' times never go down (one apiserver log: the usual case) load
order is view order and the pieces written as they came are the output. When they do go down
(rotated logs given newest first, shippers that reorder), the pieces already written are sorted
at the end: a stable argsort of their times, then each piece copied to a second file by offset.

Contract: pieces go to a temporary file beside the target (0600, O_EXCL, as `engine.export`
writes; renamed into place only when complete, never over a file without `force`, never through
a symlink) or, for stdout, to a private spool copied out at the end (a piece cannot be taken back
from a pipe). The times and lengths of the pieces go to a spool on disk, not to memory; only the
sort reads them back: 16 bytes a selected event at the end, and only for out-of-order input.
`header` and `footer` frame the pieces (CSV header, JSON brackets); with `json` the first piece
written loses its leading comma. Raises engine.export.ExportError, as `export_rows` does.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from k8saudit_tui.engine.logs.sources import new_spool
from k8saudit_tui.engine.private_file import ExportError, check_target, describe_error, place, remove_quietly

_COPY_BLOCK = 1 << 20
_PARTS_AT_ONCE = 1024
"""Parts a `writev` takes (IOV_MAX on Linux)."""
_SORT_STEP = 1 << 16
_KEY = np.dtype([("time", "<i8"), ("length", "<i8")])


class OrderedOutput:
    """Pieces in, the output in view order out (see the module's contract)."""

    def __init__(self, path: str | None, force: bool, header: bytes = b"", footer: bytes = b"", json: bool = False):
        self.target = None if path is None or path == "-" else Path(path)
        self.force = force
        self.header, self.footer, self.json = header, footer, json
        self.count = 0
        self.in_order = True
        self._last = np.iinfo(np.int64).min
        if self.target is not None:
            check_target(self.target, force)
            directory = self.target.parent if str(self.target.parent) else Path(".")
            try:
                descriptor, self._temporary = tempfile.mkstemp(
                    prefix=f".{self.target.name}.", suffix=".part", dir=directory
                )
            except OSError as error:
                raise ExportError(describe_error(error, directory)) from None
            self._out: BinaryIO = os.fdopen(descriptor, "wb")
        else:
            self._temporary, self._out = new_spool("export")
        self._keys_path, self._keys = new_spool("export-keys")
        self._write(header)
        self._body = len(header)

    def add(self, blob: bytes, lengths: np.ndarray, times: np.ndarray) -> None:
        """Append the pieces of one range (in load order), one after another in `blob`."""
        self.add_pieces([blob], lengths, times)

    def add_pieces(self, parts: list[bytes | memoryview], lengths: np.ndarray, times: np.ndarray) -> None:
        """Append the pieces of one range (in load order), whose bytes are `parts` one after
        another (parts need not be pieces: a run of lines may be one part): written from where
        they are (`os.writev`), not joined first."""
        if not len(lengths):
            return
        if self.json and self.count == 0:
            parts = [parts[0][1:], *parts[1:]]  # the first element follows "[" with a newline, not ",\n"
            lengths = lengths.copy()
            lengths[0] -= 1
        if self.in_order and (times[0] < self._last or bool(np.any(times[1:] < times[:-1]))):
            self.in_order = False
        self._last = int(times[-1]) if self.in_order else self._last
        self._write_parts(parts)
        keys = np.empty(len(lengths), _KEY)
        keys["time"], keys["length"] = times, lengths
        self._keys.write(keys.tobytes())
        self.count += len(lengths)

    def finish(self) -> tuple[str, int]:
        """Write the footer, put the output in view order and in place; (path or "-", bytes)."""
        try:
            self._write(self.footer)
            self._out.flush()
            self._keys.close()
            source = self._temporary
            if not self.in_order:
                source = self._sorted()
            if self.target is None:
                return "-", self._to_stdout(source)
            with open(source, "rb+") as handle:
                os.fsync(handle.fileno())
                size = os.fstat(handle.fileno()).st_size
            self._out.close()
            place(source, self.target, self.force)
            if source != self._temporary:
                remove_quietly(self._temporary)
            return str(self.target), size
        except OSError as error:
            self.abandon()
            raise ExportError(describe_error(error, self.target or Path("-"))) from None
        finally:
            remove_quietly(self._keys_path)

    def abandon(self) -> None:
        """Remove what was written (an error, or the caller gave up)."""
        self._out.close()
        self._keys.close()
        for path in (self._temporary, self._keys_path, getattr(self, "_sorted_path", "")):
            if path:
                remove_quietly(path)

    def _write(self, data: bytes) -> None:
        try:
            self._out.write(data)
        except OSError as error:
            self.abandon()
            raise ExportError(describe_error(error, self.target or Path("-"))) from None

    def _write_parts(self, parts: list[bytes | memoryview]) -> None:
        """`parts` straight to the file, up to _PARTS_AT_ONCE a call (what the buffer holds first)."""
        try:
            self._out.flush()
            fd = self._out.fileno()
            for begin in range(0, len(parts), _PARTS_AT_ONCE):
                chunk = parts[begin : begin + _PARTS_AT_ONCE]
                written = os.writev(fd, chunk)
                wanted = sum(map(len, chunk))
                while written < wanted:  # a short write (a full disk says why at the next call)
                    rest = b"".join(chunk)[written:]
                    written += os.write(fd, rest)
        except OSError as error:
            self.abandon()
            raise ExportError(describe_error(error, self.target or Path("-"))) from None

    def _sorted(self) -> str:
        """The pieces in stable order of their times, in a new file beside the first."""
        keys = np.fromfile(self._keys_path, _KEY)
        order = np.argsort(keys["time"], kind="stable")
        lengths = keys["length"]
        del keys
        starts = np.cumsum(lengths) - lengths + self._body
        if self.target is not None:
            directory = self.target.parent if str(self.target.parent) else Path(".")
            descriptor, self._sorted_path = tempfile.mkstemp(
                prefix=f".{self.target.name}.", suffix=".part", dir=directory
            )
            out: BinaryIO = os.fdopen(descriptor, "wb")
        else:
            self._sorted_path, out = new_spool("export-sorted")
        with out, open(self._temporary, "rb") as source:
            fd = source.fileno()
            out.write(self.header)
            block: list[bytes] = []
            size = 0
            position = 0
            for begin in range(0, len(order), _SORT_STEP):  # a Python list of every index would cost 36 B each
                chosen = order[begin : begin + _SORT_STEP]
                for index, length, start in zip(chosen.tolist(), lengths[chosen].tolist(), starts[chosen].tolist()):
                    piece = os.pread(fd, length, start)
                    if self.json:  # the first piece was written without its comma
                        piece = (b"\n" if position == 0 else b",\n") + (piece[1:] if index == 0 else piece[2:])
                    position += 1
                    block.append(piece)
                    size += len(piece)
                    if size >= _COPY_BLOCK:
                        out.write(b"".join(block))
                        block, size = [], 0
            out.write(b"".join(block))
            out.write(self.footer)
        return self._sorted_path

    def _to_stdout(self, source: str) -> int:
        """Copy the finished spool to stdout; the spools go."""
        self._out.close()
        stream = sys.stdout.buffer
        with open(source, "rb") as handle:
            shutil.copyfileobj(handle, stream, _COPY_BLOCK)
            size = handle.tell()
        stream.flush()
        remove_quietly(self._temporary)
        if source != self._temporary:
            remove_quietly(source)
        return size
