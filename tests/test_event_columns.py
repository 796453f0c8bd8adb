"""Issue 10's store columns: impersonated user, annotations, latency, and the values derived from
them (received time, stage time, authorization decision). The encoder's fast paths (annotation
sets memoised by their raw JSON per parser stream, latency from vectorised timestamps) are held
to a plain per-event implementation written here from the event dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.logs.annotations import ANNOTATION_VALUE_LIMIT, LONG_VALUE
from k8saudit_tui.engine.logs.batch import Encoder, parse_lines
from k8saudit_tui.engine.query.facets import facet
from k8saudit_tui.engine.store import COLUMNS, EventStore
from k8saudit_tui.engine.store.codes import DTYPES
from k8saudit_tui.ui.session import Session
from tests.auditlog_helpers import event, line

# ------------------------------------------------------------------ the plain implementation


def plain_annotations(value: dict[str, Any]) -> tuple[str, ...]:
    annotations = value.get("annotations")
    if not isinstance(annotations, dict):
        return ()
    kept = []
    for key, text in annotations.items():
        if isinstance(text, str):
            kept.append(f"{key}={text}" if len(text) <= ANNOTATION_VALUE_LIMIT else f"{key}={LONG_VALUE}")
    return tuple(sorted(kept))


def plain_nanos(stamp: object) -> int | None:
    """Nanoseconds of an apiserver timestamp (2026-11-20T10:00:00.123456Z), None when unusable."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return None
    epoch = datetime(1970, 1, 1)
    delta = moment - epoch
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def plain_latency(value: dict[str, Any]) -> int | None:
    received, staged = plain_nanos(value.get("requestReceivedTimestamp")), plain_nanos(value.get("stageTimestamp"))
    if received is None or staged is None or staged < received:
        return None
    return staged - received


def plain_impersonated(value: dict[str, Any]) -> str:
    user = value.get("impersonatedUser")
    return user.get("username", "") if isinstance(user, dict) else ""


# ------------------------------------------------------------------ generated events

KEYS = ("authorization.k8s.io/decision", "authorization.k8s.io/reason", "pod-security.kubernetes.io/enforce-policy")
annotation_values = st.one_of(
    st.sampled_from(["allow", "forbid", "", "RBAC: allowed", "baseline:latest"]),
    st.integers(0, 3).map(lambda n: "x" * (ANNOTATION_VALUE_LIMIT - 1 + n)),  # around the limit
    st.integers(-(2**63), 2**63 - 1),  # not a string: left out
    st.none(),
)
annotations = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(KEYS), annotation_values, max_size=3),
    st.sampled_from([[], "text", 5]),  # not an object: no annotations, the event stays
)
stamps = st.one_of(
    st.sampled_from(
        [
            "2026-11-20T10:00:00.000001Z",
            "2026-11-20T10:00:00.500000Z",
            "2026-11-20T10:31:00.000000Z",
            "2026-11-20T09:59:59.999999Z",  # before the others: a negative difference is unknown
            "",
            "not a time",
        ]
    ),
    st.none(),
)


def draw_times(draw: st.DrawFn, value: dict[str, Any], stamps: st.SearchStrategy[str | None]) -> None:
    """Each of the event's two timestamps drawn from `stamps`; None leaves it out."""
    for key in ("requestReceivedTimestamp", "stageTimestamp"):
        stamp = draw(stamps)
        if stamp is None:
            del value[key]
        else:
            value[key] = stamp


@st.composite
def generated_event(draw: st.DrawFn, n: int) -> dict[str, Any]:
    value = event(n)
    chosen = draw(annotations)
    if chosen is not None:
        if isinstance(chosen, dict) and draw(st.booleans()):
            chosen = dict(reversed(list(chosen.items())))  # same set, other raw bytes
        value["annotations"] = chosen
    draw_times(draw, value, stamps)
    if draw(st.booleans()):
        value["impersonatedUser"] = {"username": draw(st.sampled_from(["", "bob", "system:admin"]))}
    return value


def two_batches(lines: list[bytes], cut: int) -> EventStore:
    """A store of `lines` parsed as two batches (cut after `cut` lines) through one persistent
    encoder: the second batch reuses what the first taught it."""
    cut = min(cut, len(lines))
    encoder = Encoder()
    store = EventStore()
    store.add_file("x", "/nonexistent")
    first = b"".join(piece + b"\n" for piece in lines[:cut])
    second = b"".join(piece + b"\n" for piece in lines[cut:])
    store.append(parse_lines(first, 0, 0, True, encoder), 0, 0)
    store.append(parse_lines(second, len(first), 0, True, encoder), 0, cut)
    return store


events = st.integers(1, 40).flatmap(lambda count: st.tuples(*(generated_event(n) for n in range(count))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.integers(0, 40))
def test_columns_equal_the_plain_reading_of_each_event(values: tuple[dict[str, Any], ...], cut: int) -> None:
    """Two batches through one persistent encoder (the second reuses the first's memo) give, per
    row, what the plain functions above read from the event dict."""
    store = two_batches([line(value) for value in values], cut)
    assert len(store) == len(values)
    for row, value in enumerate(values):
        expected = plain_annotations(value)
        assert store.values("annotations")[store.column("annotations")[row]] == expected
        assert store.value(row, "annotations") == ", ".join(expected)
        assert store.value(row, "impersonated") == plain_impersonated(value)
        latency = plain_latency(value)
        assert store.value(row, "latency") == latency
        assert int(store.column("latency")[row]) == (-1 if latency is None else latency)
        staged = plain_nanos(value.get("stageTimestamp"))
        if latency is not None:
            assert store.value(row, "received") == value["requestReceivedTimestamp"]
            assert store.value(row, "stage_time") == value["stageTimestamp"]
        else:
            assert store.value(row, "received") == ""
            if staged is not None:
                assert store.value(row, "stage_time") == value["stageTimestamp"]
        decision = dict(item.split("=", 1) for item in expected).get("authorization.k8s.io/decision", "")
        assert store.value(row, "decision") == decision


# ------------------------------------------------------------------ examples


def load(values: list[dict[str, Any]]) -> EventStore:
    store = EventStore()
    store.add_file("x", "/nonexistent")
    store.append(parse_lines(b"".join(line(value) + b"\n" for value in values), 0, 0, True), 0, 0)
    return store


def test_events_sharing_annotations_share_one_code() -> None:
    allow = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed"}
    forbid = {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
    values = [event(n, annotations=allow if n % 3 else forbid) for n in range(300)]
    values.append(event(300, annotations=dict(reversed(list(allow.items())))))  # other key order
    values.append(event(301))
    store = load(values)
    assert sorted(store.values("annotations")) == [
        (),
        ("authorization.k8s.io/decision=allow", "authorization.k8s.io/reason=RBAC: allowed"),
        ("authorization.k8s.io/decision=forbid", "authorization.k8s.io/reason="),
    ]
    assert store.column("annotations")[300] == store.column("annotations")[1]
    assert store.value(0, "decision") == "forbid" and store.value(1, "decision") == "allow"
    assert store.value(301, "decision") == "" and store.value(301, "annotations") == ""
    allowed = {value.label: value.events for value in facet(store, "annotation").values}
    assert allowed["authorization.k8s.io/decision=allow"] == 201


def test_a_long_annotation_value_keeps_its_key_not_its_value() -> None:
    patch = "[" + ",".join(f'{{"op":"add","path":"/metadata/labels/l{n}"}}' for n in range(20)) + "]"
    assert len(patch) > ANNOTATION_VALUE_LIMIT
    values = [event(n, annotations={"patch.webhook.admission.k8s.io/round_0_index_0": patch + str(n)}) for n in (0, 1)]
    store = load(values)
    assert store.value(0, "annotations") == f"patch.webhook.admission.k8s.io/round_0_index_0={LONG_VALUE}"
    assert store.column("annotations")[0] == store.column("annotations")[1]  # not one entry per event


def test_v1beta1_times_give_a_latency_and_a_missing_stage_time_none() -> None:
    beta = event(0, apiVersion="audit.k8s.io/v1beta1")
    del beta["requestReceivedTimestamp"], beta["stageTimestamp"]
    beta["timestamp"] = "2026-11-20T10:00:00.000000Z"
    beta["metadata"] = {"creationTimestamp": "2026-11-20T10:00:00.250000Z"}
    no_stage = event(1, requestReceivedTimestamp="2026-11-20T10:00:05.000000Z")
    del no_stage["stageTimestamp"]
    store = load([beta, no_stage])
    assert store.value(0, "latency") == 250_000_000
    assert store.value(0, "received") == "2026-11-20T10:00:00.000000Z"
    assert store.value(1, "latency") is None  # the time column is the received time, not a stage time
    assert store.value(1, "time") == "2026-11-20T10:00:05.000000Z"


def test_eventlist_items_keep_their_annotations_and_impersonation() -> None:
    item = event(0, annotations={"authorization.k8s.io/decision": "forbid"}, impersonatedUser={"username": "eve"})
    document = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [item]}
    store = EventStore()
    store.add_file("x", "/nonexistent")
    store.append(parse_lines(line(document) + b"\n", 0, 0, True), 0, 0)
    assert store.value(0, "decision") == "forbid" and store.value(0, "impersonated") == "eve"


def test_new_columns_are_compact_and_named_once() -> None:
    assert {name: np.dtype(DTYPES[name]).itemsize for name in ("impersonated", "annotations", "latency")} == {
        "impersonated": 4,
        "annotations": 4,
        "latency": 4,  # microseconds, exact (store/narrow.py)
    }
    for name in ("impersonated", "annotations", "latency"):
        assert name in COLUMNS and fields.by_column[name]
    assert {"impersonated", "annotation", "latency"} <= set(fields.FILTER_NAMES)
    assert not {"received", "stage_time", "decision"} & set(fields.FILTER_NAMES)
    assert not {"impersonated", "annotation", "latency"} & set(fields.BARE_WORD_FIELDS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.lists(st.integers(0, 40), max_size=4), st.data())
def test_view_order_asked_as_the_store_grows_equals_a_stable_sort(
    values: tuple[dict[str, Any], ...], cuts: list[int], data: st.DataObject
) -> None:
    """The view order and the time range are asked after every batch (the explorer does, while
    loading) and the rows measured before are not read again: each order, for all rows or fewer,
    is the stable sort of the times of those rows, the identity only when they are in order, and
    the range is the earliest and latest known time."""
    lines = [line(value) for value in values]
    encoder = Encoder()
    store = EventStore()
    store.add_file("x", "/nonexistent")
    session = Session(store=store)
    done, offset = 0, 0
    for cut in [*sorted(min(cut, len(lines)) for cut in cuts), len(lines)]:
        chunk = b"".join(piece + b"\n" for piece in lines[done:cut])
        store.append(parse_lines(chunk, offset, 0, True, encoder), 0, done)
        done, offset = cut, offset + len(chunk)
        for n in (len(store), data.draw(st.integers(0, len(store)))):
            times = store.column("time", n)
            expected = np.argsort(times, kind="stable")
            assert store.view_order(n).tolist() == expected.tolist()
            assert store.in_load_order(n) is bool(np.all(times[1:] >= times[:-1]))
        known = store.column("time")[store.column("time") > 0]
        assert session.time_range() == ((int(known.min()), int(known.max())) if len(known) else None)
