"""The worker pipe protocol survives stray output in a worker, short reads, tasks and results bigger
than a pipe, and says when it breaks."""

from __future__ import annotations

import io
import os
import sys
import threading
from typing import Any

import pytest

from k8saudit_tui import cli
from k8saudit_tui.engine.logs import split, worker
from k8saudit_tui.engine.logs.worker import ProtocolError, WorkerPool, _receive, _send


def noisy_job(state: Any, task: int) -> int:
    """A job that writes to stdout both from Python and from the C level, as a library might."""
    print("noise from print", task)
    sys.stdout.flush()
    os.write(1, b"noise from fd 1\n")
    return task * 2


def test_stray_output_in_a_worker_does_not_corrupt_results() -> None:
    pool = WorkerPool(noisy_job, 2)
    assert list(pool.map(range(20))) == [task * 2 for task in range(20)]


def doubling_job(state: Any, task: bytes) -> bytes:
    return task + task


def test_tasks_and_results_bigger_than_a_pipe_do_not_deadlock() -> None:
    """A spool range's task carries its line numbers (hundreds of KB) and its result is bigger:
    written from the loop that reads results, the next task waited for a worker that waited for
    its result to be read (`evaluate` of a 100k-event CloudWatch file hung for ever)."""
    tasks = [bytes([index]) * (1 << 20) for index in range(8)]
    results: list[bytes] = []
    pool = WorkerPool(doubling_job, 2)
    reader = threading.Thread(target=lambda: results.extend(pool.map(tasks)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    stuck = reader.is_alive()
    if stuck:
        pool.close()
    assert not stuck
    assert results == [task + task for task in tasks]


def test_a_task_that_cannot_be_sent_is_raised_not_waited_for() -> None:
    pool = WorkerPool(doubling_job, 2)
    with pytest.raises(Exception, match="pickle"):
        list(pool.map([b"fine", lambda: None, b"never"]))  # type: ignore[list-item]


class _Trickle(io.RawIOBase):
    """A pipe that hands out at most 3 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece, self._data = self._data[: min(size, 3)], self._data[min(size, 3) :]
        return piece


def test_short_reads_give_the_whole_message() -> None:
    sent = io.BytesIO()
    value = {"rows": list(range(1000)), "text": "é" * 100}
    _send(sent, value)
    assert _receive(_Trickle(sent.getvalue())) == value


def test_a_stream_out_of_step_is_named() -> None:
    with pytest.raises(ProtocolError, match="out of step"):
        _receive(io.BytesIO(b"noise from print 1\n" + b"\0" * 20))


def test_a_closed_pipe_is_end_of_file() -> None:
    sent = io.BytesIO()
    _send(sent, "x" * 100)
    with pytest.raises(EOFError):
        _receive(io.BytesIO(sent.getvalue()[:-5]))


def test_workers_started_early_are_the_next_pools_and_answer_as_any() -> None:
    worker.start_early("k8saudit_tui.engine.streaming.jobs", workers=2)
    early = [process.pid for process in worker._EARLY]
    pool = WorkerPool(noisy_job, 2)
    assert [process.pid for process in pool._processes] == early
    assert worker._EARLY == []
    assert list(pool.map(range(6))) == [task * 2 for task in range(6)]


def test_the_command_line_starts_workers_early_only_where_the_pool_reads_the_log() -> None:
    assert cli._POOL_BYTES == split.IN_PROCESS_BYTES  # the CLI cannot import split to read it
