"""Export a selection of events: JSON lines (original bytes), CSV, a JSON array, or Parquet.

One function serves the `export` command and the TUI. Audit logs hold secrets, so a file is
created with mode 0600, never over an existing file without `force`, never through a symlink,
and atomically: a temporary file in the target directory is written, flushed and renamed, so a
failed write (disk full, permission) leaves no half file behind. Parquet (engine.parquet, the columns
with the verdicts and the raw line) needs the optional pyarrow: without it `ParquetUnavailable`, an
ExportError, says how to install it before anything is written.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from k8saudit_tui.engine.export_formats import FORMATS, Format
from k8saudit_tui.engine.fields import CSV_FIELDS
from k8saudit_tui.engine.logs.chunks import in_blocks
from k8saudit_tui.engine.private_file import ExportError, write_private
from k8saudit_tui.engine.store import EventStore

CSV_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (field.csv_header, field.column) for field in CSV_FIELDS if field.csv_header is not None
)
"""CSV header and the store column behind each, from the one field table (engine.fields)."""

REDACTED = "REDACTED"


def check_format(fmt: str) -> None:
    """Raise ExportError for a format that cannot be written here (unknown, or Parquet without
    pyarrow), so that callers can refuse before loading a log."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    if fmt == "parquet":
        from k8saudit_tui.engine.parquet import require_pyarrow  # raises ParquetUnavailable, an ExportError

        require_pyarrow()


@dataclass(frozen=True)
class ExportResult:
    count: int
    path: str
    """The file written, or "-" for stdout."""
    bytes: int
    left_out: str = ""
    """What was left out and why (events whose text is gone, see EventStore.raw), or ""."""


def export_rows(
    store: EventStore,
    rows: Iterable[int] | np.ndarray,
    fmt: Format,
    path: str | Path | None,
    force: bool = False,
    redact: bool = False,
) -> ExportResult:
    """Write `rows` of `store` (in the given order) as `fmt` to `path` (None or "-" = stdout).

    jsonl writes each event's original line byte for byte (unless `redact`, which re-serialises
    the events it masks); csv one row per event under CSV_COLUMNS; json an array of the events;
    parquet the columns, verdicts and raw line of each (engine.parquet).
    Raises ExportError (exists without force, symlink, permission, disk full, unknown format,
    ParquetUnavailable). jsonl, json and parquet leave out events whose text is gone (a followed
    file truncated after they were read) and say so in the result; csv, made from the store's
    columns, keeps them.
    """
    check_format(fmt)
    selection = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, np.int64)
    left_out = ""
    if fmt != "csv":
        readable = store.readable(selection)
        if not readable.all():
            files = sorted(
                {store.files[index].name for index in np.unique(store.column("file")[selection[~readable]]).tolist()}
            )
            gone = np.count_nonzero(~readable)
            left_out = f"{gone:,} events whose file was truncated after they were read ({', '.join(files)})"
            selection = selection[readable]
    chunks = _render(store, selection, fmt, redact)
    if path is None or str(path) == "-":
        result = _to_stream(sys.stdout.buffer, chunks, len(selection))
    else:
        result = _to_file(Path(path), chunks, len(selection), force)
    return dataclasses.replace(result, left_out=left_out) if left_out else result


def _render(store: EventStore, rows: np.ndarray, fmt: Format, redact: bool) -> Iterator[bytes]:
    """The output as chunks of bytes (lines are joined in blocks to keep writes large)."""
    if fmt == "csv":
        yield from _csv(store, rows)
        return
    if fmt == "parquet":
        from k8saudit_tui.engine import parquet

        yield from parquet.render(store, rows, redact_line if redact else None)
        return
    lines = store.raw_many(rows)
    if redact:
        lines = (redact_line(line) for line in lines)
    if fmt == "jsonl":
        yield from in_blocks(line + b"\n" for line in lines)
        return
    yield b"["
    yield from in_blocks((b"\n" if first else b",\n") + line for first, line in _first_flags(lines))
    yield b"\n]\n"


def _first_flags(lines: Iterator[bytes]) -> Iterator[tuple[bool, bytes]]:
    first = True
    for line in lines:
        yield first, line
        first = False


def _csv(store: EventStore, rows: np.ndarray) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([header for header, _ in CSV_COLUMNS])
    for count, row in enumerate(rows.tolist(), 1):
        writer.writerow([_csv_cell(store.value(row, column)) for _, column in CSV_COLUMNS])
        if count % 10_000 == 0:
            yield buffer.getvalue().encode("utf-8", "surrogateescape")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8", "surrogateescape")


def _csv_cell(value: object) -> str:
    """A cell; values starting like a formula are prefixed with ' so spreadsheets do not run them."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _to_stream(stream: BinaryIO, chunks: Iterator[bytes], count: int) -> ExportResult:
    written = 0
    for chunk in chunks:
        stream.write(chunk)
        written += len(chunk)
    stream.flush()
    return ExportResult(count, "-", written)


def _to_file(target: Path, chunks: Iterator[bytes], count: int, force: bool) -> ExportResult:
    return ExportResult(count, str(target), write_private(target, chunks, force))


# ------------------------------------------------------------------------------ redaction

_TOKEN_KINDS = frozenset({"TokenRequest", "TokenReview"})
_BODIES = ("requestObject", "responseObject")


def redact_line(line: bytes) -> bytes:
    """The event with secrets masked; the original bytes when there was nothing to mask."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(event, dict) or not redact_event(event):
        return line
    return orjson.dumps(event)


def redact_event(event: dict[str, Any]) -> bool:
    """Mask, in place, Secret data/stringData, TokenRequest/TokenReview tokens and Authorization
    header values in the request and response bodies. Returns whether anything was masked."""
    reference = event.get("objectRef")
    secrets = isinstance(reference, dict) and reference.get("resource") == "secrets"
    changed = False
    for key in _BODIES:
        body = event.get(key)
        if isinstance(body, (dict, list)):
            changed |= _redact(body, secrets)
    return changed


def count_masked(original: object, masked: object) -> int:
    """Values `redact_event` replaced: leaves of `masked` that are REDACTED where `original` was
    something else (a masked `data` of three keys is three values)."""
    if isinstance(masked, dict):
        before = original if isinstance(original, dict) else {}
        return sum(count_masked(before.get(key), value) for key, value in masked.items())
    if isinstance(masked, list):
        items = original if isinstance(original, list) else []
        return sum(count_masked(items[i] if i < len(items) else None, value) for i, value in enumerate(masked))
    return int(masked == REDACTED and original != REDACTED)


def _redact(value: Any, secret_context: bool) -> bool:
    """Walk a body: Secrets (by kind, or any top-level object of a secrets request, incl. patches
    and lists), token kinds, and any `authorization` key."""
    changed = False
    if isinstance(value, list):
        for item in value:
            changed |= _redact(item, secret_context)
        return changed
    if not isinstance(value, dict):
        return False
    kind = value.get("kind")
    if kind == "Secret" or (secret_context and kind in (None, "Secret")):
        for key in ("data", "stringData"):
            changed |= _mask_values(value, key)
    if kind in _TOKEN_KINDS:
        for part in ("spec", "status"):
            section = value.get(part)
            if isinstance(section, dict) and "token" in section:
                section["token"] = REDACTED
                changed = True
    for key, item in list(value.items()):
        if isinstance(key, str) and key.lower() in ("authorization", "proxy-authorization"):
            value[key] = [REDACTED] * len(item) if isinstance(item, list) else REDACTED
            changed = True
        elif isinstance(item, (dict, list)):
            nested_secret = secret_context and key == "items"
            changed |= _redact(item, nested_secret)
    return changed


def _mask_values(value: dict[str, Any], key: str) -> bool:
    section = value.get(key)
    if isinstance(section, dict) and section:
        value[key] = {name: REDACTED for name in section}
        return True
    if isinstance(section, str):
        value[key] = REDACTED
        return True
    return False
