"""The store's column arrays (engine/store/arrays.py): narrow codes widened before they are cut,
capacity reserved ahead without losing rows, checked against plain lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.engine.store.arrays import code_dtype, reserve, widen
from k8saudit_tui.engine.store.codes import Dictionary

_CANDIDATES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int32))


@given(st.integers(0, 1 << 24))
def test_code_dtype_is_the_narrowest_that_holds_every_code_and_the_size(values: int) -> None:
    dtype = code_dtype(values)
    fitting = [d for d in _CANDIDATES if np.iinfo(d).max >= values]
    assert dtype == fitting[0]


_steps = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(st.integers(0, 70_000), max_size=300)),
        st.tuples(st.just("reserve"), st.integers(0, 5000)),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(_steps)
def test_reserve_and_widen_keep_every_row_as_a_plain_list_does(steps: list[tuple[str, Any]]) -> None:
    arrays: dict[str, np.ndarray] = {}
    dtypes: dict[str, Any] = {"codes": np.uint8, "time": np.int64}
    plain: list[int] = []
    capacity = 0
    for action, argument in steps:
        if action == "reserve":
            capacity = reserve(arrays, dtypes, len(plain), capacity, argument)
            continue
        rows = len(plain)
        capacity = reserve(arrays, dtypes, rows, capacity, rows + len(argument))
        widen(arrays, dtypes, "codes", max(argument, default=-1) + 1, rows)  # the dictionary's size now
        arrays["codes"][rows : rows + len(argument)] = argument
        arrays["time"][rows : rows + len(argument)] = argument
        plain.extend(argument)
        assert arrays["codes"].dtype == np.dtype(dtypes["codes"])
    n = len(plain)
    if arrays:
        assert arrays["codes"][:n].tolist() == plain and arrays["time"][:n].tolist() == plain
        assert len(arrays["codes"]) == len(arrays["time"]) == capacity >= n


def _event(user: str, n: int) -> bytes:
    return orjson.dumps(
        {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": f"id-{n}",
            "stage": "ResponseComplete",
            "requestURI": "/api/v1/pods",
            "verb": "list",
            "user": {"username": user},
            "stageTimestamp": "2026-11-20T10:00:00.000000Z",
        }
    )


def test_a_column_is_widened_when_its_dictionary_outgrows_a_byte(tmp_path: Path) -> None:
    """Rows already stored as one-byte codes keep their values when the column widens."""
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(b"".join(_event(f"user-{n % 7}", n) + b"\n" for n in range(50)))
    second.write_bytes(b"".join(_event(f"other-{n}", n) + b"\n" for n in range(400)))
    store = EventStore()
    store.reserve(10)  # far too few: the loader's estimate may be wrong, appends must still fit
    StoreLoader(expand_sources([str(first), str(second)]), workers=1, store=store).load_all()
    expected = [f"user-{n % 7}" for n in range(50)] + [f"other-{n}" for n in range(400)]
    assert [store.value(row, "user") for row in range(len(store))] == expected
    assert store.column("user").dtype == np.uint16 and store.column("verb").dtype == np.uint8


@given(st.lists(st.lists(st.text(alphabet="abc", max_size=3), max_size=20), max_size=6))
def test_remap_looks_up_known_values_first_and_equals_coding_each_value(batches: list[list[str]]) -> None:
    """Dictionary.remap (one dict.get pass, then `code` for the misses) against `code` per value."""
    fast, plain = Dictionary(), Dictionary()
    for values in batches:
        assert fast.remap(values).tolist() == [plain.code(value) for value in values]
    assert fast.values == plain.values and fast.index == plain.index


def test_an_array_wider_than_its_recorded_dtype_is_never_narrowed() -> None:
    """Arrays restored from elsewhere (a cache of the arrays dict) keep their own dtype when grown."""
    arrays = {"codes": np.array([70_000, 1], np.int32)}
    dtypes: dict[str, Any] = {"codes": np.uint8}
    capacity = reserve(arrays, dtypes, 2, 2, 5000)
    widen(arrays, dtypes, "codes", 3, 2)
    assert capacity >= 5000 and arrays["codes"].dtype == np.int32 and arrays["codes"][:2].tolist() == [70_000, 1]


def test_rows_reserved_from_a_misleading_first_batch_still_hold_every_event(tmp_path: Path) -> None:
    """The loader reserves rows from the first 1,000 lines' bytes an event: long first lines make
    it reserve too few (the arrays then grow), short ones too many (capacity never written)."""
    for first_padding, rest_padding in ((3000, 0), (0, 3000)):
        lines = [
            orjson.dumps(
                {
                    **orjson.loads(_event(f"user-{n % 300}", n)),
                    "pad": "x" * (first_padding if n < 1000 else rest_padding),
                }
            )
            for n in range(2500)
        ]
        log = tmp_path / f"log-{first_padding}.log"
        log.write_bytes(b"\n".join(lines) + b"\n")
        store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
        assert len(store) == 2500
        assert [store.value(row, "auditid") for row in range(2500)] == [f"id-{n}" for n in range(2500)]
        assert [store.value(row, "user") for row in range(0, 2500, 7)] == [f"user-{n % 300}" for n in range(0, 2500, 7)]
