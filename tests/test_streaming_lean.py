"""The lean narrow path of a streamed export: `exact_text` (a plain exact filter read without the
query package) against the language, `narrow_job.select` (the worker's job without a Judge)
against `jobs.select` with the full Judge, and what the parent and a worker import on that path."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import batch, split
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.logs.timestamps import parse_times
from k8saudit_tui.engine.query import FilterError, compile_filter
from k8saudit_tui.engine.query.filter import Filter
from k8saudit_tui.engine.streaming import export as streaming_export
from k8saudit_tui.engine.streaming import jobs, narrow, narrow_job, pipeline
from k8saudit_tui.engine.streaming.exact_text import parse_exact
from k8saudit_tui.engine.streaming.narrow import spec_of
from k8saudit_tui.engine.streaming.ranges import make_judge
from tests.auditlog_helpers import event, line
from tests.test_streaming_narrow import log_lines, narrow_filters

ROOT = Path(__file__).parent.parent

VALUE = st.text("abcAZ09@._:+=-", min_size=1, max_size=6)
FIELDS = ("verb", "user", "ns", "name", "ua", "uri", "ip", "resource", "stage")
STAGE_NAMES = ("requestreceived", "RESPONSECOMPLETE", "ResponseStarted", "panic")


@st.composite
def exact_terms(draw: st.DrawFn) -> str:
    """An exact term on a narrow field, its field in any case: what `parse_exact` must read."""
    name = draw(st.sampled_from(FIELDS))
    field = "".join(char.upper() if draw(st.booleans()) else char for char in name)
    values = draw(st.lists(st.sampled_from(STAGE_NAMES) if name == "stage" else VALUE, min_size=1, max_size=3))
    return f"{'!' if draw(st.booleans()) else ''}{field}:{','.join(values)}"


@st.composite
def exact_texts(draw: st.DrawFn) -> str:
    """Alternatives of exact terms (or none: the empty filter), spaced one way or another."""
    groups = draw(st.lists(st.lists(exact_terms(), min_size=1, max_size=3), min_size=0, max_size=3))
    spaces = st.sampled_from([" ", "  ", "   "])
    separator = draw(spaces) + "|" + draw(spaces)
    text = separator.join(draw(spaces).join(group) for group in groups)
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", "  "]))


@st.composite
def wide_terms(draw: st.DrawFn) -> str:
    """A term on a narrow field whose value holds what the language reads specially (quotes,
    regex slashes, `~`, commas, `|`, `!`, backslashes)."""
    name = draw(st.sampled_from(FIELDS))
    return f"{'!' if draw(st.booleans()) else ''}{name}:{draw(st.text('ab/~,|!:' + chr(34) + chr(92), max_size=6))}"


def _language(text: str) -> object:
    """What the language makes of `text`: its spec (None: not narrow), or the error's message."""
    try:
        return spec_of(compile_filter(text))
    except FilterError as error:
        return error.message


@settings(max_examples=400, deadline=None)
@given(text=exact_texts())
def test_a_plain_exact_filter_is_read_as_the_language_reads_it(text: str) -> None:
    spec = parse_exact(text)
    assert spec is not None  # the lean reading is taken for every such text
    assert spec == _language(text)


@settings(max_examples=1500, deadline=None)
@given(
    text=st.one_of(
        st.text('verbusnamestgcdoipx:!|,"/~ \t\\@.-ARq', max_size=30),
        st.lists(st.sampled_from([*FIELDS, "code", "level", "apigroup", "x"]), min_size=1, max_size=3).map(
            lambda names: " ".join(f"{name}:Req,ok" for name in names)
        ),
        st.lists(wide_terms(), min_size=1, max_size=3).map(" ".join),
        exact_texts().map(lambda text: text.replace(":", ":~", 1)),
        exact_texts().map(lambda text: text.replace(" ", '"', 1)),
        exact_texts().map(lambda text: text + " |"),
        exact_texts().map(lambda text: "| " + text),
        exact_texts().map(lambda text: text.replace(",", ",,", 1)),
        exact_texts().map(lambda text: text.replace("|", "| |", 1)),
    )
)
def test_any_other_text_is_left_to_the_language_or_read_as_it_reads_it(text: str) -> None:
    spec = parse_exact(text)
    assert spec is None or spec == _language(text)


def test_the_lean_reading_refuses_what_it_does_not_read_surely() -> None:
    assert parse_exact("user:alice@example.com") == ((("user", ("alice@example.com",), False),),)
    assert parse_exact("stage:responsecomplete") == ((("stage", ("ResponseComplete",), False),),)
    assert parse_exact("") == ()
    for text in ("stage:Bogus", "verb:~create", 'ns:""', "uri:/healthz", "code:200", "create", "a | | b", "verb:a,"):
        assert parse_exact(text) is None, text


def _tasks(tmp_path: Path, lines: list[bytes], range_bytes: int, document: bool = False) -> list[Task]:
    """The ranges of a log of `lines` (a plain event first), or the one task of an EventList document."""
    log = tmp_path / "audit.log"
    if document:  # as `pipeline.plan` makes it for a document read in place
        log.write_bytes(b'{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [' + b",".join(lines) + b"]}")
        return [Task(0, str(log), 0, log.stat().st_size, True, document=True)]
    log.write_bytes(b"\n".join([line(event(9, verb="create")), *lines]) + b"\n")
    return pipeline.plan(expand_sources([str(log)]), range_bytes).tasks


def _written(selected: jobs.Selected, path: str, fmt: str) -> tuple[bytes, list[int], list[int]]:
    """What the output writes for `selected`: its pieces (rendered, or read from the file as
    `export.OriginalLines` reads them), their lengths and times."""
    if selected.offsets is None:
        return selected.blob, selected.lengths.tolist(), selected.times.tolist()
    data = Path(path).read_bytes()
    pieces, at = [], 0
    for offset, length in zip(selected.offsets.tolist(), selected.lengths.tolist()):
        if offset < 0:  # an EventList item: its bytes are in the blob
            piece, at = selected.blob[at : at + length], at + length
        else:
            piece = data[offset : offset + length]
        pieces.append(b",\n" + piece if fmt == "json" else piece + b"\n")
    return b"".join(pieces), [len(piece) for piece in pieces], selected.times.tolist()


def _same(lean: jobs.Selected, full: jobs.Selected, path: str, fmt: str) -> None:
    assert (lean.lines, lean.events, lean.problems) == (full.lines, full.events, full.problems)
    assert _written(lean, path, fmt) == _written(full, path, fmt)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=narrow_filters(),
    lines=st.lists(log_lines(), min_size=0, max_size=30),
    fmt=st.sampled_from(["jsonl", "json"]),
    redact=st.booleans(),
    range_bytes=st.sampled_from([1 << 10, 4 << 20]),
    share=st.sampled_from([1, narrow_job.SHIPPED_SHARE, 1 << 40]),
)
def test_the_lean_job_selects_what_the_full_judge_selects(
    tmp_path: Path, text: str, lines: list[bytes], fmt: str, redact: bool, range_bytes: int, share: int
) -> None:
    """Rendered in the worker (a sparse selection: `share`) or located, the same bytes."""
    selection = compile_filter(text)
    spec = spec_of(selection)
    assert spec is not None
    state = narrow_job.setup(spec, text, None, None, fmt, redact)()
    judge = make_judge(selection, None, None, fmt, redact)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(narrow_job, "SHIPPED_SHARE", share)
        for task in _tasks(tmp_path, lines, range_bytes):
            _same(narrow_job.select(state, task), jobs.select(judge, task), task.path, fmt)


def test_a_document_goes_to_the_full_judge(tmp_path: Path) -> None:
    lines = [line(event(n, verb=("create", "get")[n % 2])) for n in range(6)]
    (task,) = _tasks(tmp_path, lines, 1 << 20, document=True)
    state = narrow_job.setup(spec_of(compile_filter("verb:create")), "verb:create", None, None, "jsonl", False)()  # type: ignore[arg-type]
    selected = narrow_job.select(state, task)
    _same(selected, jobs.select(make_judge(compile_filter("verb:create"), None, None), task), task.path, "jsonl")
    assert len(selected.lengths) == 3


def test_a_filter_is_sent_as_its_terms_only_when_its_text_says_the_same() -> None:
    assert streaming_export.narrow_plan("user:alice", "jsonl") == (((("user", ("alice",), False),),), "user:alice")
    assert streaming_export.narrow_plan("verb:~create", "jsonl") is None
    assert streaming_export.narrow_plan(compile_filter("ns:a | verb:b"), "json") is not None
    assert streaming_export.narrow_plan(compile_filter("verb:create"), "csv") is None  # rows of the store's values
    made = Filter("verb:get", compile_filter("verb:create").groups)  # a Filter made by hand: its text differs
    assert streaming_export.narrow_plan(made, "jsonl") is None
    assert streaming_export.narrow_plan(Filter("verb:(", made.groups), "jsonl") is None
    with pytest.raises(ValueError):
        narrow_job.setup((), "", None, None, "csv", False)


def test_copied_constants_equal_their_sources() -> None:
    assert narrow.BLOCK_LINES == batch.BLOCK_LINES


_HEAVY = "print(sorted(m for m in ('k8saudit_tui.engine.query', 'k8saudit_tui.engine.store') if m in sys.modules))"
"""Which of the two packages the lean path avoids a process has imported (after `import sys`)."""


def _run(code: str, stdin: bytes = b"") -> str:
    done = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, cwd=ROOT, check=True)
    return done.stdout.decode().strip().splitlines()[-1]


def test_a_worker_of_the_narrow_path_imports_neither_the_query_nor_the_store_package(tmp_path: Path) -> None:
    (task,) = _tasks(tmp_path, [line(event(n, user="alice")) for n in range(5)], 1 << 20)
    setup = narrow_job.setup(((("user", ("alice",), False),),), "user:alice", None, None, "jsonl", False)
    sent = pickle.dumps((narrow_job.select, setup, task))
    code = f"import pickle, sys; job, setup, task = pickle.loads(sys.stdin.buffer.read()); job(setup(), task); {_HEAVY}"
    assert _run(code, sent) == "[]"
    # a range the narrow reading cannot finish alone builds the full Judge there
    (listed,) = _tasks(tmp_path, [line(event(n, user="alice")) for n in range(5)], 1 << 20, document=True)
    sent = pickle.dumps((narrow_job.select, setup, listed))
    assert _run(code, sent) == "['k8saudit_tui.engine.query', 'k8saudit_tui.engine.store']"


def test_the_export_command_streams_a_plain_exact_filter_without_them(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(line(event(n, user=("alice", "bob")[n % 2])) + b"\n" for n in range(10)))
    out = tmp_path / "out.jsonl"
    run = "import sys; from k8saudit_tui.cli import main; status = main({args!r}); assert status == 0, status; "
    args = ["export", str(log), "--filter", "user:alice", "-o", str(out)]
    assert _run(run.format(args=args) + _HEAVY) == "[]"
    assert out.read_bytes() == b"".join(line(event(n, user="alice")) + b"\n" for n in range(0, 10, 2))
    args = ["export", str(log), "--filter", "user:~ali", "-o", str(out), "--force"]  # any other filter compiles
    assert _run(run.format(args=args) + _HEAVY) != "[]"


@st.composite
def file_spans(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """File contents of short and long lines, a position in it and an end at or after it."""
    data = b"".join(draw(st.lists(st.sampled_from([b"\n", b"x", b"xy\n", b"y" * 700, b"z" * 5000]), max_size=12)))
    at = draw(st.integers(0, len(data)))
    return data, at, draw(st.integers(at, len(data)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(span=file_spans(), probe=st.sampled_from([1, 2, 3, 4 << 10]))
@example(span=(b"x\nx", 0, 3), probe=1)  # the newline just past the first look
@example(span=(b"x" * 5000 + b"\nx", 10, 5002), probe=4 << 10)
def test_a_range_ends_just_after_the_first_newline_from_its_position(
    tmp_path: Path, span: tuple[bytes, int, int], probe: int
) -> None:
    """`split.next_newline` (its first look of PROBE_BYTES, then 1 MB reads) against a plain search."""
    data, at, end = span
    path = tmp_path / "data"
    path.write_bytes(data)
    found = data.find(b"\n", at, end)
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(split, "PROBE_BYTES", probe)
            assert split.next_newline(fd, at, end) == (found + 1 if found >= 0 else end)
    finally:
        os.close(fd)


def _plain_narrow(data: bytes, final: bool, groups: narrow.Narrow) -> tuple[list[int], list[int], list[int], int]:
    """`narrow.narrow_range` line by line, as its contract reads: (selected lines, their stage
    times, the lines left to the store path, events read)."""
    pieces = data.split(b"\n")
    if not final or pieces[-1] == b"":
        pieces.pop()
    selected, stamps, rest = [], [], []
    for number, piece in enumerate(pieces):
        event = narrow._plain_line(piece) if piece[:1] == b"{" else None
        if event is None:
            rest.append(number)
        elif narrow._decide([event], groups):
            selected.append(number)
            stamps.append(event.stage_time)
    return selected, parse_times(stamps).tolist(), rest, len(pieces) - len(rest)


PLAIN = line(event(1, verb="create", user="alice"))
TRICKY = [
    PLAIN + b" " + PLAIN,  # two events on a line, which `decode_lines` would read as two
    PLAIN + b"}",
    PLAIN[:-1] + b',"verb":',  # an event cut, whose end is on the next line
    b'"get"}',
    b'{"a":' + PLAIN[1:],
    PLAIN + b"\r",
    b"{" + PLAIN[1:-1] + b', "x": "} {"}',
    b'{"stage":"ResponseComplete","verb":"get","user":{"username":"alice"}} {"verb":"x"}',
    PLAIN[:-1] + b',"impersonatedUser":',  # and its end on a line that opens with `{`:
    b'{"username":"bob"}}',
]


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.one_of(log_lines(), st.sampled_from(TRICKY), st.just(PLAIN)), max_size=24),
    text=narrow_filters(),
    final=st.booleans(),
    block=st.sampled_from([1, 2, 3, narrow.BLOCK_LINES]),
)
@example(lines=[TRICKY[-2], TRICKY[-1], TRICKY[0]], text="", final=False, block=3)  # 3 values on 3 lines
@example(lines=[PLAIN, TRICKY[0], PLAIN], text="user:alice", final=True, block=3)
def test_lines_decoded_a_block_at_a_time_are_read_as_line_by_line(
    lines: list[bytes], text: str, final: bool, block: int
) -> None:
    """The block reading (`decode_lines` over lines that open with `{` and close with `}`, else a
    decode a line, else line by line) against the plain per-line reading."""
    groups = narrow.narrow_filter(compile_filter(text))
    assert groups is not None
    data = b"\n".join(lines) + (b"" if final and lines and lines[-1] else b"\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(narrow, "BLOCK_LINES", block)
        decided = narrow.narrow_range(data, final, groups)
    found = (decided.selected.tolist(), decided.times.tolist(), np.flatnonzero(decided.rest).tolist(), decided.events)
    assert found == _plain_narrow(data, final, groups)
    pieces = _plain_narrow(data, final, ())[2:]  # every line's place
    assert len(decided.starts) - 1 == len(pieces[0]) + pieces[1]


def test_a_worker_sent_terms_its_text_does_not_compile_to_says_so(tmp_path: Path) -> None:
    (task,) = _tasks(tmp_path, [b"host-1 " + PLAIN], 1 << 20)  # a prefixed line: the full Judge is built
    state = narrow_job.setup(((("user", ("bob",), False),),), "user:alice", None, None, "jsonl", False)()
    with pytest.raises(RuntimeError, match="does not compile to the terms"):
        narrow_job.select(state, task)
    right = narrow_job.setup(((("user", ("alice",), False),),), "user:alice", None, None, "jsonl", False)()
    assert len(narrow_job.select(right, task).lengths) == 2  # the first (plain) event and the prefixed one


def test_a_narrow_filter_that_may_select_most_lines_is_read_in_smaller_ranges() -> None:
    dense = streaming_export._dense
    assert dense(()) and dense(parse_exact("!verb:get")) and dense(parse_exact("user:a | !ns:b !verb:c"))  # type: ignore[arg-type]
    assert not dense(parse_exact("user:a")) and not dense(parse_exact("!verb:get user:a | ns:b"))  # type: ignore[arg-type]
