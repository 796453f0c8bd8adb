"""Parquet export: every column equals the store's value read one row at a time, the filter selects
what the jsonl export selects, raw is the jsonl line, the schema is the documented one, row groups
are bounded, the string fast paths equal plain slicing, and a missing pyarrow is a clear exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # the test extra installs it: these tests run in CI, never skipped
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.commands import export as export_command
from k8saudit_tui.engine import parquet
from k8saudit_tui.engine.export import check_format, export_rows, redact_line
from k8saudit_tui.engine.fields import FIELDS
from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.parquet_strings import raw_lines, segments
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.private_file import ExportError
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    users: ["system:kube-proxy"]
  - level: RequestResponse
    resources:
      - group: ""
        resources: ["secrets"]
  - level: Metadata
    omitStages: ["RequestReceived"]
"""

CANDIDATE = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: Request
    verbs: ["create"]
  - level: None
    resources:
      - group: ""
        resources: ["secrets"]
"""


def _lines() -> list[bytes]:
    """Events covering what the columns carry: absent code and stage time, long and non-ASCII IDs,
    groups, annotations, impersonation, a prefixed line, a CR, a body that is not UTF-8."""
    secret = event(2, verb="create", resource="secrets", namespace="kube-system", code=201, user="bob")
    secret["annotations"] = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC"}
    secret["impersonatedUser"] = {"username": "system:serviceaccount:ci:deployer"}
    secret["requestReceivedTimestamp"] = "2026-11-20T10:00:01.500000Z"
    no_code = event(3, verb="watch", groups=("system:nodes", "system:authenticated", "devs"))
    del no_code["responseStatus"]
    del no_code["stageTimestamp"]
    received = event(4, stage="RequestReceived", verb="create", resource="pods", name="web-1")
    long_id = event(5, audit_id="a-very-long-audit-id-that-does-not-fit-in-thirty-six-bytes")
    accented = event(6, audit_id="idé-ünïcode", user="zoë")
    proxy = event(7, user="system:kube-proxy", verb="list", resource="endpoints")
    bad_utf8 = line(event(8, requestObject={"x": "AAA"})).replace(b"AAA", b"A\xffA")
    return [
        line(event(0, verb="get")),
        b"host-1 " + line(event(1, verb="list", subresource="log")),
        line(secret),
        line(no_code),
        line(received),
        line(long_id),
        line(accented) + b"\r",
        line(proxy),
        bad_utf8,
        line(event(9, verb="create", resource="configmaps", namespace="apps")),
    ]


@pytest.fixture
def logs(tmp_path: Path) -> dict[str, Path]:
    """Two log files and the two policies (from YAML, so rules have lines)."""
    lines = _lines()
    first = write_lines(tmp_path / "a.log", lines[:6])
    second = write_lines(tmp_path / "b.log", lines[6:])
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE)
    return {"a": first, "b": second, "policy": policy, "candidate": candidate}


def _store(logs: dict[str, Path], *, policy: bool = True, candidate: bool = True) -> EventStore:
    current = PolicyEvaluator(_policy(logs["policy"])) if policy else None
    other = PolicyEvaluator(_policy(logs["candidate"])) if candidate else None
    sources = expand_sources([str(logs["a"]), str(logs["b"])])
    return StoreLoader(sources, current, candidate=other, workers=1).load_all()


def _policy(path: Path) -> Any:
    load = load_policy_file(str(path))
    assert load.policy is not None
    return load.policy


def _expected(store: EventStore, row: int) -> dict[str, Any]:
    """Each column's value of `row`, read through the store's one-row API (the plain implementation)."""
    time = int(store.column("time")[row])
    latency = store.value(row, "latency")
    value: dict[str, Any] = {
        "time": time or None,
        "received": None if latency is None or not time else time - int(latency),
        "groups": list(store.values("group")[store.column("group")[row]]),
        "code": store.value(row, "code"),
        "auditid": store.value(row, "auditid"),
        "decision": store.value(row, "decision"),
        "annotations": list(store.values("annotations")[store.column("annotations")[row]]),
        "latency": latency,
        "file": store.value(row, "file"),
        "line": store.value(row, "line"),
    }
    for name in parquet.DICTIONARY_STRINGS:
        value[name] = store.value(row, name)
    for prefix, verdict, evaluator in (
        ("", store.verdict(row), store.evaluator),
        ("candidate_", store.candidate_verdict(row), store.candidate_evaluator),
    ):
        rule = None if verdict is None else verdict.rule
        value[prefix + "rule"] = rule
        value[prefix + "rule_line"] = None if rule is None or evaluator is None else evaluator.policy.rules[rule].line
        value[prefix + "level"] = None if verdict is None else verdict.level
        written = None if verdict is None else not store.value(row, prefix + "omitted")
        value[prefix + "written"] = written
    recorded = store.value(row, "recorded")
    has_policy = store.evaluator is not None
    value["drift"] = recorded != value["level"] if has_policy and recorded in LEVELS else None
    compared = has_policy and store.candidate_evaluator is not None
    value["change"] = store.value(row, "change") if compared else None
    return value


def _read(path: Path) -> dict[str, list[Any]]:
    table = pq.read_table(path)
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    for name in ("time", "received"):
        columns[name] = table.column(name).cast(pa.int64()).to_pylist()
    return columns


def _jsonl(store: EventStore, rows: np.ndarray, path: Path) -> list[bytes]:
    export_rows(store, rows, "jsonl", path)
    return path.read_bytes().split(b"\n")[:-1]


@pytest.mark.parametrize(("policy", "candidate"), [(True, True), (True, False), (False, False)])
def test_every_column_equals_the_store(logs: dict[str, Path], tmp_path: Path, policy: bool, candidate: bool) -> None:
    store = _store(logs, policy=policy, candidate=candidate)
    rows = store.view_order()[::-1].copy()  # not load order: the export keeps the order asked for
    out = tmp_path / "out.parquet"
    result = export_rows(store, rows, "parquet", out)
    assert (result.count, result.path) == (len(rows), str(out))
    columns = _read(out)
    assert len(columns["raw"]) == len(rows) == 10
    for position, row in enumerate(rows.tolist()):
        expected = _expected(store, row)
        got = {name: columns[name][position] for name in expected}
        assert got == expected, f"row {row}"
    jsonl = _jsonl(store, rows, tmp_path / "out.jsonl")
    bad = [i for i, raw in enumerate(jsonl) if b"\xff" in raw]
    assert len(bad) == 1
    assert [raw.encode() for i, raw in enumerate(columns["raw"]) if i not in bad] == [
        raw for i, raw in enumerate(jsonl) if i not in bad
    ]
    assert columns["raw"][bad[0]] == jsonl[bad[0]].decode("utf-8", "replace")  # U+FFFD, as documented
    store.close()


def test_the_test_log_has_what_the_columns_carry(logs: dict[str, Path]) -> None:
    """Guards the round trip above against a log that would let a column pass unexercised."""
    store = _store(logs)
    rows = range(len(store))
    assert any(store.value(row, "code") is None for row in rows)
    assert any(store.value(row, "latency") is None for row in rows)
    assert int(auditid_keys.uuid_texts(store.column("auditid"))[1].sum()) >= 2  # the long and non-ASCII IDs
    assert any(not store.value(row, "auditid").isascii() for row in rows)
    assert {store.value(row, "change") for row in rows} >= {"same", "up", "dropped"}
    assert any(store.value(row, "decision") == "allow" for row in rows)
    assert any(store.candidate_verdict(row).rule is None for row in rows)  # null rule and rule_line
    assert any(store.value(row, "omitted") for row in rows)  # written: no
    assert len({store.value(row, "file") for row in rows}) == 2
    store.close()


def test_filter_selects_the_rows_jsonl_selects(logs: dict[str, Path], tmp_path: Path) -> None:
    """Through the command: the same --filter, jsonl and parquet; raw is each jsonl line."""
    common = [str(logs["a"]), str(logs["b"]), "--policy", str(logs["policy"]), "--filter", "verb:create"]
    assert _run([*common, "-o", str(tmp_path / "out.jsonl")]) == 0
    assert _run([*common, "--candidate", str(logs["candidate"]), "-o", str(tmp_path / "out.parquet")]) == 0
    jsonl = (tmp_path / "out.jsonl").read_bytes().split(b"\n")[:-1]
    columns = _read(tmp_path / "out.parquet")
    assert len(jsonl) == 3
    assert [raw.encode() for raw in columns["raw"]] == jsonl
    assert set(columns["verb"]) == {"create"}
    assert columns["change"] != [None] * 3


def test_redacted_raw_is_the_redacted_line(tmp_path: Path) -> None:
    secret = event(0, verb="create", resource="secrets", requestObject={"kind": "Secret", "data": {"k": "c2VjcmV0"}})
    lines = [line(secret), line(event(1))]
    store = StoreLoader(expand_sources([str(write_lines(tmp_path / "a.log", lines))]), None, workers=1).load_all()
    export_rows(store, np.arange(2), "parquet", tmp_path / "out.parquet", redact=True)
    raw = _read(tmp_path / "out.parquet")["raw"]
    assert raw == [redact_line(lines[0]).decode(), lines[1].decode()]
    assert b"c2VjcmV0" not in raw[0].encode()
    store.close()


def test_row_groups_are_bounded(logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(logs)
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 3)
    export_rows(store, np.arange(len(store)), "parquet", tmp_path / "rows.parquet")
    assert [group.num_rows for group in _groups(tmp_path / "rows.parquet")] == [3, 3, 3, 1]
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 1000)
    monkeypatch.setattr(parquet, "ROW_GROUP_RAW_BYTES", 1000)  # a line is ~450-650 bytes: one a group
    export_rows(store, np.arange(len(store)), "parquet", tmp_path / "bytes.parquet")
    sizes = [group.num_rows for group in _groups(tmp_path / "bytes.parquet")]
    assert sum(sizes) == len(store)
    assert max(sizes) <= 2 and len(sizes) >= 5
    assert _read(tmp_path / "bytes.parquet") == _read(tmp_path / "rows.parquet")
    store.close()


def test_a_log_cut_short_under_the_export_is_an_error_not_a_half_file(logs: dict[str, Path], tmp_path: Path) -> None:
    store = _store(logs)
    size = logs["b"].stat().st_size
    with open(logs["b"], "r+b") as handle:  # not followed: the store cannot know before it reads
        handle.truncate(size // 2)
    with pytest.raises(ExportError, match=r"b\.log: changed while it was exported .*nothing was written"):
        export_rows(store, np.arange(len(store)), "parquet", tmp_path / "out.parquet")
    assert list(tmp_path.glob("out.parquet*")) == [] and list(tmp_path.glob(".out.parquet*")) == []
    store.close()


def test_events_whose_followed_file_was_truncated_are_left_out_and_said(tmp_path: Path) -> None:
    """As jsonl: the raw line of such an event is gone, so the event is left out, and the result says so."""
    from k8saudit_tui.engine.store import follow

    log = write_lines(tmp_path / "audit.log", [line(event(0)), line(event(1))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    write_lines(log, [line(event(7))])  # copytruncate: emptied in place, written again
    for _ in follow(store, None, interval=0.01):
        break
    assert len(store) == 3
    result = export_rows(store, np.array([0, 2, 1]), "parquet", tmp_path / "out.parquet")
    assert result.count == 1 and result.left_out == f"2 events whose file was truncated after they were read ({log})"
    assert _read(tmp_path / "out.parquet")["auditid"] == [event(7)["auditID"]]
    store.close()


def _groups(path: Path) -> list[Any]:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(index) for index in range(metadata.num_row_groups)]


def test_parquet_streams_to_stdout(logs: dict[str, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    store = _store(logs, candidate=False)
    result = export_rows(store, np.array([4, 1]), "parquet", "-")
    data = capsysbinary.readouterr().out
    assert result.bytes == len(data) and data[:4] == data[-4:] == b"PAR1"
    table = pq.read_table(pa.BufferReader(data))
    assert table.column("line").to_pylist() == [store.value(4, "line"), store.value(1, "line")]
    store.close()


def test_an_empty_selection_is_a_file_with_the_schema(logs: dict[str, Path], tmp_path: Path) -> None:
    store = _store(logs)
    export_rows(store, [], "parquet", tmp_path / "empty.parquet")
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0
    assert table.schema.equals(parquet.schema())
    store.close()


GOLDEN_SCHEMA = [
    ("time", "timestamp[ns, tz=UTC]"),
    ("received", "timestamp[ns, tz=UTC]"),
    ("stage", "dictionary<values=string, indices=int32, ordered=0>"),
    ("user", "dictionary<values=string, indices=int32, ordered=0>"),
    ("groups", "list<element: string>"),
    ("verb", "dictionary<values=string, indices=int32, ordered=0>"),
    ("apigroup", "dictionary<values=string, indices=int32, ordered=0>"),
    ("resource", "dictionary<values=string, indices=int32, ordered=0>"),
    ("subresource", "dictionary<values=string, indices=int32, ordered=0>"),
    ("ns", "dictionary<values=string, indices=int32, ordered=0>"),
    ("name", "dictionary<values=string, indices=int32, ordered=0>"),
    ("code", "int16"),
    ("recorded", "dictionary<values=string, indices=int32, ordered=0>"),
    ("auditid", "string"),
    ("ip", "dictionary<values=string, indices=int32, ordered=0>"),
    ("ua", "dictionary<values=string, indices=int32, ordered=0>"),
    ("uri", "dictionary<values=string, indices=int32, ordered=0>"),
    ("impersonated", "dictionary<values=string, indices=int32, ordered=0>"),
    ("decision", "dictionary<values=string, indices=int32, ordered=0>"),
    ("annotations", "list<element: string>"),
    ("latency", "int64"),
    ("rule", "int16"),
    ("rule_line", "int32"),
    ("level", "dictionary<values=string, indices=int32, ordered=0>"),
    ("written", "bool"),
    ("drift", "bool"),
    ("candidate_rule", "int16"),
    ("candidate_rule_line", "int32"),
    ("candidate_level", "dictionary<values=string, indices=int32, ordered=0>"),
    ("candidate_written", "bool"),
    ("change", "dictionary<values=string, indices=int32, ordered=0>"),
    ("file", "dictionary<values=string, indices=int32, ordered=0>"),
    ("line", "int32"),
    ("raw", "string"),
]
"""The schema users' queries rely on: a change here is a change of `parquet.SCHEMA_VERSION`."""


def test_golden_schema(logs: dict[str, Path], tmp_path: Path) -> None:
    store = _store(logs)
    export_rows(store, np.arange(len(store)), "parquet", tmp_path / "out.parquet")
    written = pq.read_schema(tmp_path / "out.parquet")
    assert [(field.name, str(field.type)) for field in written] == GOLDEN_SCHEMA
    assert written.metadata[b"k8saudit.schema"] == b"1" == parquet.SCHEMA_VERSION.encode()
    store.close()


def test_schema_is_documented_and_covers_every_field() -> None:
    """Every column is in the module docstring's table; every field of engine.fields has a column."""
    names = [name for name, _ in parquet.SCHEMA]
    table_rows = [row for row in (parquet.__doc__ or "").splitlines() if row.startswith("| ") and "---" not in row]
    documented = {name.strip() for row in table_rows[1:] for name in row.split("|")[1].split(",")}
    assert documented == set(names)
    assert set(parquet.FIELD_COLUMNS) == {field.name for field in FIELDS}
    assert set(parquet.FIELD_COLUMNS.values()) <= set(names)


def test_missing_pyarrow_is_a_clear_exit_2(
    logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("pyarrow", "pyarrow.parquet", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, module, None)  # `import pyarrow` raises ImportError
    with pytest.raises(ExportError, match=r"pip install 'k8saudit-tui\[parquet\]'"):
        check_format("parquet")
    assert not parquet.available()
    out = tmp_path / "out.parquet"
    assert _run([str(tmp_path / "no-such.log"), "-o", str(out)]) == 2  # before the logs are read
    message = capsys.readouterr().err
    assert "Parquet export needs pyarrow, which is not installed: pip install 'k8saudit-tui[parquet]'" in message
    assert not out.exists()
    check_format("jsonl")  # the other formats need nothing


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    export_command.add_arguments(parser)
    return export_command.run(parser.parse_args(argv))


# ------------------------------------------------------------------ fast paths against plain code


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.tuples(st.binary(max_size=6), st.text(max_size=5)), max_size=12),
    data=st.data(),
)
def test_segments_equal_plain_slicing(pieces: list[tuple[bytes, str]], data: st.DataObject) -> None:
    """Gap bytes (any) then a segment (UTF-8 text) each; taken in a random order."""
    buffer, starts, lengths, texts = b"", [], [], []
    for gap, text in pieces:
        buffer += gap
        starts.append(len(buffer))
        lengths.append(len(text.encode()))
        texts.append(text)
        buffer += text.encode()
    order = data.draw(st.permutations(range(len(pieces))))
    got = segments(pa, buffer, np.array(starts, np.int64), np.array(lengths, np.int64), np.array(order, np.int64))
    assert got.to_pylist() == [texts[i] for i in order]


@settings(max_examples=200, deadline=None)
@given(codes=st.lists(st.integers(0, 40), max_size=60), extra=st.integers(0, 5))
def test_used_codes_equal_numpy_unique(codes: list[int], extra: int) -> None:
    array = np.array(codes, np.int32)
    used, inverse = parquet.used_codes(array, max(codes, default=0) + 1 + extra)
    expected_used, expected_inverse = np.unique(array, return_inverse=True)
    assert used.tolist() == expected_used.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()
    assert inverse.dtype == np.int32


@pytest.fixture(scope="module")
def lines_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Lines of varied lengths, some separated by blank or junk lines, in two files."""
    directory = tmp_path_factory.mktemp("raw")
    first = [line(event(i, name="x" * (i * 37 % 900))) for i in range(40)]
    first[5:5] = [b"", b"not json"]
    second = [b"prefix " + line(event(100 + i, ua="u" * (i * 91 % 2000))) for i in range(25)]
    paths = [write_lines(directory / "a.log", first), write_lines(directory / "b.log", second)]
    store = StoreLoader(expand_sources([str(p) for p in paths]), None, workers=1).load_all()
    yield store
    store.close()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_raw_lines_equal_the_store_one_row_at_a_time(lines_store: EventStore, data: st.DataObject) -> None:
    """Any rows, any order, repeats too: coalesced reads give what `raw` gives row by row."""
    rows = data.draw(st.lists(st.integers(0, len(lines_store) - 1), max_size=80))
    selection = np.array(rows, np.int64)
    got = raw_lines(pa, lines_store, selection, None).to_pylist()
    assert [text.encode() for text in got] == [lines_store.raw(row) for row in rows]
