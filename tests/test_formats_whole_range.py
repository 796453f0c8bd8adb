"""A range of one CloudWatch event object a line, unwrapped whole (`whole_range.py`), against the
line path it stands in for: the same chunk for any file, whole or not, and taken for clean files."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.formats import reader, whole_range
from k8saudit_tui.engine.logs.formats.cloudtext import EVENT_PREFIX
from k8saudit_tui.engine.logs.formats.registry import MODULES, fast_modules
from k8saudit_tui.engine.logs.formats.unwrapper import Chunk
from tests.cloud_helpers import real_event_lines

APISERVER = [line for line in real_event_lines() if line.startswith(EVENT_PREFIX.encode())][::9]
"""Real Event lines as kube-apiserver writes them (the whole-range reading takes only those)."""
OTHERS = [line for line in real_event_lines() if not line.startswith(EVENT_PREFIX.encode())]
"""Real Event lines of other writers (their keys in another order): the line path's to word."""


def cloudwatch(event: bytes, index: int) -> bytes:
    return orjson.dumps({"logStreamName": "kube-apiserver-audit-1", "timestamp": index, "message": event.decode()})


def aks(event: bytes, index: int, **more: object) -> bytes:
    """An AKS diagnostic-settings record (storage JSONL) around `event`, as Azure writes it: the
    Event with its own newline in `properties.log`."""
    log = event.decode() + "\n"
    record = {"category": "kube-audit", "operationName": "x", "properties": {"log": log, "pod": f"p{index}"}}
    return orjson.dumps({**record, **more})


def aks_bare(event: bytes, index: int) -> bytes:
    """The same record with the Event alone in `properties.log` (other shippers' copies)."""
    return orjson.dumps({"category": "kube-audit-admin", "properties": {"log": event.decode()}})


def aks_damaged(kind: str, event: bytes, index: int) -> bytes:
    """An AKS line the whole-range reading must refuse."""
    if kind == "other-category":  # an Event in a category that is not audit: passed over
        return orjson.dumps({"category": "kube-apiserver", "properties": {"log": event.decode()}})
    if kind == "cloudwatch-key":  # eks.py would take it (or look at it) first
        return aks(event, index, message=event.decode(), timestamp=index)
    if kind == "insights-key":
        return aks(event, index, **{"@message": "m"})
    if kind == "batch":
        return orjson.dumps({"records": [orjson.loads(aks(event, index))]})
    if kind == "bare-log":  # one Event without its newline among Events with one
        return aks_bare(event, index)
    if kind == "log-object":
        return orjson.dumps({"category": "kube-audit", "properties": {"log": orjson.loads(event)}})
    return damaged_line(kind, event, index, aks)  # the shared ones: line breaks, spaces, BOM, ...


def damaged_line(kind: str, event: bytes, index: int, record: Callable[[bytes, int], bytes] = cloudwatch) -> bytes:
    """A line the whole-range reading must refuse (the line path words or takes it its way)."""
    text = event.decode()
    if kind == "newline-in-message":
        return orjson.dumps({"timestamp": index, "message": text + "\n"})
    if kind == "cr":
        return record(event, index) + b"\r"
    if kind == "cr-whitespace":  # JSON whitespace: read alike whole or line by line
        return b'{"timestamp": %d,\r"message": %s}' % (index, orjson.dumps(text))
    if kind == "blank":
        return b""
    if kind == "spaces":
        return record(event, index) + b"  "
    if kind == "two-records":
        return record(event, index) + record(event, index + 1)
    if kind == "spans-lines":
        return b'{"timestamp": %d,\n"message": %s}' % (index, orjson.dumps(text))
    if kind == "spans-after-close":  # the newline after a `}`: only the `{` after it tells
        return b'{"x":{}\n,"timestamp": %d,"message": %s}' % (index, orjson.dumps(text))
    if kind == "spans-before-open":  # the newline before a `{`: only the `}` before it tells
        return b'{"x":[1,\n{}],"timestamp": %d,"message": %s}' % (index, orjson.dumps(text))
    if kind == "truncated":
        return orjson.dumps({"timestamp": index, "message": text[:40] + "[Truncated...]"})
    if kind == "klog":
        return orjson.dumps({"timestamp": index, "message": "I1120 09:00:00.000 1 trace.go:1] Trace"})
    if kind == "surrogate":
        return b'{"timestamp": %d, "message": "\\ud800%s"}' % (index, orjson.dumps(text)[1:-1])
    if kind == "string-timestamp":
        return orjson.dumps({"timestamp": str(index), "message": text})
    if kind == "raw":
        return event
    if kind == "other-writer":
        return record(OTHERS[index % len(OTHERS)], index)
    return b"\xef\xbb\xbf" + record(event, index)  # a BOM


DAMAGES = (
    "newline-in-message",
    "cr",
    "cr-whitespace",
    "blank",
    "spaces",
    "two-records",
    "spans-lines",
    "spans-after-close",
    "spans-before-open",
    "truncated",
    "klog",
    "surrogate",
    "string-timestamp",
    "raw",
    "other-writer",
    "bom",
)


def through_lines(data: bytes, final: bool) -> Chunk:
    """The chunk of the line path alone (whole ranges never taken)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "whole_range", lambda *_: None)
        return reader.unwrap_data(data, final, "lines", None, MODULES)


def same(chunk: Chunk, expected: Chunk) -> None:
    assert chunk.lines == expected.lines
    assert b"\n".join(chunk.events) == b"\n".join(expected.events)  # what the spool gets
    assert list(chunk.numbers) == list(expected.numbers)
    assert list(chunk.codes) == list(expected.codes)
    assert [(d.line, d.field, d.reason) for d in chunk.damaged] == [
        (d.line, d.field, d.reason) for d in expected.damaged
    ]
    assert (chunk.unknown, chunk.skipped) == (expected.unknown, expected.skipped)


AKS_DAMAGES = ("other-category", "cloudwatch-key", "insights-key", "batch", "bare-log", "log-object", *DAMAGES)


@settings(max_examples=200, deadline=None)
@given(
    provider=st.sampled_from(["eks", "aks", "aks-bare"]),
    events=st.lists(st.sampled_from(APISERVER), min_size=1, max_size=40),
    damages=st.lists(st.tuples(st.sampled_from(AKS_DAMAGES), st.integers(0, 39)), max_size=3),
    ended=st.booleans(),
    final=st.booleans(),
    block=st.sampled_from([1, 300, 1 << 20]),
)
def test_any_range_gives_the_chunk_of_the_line_path(
    provider: str,
    events: list[bytes],
    damages: list[tuple[str, int]],
    ended: bool,
    final: bool,
    block: int,
) -> None:
    record, damaged = {
        "eks": (cloudwatch, damaged_line),
        "aks": (aks, aks_damaged),
        "aks-bare": (aks_bare, aks_damaged),
    }[provider]
    lines = [record(event, index) for index, event in enumerate(events)]
    for kind, at in damages:  # two may make up for each other's count: two records, one in two lines
        lines[at % len(lines)] = damaged(kind, events[at % len(events)], at)
    data = b"\n".join(lines) + (b"\n" if ended else b"")
    expected = through_lines(data, final)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(whole_range, "BLOCK_BYTES", block)  # blocks of one line, a few, all
        chunk = reader.unwrap_data(data, final, "lines", None, MODULES)
        taken = whole_range.whole_range(data, final, fast_modules(None, MODULES))
    same(chunk, expected)
    assert taken is not None or bool(damages) or not (ended or final)  # a clean range is read whole


def test_a_clean_range_is_read_whole_with_its_pieces_for_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of event objects over many blocks: read whole, listed (for the worker that parses
    the events where it unwrapped them) as the line path lists them."""
    data = b"".join(cloudwatch(APISERVER[i % len(APISERVER)], i) + b"\n" for i in range(2000))
    monkeypatch.setattr(whole_range, "BLOCK_BYTES", 4096)
    assert whole_range.whole_range(data, False, fast_modules(None, MODULES)) is not None
    chunk = reader.unwrap_data(data, False, "lines", None, MODULES, listed=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "whole_range", lambda *_: None)
        expected = reader.unwrap_data(data, False, "lines", None, MODULES, listed=True)
    same(chunk, expected)
    assert chunk.pieces == expected.pieces


@pytest.mark.parametrize("spanning", ["spans-lines", "spans-after-close", "spans-before-open"])
def test_two_records_on_a_line_and_one_over_two_lines_are_not_read_whole(spanning: str) -> None:
    """As many values as lines is not one a line when one line holds two and one value spans two
    lines: the bytes around each newline (`}` before, `{` after) refuse the range, and the line
    path words the broken lines."""
    lines = [cloudwatch(APISERVER[i], i) for i in range(6)]
    lines[1] = damaged_line("two-records", APISERVER[1], 1)
    lines[4] = damaged_line(spanning, APISERVER[4], 4)
    data = b"\n".join(lines) + b"\n"
    assert whole_range.whole_range(data, True, fast_modules(None, MODULES)) is None
    chunk = reader.unwrap_data(data, True, "lines", None, MODULES)
    same(chunk, through_lines(data, True))
    assert [d.line for d in chunk.damaged] == [2, 5, 6]


def test_records_with_cloudwatch_keys_throughout_are_left_to_cloudwatchs_reading() -> None:
    """Diagnostic records that also carry a CloudWatch `events` list: the line path offers each
    block to eks.py first, which takes the list's messages; aks.py's whole reading declines them."""
    lines = [aks(APISERVER[i], i, events=[{"message": APISERVER[i + 1].decode()}]) for i in range(5)]
    data = b"\n".join(lines) + b"\n"
    assert whole_range.whole_range(data, True, fast_modules(None, MODULES)) is None
    chunk = reader.unwrap_data(data, True, "lines", None, MODULES)
    same(chunk, through_lines(data, True))
    assert chunk.events == [b"\n".join(APISERVER[1:6])]  # the CloudWatch messages, not the logs
