"""`Session.source_lines` (the problems screen's read-back) against a plain split of the file.

It seeks from the last event before the wanted lines, whose line and offset the store knows, and
cuts long lines: the property test holds it to reading the whole file and slicing its lines."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.ui.session import SOURCE_LINE_LIMIT, open_session

from .conftest import EVENTS

GOOD = [line for line in EVENTS.read_bytes().split(b"\n") if line.strip()][:40]

LINES = st.one_of(
    st.sampled_from(GOOD),
    st.sampled_from(GOOD).map(lambda line: b"host-1 " + line),  # a text prefix: the offset is inside the line
    st.sampled_from(GOOD).map(lambda line: line[: len(line) // 2]),  # truncated
    st.binary(max_size=30).map(lambda data: data.replace(b"\n", b"")),  # binary, blank
    st.just(b'{"kind": "Event", "x": "' + b"a" * (SOURCE_LINE_LIMIT + 5) + b'"}'),  # too long to show whole
    st.just(b"\r"),
)


def plain(data: bytes, line: int, around: int) -> list[tuple[int, str, int]]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    wanted = range(max(1, line - around), line + around + 1)
    return [
        (
            number,
            lines[number - 1][:SOURCE_LINE_LIMIT].rstrip(b"\r").decode("utf-8", "backslashreplace"),
            max(0, len(lines[number - 1]) - SOURCE_LINE_LIMIT),
        )
        for number in wanted
        if number <= len(lines)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, min_size=1, max_size=25), st.data(), st.booleans())
def test_source_lines_are_the_lines_of_the_file(lines: list[bytes], data: st.DataObject, final_newline: bool) -> None:
    content = b"\n".join(lines) + (b"\n" if final_newline else b"")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "audit.log"
        path.write_bytes(content)
        session = open_session(None, [str(path)])
        for _ in session.load(threading.Event()):
            pass
        line = data.draw(st.integers(1, len(lines) + 3))
        around = data.draw(st.integers(0, 3))
        got = [(s.number, s.text, s.cut) for s in session.source_lines(str(path), line, around)]
        assert got == plain(content, line, around)
