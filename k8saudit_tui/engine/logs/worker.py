"""The one worker pool: a tiny ordered process pool over pipes, for every log reader.

multiprocessing's "fork" is unsafe from a thread of a threaded program (the TUI loads in a thread
worker) and its "spawn" re-imports the caller's `__main__`, which breaks scripts without a main
guard. A worker here is a fresh interpreter running `worker.main`: it first receives a job (a
module-level function, pickled by reference, so the worker imports it) and an optional setup (a
picklable callable whose result is the worker's state: an Encoder for the store, an evaluator for
`evaluate`), then reads pickled tasks on stdin and writes pickled `job(state, task)` results on
stdout, in order. Only our own process writes to these private pipes, so unpickling them is safe.

The pipe protocol: each message is a magic tag, a length and the pickle; a reader takes exactly
that many bytes however the pipe delivers them (short reads, a process paused by a profiler). A
worker writes its results on a private copy of its stdout and points file descriptor 1 at stderr,
so a stray print (a library's warning, a debugger) can never land inside the protocol; if the
stream ever falls out of step, the tag says so in plain words instead of `invalid load key`.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.logs.split import Task

if TYPE_CHECKING:  # imported when used: an `evaluate` worker boots without numpy (~150 ms)
    from k8saudit_tui.engine.logs.batch import Batch, Encoder

_HEADER = struct.Struct("<4sQ")
_MAGIC = b"K8AT"
TaskT = TypeVar("TaskT")
ResultT = TypeVar("ResultT")


class ProtocolError(RuntimeError):
    """The worker pipe is out of step: something other than the protocol wrote on it."""


def _send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=5)
    stream.write(_HEADER.pack(_MAGIC, len(data)))
    stream.write(data)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """`size` bytes, however many reads the pipe needs; EOFError when it closes first."""
    data = stream.read(size)
    if data is None:
        data = b""
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = stream.read(size - got)
        if not more:
            raise EOFError("worker pipe closed")
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _receive(stream: IO[bytes]) -> Any:
    magic, size = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    if magic != _MAGIC:
        raise ProtocolError(f"worker pipe out of step (read {magic!r} where a message starts)")
    return pickle.loads(_read_exactly(stream, size))


_PACKAGE_PARENT = str(Path(__file__).resolve().parents[3])
_WORKER_BOOT = (
    "import sys; sys.path.insert(0, {parent!r}); {preload}from k8saudit_tui.engine.logs.worker import main; main()"
)
"""Workers import this very copy of the package: with `-m`, a `k8saudit_tui` folder in the
current directory would win over the installed one and the parent would talk to other code."""

_EARLY: list[subprocess.Popen[bytes]] = []
"""Workers started ahead of their pool (`start_early`), taken by the next WorkerPool."""


def start_early(preload: str, workers: int | None = None) -> None:
    """Start the pool's worker processes now, each importing the module `preload` (a job's) while
    the caller imports and plans: a streamed export spent ~0.27 s before it made its pool, and its
    workers' ~0.2 s of imports only began then. Workers no pool takes end with this process (their
    input closes)."""
    count = default_workers() if workers is None else workers
    if count > 1:
        _EARLY.extend(_spawn(preload) for _ in range(count - len(_EARLY)))


def _spawn(preload: str = "") -> subprocess.Popen[bytes]:
    boot = _WORKER_BOOT.format(parent=_PACKAGE_PARENT, preload=f"import {preload}; " if preload else "")
    return subprocess.Popen([sys.executable, "-c", boot], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def _processes(count: int) -> list[subprocess.Popen[bytes]]:
    """`count` worker processes: those started early first (if still running), then new ones."""
    early = [process for process in _EARLY if process.poll() is None][:count]
    _EARLY[:] = [process for process in _EARLY if process not in early and process.poll() is None]
    return early + [_spawn() for _ in range(count - len(early))]


def default_workers() -> int:
    """How many worker processes a reader starts: one per core, at most eight."""
    return max(1, min(os.cpu_count() or 1, 8))


class WorkerPool:
    """`workers` processes running `job(state, task)`; they start booting at once (an interpreter
    and its imports take a few hundred ms), so the caller can do work of its own meanwhile.

    `state` is `setup()` run once in each worker (None without setup). Use `map` once, then the
    pool is closed (or call `close`).
    """

    def __init__(self, job: Callable[[Any, Any], Any], workers: int, setup: Callable[[], Any] | None = None) -> None:
        self._feed_error: Exception | None = None
        self._processes = _processes(max(1, workers))
        try:
            for process in self._processes:
                _send(process.stdin, (job, setup))  # type: ignore[arg-type]
        except BaseException:
            self.close()
            raise

    def map(self, tasks: Iterable[Any], depth: int = 2) -> Generator[Any, None, None]:
        """Results of `tasks` in task order. Task i goes to worker i % workers; each worker has at
        most `depth` tasks queued, and `tasks` is consumed only as far as that, so a lazy iterable
        keeps memory bounded. Closing the generator (or an error) kills the workers; an error of
        a job is raised here.

        Tasks are written by a feeder thread per worker: a task bigger than a pipe's buffer (a
        spool range's line numbers) written from here would wait for a worker that waits, its
        own result bigger than the buffer, for this loop to read it: both stuck for ever."""
        processes = self._processes
        pending = iter(tasks)
        queued: deque[int] = deque()
        inboxes: list[queue.SimpleQueue[Any]] = [queue.SimpleQueue() for _ in processes]
        feeders = [
            threading.Thread(target=self._feed, args=(process, inbox), daemon=True)
            for process, inbox in zip(processes, inboxes, strict=True)
        ]
        for feeder in feeders:
            feeder.start()
        sent = 0

        def send_next() -> bool:
            nonlocal sent
            task = next(pending, _DONE)
            if task is _DONE:
                return False
            worker = sent % len(processes)
            inboxes[worker].put(task)
            queued.append(worker)
            sent += 1
            return True

        try:
            for _ in range(depth * len(processes)):
                if not send_next():
                    break
            while queued:
                try:
                    result = _receive(processes[queued.popleft()].stdout)  # type: ignore[arg-type]
                except EOFError:
                    if self._feed_error is not None:  # the task never reached the worker
                        raise self._feed_error from None
                    raise
                if isinstance(result, BaseException):
                    raise result
                send_next()
                yield result
        finally:
            for inbox in inboxes:
                inbox.put(_DONE)
            self.close()
            for feeder in feeders:
                feeder.join()

    def _feed(self, process: subprocess.Popen[bytes], inbox: queue.SimpleQueue[Any]) -> None:
        """Write the tasks of `inbox` to one worker until _DONE; a task that cannot be sent (not
        picklable) kills the worker, so that `map` raises instead of waiting for its result."""
        while (task := inbox.get()) is not _DONE:
            try:
                _send(process.stdin, task)  # type: ignore[arg-type]
            except (BrokenPipeError, ValueError):  # the worker is gone or closed: map says so
                return
            except Exception as error:  # reported by map, in the caller's thread
                self._feed_error = error
                process.kill()
                return

    def close(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def run_in_workers(
    job: Callable[[Any, TaskT], ResultT],
    tasks: Iterable[TaskT],
    workers: int,
    setup: Callable[[], Any] | None = None,
    depth: int = 2,
) -> Generator[ResultT, None, None]:
    """`WorkerPool(job, workers, setup).map(tasks, depth)`, the workers started at the first result."""
    pool = WorkerPool(job, workers, setup)
    yield from pool.map(tasks, depth)


_DONE: Any = object()


def parse_task(encoder: Encoder | None, task: Task) -> Batch:
    """The store's job: parse the lines of a byte range into a Batch (see batch.parse_range)."""
    from k8saudit_tui.engine.logs.batch import parse_range

    return parse_range((task.path, task.file, task.start, task.end, task.final), encoder)


def parse_in_workers(tasks: Iterable[Task], workers: int) -> Generator[Batch, None, None]:
    """Parse line ranges in worker processes, in order; each worker is one Encoder stream (values
    seen before are not shipped again)."""
    from k8saudit_tui.engine.logs.batch import Encoder

    return run_in_workers(parse_task, tasks, workers, setup=Encoder)


def main() -> None:
    """Worker loop: the job, then tasks until stdin closes (see `runtime.worker_process`)."""
    runtime.worker_process()
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray write to fd 1 (print, a C library) now goes to stderr, not into the protocol
    sys.stdout = sys.stderr
    try:
        job, setup = _receive(stdin)
    except EOFError:
        return
    state = setup() if setup is not None else None
    while True:
        try:
            task = _receive(stdin)
        except EOFError:
            return
        try:
            result: Any = job(state, task)
        except OSError as error:  # the caller reports it like its own read error
            result = error
        except Exception as error:  # reported to the parent, which raises it
            result = RuntimeError(f"worker failed on {task!r}: {error}")
        _send(stdout, result)


if __name__ == "__main__":
    main()
