"""`top`'s count job on the narrow path: a field's value and the auditID read from each decoded
line, with no store, when the filter is narrow (`narrow.spec_of`) and the field is one that the
decoded event holds as the store holds it (`LABELS`).

Why: the store path (`top.count`) builds a store of every range (every column encoded, request
attributes, the filter's tables) to count one field: at 1M events `top --by user` took 10 CPU-s,
four times a streamed export deciding the same filter on the decoded lines (`narrow_job`).

Contract: `narrow_count(state, task)` gives the counts `top.count(judge, task)` gives for the same
filter and field: the same labels (the store's value of the field, as `facets._codec` labels it),
events, events without an auditID and (label, request) pairs, auditIDs keyed by `auditid_keys.pack`
as the encoder keys them. A range with a line the narrow reading leaves to the store path
(`NarrowRange.rest`: prefixed, refused, deeply nested...) or a JSON document is counted by
`top.count` whole. Like `narrow_job`, this module imports neither the query nor the store
package unless such a range comes (a worker's boot). Tested against the store's facet
(tests/test_streaming_top.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs.auditid_keys import KEY_DTYPE, KEY_WIDTH, UUID, pack, with_codes
from k8saudit_tui.engine.logs.event import EventFields
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.model import Policy
from k8saudit_tui.engine.streaming.narrow import GETTERS, Spec, narrow_range, references
from k8saudit_tui.engine.streaming.narrow_job import NarrowJudge, Read, make_state, read_bytes

PAIR = np.dtype([("value", "<i4"), ("id", "V16")])
"""A (value, request) pair whose auditID is a lower-case UUID, held as its 16 bytes: 20 bytes a
pair instead of 40 (the column's 36 characters), exact (no hash)."""


@dataclass
class Counted(Read):
    """One range's counts: per value label, events and the events without an auditID; the
    distinct (label index, auditID) pairs: UUIDs packed (`pairs`), any other ID as its text
    (`other_pairs`)."""

    labels: list[str] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    lone: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    pairs: np.ndarray = field(default_factory=lambda: np.empty(0, PAIR))
    other_pairs: list[tuple[int, str]] = field(default_factory=list)


def distinct_pairs(pairs: np.ndarray) -> np.ndarray:
    """`np.unique(pairs)` (PAIR values), in another order: five times faster, since numpy sorts a
    structured dtype by a generic comparison, and here sorts the UUID's two 64-bit halves and the
    value as numbers (a range's 60k pairs: 64 ms against 13, measured)."""
    halves = _halves(pairs)
    order = np.lexsort((pairs["value"], halves[:, 1], halves[:, 0]))
    ordered = pairs[order]
    values = ordered["value"]
    new = _new(halves[order])
    new[1:] |= values[1:] != values[:-1]
    distinct: np.ndarray = ordered[new]
    return distinct


def distinct_ids(pairs: np.ndarray) -> int:
    """How many distinct UUIDs `pairs` hold: `len(np.unique(pairs["id"]))`, as `distinct_pairs`."""
    halves = _halves(pairs)
    return int(np.count_nonzero(_new(halves[np.lexsort((halves[:, 1], halves[:, 0]))])))


def _halves(pairs: np.ndarray) -> np.ndarray:
    """The UUIDs of `pairs` as (n, 2) uint64."""
    return np.ascontiguousarray(pairs["id"]).view("<u8").reshape(-1, 2)


def _new(halves: np.ndarray) -> np.ndarray:
    """For sorted UUID halves: whether each row differs from the one before (the first does)."""
    new = np.ones(len(halves), bool)
    new[1:] = (halves[1:, 0] != halves[:-1, 0]) | (halves[1:, 1] != halves[:-1, 1])
    return new


def tally(
    read: Read, labels: list[str], local: np.ndarray, keys: np.ndarray, other_ids: Callable[[np.ndarray], list[str]]
) -> Counted:
    """The counts of selected events whose values are `labels[local]` and auditID keys `keys`
    (`other_ids(rows)`: the auditIDs of rows keyed OTHER, as text)."""
    raw = np.ascontiguousarray(keys, KEY_DTYPE).view(np.uint8).reshape(-1, KEY_WIDTH)
    kind = raw[:, 0]
    lone = kind == 0  # no auditID: a request of its own
    uuid = kind == UUID
    pairs = np.empty(int(uuid.sum()), PAIR)
    pairs["value"] = local[uuid]
    pairs["id"] = np.ascontiguousarray(raw[uuid, 1:]).view("V16").reshape(-1)
    others = np.flatnonzero(~uuid & ~lone)
    return Counted(
        read.lines,
        read.events,
        read.problems,
        labels,
        np.bincount(local, minlength=len(labels)).astype(np.int64),
        np.bincount(local[lone], minlength=len(labels)).astype(np.int64),
        distinct_pairs(pairs),
        list(zip(local[others].tolist(), other_ids(others), strict=True)),
    )


def _resources(events: list[EventFields]) -> list[str]:
    return [f"{resource}/{subresource}" if subresource else resource for resource, subresource in references(events)]


_STATUS = attrgetter("responseStatus")
_INT16_MAX = np.iinfo(np.int16).max


def _codes(events: list[EventFields]) -> list[str]:
    """responseStatus.code as the store's code column holds it: 0 when absent or not a plausible
    code (outside 0..32767, `encoder._status_codes`)."""
    codes = [0 if status is None else status.code for status in map(_STATUS, events)]
    return [str(code) if 0 <= code <= _INT16_MAX else "0" for code in codes]


LABELS: dict[str, Callable[[list[EventFields]], list[str]]] = {
    **{name: GETTERS[name] for name in ("user", "verb", "ns", "ua", "ip")},
    "resource": _resources,
    "code": _codes,
}
"""The `top` fields read on the narrow path: each event's label (`facets._codec`'s)."""

_AUDITID = attrgetter("auditID")


def _keep(name: str) -> Callable[[list[EventFields]], list[Any]]:
    labels = LABELS[name]
    return lambda events: list(zip(labels(events), map(_AUDITID, events), strict=True))


def narrow_count(state: NarrowJudge, task: Task) -> Counted:
    """The worker job: `top.count` of the range, decided on the decoded lines when it can be
    (`state.fmt` is the field's name, as a counting Judge carries it)."""
    if not task.document:
        data = read_bytes(task)
        decided = narrow_range(data, task.final, state.groups, _keep(state.fmt))
        if not decided.rest.any():
            codes: dict[str, int] = {}
            local = np.fromiter((codes.setdefault(label, len(codes)) for label, _ in decided.kept), np.int32)
            keys, others = pack([audit_id for _, audit_id in decided.kept])
            with_codes(keys, others, lambda _: 0)  # marked OTHER; `tally` compares such IDs by their text
            read = Read(len(decided.starts) - 1, decided.events)
            return tally(read, list(codes), local, keys, lambda rows: [others[row] for row in rows.tolist()])
    from k8saudit_tui.engine.streaming.top import count

    return count(state.judge(), task)


def narrow_setup(spec: Spec, text: str, policy: Policy | None, name: str) -> Any:
    """The `setup` that builds the same NarrowJudge in each worker, counting field `name`. `text`
    must compile to a filter whose `narrow.spec_of` is `spec` (`exact_text.narrow_spec` makes both)."""
    return functools.partial(make_state, spec, text, policy, None, name, False)
