"""Hostile input through the store and `export`: every valid event loaded, evaluated and exported."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from k8saudit_tui.engine.export import export_rows
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_text
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import EventStore, StoreLoader

from . import corpus

POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"


def load(*paths: Path, workers: int | None = None) -> EventStore:
    policy = load_policy_text(POLICY).policy
    assert policy is not None
    loader = StoreLoader(expand_sources([str(p) for p in paths]), PolicyEvaluator(policy), workers=workers)
    return loader.load_all()


@pytest.mark.parametrize("workers", [1, 2])
def test_loaded_plus_rejected_plus_blank_is_every_line(tmp_path: Path, workers: int) -> None:
    data, valid, broken, blank = corpus.mixed_log()
    log = tmp_path / "mixed.log"
    log.write_bytes(data)
    store = load(log, workers=workers)
    assert len(store) == valid
    assert len(store.problems) == broken
    assert store.blank_lines == blank
    assert len(store) + len(store.problems) + store.blank_lines == store.line_count == data.count(b"\n") + 1
    for problem in store.problems:
        assert problem.file == str(log) and problem.line is not None and problem.message
    assert {store.value(row, "auditid") for row in range(len(store))} >= {"first-with-bom", "valid-0"}
    assert all(store.verdict(row) is not None for row in range(len(store)))


def test_every_valid_event_is_exported_byte_for_byte(tmp_path: Path) -> None:
    data, valid, _, _ = corpus.mixed_log()
    log = tmp_path / "mixed.log"
    log.write_bytes(data)
    store = load(log)
    out = tmp_path / "out.jsonl"
    result = export_rows(store, compile_filter("").apply(store), "jsonl", out)
    assert result.count == valid
    exported = out.read_bytes().splitlines()
    originals = {line.rstrip(b"\r").removeprefix("\ufeff".encode()) for line in data.split(b"\n")}
    assert all(line in originals for line in exported)
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_hostile_strings_survive_export_as_data(tmp_path: Path) -> None:
    log = tmp_path / "hostile.log"
    log.write_bytes(b"\n".join(corpus.hostile_string_events()) + b"\n")
    store = load(log)
    assert len(store) == len(corpus.HOSTILE_STRINGS)
    out = tmp_path / "out.csv"
    export_rows(store, compile_filter("").apply(store), "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
    users = {row["user"].lstrip("'") for row in rows}
    assert set(corpus.HOSTILE_STRINGS.values()) <= users
    as_json = tmp_path / "out.json"
    export_rows(store, compile_filter("").apply(store), "json", as_json)
    assert {event["user"]["username"] for event in json.loads(as_json.read_bytes())} == set(
        corpus.HOSTILE_STRINGS.values()
    )


@pytest.mark.parametrize("name", list(corpus.HOSTILE_STRINGS))
def test_filters_on_hostile_values_never_raise(tmp_path: Path, name: str) -> None:
    log = tmp_path / "hostile.log"
    log.write_bytes(b"\n".join(corpus.hostile_string_events()) + b"\n")
    store = load(log)
    value = corpus.HOSTILE_STRINGS[name]
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    for text in (f"user:{quoted}", f"user:~{quoted}", value[:50]):
        try:
            compile_filter(text).apply(store)
        except ValueError as error:  # FilterError is a ValueError: a message, never a crash
            assert type(error).__name__ == "FilterError"


def _distinct_users_log(path: Path, count: int) -> None:
    with path.open("wb") as out:
        for start in range(0, count, 100_000):
            chunk = corpus.distinct_users(min(100_000, count - start))
            out.write(b"\n".join(chunk).replace(b'"user-', b'"u%d-' % start) + b"\n")


def test_a_million_distinct_users_load_under_the_memory_limit(tmp_path: Path) -> None:
    """Dictionary encoding under stress: every event loads, and the process stays under the limit."""
    log = tmp_path / "users.log"
    _distinct_users_log(log, 1_000_000)
    code = (
        "import resource\n"
        "from k8saudit_tui.engine.logs.sources import expand_sources\n"
        "from k8saudit_tui.engine.store import MEMORY_LIMIT_MB, StoreLoader\n"
        f"store = StoreLoader(expand_sources([{str(log)!r}])).load_all()\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
        "print(len(store), len(store.values('user')), len(store.problems), peak, MEMORY_LIMIT_MB)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    events, users, problems, peak_mb, limit_mb = map(int, result.stdout.split())
    assert (events, users, problems) == (1_000_000, 1_000_000, 0)
    assert peak_mb < limit_mb


def test_loading_stops_at_the_memory_limit_with_a_clear_message(tmp_path: Path) -> None:
    from k8saudit_tui.engine.store import resident_mb

    log = tmp_path / "users.log"
    _distinct_users_log(log, 300_000)
    limit = resident_mb() + 40
    loader = StoreLoader(expand_sources([str(log)]), workers=1, memory_limit_mb=limit)
    progress = list(loader.run())
    store = loader.store
    assert progress[-1].done and progress[-1].cancelled
    assert 0 < len(store) < 300_000
    assert resident_mb() < limit + 150  # one batch past the limit at most
    message = store.problems[-1]
    assert message.file == str(log)
    assert "memory use reached the limit" in message.message and "K8SAUDIT_TUI_MEMORY_LIMIT_MB" in message.message


def run_export(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "k8saudit_tui", "export", *args], capture_output=True, timeout=120)


@pytest.mark.parametrize("kind", ["directory-as-output", "missing-log", "fifo-log", "binary-log"])
def test_export_command_on_awkward_files(tmp_path: Path, kind: str) -> None:
    log = tmp_path / "good.log"
    log.write_bytes(corpus.line() + b"\n")
    if kind == "directory-as-output":
        result = run_export(str(log), "-o", str(tmp_path))
        assert result.returncode == 1 and str(tmp_path).encode() in result.stderr
    elif kind == "missing-log":
        result = run_export(str(tmp_path / "nope.log"), "-o", "-")
        assert b"nope.log" in result.stderr
    elif kind == "fifo-log":
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        writer = subprocess.Popen(["bash", "-c", f"cat '{log}' > '{fifo}'"])
        result = run_export(str(fifo), "-o", "-")
        writer.wait(timeout=30)
        assert result.returncode == 0 and json.loads(result.stdout)["auditID"] == corpus.event()["auditID"]
    else:
        binary = tmp_path / "binary.log"
        binary.write_bytes(os.urandom(100_000).replace(b"{", b"(") + b"\n" + corpus.line() + b"\n")
        result = run_export(str(binary), "-o", "-")
        assert result.returncode == 0 and result.stdout.count(b"\n") == 1
    assert b"Traceback" not in result.stderr
    assert b"\x1b" not in result.stderr


def test_export_redacts_secrets_on_request(tmp_path: Path) -> None:
    secret = corpus.line(
        level="RequestResponse",
        objectRef={"resource": "secrets", "namespace": "default", "name": "db", "apiVersion": "v1"},
        responseObject={
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "db"},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"token": "hunter2"},
        },
    )
    log = tmp_path / "secret.log"
    log.write_bytes(secret + b"\n")
    plain = run_export(str(log), "-o", "-")
    redacted = run_export(str(log), "--redact", "-o", "-")
    assert b"aHVudGVyMg==" in plain.stdout and b"hunter2" in plain.stdout
    assert b"aHVudGVyMg==" not in redacted.stdout and b"hunter2" not in redacted.stdout
    assert json.loads(redacted.stdout)["responseObject"]["metadata"]["name"] == "db"
