"""The reader's fast paths against plain implementations: blocks offered to a provider's
`fast_lines`, and a file unwrapped range by range (in the worker pool too), give what reading
every record one by one gives."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.formats import BY_NAME, Damaged, Unwrapped, documents, reader
from k8saudit_tui.engine.logs.sources import expand_sources
from tests import formats_standin
from tests.conftest import DATA

STANDIN = formats_standin.REGISTRY

EVENTS = [
    line
    for name in ("audit2rbac-demo.jsonl", "falco-k8s-audit-traces.jsonl")
    for line in (DATA / "logs" / name).read_bytes().split(b"\n")
    if line.strip()
]


def record(kind: str, event: bytes, index: int) -> bytes:
    """One line of an envelope file of the given kind around `event`."""
    if kind == "cloudwatch":  # the real eks module's
        return orjson.dumps({"timestamp": index, "message": event.decode(), "logStreamName": "s"})
    if kind == "truncated":
        return orjson.dumps({"timestamp": index, "message": event.decode()[:50] + formats_standin.TRUNCATED})
    if kind == "standin":  # the stand-in provider's (fast_lines without fast_events)
        return orjson.dumps({"when": index, "text": event.decode()})
    if kind == "standin-cut":
        return orjson.dumps({"when": index, "text": event.decode()[:50] + formats_standin.TRUNCATED})
    if kind == "docker":
        return orjson.dumps({"log": event.decode() + "\n", "stream": "stdout", "time": "t"})
    if kind == "garbage":
        return b"not json " + str(index).encode()
    if kind == "unknown":
        return orjson.dumps({"msg": index})
    if kind == "blank":
        return b"  "
    if kind == "empty":
        return b""
    return event  # a raw Event line among the records


KINDS = (
    "standin",
    "standin-cut",
    "cloudwatch",
    "cloudwatch",
    "cloudwatch",
    "truncated",
    "docker",
    "raw",
    "garbage",
    "unknown",
    "blank",
    "empty",
)
files = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(EVENTS)), min_size=1, max_size=60).map(
    lambda drawn: b"\n".join(record(kind, event, index) for index, (kind, event) in enumerate(drawn))
)


MODULES_IN_ORDER = [importlib.import_module(path) for _, path in STANDIN if importlib.util.find_spec(path)]
"""The registry's modules, imported plainly, in recognition order."""


def plain(data: bytes) -> tuple[list[bytes], list[int], list[int], list[tuple[int, str]]]:
    """Every line decoded and sniffed on its own: raw Event, shipper, stand-in provider, unknown."""
    events, lines, codes, damaged = [], [], [], []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            damaged.append((number, ""))
            continue
        if documents.is_event(value):
            found: list[object] = [Unwrapped(line, "raw", number)]
        else:
            module = next((m for m in MODULES_IN_ORDER if m.recognise(value)), None)
            found = list(module.unwrap(value, number)) if module is not None else [Damaged(number, "", "unknown")]
        for item in found:
            if isinstance(item, Damaged):
                damaged.append((item.line, item.field))
            else:
                assert isinstance(item, Unwrapped)
                events.append(item.event)
                lines.append(item.line)
                codes.append(BY_NAME[item.format].code)
    return events, lines, codes, damaged


@settings(max_examples=150)
@given(data=files, block=st.sampled_from([1, 2, 3, 7, 1024]))
def test_fast_blocks_give_what_the_plain_reader_gives(
    data: bytes, block: int, monkeypatch_module: pytest.MonkeyPatch
) -> None:
    monkeypatch_module.setattr(reader, "FAST_BLOCK", block)
    chunk = reader.unwrap_data(data, True, "lines", None, STANDIN)
    events, lines, codes, damaged = plain(data)
    assert b"\n".join(chunk.events) == b"\n".join(events)  # what the spool gets (fast blocks come joined)
    assert list(chunk.numbers) == lines
    assert list(chunk.codes) == codes
    assert [(item.line, item.field) for item in chunk.damaged] == damaged
    assert chunk.lines == len(data.splitlines())


@pytest.fixture(scope="module")
def monkeypatch_module() -> pytest.MonkeyPatch:
    patch = pytest.MonkeyPatch()
    yield patch  # type: ignore[misc]
    patch.undo()


def spool(path: Path, workers: int) -> tuple[bytes, list[int], list[int], list[tuple[int | None, str, str]]]:
    (source,) = expand_sources([str(path)], format="raw")
    result = reader.normalise(source, registry=STANDIN, workers=workers)
    assert result.origin is not None
    return (
        Path(result.path).read_bytes(),
        result.origin.lines.tolist(),
        result.origin.formats.tolist(),
        [(p.line, p.field, p.message) for p in result.problems],
    )


@settings(max_examples=60)
@given(data=files, task_bytes=st.integers(1, 4000))
def test_ranges_give_what_the_whole_file_gives(
    data: bytes, task_bytes: int, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> None:
    path = tmp_path_factory.mktemp("ranges") / "envelope.jsonl"
    path.write_bytes(record("standin", EVENTS[0], 0) + b"\n" + data)  # the first record decides the mode
    monkeypatch_module.setattr(split, "TASK_BYTES", 1 << 30)
    whole = spool(path, workers=1)
    monkeypatch_module.setattr(split, "TASK_BYTES", task_bytes)
    assert spool(path, workers=1) == whole


def test_the_worker_pool_gives_what_one_process_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = [KINDS[i % len(KINDS)] for i in range(3000)]
    data = b"\n".join(record(kind, EVENTS[i % len(EVENTS)], i) for i, kind in enumerate(kinds))
    path = tmp_path / "envelope.jsonl"
    path.write_bytes(record("cloudwatch", EVENTS[0], 0) + b"\n" + data + b"\n")
    alone = spool(path, workers=1)
    monkeypatch.setattr(split, "TASK_BYTES", 64 << 10)
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)
    pooled = spool(path, workers=2)
    assert pooled == alone
    assert len(np.unique(alone[2])) > 1 and alone[3]  # the file mixes formats and bad records
