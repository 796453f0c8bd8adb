"""A batch's times, latencies and auditIDs are parsed once per TIME_CHUNK events at the end of the
batch (encoder.py), from the stamps and IDs each flush kept: whatever the flush and chunk sizes,
every row gets what a plain reading of its own event gives (tests/test_event_columns.py's plain
functions), across two batches of one persistent encoder."""

from __future__ import annotations

from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import batch as batch_module
from k8saudit_tui.engine.logs import encoder as encoder_module
from k8saudit_tui.engine.logs.batch import Encoder, parse_lines
from k8saudit_tui.engine.store import EventStore
from tests.auditlog_helpers import line
from tests.test_event_columns import generated_event, plain_latency, plain_nanos

AUDIT_IDS = (
    "3b8faa18-37f8-488b-97fc-695a07a0ca6e",
    "3B8FAA18-37F8-488B-97FC-695A07A0CA6E",  # not canonical: an "other" ID, coded by the store
    "proxy-request-17",
    "",
    None,  # no auditID at all
)


@st.composite
def timed_event(draw: st.DrawFn, n: int) -> dict[str, Any]:
    value = draw(generated_event(n))
    audit_id = draw(st.sampled_from(AUDIT_IDS))
    if audit_id is None:
        del value["auditID"]
    else:
        value["auditID"] = audit_id
    return value


events = st.integers(1, 30).flatmap(lambda count: st.tuples(*(timed_event(n) for n in range(count))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.integers(0, 30), st.integers(1, 7), st.integers(1, 9))
def test_times_latencies_and_ids_of_every_row_whatever_the_chunks(
    values: tuple[dict[str, Any], ...], cut: int, flush: int, chunk: int
) -> None:
    lines = [line(value) for value in values]
    cut = min(cut, len(lines))
    store = EventStore()
    store.add_file("x", "/nonexistent")
    encoder = Encoder()
    first = b"".join(piece + b"\n" for piece in lines[:cut])
    second = b"".join(piece + b"\n" for piece in lines[cut:])
    with mock.patch.object(batch_module, "FLUSH_EVENTS", flush), mock.patch.object(encoder_module, "TIME_CHUNK", chunk):
        store.append(parse_lines(first, 0, 0, True, encoder), 0, 0)
        store.append(parse_lines(second, len(first), 0, True, encoder), 0, cut)
    assert len(store) == len(values)
    for row, value in enumerate(values):
        latency = plain_latency(value)
        assert int(store.column("latency")[row]) == (-1 if latency is None else latency)
        stage = value.get("stageTimestamp")  # the stage time, or the received time without one
        expected = plain_nanos(stage) if stage else plain_nanos(value.get("requestReceivedTimestamp"))
        assert int(store.column("time")[row]) == (expected or 0)
        assert store.value(row, "auditid") == value.get("auditID", "")
