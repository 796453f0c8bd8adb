"""Container runtimes and log shippers around Event lines: webhook EventLists, Docker / Fluent Bit /
Fluentd records, CRI container-log lines (the format module of `eventlist`, `docker` and `cri`).

Contract (the one of `formats/__init__.py`): `recognise(record)` and `unwrap(record, line)` for a
decoded JSON record; never raises for bad data. CRI is text, not JSON, so its lines are read by
`cri_records` (which `documents.py` calls): partial `P` lines are joined up to the next `F`
(kubernetes#55922: the runtime cuts long lines, and audit lines are long). A Docker record's `log`
without its trailing newline is likewise a piece of a longer line (json-file cuts at 16 KiB):
`docker_piece` tells the reader so, and it joins the pieces before unwrapping. The OpenShift
`hostname {json}` prefix is not here: today's line parser reads it (batch.py).

Why the Event text is kept byte for byte: the CRI content and the Docker `log` string *are* the
apiserver's line; only an EventList item has no text of its own and is re-serialised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped
from k8saudit_tui.engine.textsafe import visible

CRI_LINE = re.compile(rb"(\S+) (stdout|stderr) ([FP]) ?(.*)", re.DOTALL)
"""`2016-10-06T00:17:09.669794202Z stdout F {...}`: time, stream, F(ull) or P(artial), content."""
CRI_HEAD = re.compile(rb"\d{4}-\d\d-\d\dT\S+ (stdout|stderr) [FP] ")
"""How a file's first line is recognised as CRI (a timestamp first: not any `word stdout F`)."""


def recognise(record: dict[str, Any]) -> bool:
    """An EventList, or a Docker / Fluent record whose `log` string holds JSON."""
    if record.get("kind") == "EventList":
        return True
    log = record.get("log")
    return isinstance(log, str) and log.lstrip()[:1] == "{"


def unwrap(record: dict[str, Any], line: int) -> list[Unwrapped | Damaged]:
    """The Events of an EventList (re-serialised items) or the `log` text of a Docker record."""
    if record.get("kind") == "EventList":
        return _items(record.get("items"), line)
    log = record.get("log")
    if not isinstance(log, str):
        return [Damaged(line, "log", "a Docker / Fluent record without a log string")]
    text = log.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        return [Damaged(line, "log", "empty log")]
    return [Unwrapped(text.encode("utf-8", "surrogatepass"), "docker", line)]


def _items(items: object, line: int) -> list[Unwrapped | Damaged]:
    if not isinstance(items, list):
        return [Damaged(line, "items", "EventList without an items array")]
    found: list[Unwrapped | Damaged] = []
    for position, item in enumerate(items):
        if isinstance(item, dict):
            found.append(Unwrapped(orjson.dumps(item), "eventlist", line))
        else:
            found.append(Damaged(line, f"items[{position}]", "not a JSON object"))
    return found


def docker_piece(record: dict[str, Any]) -> str | None:
    """The `log` of a Docker record that is a piece of a longer line (no trailing newline), else None.

    Only records whose `log` ends without a newline *and* that carry Docker's `stream` key are
    pieces: a Fluent record that stripped the newline is whole."""
    log = record.get("log")
    if isinstance(log, str) and not log.endswith("\n") and "stream" in record and "time" in record:
        return log
    return None


def cri_records(lines: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes] | Damaged]:
    """(line, content) per CRI record of numbered lines, `P` pieces joined up to their `F`; a line
    that is not CRI is a Damaged naming it. Blank lines are skipped. A run of `P` lines left at the
    end (the writer was cut off) is given as it is: the line parser says what is wrong with it."""
    pending: list[bytes] = []
    start = 0
    for number, text in lines:
        text = text.rstrip(b"\r")
        if not text.strip():
            continue
        match = CRI_LINE.fullmatch(text)
        if match is None:
            yield Damaged(number, "", f"not a CRI log line: {_shown(text)}")
            continue
        if not pending:
            start = number
        pending.append(match.group(4))
        if match.group(3) == b"F":
            yield start, b"".join(pending)
            pending = []
    if pending:
        yield start, b"".join(pending)


def _shown(text: bytes) -> str:
    return visible(text[:200].decode("utf-8", "backslashreplace"))
