"""The one splitter (engine/logs/split.py) against plain byte arithmetic, and the one worker pool."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.logs.worker import WorkerPool

_LINE = st.binary(max_size=40).map(lambda data: data.replace(b"\n", b"") + b"\n")
_CONTENT = st.tuples(st.lists(_LINE, max_size=60), st.binary(max_size=20)).map(
    lambda parts: b"".join(parts[0]) + parts[1].replace(b"\n", b"")
)


@settings(max_examples=150, deadline=None)
@given(content=_CONTENT, task_bytes=st.integers(1, 200), lines=st.integers(1, 70))
def test_ranges_cover_the_file_at_line_boundaries(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, task_bytes: int, lines: int
) -> None:
    path = tmp_path_factory.mktemp("split") / "log"
    path.write_bytes(content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(split, "TASK_BYTES", task_bytes)
        tasks = split.cut(0, str(path), 0, len(content))
    assert b"".join(content[t.start : t.end] for t in tasks) == content
    assert all(content[t.end - 1 : t.end] == b"\n" for t in tasks[:-1])
    assert [t.final for t in tasks] == [False] * (len(tasks) - 1) + [True]
    for task in tasks:
        assert split.count_lines(str(path), task.start, task.end) == content[task.start : task.end].count(b"\n")
        with split.open_range(task) as stream:
            assert stream.read() == content[task.start : task.end]
    end = split.first_lines_end(str(path), 0, len(content), lines)
    after_newlines = [index + 1 for index, byte in enumerate(content) if byte == ord("\n")]
    assert end == (after_newlines[lines - 1] if len(after_newlines) >= lines else len(content))


def test_lines_of_a_range_stop_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"a\nbb\nccc\n")
    with split.open_range(Task(0, str(path), 2, 5, False)) as stream:
        assert list(stream) == [b"bb\n"]


def _twice(state: int, task: int) -> int:
    if task < 0:
        raise ValueError("negative")
    return state * task


def _three() -> int:
    return 3


def test_the_pool_keeps_task_order_and_reports_errors() -> None:
    assert list(WorkerPool(_twice, 2, setup=_three).map(iter(range(20)))) == [3 * n for n in range(20)]
    with pytest.raises(RuntimeError, match="negative"):
        list(WorkerPool(_twice, 2, setup=_three).map([1, 2, -1, 4]))
