"""Workers writing their ranges where the ledger places them (`formats/placing.py`): ranges follow
one another in file order whatever order the workers reserve in, the parent's own ranges
included; lines are written as joined; and a pooled unwrapping (worker-placed CloudWatch ranges,
parent-placed GKE ranges with duplicates dropped) gives the spool and origin of the in-process one."""

from __future__ import annotations

import os
import random
import threading
from itertools import accumulate
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.formats import placing, reader
from k8saudit_tui.engine.logs.formats.yaml_records import load_documents
from k8saudit_tui.engine.logs.sources import LogSource, expand_sources
from tests.cloud_helpers import CLOUD
from tests.test_formats_whole_range import APISERVER, cloudwatch


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ranges=st.lists(st.tuples(st.integers(0, 5000), st.booleans()), min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
)
def test_ranges_are_placed_in_file_order_whatever_order_they_are_reserved_in(
    ranges: list[tuple[int, bool]], order: random.Random, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each worker (a thread here) reserves its range's size, in a shuffled order of starting;
    ranges marked for the parent are placed by it in file order, as `reader._Assembly` does.
    Every range starts where the one before it ends: the running sum of the sizes."""
    directory = tmp_path_factory.mktemp("ledger")
    ledger = placing.Ledger.create(str(directory))
    starts: dict[int, int] = {}
    workers = [index for index, (_, by_parent) in enumerate(ranges) if not by_parent]
    order.shuffle(workers)

    def reserve(index: int) -> None:
        starts[index] = placing.Slot(ledger.path, "", index).reserve(ranges[index][0])

    threads = [threading.Thread(target=reserve, args=(index,)) for index in workers]
    for thread in threads:
        thread.start()
    end = 0
    for index, (size, by_parent) in enumerate(ranges):  # the parent, in order
        if by_parent:
            starts[index] = end
            ledger.place(index, end + size)
        else:
            threads[workers.index(index)].join(timeout=30)
            assert starts.get(index) == end, "a worker's range does not follow the one before it"
        end = starts[index] + size
    expected = [0, *accumulate(size for size, _ in ranges)][:-1]
    assert [starts[index] for index in range(len(ranges))] == expected
    ledger.remove()
    assert not os.path.exists(ledger.path)


def test_a_torn_or_empty_slot_is_not_taken_for_a_value(tmp_path: Path) -> None:
    """A slot holds its value and the complement: half-written (or zero) reads as not placed."""
    ledger = placing.Ledger.create(str(tmp_path))
    ledger.place(0, 1234)
    with open(ledger.path, "r+b") as handle:
        handle.seek(8)
        handle.write(b"\0" * 8)  # the complement not written yet
    waited: list[int] = []
    thread = threading.Thread(target=lambda: waited.append(placing.Slot(ledger.path, "", 1).reserve(10)))
    thread.start()
    thread.join(timeout=0.2)
    assert thread.is_alive() and not waited  # still waiting: range 0 is not placed as far as it can tell
    ledger.place(0, 1234)
    thread.join(timeout=30)
    assert waited == [1234]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.binary(max_size=40), max_size=1500),
    offset=st.integers(0, 100),
    short=st.booleans(),
)
def test_lines_are_written_as_joined(
    pieces: list[bytes], offset: int, short: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`write_lines` writes `b"\\n".join(pieces) + b"\\n"` at the offset, in groups of pwritev
    calls, also when the system writes less than asked (simulated: half of each call)."""
    path = tmp_path_factory.mktemp("lines") / "spool"
    path.write_bytes(b"x" * offset)
    real = os.pwritev

    def half(fd: int, buffers: list[bytes], at: int) -> int:
        data = b"".join(buffers)
        return real(fd, [data[: len(data) // 2]], at)

    fd = os.open(path, os.O_WRONLY)
    try:
        with pytest.MonkeyPatch.context() as patch:
            if short:
                patch.setattr(os, "pwritev", half)
            placing.write_lines(fd, pieces, offset)
    finally:
        os.close(fd)
    expected = b"".join(piece + b"\n" for piece in pieces)
    assert path.read_bytes() == b"x" * offset + expected
    assert placing.lines_size(pieces) == len(expected)


def gke_line() -> bytes:
    """A GKE Cloud Logging entry (an Event rebuilt by the parent, which drops repeated auditIDs)."""
    [(_, document)] = load_documents((CLOUD / "gke-logentry-khi-pods-create.yaml").read_text(encoding="utf-8"))
    return orjson.dumps(document)


def mixed_file(path: Path) -> Path:
    """CloudWatch event objects (ranges the workers place), a run of GKE entries, the same entry
    over and over (ranges the parent places, its repeats dropped), CloudWatch again."""
    lines = [cloudwatch(APISERVER[index % len(APISERVER)], index) for index in range(300)]
    lines[120:180] = [gke_line()] * 60
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


Unwrapped = tuple[bytes, np.ndarray, np.ndarray, list[tuple[int, str, str]]]


def unwrapped(path: Path, workers: int, parse: bool) -> Unwrapped:
    """The spool, origin and problems of `path` unwrapped by `workers` (a stream is drained)."""
    (source,) = expand_sources([str(path)], format="raw")
    result: LogSource = reader.normalise(source, workers=workers, parse=parse)
    if result.stream is not None:
        for _ in result.stream:
            pass
    assert result.origin is not None and result.problem is None
    data = Path(result.path).read_bytes()
    assert result.size == len(data)
    problems = sorted((p.line or 0, p.field, p.message) for p in result.problems)
    assert not list(Path(result.path).parent.glob("*.ledger"))  # removed once the spool is written
    os.unlink(result.path)
    return data, result.origin.lines, result.origin.formats, problems


@pytest.mark.parametrize("parse", [False, True])
def test_a_pooled_unwrapping_gives_the_spool_of_the_in_process_one(
    parse: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = mixed_file(tmp_path / "mixed.jsonl")
    data, lines, formats, problems = unwrapped(path, 1, False)
    assert data.count(b"\n") == 300 - 59 and any("repeat an auditID" in p[2] for p in problems)
    monkeypatch.setattr(split, "TASK_BYTES", 4 << 10)  # ranges of a few lines: dozens of them
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)
    assert len(split.cut(0, str(path), 0, path.stat().st_size)) > 20
    pooled = unwrapped(path, 2, parse)
    assert pooled[0] == data
    assert pooled[1].tolist() == lines.tolist() and pooled[2].tolist() == formats.tolist()
    assert pooled[3] == problems


@given(read=st.integers(-10, 10**9), written=st.integers(-10, 10**9))
def test_ranges_are_widened_by_what_a_file_gives_within_bounds(read: int, written: int) -> None:
    """TASK_BYTES times read/written, never narrower than TASK_BYTES nor wider than MAX_SCALE times."""
    scaled = split.scaled_task_bytes(read, written)
    if read <= 0 or written <= 0:
        assert scaled == split.TASK_BYTES
    else:
        expected = split.TASK_BYTES * min(split.MAX_SCALE, max(1.0, read / written))
        assert abs(scaled - expected) <= 1


def test_an_envelope_is_cut_into_ranges_of_about_task_bytes_of_events(tmp_path: Path) -> None:
    """A CloudWatch file's ranges are wider by the ratio of its bytes to its events' (taken from
    its head): each range unwraps to about TASK_BYTES of Event lines."""
    lines = [cloudwatch(APISERVER[index % len(APISERVER)], index) for index in range(3000)]
    data = b"\n".join(lines) + b"\n"
    events = sum(len(APISERVER[index % len(APISERVER)]) + 1 for index in range(3000))
    job: reader.Job = ("lines", None, reader.MODULES, None, "")
    scaled = reader._range_bytes(data[: 1 << 20], job)
    assert scaled > split.TASK_BYTES
    assert abs(scaled / split.TASK_BYTES - len(data) / events) < 0.01
