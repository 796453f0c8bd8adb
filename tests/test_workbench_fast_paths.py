"""The workbench's fast paths (issue 13's speed targets) against their plain implementations:
the digit-run check of `apply.rewrite` against the regular expression it replaced, and the byte
cost read from the store (`store_cost`) against `cost_of_lines`, one `apply_line` per line."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from pathlib import Path
from unittest.mock import patch

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.cli import main
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import LEVELS, Policy, PolicyRule
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.engine.workbench import store_cost
from k8saudit_tui.engine.workbench.apply import _BIG_INTEGER, _DIGITS
from k8saudit_tui.engine.workbench.cost import cost_of_lines
from k8saudit_tui.engine.workbench.store_cost import store_costs
from tests.auditlog_helpers import event, line, write_lines
from tests.test_apply import recorded_events

_PLAIN_BIG_INTEGER = re.compile(rb"\d{19}")

digit_runs = st.lists(
    st.one_of(st.binary(max_size=8), st.integers(0, 10**25).map(lambda n: str(n).encode())), max_size=8
).map(b"".join)


@given(text=st.one_of(st.binary(max_size=64), digit_runs))
def test_the_digit_run_check_is_the_regular_expression(text: bytes) -> None:
    assert (_BIG_INTEGER in text.translate(_DIGITS)) == (_PLAIN_BIG_INTEGER.search(text) is not None)


# ------------------------------------------------------------------------------ the store's byte cost

VERBS = ("get", "list", "create", "update", "patch", "delete")
RULE_LEVELS = st.sampled_from(LEVELS)
"""Levels a one-rule-per-verb policy gives: enough to lower, keep and raise recorded levels."""

managed_policies = st.builds(
    lambda levels, omits, omit_all: Policy(
        rules=(
            *(
                PolicyRule(level=level, verbs=(verb,), omit_managed_fields=omit)
                for level, verb, omit in zip(levels, VERBS, omits, strict=True)
            ),
            PolicyRule(level="RequestResponse"),
        ),
        omit_managed_fields=omit_all,
    ),
    st.lists(RULE_LEVELS, min_size=len(VERBS), max_size=len(VERBS)),
    st.lists(st.sampled_from((None, True, False)), min_size=len(VERBS), max_size=len(VERBS)),
    st.booleans(),
)

FILLER = st.text(alphabet='OFO"\\r requestObjectmanagedFields', max_size=40)
"""Annotation text rich in the anchors and the words (and escaped CRs), inside strings."""


@st.composite
def odd_events(draw: st.DrawFn) -> bytes:
    """An event line as a log holds it: bodies with and without managedFields, words and anchors
    in strings, a shipper's prefix or a CR sometimes."""
    data = draw(recorded_events())
    data["verb"] = draw(st.sampled_from(VERBS))
    data["annotations"] = {"note": draw(FILLER)}
    text = orjson.dumps(data)
    return draw(st.sampled_from((b"", b"host-1 "))) + text + draw(st.sampled_from((b"", b"\r", b"  ")))


def _loaded(tmp_path: Path, lines: list[bytes], current: Policy, candidate: Policy) -> EventStore:
    log = write_lines(tmp_path / "audit.log", lines)
    return StoreLoader(
        expand_sources([str(log)]), PolicyEvaluator(current), candidate=PolicyEvaluator(candidate)
    ).load_all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    current=managed_policies,
    candidate=managed_policies,
    lines=st.lists(odd_events(), max_size=14),
    read_bytes=st.sampled_from((1, 300, 1 << 24)),
    mapped=st.booleans(),
)
def test_store_costs_are_the_plain_costs_of_every_line(
    tmp_path_factory: pytest.TempPathFactory,
    current: Policy,
    candidate: Policy,
    lines: list[bytes],
    read_bytes: int,
    mapped: bool,
) -> None:
    """Both policies' summaries equal one `apply_line` per line (`cost_of_lines`), whatever the
    bodies, managedFields, prefixes, CRs and read size, read with pread or through mappings;
    `unreadable` aside (there the store's problems)."""
    broken = len(lines) // 2
    lines.insert(broken, b'{"kind": "Event", broken')
    store = _loaded(tmp_path_factory.mktemp("cost"), lines, current, candidate)
    try:
        with patch.object(store_cost, "READ_BYTES", read_bytes):
            fast = store_costs(store, mapped=mapped)
            every_other = store_costs(store, np.arange(0, len(store), 2), mapped=mapped)
    finally:
        store.close()
    assert fast is not None and every_other is not None
    raw = [line + b"\n" for line in lines]
    plain = [cost_of_lines(PolicyEvaluator(policy), raw) for policy in (current, candidate)]
    assert [replace(summary, unreadable=0) for summary in fast] == [replace(s, unreadable=0) for s in plain]
    assert fast[0].unreadable == 1  # the broken line
    events = raw[:broken] + raw[broken + 1 :]  # a row per line but the broken one
    plain = [cost_of_lines(PolicyEvaluator(policy), events[::2]) for policy in (current, candidate)]
    assert [replace(summary, unreadable=0) for summary in every_other] == [replace(s, unreadable=0) for s in plain]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(odd_events(), min_size=1, max_size=14),
    read_bytes=st.sampled_from((1, 200, 1 << 24)),
    mapped=st.booleans(),
)
def test_line_flags_are_the_substring_tests_of_each_line(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], read_bytes: int, mapped: bool
) -> None:
    """The memchr-anchored search (and its fallback when anchors are everywhere) flags exactly
    the rows whose bytes hold each word, and those that end in CR."""
    everything = Policy(rules=(PolicyRule(level="RequestResponse"),))
    store = _loaded(tmp_path_factory.mktemp("flags"), lines, everything, everything)
    try:
        rows = np.arange(len(store), dtype=np.int64)
        with patch.object(store_cost, "READ_BYTES", read_bytes):
            flags = store_cost.line_flags(store, rows, mapped=mapped)
        raws = [store.raw(row) for row in rows.tolist()]
    finally:
        store.close()
    assert flags is not None
    plain = [
        (b'"requestObject"' in raw) * store_cost.REQUEST_BODY
        | (b'"responseObject"' in raw) * store_cost.RESPONSE_BODY
        | (b'"managedFields"' in raw) * store_cost.MANAGED_FIELDS
        | raw.endswith(b"\r") * store_cost.ENDS_IN_CR
        for raw in raws
    ]
    assert flags.tolist() == plain


def test_a_cancelled_cost_is_none(tmp_path: Path) -> None:
    everything = Policy(rules=(PolicyRule(level="RequestResponse"),))
    store = _loaded(tmp_path, [line(event(n)) for n in range(3)], everything, everything)
    cancel = threading.Event()
    cancel.set()
    try:
        assert store_costs(store, cancel=cancel) is None
        assert store_costs(store) is not None
    finally:
        store.close()


class _CancelLater(threading.Event):
    """Set from its `after`-th look on: a cancel that comes while the count is under way."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.looks = after, 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks > self.after


def test_a_cost_cancelled_among_the_rewrites_is_none(tmp_path: Path) -> None:
    """A policy that lowers every event rewrites every row: `cancel` is looked at there too,
    every CANCEL_EVERY rewrites, not only between reads."""
    bodies = [line(event(n, level="RequestResponse", requestObject={"n": n})) for n in range(5)]
    metadata = Policy(rules=(PolicyRule(level="Metadata"),))
    store = _loaded(tmp_path, bodies, metadata, metadata)
    try:
        whole = store_costs(store)
        with patch.object(store_cost, "CANCEL_EVERY", 2):
            late = _CancelLater(after=2)  # one read, then the looks before the 1st and 3rd rewrites
            assert store_costs(store, cancel=late) is None
    finally:
        store.close()
    assert whole is not None and whole[0].bytes < sum(len(raw) + 1 for raw in bodies)  # rewritten
    assert late.looks == 3


def test_report_bytes_leave_out_eventlist_items_as_apply_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An EventList line's items are rows of the store (in a spool), but `apply` reads no event
    in that line: the report's bytes are what apply writes, the items' not counted."""
    events = [event(n, level="Metadata") for n in range(4)]
    items = orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events[2:]})
    log = write_lines(tmp_path / "audit.log", [line(events[0]), items, line(events[1])])
    policy = tmp_path / "p.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    out = tmp_path / "applied.log"
    assert main(["apply", "--policy", str(policy), str(log), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["report", "--policy", str(policy), str(log), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["events"] == 4  # the store's rows: the items are events of the log
    assert result["bytes"]["current"] == out.stat().st_size == len(line(events[0])) + len(line(events[1])) + 2
