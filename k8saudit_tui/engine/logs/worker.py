"""Parser worker processes: a tiny ordered process pool over pipes.

multiprocessing's "fork" is unsafe from a thread of a threaded program (the TUI loads in a thread
worker) and its "spawn" re-imports the caller's `__main__`, which breaks scripts without a main
guard. A worker here is a fresh interpreter running `worker.main`: it reads pickled tasks on stdin and
writes pickled `Batch`es on stdout, in order. Only our own process writes to these private pipes,
so unpickling them is safe.
"""

from __future__ import annotations

import gc
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from k8saudit_tui.engine.logs.batch import Batch, Encoder, parse_range

_HEADER = struct.Struct("<Q")
Task = tuple[str, int, int, int, bool]


def _send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=5)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("worker pipe closed")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("worker pipe closed")
    return pickle.loads(data)


_PACKAGE_PARENT = str(Path(__file__).resolve().parents[3])
_WORKER_BOOT = (
    f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); from k8saudit_tui.engine.logs.worker import main; main()"
)
"""Workers import this very copy of the package: with `-m`, a `k8saudit_tui` folder in the
current directory would win over the installed one and the parent would talk to other code."""


def parse_in_workers(tasks: Sequence[Task], workers: int, depth: int = 2) -> Iterator[Batch]:
    """Parse `tasks` in `workers` processes, yielding batches in task order.

    Task i goes to worker i % workers; each worker has at most `depth` tasks queued. Closing the
    generator (or an error) kills the workers.
    """
    workers = max(1, min(workers, len(tasks)))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER_BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    try:
        sent = 0
        for _ in range(depth):
            for process in processes:
                if sent < len(tasks):
                    _send(process.stdin, tasks[sent])  # type: ignore[arg-type]
                    sent += 1
        for index in range(len(tasks)):
            process = processes[index % workers]
            result = _receive(process.stdout)  # type: ignore[arg-type]
            if isinstance(result, BaseException):
                raise result
            if sent < len(tasks):
                _send(processes[sent % workers].stdin, tasks[sent])  # type: ignore[arg-type]
                sent += 1
            yield result
    finally:
        for process in processes:
            process.kill()
            process.wait()


def main() -> None:
    """Worker loop: parse byte ranges until stdin closes; the cyclic GC is off (no cycles made)."""
    gc.disable()
    encoder = Encoder()  # one stream for all our tasks: values seen before are not shipped again
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            task = _receive(stdin)
        except EOFError:
            return
        try:
            result: Any = parse_range(task, encoder)
        except Exception as error:  # reported to the parent, which raises it
            result = RuntimeError(f"worker failed on {task[0]} [{task[2]}:{task[3]}]: {error}")
        _send(stdout, result)


if __name__ == "__main__":
    main()
