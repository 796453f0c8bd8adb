"""The event store: columns, decoded values, raw re-reads, verdicts, facets, streaming load, follow."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import Policy, PolicyRule
from k8saudit_tui.engine.policy.decision import AttributeCodes, PolicyDecision
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import EventGone, EventStore, StoreLoader, follow
from tests.auditlog_helpers import event, line, simple_policy, write_lines


def sample(tmp_path: Path) -> tuple[Path, list[dict]]:  # type: ignore[type-arg]
    events = [
        event(0, user="alice", verb="get", resource="pods", name="web-1", namespace="shop"),
        event(1, user="system:kube-proxy", groups=("system:nodes",), verb="watch", resource="endpoints"),
        event(2, user="bob", verb="create", resource="secrets", namespace="kube-system", code=201, group=""),
        event(3, user="alice", verb="get", resource="pods", subresource="log", name="web-1", code=403),
        event(4, user="", groups=(), verb="get", resource=None, uri="/healthz?verbose=1", code=401),
        event(5, user="bob", verb="create", resource="secrets", stage="RequestReceived", namespace="kube-system"),
        event(6, user="carol", verb="update", resource="deployments", group="apps", namespace="shop", name="api"),
    ]
    return write_lines(tmp_path / "audit.log", [line(e) for e in events]), events


def loaded(tmp_path: Path, evaluator: PolicyEvaluator | None = None) -> EventStore:
    log, _ = sample(tmp_path)
    return StoreLoader(expand_sources([str(log)]), evaluator, workers=1).load_all()


def test_columns_and_display_values(tmp_path: Path) -> None:
    store = loaded(tmp_path)
    assert len(store) == 7 and store.line_count == 7
    assert store.value(0, "user") == "alice" and store.value(0, "ns") == "shop"
    assert store.value(3, "resource") == "pods" and store.value(3, "subresource") == "log"
    assert store.value(2, "code") == 201 and store.value(6, "apigroup") == "apps"
    assert store.value(4, "user") == "" and store.value(4, "uri") == "/healthz?verbose=1"
    assert store.value(1, "group") == "system:nodes"
    assert store.value(0, "time") == "2026-11-20T10:00:00.000000Z"
    assert store.value(0, "ip") == "10.0.0.1" and store.value(0, "ua") == "kubectl/v1.29"
    assert store.value(5, "stage") == "RequestReceived" and store.value(5, "recorded") == "Metadata"
    assert store.value(6, "auditid") == "00000000-0000-0000-0000-000000000006"
    users = store.column("user")
    assert users.dtype == np.int32 and store.values("user")[users[2]] == "bob"
    assert store.column("time").dtype == np.int64


def test_raw_is_the_original_line_and_event_parses_it(tmp_path: Path) -> None:
    log, events = sample(tmp_path)
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    lines = log.read_bytes().splitlines()
    assert [store.raw(r) for r in range(len(store))] == lines
    assert store.event(6) == events[6]
    assert store.location(6) == (str(log), 7)


def test_attributes_follow_attributes_py(tmp_path: Path) -> None:
    store = loaded(tmp_path)
    attrs = store.attributes(4)
    assert attrs.username is None and not attrs.resource_request and attrs.path == "/healthz"  # E2, E3, E7
    assert store.attributes(3).subresource == "log"


def test_no_policy_means_no_verdict(tmp_path: Path) -> None:
    store = loaded(tmp_path)
    assert store.verdict(0) is None and store.value(0, "level") is None and store.value(0, "rule") is None
    assert store.rule_counts() == {}


def test_verdicts_under_a_policy(tmp_path: Path) -> None:
    store = loaded(tmp_path, PolicyEvaluator(simple_policy()))
    assert [store.value(r, "rule") for r in range(7)] == [3, 0, 1, 2, 3, 1, 3]
    assert [store.value(r, "level") for r in range(7)] == [
        "Metadata",
        "None",
        "RequestResponse",
        "Request",
        "Metadata",
        "RequestResponse",
        "Metadata",
    ]
    verdict = store.verdict(0)
    assert verdict is not None and verdict.rule == 3
    assert store.rule_counts() == {0: 1, 1: 2, 2: 1, 3: 3}
    assert store.rule_counts(np.array([0, 2])) == {1: 1, 3: 1}
    assert store.value(1, "omitted") == 1  # level None (S5)


def test_set_policy_reevaluates_without_rereading(tmp_path: Path) -> None:
    log, _ = sample(tmp_path)
    store = StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1).load_all()
    log.write_bytes(b"")  # the log is gone: a re-read would find nothing
    store.set_policy(PolicyEvaluator(Policy(rules=(PolicyRule(level="Request", verbs=("create",)),))))
    assert [store.value(r, "rule") for r in range(7)] == [None, None, 0, None, None, 0, None]
    assert list(store.column("level")) == [0, 0, 2, 0, 0, 2, 0]
    store.set_policy(None)
    assert store.value(2, "level") is None


def test_omitted_follows_omit_stages(tmp_path: Path) -> None:
    store = loaded(
        tmp_path, PolicyEvaluator(Policy(rules=(PolicyRule(level="Metadata", omit_stages=("RequestReceived",)),)))
    )
    assert list(store.column("omitted")) == [False] * 5 + [True, False]


def test_evaluation_once_per_distinct_attributes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [line(event(n, user=f"u{n % 3}")) for n in range(300)]
    log = write_lines(tmp_path / "a.log", lines)
    decided = []
    first_rules = PolicyDecision.first_rules

    def counting(self: PolicyDecision, codes: AttributeCodes, start: int = 0, stop: int | None = None) -> np.ndarray:
        result = first_rules(self, codes, start, stop)
        decided.append(len(result))
        return result

    monkeypatch.setattr(PolicyDecision, "first_rules", counting)
    StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1).load_all()
    assert sum(decided) == 3


def test_progress_first_batch_then_done(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "a.log", [line(event(n)) for n in range(2500)])
    loader = StoreLoader(expand_sources([str(log)]), workers=1)
    progress = list(loader.run())
    assert progress[0].events == 1000 and not progress[0].done
    assert progress[-1].done and progress[-1].events == 2500
    assert progress[-1].bytes == progress[-1].total_bytes == log.stat().st_size
    assert all(p.rate >= 0 for p in progress)


def test_cancel_stops_the_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = write_lines(tmp_path / "a.log", [line(event(n)) for n in range(5000)])
    cancel = threading.Event()
    monkeypatch.setattr(split, "TASK_BYTES", 32 << 10)
    loader = StoreLoader(expand_sources([str(log)]), cancel=cancel, workers=1)
    seen = []
    for progress in loader.run():
        seen.append(progress)
        cancel.set()
    assert seen[-1].cancelled and len(loader.store) < 5000


def test_readers_see_complete_rows_while_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = write_lines(tmp_path / "a.log", [line(event(n, user=f"u{n}")) for n in range(6000)])
    loader = StoreLoader(expand_sources([str(log)]), workers=1)
    errors: list[str] = []

    def read() -> None:
        store = loader.store
        while not done.is_set():
            n = len(store)
            if n:
                users = store.column("user", n)
                last = n - 1
                if store.values("user")[users[last]] != f"u{last}":
                    errors.append(f"row {last}")

    done = threading.Event()
    reader = threading.Thread(target=read)
    reader.start()

    monkeypatch.setattr(split, "TASK_BYTES", 64 << 10)
    try:
        loader.load_all()
    finally:
        done.set()
        reader.join()
    assert not errors and len(loader.store) == 6000


def _follow_until(store: EventStore, predicate, timeout: float = 5.0) -> list[int]:  # type: ignore[no-untyped-def]
    cancel = threading.Event()
    counts: list[int] = []

    def run() -> None:
        for added in follow(store, None, cancel, interval=0.05):
            counts.append(added)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not predicate():
            time.sleep(0.02)
    finally:
        cancel.set()
        thread.join()
    return counts


def test_follow_picks_up_appended_lines_within_a_second(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "audit.log", [line(event(0))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    started = time.monotonic()
    with open(log, "ab") as handle:
        handle.write(line(event(1)) + b"\n" + line(event(2)) + b"\n")
    counts = _follow_until(store, lambda: len(store) == 3)
    assert len(store) == 3 and sum(counts) == 2 and time.monotonic() - started < 1.5
    assert store.location(2) == (str(log), 3) and store.raw(2) == line(event(2))


def test_follow_waits_for_a_half_written_line(tmp_path: Path) -> None:
    whole = line(event(1))
    log = write_lines(tmp_path / "audit.log", [line(event(0)), whole[:40]], newline_at_end=False)
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    assert len(store) == 1 and len(store.problems) == 1  # reported while not following
    with open(log, "ab") as handle:
        handle.write(whole[40:] + b"\n")
    _follow_until(store, lambda: len(store) == 2)
    assert len(store) == 2 and store.raw(1) == whole
    assert store.problems == [] and store.line_count == 2


def test_follow_holds_a_partial_line_until_its_newline(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "audit.log", [line(event(0))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    whole = line(event(1))
    with open(log, "ab") as handle:
        handle.write(whole[:30])
    _follow_until(store, lambda: False, timeout=0.3)
    assert len(store) == 1 and not store.problems
    with open(log, "ab") as handle:
        handle.write(whole[30:] + b"\n")
    _follow_until(store, lambda: len(store) == 2)
    assert store.raw(1) == whole


def test_follow_reopens_a_rotated_file(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "audit.log", [line(event(0))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    with open(log, "ab") as handle:
        handle.write(line(event(1)) + b"\n")  # written just before rotation
    os.rename(log, tmp_path / "audit-2026-11-20T10-00-00.000.log")
    write_lines(log, [line(event(2))])
    _follow_until(store, lambda: len(store) == 3)
    assert [store.value(r, "auditid")[-1] for r in range(3)] == ["0", "1", "2"]
    assert store.raw(1) == line(event(1)) and store.raw(2) == line(event(2))
    assert store.location(2) == (str(log), 1)


def test_follow_rereads_a_truncated_file(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "audit.log", [line(event(0)), line(event(1))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    write_lines(log, [line(event(7))])
    _follow_until(store, lambda: len(store) == 3)
    assert len(store) == 3 and store.raw(2) == line(event(7)) and store.location(2) == (str(log), 1)
    # rows 0 and 1 pointed into the old text: their offsets now hold event 7, never shown as theirs
    for row in (0, 1):
        with pytest.raises(EventGone, match="truncated after this event was read"):
            store.raw(row)
    assert store.readable(np.arange(3)).tolist() == [False, False, True]
    with pytest.raises(EventGone):
        list(store.raw_many(np.array([2, 0])))
    assert list(store.raw_many(np.array([2]))) == [line(event(7))]
    assert store.value(0, "auditid") == event(0)["auditID"]  # what the columns hold stays


def test_unknown_column_is_a_key_error(tmp_path: Path) -> None:
    store = loaded(tmp_path)
    with pytest.raises(KeyError):
        store.column("nope")


def test_store_memory_is_compact(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "a.log", [line(event(n, name=f"pod-{n % 50}")) for n in range(20000)])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    per_event = sum(store.column(c).nbytes for c in ("time", "user", "verb", "name", "uri", "auditid", "attr")) / len(
        store
    )
    assert per_event < 80
    assert len(store.values("name")) == 50
    assert orjson.loads(store.raw(19999))["auditID"] == store.value(19999, "auditid")


def test_follow_sees_a_file_rewritten_past_its_old_size_between_polls(tmp_path: Path) -> None:
    """copytruncate, then more written than the file held before the next poll: same inode, a
    bigger size, other bytes at the old offsets. The old rows are gone, the new file read whole."""
    log = write_lines(tmp_path / "audit.log", [line(event(0)), line(event(1))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    inode = os.stat(log).st_ino
    with log.open("r+b") as handle:  # in place: the inode stays
        handle.truncate(0)
        handle.write(b"".join(line(event(n)) + b"\n" for n in (7, 8, 9)))
    assert os.stat(log).st_ino == inode and os.path.getsize(log) > store.files[0].consumed
    _follow_until(store, lambda: len(store) == 5)
    assert [store.value(row, "auditid") for row in range(2, 5)] == [event(n)["auditID"] for n in (7, 8, 9)]
    with pytest.raises(EventGone):
        store.raw(0)
    assert store.raw(4) == line(event(9))
