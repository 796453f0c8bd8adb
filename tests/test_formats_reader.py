"""Envelopes around real events (tests/data logs) read like the raw log: the same Event bytes, the
same verdicts through the store and through `evaluate`, line numbers of the original records, and
bad records reported by file, line and field with the records around them kept.

Providers are stood in for by `tests/formats_standin.py` (the real eks/aks/gke modules are written
apart); the shipper formats (CRI, Docker, EventList, pretty documents, YAML) are the reader's own.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import yaml

from k8saudit_tui.cli import main
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.formats import BY_NAME, FORMATS, reader
from k8saudit_tui.engine.logs.sources import LogSource, expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests import formats_standin
from tests.conftest import DATA

STANDIN = formats_standin.REGISTRY
POLICY = DATA / "policies" / "kubernetes-website-audit-policy.yaml"
LOGS = ("audit2rbac-demo.jsonl", "falco-k8s-audit-traces.jsonl")
Envelope = tuple[bytes, list[int]]
"""An envelope's bytes and, per event of the raw log in order, the line of its record."""


def raw_lines(name: str) -> list[bytes]:
    return [line for line in (DATA / "logs" / name).read_bytes().split(b"\n") if line.strip()]


def cri(lines: list[bytes]) -> Envelope:
    """CRI lines; every event cut into `P` pieces of 300 bytes up to its `F` piece."""
    out: list[bytes] = []
    where = []
    for line in lines:
        where.append(len(out) + 1)
        pieces = [line[i : i + 300] for i in range(0, len(line), 300)]
        for index, piece in enumerate(pieces):
            tag = b"F" if index == len(pieces) - 1 else b"P"
            out.append(b"2024-05-14T09:00:00.123456789Z stdout " + tag + b" " + piece)
    return b"\n".join(out) + b"\n", where


def docker(lines: list[bytes]) -> Envelope:
    """Docker json-file records; every third event cut in two pieces (json-file cuts long lines)."""
    out: list[bytes] = []
    where = []
    for index, line in enumerate(lines):
        where.append(len(out) + 1)
        text = line.decode() + "\n"
        parts = [text[:100], text[100:]] if index % 3 == 0 else [text]
        out.extend(orjson.dumps({"log": part, "stream": "stdout", "time": "2024-05-14T09:00:00Z"}) for part in parts)
    return b"\n".join(out) + b"\n", where


def s3_export(lines: list[bytes]) -> Envelope:
    return b"".join(b"2019-08-09T18:00:00.000Z " + line + b"\n" for line in lines), list(range(1, len(lines) + 1))


def cloudwatch_jsonl(lines: list[bytes]) -> Envelope:
    """Stand-in CloudWatch records, one per line, a blank line among them."""
    out = [orjson.dumps({"timestamp": 1565373600000 + i, "message": line.decode()}) for i, line in enumerate(lines)]
    return b"\n\n".join(out) + b"\n", list(range(1, 2 * len(lines), 2))


def insights_csv(lines: list[bytes]) -> Envelope:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["@logStream", "@timestamp", "@message"])
    for line in lines:
        writer.writerow(["kube-apiserver-audit-1", "2019-08-09 18:00:00.000", line.decode()])
    return buffer.getvalue().encode(), list(range(2, len(lines) + 2))


def pretty_documents(lines: list[bytes]) -> Envelope:
    """Pretty JSON documents back to back (an EventList, single Events, an array), one without a
    newline before the next."""
    events = [orjson.loads(line) for line in lines]
    text, where = "", []
    first, middle, rest = events[:5], events[5:8], events[8:]
    where += [1] * len(first)
    text += json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": first}, indent=2) + "\n"
    for event in middle:
        where.append(text.count("\n") + 1)
        text += json.dumps(event, indent=4)  # no newline: the next value starts on the same line
    text += "\n[\n"
    start = text.count("\n") + 1
    text += ",\n".join(json.dumps(event) for event in rest) + "\n]\n"
    where += [start + index for index in range(len(rest))]
    return text.encode(), where


def yaml_documents(lines: list[bytes]) -> Envelope:
    text, where = "", []
    for line in lines:
        text += "---\n"
        where.append(text.count("\n") + 1)
        text += yaml.safe_dump(orjson.loads(line), sort_keys=False)
    return text.encode(), where


EXACT: dict[str, tuple[Callable[[list[bytes]], Envelope], str]] = {
    "cri": (cri, "cri"),
    "docker": (docker, "docker"),
    "cloudwatch-s3": (s3_export, "cloudwatch-s3"),
    "cloudwatch-jsonl": (cloudwatch_jsonl, "cloudwatch"),
    "insights-csv": (insights_csv, "cloudwatch-insights"),
}
"""Formats that carry the Event's own text: it comes back byte for byte."""
REWRITTEN: dict[str, tuple[Callable[[list[bytes]], Envelope], str]] = {
    "pretty-documents": (pretty_documents, "raw"),
    "yaml-documents": (yaml_documents, "raw"),
}
"""Formats whose Events are JSON values with no line of their own: the same Event, re-serialised."""


def unwrapped(path: Path) -> LogSource:
    """The source of `path` unwrapped with the stand-in provider registered."""
    (source,) = expand_sources([str(path)], format="raw")  # as it is: normalised below
    return reader.normalise(source, registry=STANDIN)


def stores(raw: Path, envelope: Path) -> tuple[EventStore, EventStore]:
    evaluator = PolicyEvaluator(load_policy_file(str(POLICY)).policy)  # type: ignore[arg-type]
    (raw_source,) = expand_sources([str(raw)])
    first = StoreLoader([raw_source], evaluator, workers=1).load_all()
    second = StoreLoader([unwrapped(envelope)], evaluator, workers=1).load_all()
    return first, second


@pytest.mark.parametrize("log", LOGS)
@pytest.mark.parametrize("kind", [*EXACT, *REWRITTEN])
def test_an_envelope_loads_as_the_raw_log(kind: str, log: str, tmp_path: Path) -> None:
    build, format_name = {**EXACT, **REWRITTEN}[kind]
    lines = raw_lines(log)
    data, where = build(lines)
    envelope = tmp_path / f"{kind}.log"
    envelope.write_bytes(data)
    raw, store = stores(DATA / "logs" / log, envelope)
    assert not raw.problems and not store.problems, [str(p) for p in store.problems]
    assert len(store) == len(raw) == len(lines)
    events = [store.raw(row) for row in range(len(store))]
    if kind in EXACT:
        assert events == lines
    else:
        assert [orjson.loads(event) for event in events] == [orjson.loads(line) for line in lines]
    assert store.column("line").tolist() == where
    assert {store.location(row)[0] for row in range(len(store))} == {str(envelope)}
    codes = [BY_NAME[format_name].code] * len(lines)
    if kind == "pretty-documents":  # the EventList's items are format eventlist
        codes[:5] = [BY_NAME["eventlist"].code] * 5
    assert store.column("format").tolist() == codes
    for column in ("rule", "level", "omitted", "auditid", "time", "verb", "user"):
        assert store.column(column).tolist() == raw.column(column).tolist(), column


def test_a_raw_log_is_read_in_place_and_its_rows_are_format_raw() -> None:
    (source,) = expand_sources([str(DATA / "logs" / LOGS[0])])
    assert source.origin is None and source.path == str(DATA / "logs" / LOGS[0])
    store = StoreLoader([source], workers=1).load_all()
    assert set(store.column("format").tolist()) == {0}


def evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]], str]:
    status = main(["evaluate", "--policy", str(POLICY), *args])
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


@pytest.mark.parametrize("kind", ["cri", "docker", "cloudwatch-s3", "pretty-documents", "yaml-documents"])
def test_evaluate_gives_the_raw_verdicts_at_the_original_lines(
    kind: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    build = {**EXACT, **REWRITTEN}[kind][0]
    log = DATA / "logs" / LOGS[1]
    data, where = build(raw_lines(LOGS[1]))
    envelope = tmp_path / "envelope.log"
    envelope.write_bytes(data)
    _, expected, _ = evaluate(capsys, str(log))
    status, found, err = evaluate(capsys, str(envelope))
    assert status == 0 and err == ""
    assert [row["line"] for row in found] == where
    assert {row["file"] for row in found} == {str(envelope)}
    strip = [{k: v for k, v in row.items() if k not in ("file", "line")} for row in found]
    assert strip == [{k: v for k, v in row.items() if k not in ("file", "line")} for row in expected]


def test_an_envelope_on_stdin_is_unwrapped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data, where = docker(raw_lines(LOGS[0]))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, found, _ = evaluate(capsys, "-")
    assert status == 0
    assert [row["line"] for row in found] == where
    assert all("auditID" in row for row in found)


BAD_LINES = {
    3: (b"this is not json", "", "invalid JSON"),
    6: (b'{"log": 5, "stream": "stdout"}', "", "not an audit event: {"),
    9: (orjson.dumps({"timestamp": 1, "message": '{"kind":"Event","auditID":"x" [Truncated...]'}), "message", "cut"),
}


def with_bad_records(lines: list[bytes]) -> bytes:
    """Docker records of `lines` with the BAD_LINES in place."""
    good = iter(lines)
    out = []
    for number in range(1, len(lines) + len(BAD_LINES) + 1):
        if number in BAD_LINES:
            out.append(BAD_LINES[number][0])
        else:
            out.append(orjson.dumps({"log": next(good).decode() + "\n", "stream": "stdout", "time": "t"}))
    return b"\n".join(out) + b"\n"


def test_bad_records_are_problems_naming_file_line_and_field_and_the_rest_is_kept(tmp_path: Path) -> None:
    lines = raw_lines(LOGS[0])
    data = with_bad_records(lines)
    envelope = tmp_path / "mixed.log"
    envelope.write_bytes(data)
    store = StoreLoader([unwrapped(envelope)], workers=1).load_all()
    assert [store.raw(row) for row in range(len(store))] == lines
    found = {(p.file, p.line, p.field): p.message for p in store.problems}
    assert set(found) == {(str(envelope), line, field) for line, (_, field, _) in BAD_LINES.items()}
    for line, (_, field, message) in BAD_LINES.items():
        assert found[(str(envelope), line, field)].startswith(message) or message in found[(str(envelope), line, field)]


def test_evaluate_reports_bad_records_in_input_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = with_bad_records(raw_lines(LOGS[0]))
    envelope = tmp_path / "mixed.log"
    envelope.write_bytes(data)
    status, found, _ = evaluate(capsys, str(envelope))
    assert status == 0
    assert [row["line"] for row in found] == list(range(1, len(raw_lines(LOGS[0])) + len(BAD_LINES) + 1))
    errors = {row["line"]: row["error"] for row in found if "error" in row}
    assert list(errors) == [3, 6, 9]
    assert "message: cut by CloudWatch" in str(errors[9])  # the eks module recovers what it can


def test_a_file_of_unknown_records_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"level": "info", "msg": f"hello {i}"}) + b"\n" for i in range(5000)))
    store = StoreLoader(expand_sources([str(path)]), workers=1).load_all()
    assert len(store) == 0
    (problem,) = store.problems
    assert problem.line == 1 and '{"level":"info","msg":"hello 0"}' in problem.message


def test_rebuilt_events_seen_before_are_skipped_with_one_warning(tmp_path: Path) -> None:
    entries = [{"insertId": f"id-{i % 4}", "timestamp": "2024-05-14T09:00:00Z", "protoPayload": {}} for i in range(10)]
    path = tmp_path / "gke.jsonl"
    path.write_bytes(b"".join(orjson.dumps(entry) + b"\n" for entry in entries))
    store = StoreLoader([unwrapped(path)], workers=1).load_all()
    assert store.column("line").tolist() == [1, 2, 3, 4]
    (warning,) = store.problems
    assert warning.severity == "warning" and warning.message.startswith("6 rebuilt")


def test_format_forces_the_reader(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data, where = docker(raw_lines(LOGS[0]))
    envelope = tmp_path / "docker.log"
    envelope.write_bytes(data)
    status, forced, _ = evaluate(capsys, "--format", "docker", str(envelope))
    assert status == 0 and [row["line"] for row in forced] == where
    status, raw, _ = evaluate(capsys, "--format", "raw", str(envelope))  # today's reader: no event in a record
    assert status == 0 and raw and all("error" in row for row in raw)


def test_an_unknown_format_is_a_usage_error_listing_the_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["evaluate", "--policy", str(POLICY), "--format", "cloudwatc", "x.log"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert all(info.name in err for info in FORMATS)
    for command in ("report", "export", "top"):  # their --format names the output: --log-format
        with pytest.raises(SystemExit) as exited:
            main([command, "--log-format", "nope", "x.log"])
        assert exited.value.code == 2


def test_real_gke_entries_load_rebuilt_and_a_repeated_entry_is_skipped(tmp_path: Path) -> None:
    """The GKE samples (tests/data/cloud, attributed in tests/data/README.md) through the real gke
    module: one rebuilt event each, at the line its YAML document starts; the same entry again in
    a second file (a sink delivers twice) is skipped with one warning."""
    sample = DATA / "cloud" / "gke-logentry-khi-pods-create.yaml"
    again = tmp_path / "again.yaml"
    again.write_bytes(sample.read_bytes())
    store = StoreLoader(expand_sources([str(sample), str(again)]), workers=1).load_all()
    assert len(store) == 1
    assert store.column("format").tolist() == [BY_NAME["gke"].code]
    text = sample.read_text()
    first_key = next(n for n, line in enumerate(text.splitlines(), 1) if line and not line.startswith("#"))
    assert store.location(0) == (str(sample), first_key)
    (warning,) = store.problems
    assert warning.file == str(again) and warning.severity == "warning" and warning.message.startswith("1 rebuilt")


def test_explain_takes_and_prints_the_original_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = raw_lines(LOGS[0])
    data, where = cri(lines)
    envelope = tmp_path / "pods.log"
    envelope.write_bytes(data)
    assert where[5] != 6  # the pieces moved the events down: the test would not tell otherwise
    status = main(["explain", "--policy", str(POLICY), str(envelope), "--line", str(where[5])])
    direct = capsys.readouterr().out
    assert status == 0
    (raw_path,) = [DATA / "logs" / LOGS[0]]
    assert main(["explain", "--policy", str(POLICY), str(raw_path), "--line", "6"]) == 0
    assert capsys.readouterr().out == direct
    audit_id = orjson.loads(lines[5])["auditID"]
    assert main(["explain", "--policy", str(POLICY), str(envelope), "--auditid", audit_id]) == 0
    assert f"{envelope}:{where[5]}" in capsys.readouterr().out


def test_a_directory_takes_s3_export_objects(tmp_path: Path) -> None:
    import gzip

    data, _ = s3_export(raw_lines(LOGS[0]))
    (tmp_path / "000000.gz").write_bytes(gzip.compress(data))
    store = StoreLoader(expand_sources([str(tmp_path)]), workers=1).load_all()
    assert len(store) == len(raw_lines(LOGS[0])) and not store.problems
    assert set(store.column("format").tolist()) == {BY_NAME["cloudwatch-s3"].code}


def test_the_lines_around_a_problem_are_the_original_files(tmp_path: Path) -> None:
    """The problems view reads the lines around a problem: for an unwrapped file, from the file the
    user gave (the spool's lines are other lines)."""
    from k8saudit_tui.engine.store.source_lines import source_lines

    data = with_bad_records(raw_lines(LOGS[0]))
    envelope = tmp_path / "mixed.log"
    envelope.write_bytes(data)
    store = StoreLoader(expand_sources([str(envelope)]), workers=1).load_all()
    problem = next(p for p in store.problems if p.line == 3)
    shown = source_lines(store, str(envelope), 3, around=1)
    assert [(line.number, line.text.encode()) for line in shown] == list(
        zip([2, 3, 4], data.split(b"\n")[1:4], strict=True)
    )
    assert problem.message.startswith("invalid JSON")


def test_export_reads_an_envelope_as_it_unwraps_and_writes_the_raw_logs_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export` of an envelope asks for it unwrapped and parsed in one pass (the workers that
    unwrap a range parse it, as the explorer loads it) and writes what the raw log's export
    writes, byte for byte; a plain log is never asked to be unwrapped."""
    lines = raw_lines(LOGS[0])
    envelope = tmp_path / "events.jsonl"
    envelope.write_bytes(cloudwatch_jsonl(lines)[0])
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)  # the worker pool, as for a big file
    monkeypatch.setattr(split, "TASK_BYTES", 4 << 10)
    asked: list[tuple[str, bool]] = []
    real = reader.normalise

    def spy(source: LogSource, *args: object, **kwargs: object) -> LogSource:
        unwrapped = real(source, *args, **kwargs)  # type: ignore[arg-type]
        asked.append((Path(source.path).name, bool(kwargs.get("parse")) and unwrapped.stream is not None))
        return unwrapped

    monkeypatch.setattr(reader, "normalise", spy)
    wrapped_out, raw_out = tmp_path / "wrapped.jsonl", tmp_path / "raw.jsonl"
    assert main(["export", str(envelope), "-o", str(wrapped_out), "--no-cache"]) == 0
    assert asked == [("events.jsonl", True)]
    assert main(["export", str(DATA / "logs" / LOGS[0]), "-o", str(raw_out), "--no-cache"]) == 0
    assert asked == [("events.jsonl", True)]  # the plain log went down the streamed export
    assert wrapped_out.read_bytes() == raw_out.read_bytes() == b"".join(line + b"\n" for line in lines)
