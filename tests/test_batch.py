"""The chunk parser: block decoding equals line-by-line decoding, encoder streams across batches."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from k8saudit_tui.engine.logs import encoder as encoder_module
from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.batch import BLOCK_LINES, Encoder, parse_lines
from k8saudit_tui.engine.logs.event import decode_event
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.store import COLUMNS, EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines


def varied_events(count: int, seed: int = 7) -> list[bytes]:
    """Events over many users, verbs, resources, names and URIs (plus non-resource requests)."""
    pick = random.Random(seed)
    lines = []
    for n in range(count):
        if pick.random() < 0.1:
            value = event(n, user=f"u{pick.randrange(50)}", resource=None, uri=f"/healthz?x={pick.randrange(9)}")
            value.pop("objectRef", None)
        else:
            value = event(
                n,
                user=f"u{pick.randrange(50)}",
                groups=tuple(f"g{g}" for g in range(pick.randrange(3))),
                verb=pick.choice(["get", "list", "create", "update", "delete"]),
                resource=pick.choice(["pods", "secrets", "leases", "deployments"]),
                subresource=pick.choice(["", "", "status", "log"]),
                namespace=f"ns{pick.randrange(20)}",
                name=f"obj-{pick.randrange(400)}",
                code=pick.choice([200, 201, 404, 409]),
            )
        lines.append(line(value))
    return lines


def rows_of(store: EventStore) -> list[tuple[object, ...]]:
    names = [name for name in COLUMNS if name not in ("rule", "level", "omitted")]
    return [(*tuple(store.value(row, name) for name in names), store.attributes(row)) for row in range(len(store))]


def test_block_decoding_equals_line_by_line_decoding() -> None:
    """Every row of a chunk (fast blocks and line-by-line blocks mixed) has the values and the
    RequestAttributes that decode_event + request_attributes give for its line."""
    lines = varied_events(3 * BLOCK_LINES)
    lines[BLOCK_LINES + 5] = b"host-a " + lines[BLOCK_LINES + 5]  # a prefixed line: its block goes slow
    lines[2 * BLOCK_LINES + 9] = b"not json at all"
    batch = parse_lines(b"\n".join(lines) + b"\n", 0, 0, True)
    store = EventStore()
    store.add_file("x", "/nonexistent")
    store.append(batch, 0, 0)
    assert len(store) == len(lines) - 1 and len(store.problems) == 1
    good = [piece for number, piece in enumerate(lines) if number != 2 * BLOCK_LINES + 9]
    for row, piece in enumerate(good):
        decoded = decode_event(piece[piece.find(b"{") :])
        assert store.attributes(row) == request_attributes(decoded)
        assert store.value(row, "verb") == decoded.verb
        assert store.value(row, "uri") == decoded.requestURI
        assert store.value(row, "name") == (decoded.objectRef.name if decoded.objectRef else "")


@pytest.mark.parametrize(
    "odd",
    [
        b' {"kind":"Event","stage":"ResponseComplete","verb":"get","requestURI":"/x"}',  # leading space
        b'{"kind":"Event","stage":"ResponseComplete","verb":"","requestURI":"/x"}',  # no verb, has URI
        b'{"kind":"Other","stage":"ResponseComplete","verb":"get","requestURI":"/x"}',
        b'{"kind":"Event","stage":"Bogus","verb":"get","requestURI":"/x"}',
        b"{}",
    ],
)
def test_an_odd_line_in_a_block_is_read_as_the_line_path_reads_it(odd: bytes) -> None:
    lines = varied_events(BLOCK_LINES)
    lines[17] = odd
    batch = parse_lines(b"\n".join(lines) + b"\n", 0, 0, True)
    alone = parse_lines(odd + b"\n", 0, 0, True)
    assert batch.count == BLOCK_LINES - 1 + alone.count
    assert [(line + 17, *rest) for line, *rest in alone.problems] == [tuple(p) for p in batch.problems]
    if alone.count:
        start = sum(len(piece) + 1 for piece in lines[:17])
        row = 17
        assert (int(batch.offset[row]), int(batch.length[row])) == (start + int(alone.offset[0]), int(alone.length[0]))


def test_out_of_range_status_code_is_no_code_not_a_crash() -> None:
    lines = [line(event(1, code=70000)), line(event(2, code=404)), line(event(3, code=-5))]
    batch = parse_lines(b"\n".join(lines) + b"\n", 0, 0, True)
    assert batch.code.tolist() == [0, 404, 0]


def test_a_persistent_encoder_ships_only_new_values(tmp_path: Path) -> None:
    first = [line(event(n, user="alice", verb="get")) for n in range(5)]
    second = [line(event(n, user="alice", verb="get")) for n in range(5, 8)] + [line(event(9, user="bob"))]
    encoder = Encoder()
    one = parse_lines(b"\n".join(first) + b"\n", 0, 0, True, encoder)
    two = parse_lines(b"\n".join(second) + b"\n", 0, 0, True, encoder)
    assert one.stream == two.stream != 0
    assert one.values["user"] == ["alice"] and two.values["user"] == ["bob"]
    assert two.bases["user"] == 1 and two.codes["user"].tolist() == [0, 0, 0, 1]
    assert two.values["verb"] == []  # already shipped
    store = EventStore()
    store.add_file("x", "/nonexistent")
    store.append(one, 0, 0)
    store.append(two, 0, 5)
    assert [store.value(row, "user") for row in range(len(store))] == ["alice"] * 8 + ["bob"]


def test_a_batch_out_of_stream_order_is_refused() -> None:
    encoder = Encoder()
    parse_lines(line(event(1, user="alice")) + b"\n", 0, 0, True, encoder)
    later = parse_lines(line(event(2, user="bob")) + b"\n", 0, 0, True, encoder)
    store = EventStore()
    store.add_file("x", "/nonexistent")
    with pytest.raises(RuntimeError, match="out of order"):
        store.append(later, 0, 0)


def test_an_encoder_past_its_limit_starts_a_new_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_module, "ENCODER_LIMIT", 20)
    encoder = Encoder()
    store = EventStore()
    store.add_file("x", "/nonexistent")
    streams = []
    expected = []
    for chunk in range(4):
        lines = [line(event(n, user=f"user-{chunk}-{n}")) for n in range(15)]
        batch = parse_lines(b"\n".join(lines) + b"\n", 0, 0, True, encoder)
        streams.append((batch.stream, batch.retired))
        store.append(batch, 0, chunk * 15)
        expected += [f"user-{chunk}-{n}" for n in range(15)]
    assert streams[1][0] != streams[0][0] and streams[1][1] == streams[0][0]
    assert [store.value(row, "user") for row in range(len(store))] == expected
    assert store.parser_streams == 1  # retired tables were dropped


def test_worker_streams_give_the_same_store_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several tasks per worker (small tasks) so that worker streams span batches."""
    from k8saudit_tui.engine.logs import split

    log = write_lines(tmp_path / "audit.log", varied_events(6000))
    one = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    monkeypatch.setattr(split, "TASK_BYTES", 64 << 10)
    monkeypatch.setattr(split, "IN_PROCESS_BYTES", 0)
    pooled = StoreLoader(expand_sources([str(log)]), workers=2).load_all()
    assert rows_of(pooled) == rows_of(one)
    assert set(pooled.values("attr")) == set(one.values("attr"))  # interned once each, in any order
    assert len(pooled.values("attr")) == len(one.values("attr"))


def test_eventlist_items_and_prefixed_lines_keep_their_bytes(tmp_path: Path) -> None:
    items = {"kind": "EventList", "items": [event(1, user="x"), event(2, user="y")]}
    lines = [orjson.dumps(items), b"host " + line(event(3, user="z")), *varied_events(BLOCK_LINES)]
    log = write_lines(tmp_path / "audit.log", lines)
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    assert [store.value(row, "user") for row in range(3)] == ["x", "y", "z"]
    assert orjson.loads(store.raw(2))["user"]["username"] == "z"
    assert orjson.loads(store.raw(0))["user"]["username"] == "x"
