"""Sources and parsing: files, directories of rotated logs, .gz, stdin; every line format; problems."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import orjson
import pytest

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines

LOGS = Path(__file__).parent / "data" / "logs"


def load(paths: list[str], workers: int = 1) -> EventStore:
    return StoreLoader(expand_sources(paths), workers=workers).load_all()


def test_file_source_is_read_in_place(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "audit.log", [line(event(1))])
    [source] = expand_sources([str(log)])
    assert source.path == str(log) and source.problem is None and source.followable


def test_missing_path_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    [source] = expand_sources([str(tmp_path / "nope.log")])
    assert source.problem is not None and "cannot read" in source.problem.message
    store = load([str(tmp_path / "nope.log")])
    assert len(store) == 0 and store.problems[0].file.endswith("nope.log")


def test_directory_takes_rotated_and_gz_logs_only(tmp_path: Path) -> None:
    write_lines(tmp_path / "audit.log", [line(event(3))])
    write_lines(tmp_path / "audit-2026-11-20T10-00-00.000.log", [line(event(2))])
    with gzip.open(tmp_path / "audit-2026-11-19T10-00-00.000.log.gz", "wb") as handle:
        handle.write(line(event(1)) + b"\n")
    (tmp_path / "policy.yaml").write_text("rules: []\n")
    sources = expand_sources([str(tmp_path)])
    names = sorted(os.path.basename(s.name) for s in sources)
    assert names == ["audit-2026-11-19T10-00-00.000.log.gz", "audit-2026-11-20T10-00-00.000.log", "audit.log"]
    store = load([str(tmp_path)])
    assert len(store) == 3 and not store.problems


def test_gzip_is_spooled_and_rereadable_by_offset(tmp_path: Path) -> None:
    lines = [line(event(n)) for n in range(50)]
    with gzip.open(tmp_path / "audit.log.gz", "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")
    [source] = expand_sources([str(tmp_path / "audit.log.gz")])
    assert source.spooled and not source.followable and source.path != source.name
    assert os.stat(source.path).st_mode & 0o777 == 0o600
    store = load([str(tmp_path / "audit.log.gz")])
    assert [store.raw(row) for row in range(len(store))] == lines
    assert store.location(7) == (str(tmp_path / "audit.log.gz"), 8)


def test_stdin_is_spooled(tmp_path: Path) -> None:
    lines = [line(event(n)) for n in range(5)]
    [source] = expand_sources(["-"], stdin=io.BytesIO(b"\n".join(lines) + b"\n"))
    assert source.name == "<stdin>" and source.spooled
    store = StoreLoader([source], workers=1).load_all()
    assert len(store) == 5 and store.raw(4) == lines[4] and store.location(4) == ("<stdin>", 5)


def test_eventlist_document_on_one_line(tmp_path: Path) -> None:
    items = [event(1, verb="create"), event(2, verb="delete"), {"kind": "Event", "stage": 3}]
    document = orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items})
    log = write_lines(tmp_path / "batch.log", [line(event(0)), document])
    store = load([str(log)])
    assert [store.value(r, "verb") for r in range(len(store))] == ["get", "create", "delete"]
    assert store.location(2) == (str(log), 2)
    assert orjson.loads(store.raw(1)) == items[0]
    [problem] = store.problems
    assert (problem.line, problem.field) == (2, "items[2].stage")


def test_pretty_printed_eventlist_file(tmp_path: Path) -> None:
    document = {"kind": "EventList", "items": [event(1), event(2)]}
    log = tmp_path / "webhook.json"
    log.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    store = load([str(log)])
    assert len(store) == 2 and not store.problems
    assert store.event(1)["auditID"] == event(2)["auditID"]


def test_prefixed_lines_and_crlf(tmp_path: Path) -> None:
    plain = line(event(1))
    log = write_lines(tmp_path / "shipped.log", [b"master-0 " + plain, line(event(2)) + b"\r"])
    store = load([str(log)])
    assert len(store) == 2 and not store.problems
    assert store.raw(0) == plain  # the JSON part: the stored bytes parse as the event
    assert store.raw(1) == line(event(2)) + b"\r"


def test_v1beta1_and_no_apiversion_events(tmp_path: Path) -> None:
    beta = event(1, apiVersion="audit.k8s.io/v1beta1")
    del beta["stageTimestamp"]
    beta["metadata"] = {"creationTimestamp": "2026-11-20T09:00:00Z"}
    bare = event(2)
    del bare["apiVersion"], bare["kind"]
    store = load([str(write_lines(tmp_path / "a.log", [line(beta), line(bare)]))])
    assert len(store) == 2
    assert store.value(0, "time") == "2026-11-20T09:00:00.000000Z"  # E10: metadata.creationTimestamp


BROKEN = [
    (b'{"kind":"Event","stage":"ResponseComplete","verb":"get","requestURI":"/x"', "", "truncated"),
    (b"\x00\x01\x02binary\xff", "", "binary"),
    (b'{"kind":"Pod","metadata":{}}', "kind", "not an audit Event"),
    (b'{"stage":"ResponseComplete","verb":"get","user":{"username":7}}', "user.username", "Expected str"),
    (b'{"stage":"ResponseComplete","verb":"get","requestURI":"/\xff\xfe"}', "", "UTF-8"),
    (b"[1,2,3]", "", ""),
    (b"just text", "", "not a JSON object"),
]


def test_broken_lines_are_problems_with_file_line_field(tmp_path: Path) -> None:
    lines: list[bytes] = []
    for n, (bad, _, _) in enumerate(BROKEN):
        lines += [line(event(n)), bad]
    lines += [b"", b"   "]
    log = write_lines(tmp_path / "broken.log", lines)
    store = load([str(log)])
    assert len(store) == len(BROKEN)  # no valid event around a bad line is lost
    assert [store.value(r, "auditid") for r in range(len(store))] == [event(n)["auditID"] for n in range(len(BROKEN))]
    assert len(store.problems) == len(BROKEN)
    for problem, (_, field, words), number in zip(store.problems, BROKEN, range(2, 100, 2)):
        assert problem.file == str(log) and problem.line == number
        assert problem.field == field
        assert words.lower() in problem.message.lower()
    assert store.line_count == len(lines) == len(store) + len(store.problems) + store.blank_lines


def test_ten_megabyte_line_loads(tmp_path: Path) -> None:
    big = event(1, requestObject={"data": "x" * (10 << 20)})
    log = write_lines(tmp_path / "big.log", [line(event(0)), line(big), line(event(2))])
    store = load([str(log)])
    assert len(store) == 3 and len(store.raw(1)) > 10 << 20


def test_last_line_without_newline(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "a.log", [line(event(0)), line(event(1))], newline_at_end=False)
    store = load([str(log)])
    assert len(store) == 2 and store.line_count == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_several_sources_merge_by_stage_timestamp(tmp_path: Path, workers: int) -> None:
    a = write_lines(tmp_path / "apiserver-a.log", [line(event(n)) for n in (0, 2, 4)])
    b = write_lines(tmp_path / "apiserver-b.log", [line(event(n)) for n in (1, 3, 5)])
    store = load([str(a), str(b)], workers)
    order = store.view_order()
    assert [store.value(int(r), "auditid")[-1] for r in order] == list("012345")
    assert [store.location(int(r)) for r in order[:2]] == [(str(a), 1), (str(b), 1)]


def test_corpus_logs_load_without_problems() -> None:
    store = load([str(LOGS)])
    expected = sum(len(p.read_bytes().splitlines()) for p in LOGS.glob("*.jsonl"))
    assert len(store) == expected == 931
    assert not store.problems
    for row in range(0, len(store), 37):
        assert store.event(row)["auditID"] == store.value(row, "auditid")


def test_worker_processes_give_the_same_store(tmp_path: Path) -> None:
    """Byte ranges parsed in worker processes merge into exactly what one process builds."""
    from k8saudit_tui.engine.logs import split

    lines = [line(event(n, user=f"user-{n % 7}", verb=("get", "list", "create")[n % 3])) for n in range(3000)]
    lines[1500] = b"{broken"
    log = write_lines(tmp_path / "audit.log", lines)
    small = {"TASK_BYTES": 64 << 10, "IN_PROCESS_BYTES": 0}
    saved = {name: getattr(split, name) for name in small}
    try:
        for name, value in small.items():
            setattr(split, name, value)
        pooled = load([str(log)], workers=2)
    finally:
        for name, value in saved.items():
            setattr(split, name, value)
    single = load([str(log)], workers=1)
    assert len(pooled) == len(single) == 2999
    for column in ("user", "verb", "line", "offset", "time"):
        assert [pooled.value(r, column) for r in range(0, 2999, 13)] == [
            single.value(r, column) for r in range(0, 2999, 13)
        ]
    assert [(p.line, p.message) for p in pooled.problems] == [(1501, single.problems[0].message)]


def test_a_spool_goes_to_memory_only_when_small_beside_what_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    from k8saudit_tui.engine.logs import sources

    monkeypatch.setattr(sources, "_available_memory", lambda: 8 << 30)
    assert sources._room_in_memory(1 << 20) == os.access(sources.MEMORY_SPOOL, os.W_OK)
    assert not sources._room_in_memory(3 << 30)  # over MEMORY_SPOOL_MAX
    monkeypatch.setattr(sources, "_available_memory", lambda: 3 << 30)
    assert not sources._room_in_memory(1 << 30)  # more than a quarter of what is available
    monkeypatch.setattr(sources, "_available_memory", lambda: 0)
    assert not sources._room_in_memory(1 << 20)
