"""The explorer unwraps cloud envelopes in its load worker, not before its screen shows: while the
store loads (`normalise(parse=True)`, the spool written range by range) when no index of the files
can be reopened, else whole first so that the index, checked against the spool, is reopened."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.sources import LogSource, expand_sources, resolve_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.store import StoreLoader
from k8saudit_tui.engine.store import loader as loader_module
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.cache_files import CacheDir
from k8saudit_tui.ui.session import Session, open_session
from tests.test_formats_fused import Snapshot, snapshot
from tests.test_formats_properties import EVENTS, record

POLICY = Path(__file__).parent / "data" / "policies" / "kubernetes-website-audit-policy.yaml"


@pytest.fixture
def envelope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CloudWatch JSONL file read by the worker pool in small ranges (the path of a big file)."""
    monkeypatch.setattr(split, "TASK_BYTES", 16 << 10)
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)
    path = tmp_path / "eks-audit.jsonl"
    lines = [record("cloudwatch", EVENTS[index % len(EVENTS)], index) for index in range(1500)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def two_passes(path: Path) -> Snapshot:
    """The store as the commands load it: the file unwrapped whole, then the spool loaded."""
    policy = load_policy_file(str(POLICY)).policy
    assert policy is not None
    return snapshot(StoreLoader(expand_sources([str(path)]), PolicyEvaluator(policy), workers=2).load_all())


def loaded(session: Session) -> Snapshot:
    for _ in session.load(threading.Event()):
        pass
    session.save_index()  # as the explorer does once its screen shows everything
    assert session.store is not None
    return snapshot(session.store)


def spy_on_unwrapping(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `parse` of each unwrapping asked for a store load (`unwrap_for_store`)."""
    asked: list[bool] = []
    real = loader_module.unwrap_sources

    def spy(sources: list[LogSource], format: str | None = None, parse: bool = False) -> list[LogSource]:
        asked.append(parse)
        return real(sources, format, parse)

    monkeypatch.setattr(loader_module, "unwrap_sources", spy)
    return asked


def test_opening_a_session_leaves_the_unwrapping_to_the_load(envelope: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = spy_on_unwrapping(monkeypatch)
    session = open_session(str(POLICY), [str(envelope)])
    (source,) = session.sources
    assert (source.path, source.origin, source.spooled) == (str(envelope), None, False)
    assert asked == []
    assert loaded(session) == two_passes(envelope)
    assert asked == [True]  # no cache: unwrapped while the store loads
    (source,) = session.sources
    assert source.origin is not None and source.stream is None and source.spooled


def test_an_envelope_with_an_index_is_spooled_whole_and_its_index_reopened(
    envelope: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = spy_on_unwrapping(monkeypatch)
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    first = open_session(str(POLICY), [str(envelope)])
    first.cache = cache
    assert not cache.indexed(first.sources)
    expected = loaded(first)
    assert "index saved" in cache.last
    again = open_session(str(POLICY), [str(envelope)])
    again.cache = cache
    assert cache.indexed(again.sources)
    assert loaded(again) == expected == two_passes(envelope)
    assert cache.last.startswith("reopened")
    assert asked == [True, False]


def test_no_index_is_known_for_a_source_without_a_file(tmp_path: Path) -> None:
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)
    missing = resolve_sources([str(tmp_path / "nothing-here.log")])
    assert missing[0].problem is not None
    assert not cache.indexed(missing)
    assert not cache.indexed([])


def test_top_counts_an_envelope_unwrapped_while_it_loads_as_it_counts_the_raw_log(
    envelope: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from k8saudit_tui.cli import main

    raw = tmp_path / "audit.log"
    raw.write_bytes(b"\n".join(EVENTS[index % len(EVENTS)] for index in range(1500)) + b"\n")
    asked = spy_on_unwrapping(monkeypatch)
    assert main(["top", "--by", "user", "--no-cache", str(envelope)]) == 0
    from_envelope = capsys.readouterr().out
    assert asked == [True]
    assert main(["top", "--by", "user", "--no-cache", str(raw)]) == 0  # streamed: no store
    assert capsys.readouterr().out == from_envelope
    assert from_envelope.count("\n") > 3


def test_the_progress_of_an_envelope_unwrapped_while_it_loads_counts_the_file_s_bytes(envelope: Path) -> None:
    session = open_session(str(POLICY), [str(envelope)])
    progress = list(session.load(threading.Event()))
    done = [step.bytes for step in progress]
    assert len(progress) > 3 and done == sorted(done)
    assert all(step.total_bytes == envelope.stat().st_size for step in progress)
    assert done[-1] == envelope.stat().st_size  # not the spool's size: the bar would stop short, then jump


def test_a_gzip_log_is_decompressed_by_the_load_not_before_the_screen_shows(tmp_path: Path) -> None:
    import gzip

    plain = tmp_path / "audit.log"
    plain.write_bytes(b"\n".join(EVENTS) + b"\n")
    packed = tmp_path / "audit.log.1.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    session = open_session(str(POLICY), [str(packed)])
    (source,) = session.sources
    assert (source.path, source.gzipped, source.spooled, source.followable) == (str(packed), True, False, False)
    rows, problems = loaded(session)
    (source,) = session.sources
    assert source.spooled and not source.gzipped and source.name == str(packed)
    expected_rows, expected_problems = two_passes(plain)
    assert [row[:-3] for row in rows] == [row[:-3] for row in expected_rows]  # all but where and the bytes' file
    assert [row[-2] for row in rows] == [row[-2] for row in expected_rows]  # the bytes
    assert len(problems) == len(expected_problems)
