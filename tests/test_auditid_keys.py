"""auditID keys (engine/logs/auditid_keys.py): the vectorised packing equals the plain one, keys
round-trip to the exact ID, equal keys mean equal IDs, and the store and `auditid:` use them."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import load
from k8saudit_tui.engine.store.codes import Dictionary

_HEX = "0123456789abcdefABCDEF-g"
canonical_ids = st.uuids().map(str)
near_uuids = st.text(alphabet=_HEX, min_size=35, max_size=37)  # mostly not canonical: wrong length or place
upper_ids = st.uuids().map(lambda u: str(u).upper())
longer_ids = st.tuples(st.uuids(), st.text(max_size=8)).map(lambda pair: f"{pair[0]}{pair[1]}")
any_ids = st.one_of(canonical_ids, near_uuids, upper_ids, longer_ids, st.text(max_size=40), st.just(""))


thirty_six = st.text(min_size=36, max_size=36)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.lists(any_ids, max_size=40), st.lists(st.one_of(canonical_ids, upper_ids, thirty_six), max_size=40))
)
def test_pack_equals_the_plain_key_and_round_trips(ids: list[str]) -> None:
    """Mixed IDs, and IDs all 36 characters long (joined and encoded at once unless one is not ASCII)."""
    others = Dictionary()
    keys, rest = auditid_keys.pack(ids)
    auditid_keys.with_codes(keys, rest, others.code)
    plain = Dictionary()
    expected = [auditid_keys.plain_key(i, plain.code) for i in ids]
    assert [key.ljust(auditid_keys.KEY_WIDTH, b"\0") for key in keys.tolist()] == expected
    assert [auditid_keys.text(key, others.values) for key in keys.tolist()] == ids
    for i, a in enumerate(ids):  # equal keys exactly when equal IDs
        for j, b in enumerate(ids):
            assert (keys[i] == keys[j]) == (a == b)


@settings(max_examples=200, deadline=None)
@given(st.lists(any_ids, max_size=40))
def test_uuid_texts_equal_the_text_of_each_key(ids: list[str]) -> None:
    """The vectorised UUID formatter (parquet export) against `text` per key; OTHER keys are flagged."""
    others = Dictionary()
    keys, rest = auditid_keys.pack(ids)
    auditid_keys.with_codes(keys, rest, others.code)
    texts, other = auditid_keys.uuid_texts(keys)
    plain = [auditid_keys.text(key, others.values) for key in keys.tolist()]
    assert other.tolist() == [row in rest for row in range(len(ids))]
    assert [t.decode() for t, o in zip(texts.tolist(), other.tolist()) if not o] == [
        p for p, o in zip(plain, other.tolist()) if not o
    ]


def test_a_canonical_uuid_is_16_bytes_and_anything_else_a_code() -> None:
    value = str(uuid.UUID(int=0xFFEE))
    keys, rest = auditid_keys.pack([value, value.upper(), "", "abc"])
    assert keys[0] == b"\x01" + uuid.UUID(int=0xFFEE).bytes and rest == {1: value.upper(), 3: "abc"}
    assert keys[2] == auditid_keys.NO_ID and keys[1] == keys[3] == b""  # until the store codes them
    assert keys.dtype.itemsize == 17


def _event(audit_id: str, n: int) -> bytes:
    return orjson.dumps(
        {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": audit_id,
            "stage": "ResponseComplete",
            "requestURI": f"/api/v1/pods/{n}",
            "verb": "get",
            "stageTimestamp": "2026-11-20T10:00:00.000000Z",
        }
    )


def test_the_store_keeps_every_id_exactly_and_filters_by_it(tmp_path: Path) -> None:
    ids = [str(uuid.UUID(int=7)), str(uuid.UUID(int=7)).upper(), "proxy-1", "", "proxy-1", "ünï", str(uuid.UUID(int=7))]
    log = tmp_path / "audit.log"
    log.write_bytes(b"\n".join(_event(i, n) for n, i in enumerate(ids)) + b"\n")
    store = load(expand_sources([str(log)]), workers=1)
    assert [store.value(row, "auditid") for row in range(len(store))] == ids
    assert store.auditid_texts(store.column("auditid")) == ids
    for value in set(ids) - {""}:
        rows = compile_filter(f"auditid:{value}").apply(store).tolist()
        assert sorted(rows) == [row for row, i in enumerate(ids) if i == value], value
    assert compile_filter("auditid:never-seen").apply(store).tolist() == []
    assert sorted(compile_filter("auditid:/^proxy/").apply(store).tolist()) == [2, 4]
    assert store.column("auditid").dtype == np.dtype("S17")
