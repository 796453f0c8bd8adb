"""The narrow reading of a streamed export (engine.streaming.narrow: the filter decided on each
decoded line, no store) against the store-based export: random lines with escapes, prefixes, odd
spacing, EventLists and refused lines, random filters of exact and negated terms, several ranges
and read gaps; the same bytes, events and problems."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.export import export_rows
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import StoreLoader
from k8saudit_tui.engine.streaming import export as streaming_export
from k8saudit_tui.engine.streaming import jobs, pipeline
from k8saudit_tui.engine.streaming.export import stream_export
from k8saudit_tui.engine.streaming.narrow import narrow_filter
from k8saudit_tui.engine.streaming.output import OrderedOutput
from k8saudit_tui.engine.streaming.ranges import make_judge
from tests.auditlog_helpers import event, line

VALUES = {
    "verb": ("create", "get", "delete"),
    "user": ("alice", "bob", "a/b", '""'),
    "ns": ("default", "kube-system", '""'),
    "name": ("web-1", '""'),
    "resource": ("pods", "pods/log", "secrets", "pods/", '""'),
    "stage": ("ResponseComplete", "RequestReceived"),
    "ua": ("kubectl/v1.29", "k9s"),
    "uri": ('"/api/v1/namespaces/default/pods"', '"/healthz"'),  # quoted: a later `/` would make a regex
    "ip": ("10.0.0.1", "10.0.0.2", '""'),
}


@st.composite
def narrow_filters(draw: st.DrawFn) -> str:
    """One or two alternatives of one or two exact (or negated) terms on the narrow fields, or
    the empty filter (every event)."""
    if draw(st.integers(0, 9)) == 0:
        return ""
    groups = []
    for _ in range(draw(st.integers(1, 2))):
        terms = []
        for _ in range(draw(st.integers(1, 2))):
            name = draw(st.sampled_from(sorted(VALUES)))
            chosen = draw(st.lists(st.sampled_from(VALUES[name]), min_size=1, max_size=2, unique=True))
            if len(chosen) > 1 and '""' in chosen:
                chosen.remove('""')
            terms.append(f"{'!' if draw(st.booleans()) else ''}{name}:{','.join(chosen)}")
        groups.append(" ".join(terms))
    return " | ".join(groups)


@st.composite
def events(draw: st.DrawFn) -> dict[str, object]:
    resource = draw(st.sampled_from(["pods", "secrets", None, "pods/x"]))
    data = event(
        draw(st.integers(0, 5000)),  # times out of order too
        user=draw(st.sampled_from(["alice", "bob", "", "a/b"])),
        verb=draw(st.sampled_from(["create", "get", "delete"])),
        resource=resource,
        subresource=draw(st.sampled_from(["", "log"])),
        namespace=draw(st.sampled_from(["default", "kube-system", ""])),
        name=draw(st.sampled_from(["", "web-1"])),
        stage=draw(st.sampled_from(["ResponseComplete", "RequestReceived"])),
        ip=draw(st.sampled_from(["10.0.0.1", "10.0.0.2"])),
        ua=draw(st.sampled_from(["kubectl/v1.29", "k9s"])),
    )
    change = draw(st.sampled_from(["none", "none", "no user", "no ips", "no kind", "stamp", "bad kind", "bad stage"]))
    if change == "no user":
        del data["user"]
    elif change == "no ips":
        data["sourceIPs"] = []
    elif change == "no kind":
        del data["kind"]
    elif change == "stamp":
        del data["stageTimestamp"]  # the received time stands in
    elif change == "bad kind":
        data["kind"] = "Other"
    elif change == "bad stage":
        data["stage"] = "Bogus"
    return data


ESCAPES = [
    (b'"create"', b'"cr\\u0065ate"'),
    (b'"alice"', b'"\\u0061lice"'),
    (b'"default"', b'"defaul\\u0074"'),
    (b"/", b"\\/"),
    (b'"verb":', b'"verb" : '),
    (b'"user":{', b'"user": {\t'),
]


@st.composite
def log_lines(draw: st.DrawFn) -> bytes:
    """A line: a plain event (escaped, spaced, prefixed, padded), an EventList, or no event."""
    kind = draw(st.sampled_from(["event"] * 6 + ["list", "blank", "broken", "not an object", "bad type", "array"]))
    if kind == "list":
        items = draw(st.lists(events(), min_size=0, max_size=3))
        return orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items})
    if kind == "blank":
        return draw(st.sampled_from([b"", b"  ", b"\r"]))
    if kind == "broken":
        return line(draw(events()))[: draw(st.integers(1, 40))]
    if kind == "not an object":
        return b'"just a string"'
    if kind == "bad type":
        return line(draw(events())).replace(b'"username":', b'"username":1,"x":')
    if kind == "array":
        return b"[" + line(draw(events())) + b"]"
    text = line(draw(events()))
    for old, new in draw(st.lists(st.sampled_from(ESCAPES), max_size=2)):
        text = text.replace(old, new, 1)
    prefix = draw(st.sampled_from([b"", b"", b"", b"host-1 ", b" ", b"\xef\xbb\xbf"]))
    suffix = draw(st.sampled_from([b"", b"", b"\r", b"  "]))
    return prefix + text + suffix


@contextlib.contextmanager
def small_ranges(range_bytes: int, gap: int) -> Iterator[None]:
    """Ranges of `range_bytes` and reads cut at gaps over `gap` bytes (several of each)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "RANGE_BYTES", range_bytes)
        patch.setattr(pipeline, "FULL_PARSE_RANGE_BYTES", range_bytes)
        patch.setattr(pipeline.split, "TASK_BYTES", range_bytes * 2)
        patch.setattr(streaming_export, "_GAP_BYTES", gap)
        yield


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=narrow_filters(),
    lines=st.lists(log_lines(), min_size=0, max_size=40),
    final_newline=st.booleans(),
    fmt=st.sampled_from(["jsonl", "json"]),
    redact=st.booleans(),
    range_bytes=st.sampled_from([1 << 10, 4 << 10, 4 << 20]),
    gap=st.sampled_from([0, 2000, 256 << 10]),
    as_text=st.booleans(),
)
def test_the_narrow_reading_writes_what_the_store_writes(
    tmp_path: Path,
    text: str,
    lines: list[bytes],
    final_newline: bool,
    fmt: str,
    redact: bool,
    range_bytes: int,
    gap: int,
    as_text: bool,
) -> None:
    selection = compile_filter(text)
    assert narrow_filter(selection) is not None  # the path under test is taken
    log = tmp_path / "audit.log"  # a plain first event: the log is read as audit events
    log.write_bytes(b"\n".join([line(event(9, verb="create")), *lines]) + (b"\n" if final_newline else b""))
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    export_rows(store, selection.apply(store), fmt, tmp_path / "store.out", force=True, redact=redact)  # type: ignore[arg-type]
    with small_ranges(range_bytes, gap):
        result = stream_export(  # the text, as the command passes it, or the compiled filter
            expand_sources([str(log)]),
            text if as_text else selection,
            fmt,
            str(tmp_path / "s.out"),
            force=True,
            redact=redact,
            workers=1,
        )
    assert (tmp_path / "s.out").read_bytes() == (tmp_path / "store.out").read_bytes()
    assert result.events == len(store)
    assert [str(problem) for problem in result.problems] == [str(problem) for problem in store.problems]


def test_narrow_filters_are_exact_terms_on_string_fields_only() -> None:
    assert narrow_filter(compile_filter("verb:create,get !user:alice | resource:pods/log ns:default")) is not None
    assert narrow_filter(compile_filter('ip:"" stage:RequestReceived ua:k9s uri:/healthz name:x')) is not None
    assert narrow_filter(compile_filter("")) == ()  # every event
    for text in ("verb:~create", "user:/^a/", "code:200", "apigroup:apps", "group:x", "create", "time:-1m.."):
        assert narrow_filter(compile_filter(text)) is None, text
    assert make_judge(compile_filter("verb:create"), None, None, "json").narrow is not None
    assert make_judge(compile_filter("verb:create"), None, None, "csv").narrow is None  # rows of the store's values
    assert make_judge(compile_filter("verb:create"), None, None, "user").narrow is None  # top counts a store's column


def test_a_log_shortened_under_the_export_is_an_error_not_a_short_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join(line(event(n, verb="create")) for n in range(20)) + b"\n")
    judge = make_judge(compile_filter("verb:create"), None, None)
    (task,) = pipeline.plan(expand_sources([str(log)])).tasks
    selected = jobs.select(judge, task)
    assert len(selected.lengths) == 20
    log.write_bytes(log.read_bytes()[:100])
    output = OrderedOutput(str(tmp_path / "out.jsonl"), force=False)
    with pytest.raises(streaming_export.ExportError, match="changed while it was read"):
        streaming_export.OriginalLines().write(output, str(log), selected, b"\n")
    output.abandon()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["audit.log"]
