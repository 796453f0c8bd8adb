"""Dictionary encoding of decoded events into a Batch's columns, shared across a parser's chunks.

An `Encoder` turns lists of `EventFields` into int32 codes per column with C-level passes (each
string hashed once, no per-event tuple), keeps its dictionaries across the batches of one parser
(a *stream*) so a value is shipped to the store once, and codes the RequestAttributes of each
distinct combination of the column codes that decide them (`stream_attributes.py`, held to
`attributes.request_attributes` by a property test, so the store's "attr" column agrees with what
`attributes.py` decides, E1-E10).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from itertools import chain, repeat
from operator import attrgetter, is_not, itemgetter
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.logs.annotations import RawAnnotationCodes
from k8saudit_tui.engine.logs.attributes import records_user
from k8saudit_tui.engine.logs.columns import (
    CODED_COLUMNS,
    LATENCY_UNKNOWN,
    SET_COLUMNS,
    STRING_COLUMNS,
    Batch,
)
from k8saudit_tui.engine.logs.event import EventFields, ObjectRef, ResponseStatus, UserInfo
from k8saudit_tui.engine.logs.stream_attributes import StreamAttributes
from k8saudit_tui.engine.logs.timestamps import parse_times
from k8saudit_tui.engine.model import LEGACY_API_VERSIONS

_V1ALPHA1 = LEGACY_API_VERSIONS[1]

_USER = attrgetter("user")
_REF = attrgetter("objectRef")
_STATUS = attrgetter("responseStatus")
_IPS = attrgetter("sourceIPs")
_STAGE_TIME = attrgetter("stageTimestamp")
_RECEIVED_TIME = attrgetter("requestReceivedTimestamp")
_IMPERSONATED = attrgetter("impersonatedUser")
_ANNOTATIONS = attrgetter("annotations")
_FIELDS = {
    "verb": attrgetter("verb"),
    "stage": attrgetter("stage"),
    "recorded": attrgetter("level"),
    "ua": attrgetter("userAgent"),
    "uri": attrgetter("requestURI"),
}
_REF_FIELDS = {
    "resource": attrgetter("resource"),
    "subresource": attrgetter("subresource"),
    "ns": attrgetter("namespace"),
    "name": attrgetter("name"),
}
_NO_USER = UserInfo()
_NO_REF = ObjectRef()
_NO_STATUS = ResponseStatus()
_NO_IP = [""]

ENCODER_LIMIT = 200_000
"""Distinct values an Encoder keeps before it starts a new stream: bounds a worker's memory, which
grows ~0.35 KB a value (the values, their codes, the attributes keys). At 400,000 a worker reached
215 MB on big logs, and the two sat in the memory limit beside the store (10M events: a 1.85 GB
tree); at 200,000 a worker peaks at ~160 MB for the same CPU (measured alternately, 3M-event log:
restarting a stream re-ships ~6% more values)."""


class _Codes(dict[Any, int]):
    """value -> code, in first-seen order. A hit is one C-level dict lookup (`__getitem__` is
    dict's own); only a miss runs Python (`__missing__`), and misses are the distinct values."""

    __slots__ = ("distinct",)

    def __init__(self) -> None:
        super().__init__()
        self.distinct: list[Any] = []

    def __missing__(self, value: Any) -> int:
        code = self[value] = len(self.distinct)
        self.distinct.append(value)
        return code

    def encode(self, items: Iterable[Any], n: int) -> np.ndarray:
        """int32 codes of `n` items (new values are added)."""
        return np.fromiter(map(self.__getitem__, items), np.int32, n)


def _new_stream() -> int:
    """A random nonzero 62-bit stream id: unique across worker processes and loads."""
    return int.from_bytes(os.urandom(8), "little") >> 2 | 1


class Encoder:
    """Value -> code dictionaries shared by the successive batches of one parser (a *stream*).

    A worker keeps one Encoder for all its tasks: a value seen in an earlier batch costs one dict
    hit and is not shipped again. A batch carries its `stream` id, and per coded column the new
    values with the code of the first (`bases`); the store keeps, per stream, a table from stream
    codes to its own codes (`EventStore.append`). A one-off Encoder (`persistent=False`) starts
    afresh for every batch and ships stream id 0 (nothing kept).

    Also kept per stream: the RequestAttributes of each distinct combination of the codes that
    decide them, so they are worked out once per combination per stream.
    """

    def __init__(self, persistent: bool = True) -> None:
        self.persistent = persistent
        self.stream = _new_stream() if persistent else 0
        self.retired = 0
        self._start()

    def _start(self) -> None:
        self.columns: dict[str, _Codes] = {name: _Codes() for name in STRING_COLUMNS}
        self.groups = _Codes()
        self.annotations = _Codes()
        """Sorted `key=value` tuples -> code, through the raw JSON of each (annotations.py)."""
        self.raw_annotations = RawAnnotationCodes(self.annotations, _Codes)
        self.attrs = StreamAttributes(_Codes)
        self.sent: dict[str, int] = dict.fromkeys(CODED_COLUMNS, 0)

    def _size(self) -> int:
        sets = len(self.groups.distinct) + len(self.annotations.distinct) + len(self.raw_annotations)
        return sum(len(codes.distinct) for codes in self.columns.values()) + len(self.attrs) + sets

    def begin(self) -> None:
        """Called before each batch: a one-off Encoder, or one grown past the limit, starts afresh."""
        if not self.persistent:
            self._start()
        elif self._size() > ENCODER_LIMIT:
            self.retired, self.stream = self.stream, _new_stream()
            self._start()

    def request_columns(self, events: list[EventFields], fields: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
        """What every encoder of events extracts (a report shard's too, `ShardEncoder`): the
        string `fields` (name -> getter), the user, its presence and groups, the objectRef's
        fields, the API group, the impersonated user and the status code."""
        n = len(events)
        columns = self.columns
        part: dict[str, Any] = {}
        for name, getter in fields.items():
            part[name] = columns[name].encode(map(getter, events), n)
        users = list(map(_USER, events))
        if None in users:
            users = [_NO_USER if user is None else user for user in users]
        names = list(map(_USERNAME, users))
        part["user"] = columns["user"].encode(names, n)
        if "" in names:  # E2: a user without a name is present when it records anything else
            part["present"] = np.fromiter(map(records_user, users), bool, n)
        else:
            part["present"] = np.ones(n, bool)
        groups = list(map(_GROUPS, users))
        if None in groups:
            groups = [group or () for group in groups]
        part["group"] = self.groups.encode(map(tuple, groups), n)
        refs = list(map(_REF, events))
        hasref = np.fromiter(map(is_not, refs, repeat(None)), bool, n)
        if not hasref.all():
            refs = [_NO_REF if ref is None else ref for ref in refs]
        part["hasref"] = hasref
        for name, getter in _REF_FIELDS.items():
            part[name] = columns[name].encode(map(getter, refs), n)
        part["apigroup"] = columns["apigroup"].encode(_api_groups(events, refs), n)
        part["impersonated"] = self._impersonated(events, n)
        part["code"] = _status_codes(events, n)
        part["count"] = n
        return part

    def extract(self, events: list[EventFields]) -> dict[str, Any]:
        """Coded columns, code and has-objectRef of some events (one `_Rows` flush), and their stamps
        and auditIDs, parsed batch by batch in `finish` (`_parse_times_and_ids`)."""
        n = len(events)
        part = self.request_columns(events, _FIELDS)
        columns = self.columns
        ips = list(map(_IPS, events))
        if None in ips or [] in ips:
            ips = [address or _NO_IP for address in ips]
        part["ip"] = columns["ip"].encode(map(_FIRST, ips), n)
        part["annotations"] = self.raw_annotations.encode(list(map(_ANNOTATIONS, events)), n)
        stamps = list(map(_STAGE_TIME, events))
        staged = None
        if "" in stamps:
            recorded = [stamp or event.recorded_stage_time for stamp, event in zip(stamps, events)]
            staged = np.fromiter(map(bool, recorded), bool, n)
            stamps = [stamp or event.received_time for stamp, event in zip(recorded, events)]
        received = list(map(_RECEIVED_TIME, events))
        if "" in received:
            received = [stamp or event.received_time for stamp, event in zip(received, events)]
        part["stamps"], part["received"], part["staged"] = stamps, received, staged
        part["ids"] = list(map(_AUDITID, events))  # parsed with the times, batch by batch (finish)
        return part

    def finish(self, batch: Batch, parts: list[dict[str, Any]]) -> None:
        """Join the parts of a batch, add the attributes codes and ship the new values."""
        codes = batch.codes
        if parts:
            for name in (*STRING_COLUMNS, *SET_COLUMNS):
                codes[name] = np.concatenate([part[name] for part in parts])
            batch.code = np.concatenate([part["code"] for part in parts])
            hasref = np.concatenate([part["hasref"] for part in parts])
            present = np.concatenate([part["present"] for part in parts])
            if "time" in parts[0]:  # an encoder that parsed its own (workbench/shard_encoder.py)
                batch.time = np.concatenate([part["time"] for part in parts])
                batch.latency = np.concatenate([part["latency"] for part in parts])
                batch.auditid = np.concatenate([part["auditid"] for part in parts])
                row = 0
                for part in parts:
                    for offset, audit_id in part["other_auditids"].items():
                        batch.other_auditids[row + offset] = audit_id
                    row += part["count"]
            else:
                _parse_times_and_ids(batch, parts)
        else:
            for name in (*STRING_COLUMNS, *SET_COLUMNS):
                codes[name] = np.empty(0, np.int32)
            hasref = present = np.empty(0, bool)
        codes["attr"] = self._attributes(batch, hasref, present)
        self._ship(batch)

    def _impersonated(self, events: list[EventFields], n: int) -> np.ndarray:
        """impersonatedUser.username codes ("" when none: most events, at the cost of a count)."""
        users = list(map(_IMPERSONATED, events))
        codes = np.full(n, self.columns["impersonated"][""], np.int32)
        if users.count(None) < n:
            rows = np.flatnonzero(np.fromiter(map(is_not, users, repeat(None)), bool, n)).tolist()
            codes[rows] = self.columns["impersonated"].encode((users[row].username for row in rows), len(rows))
        return codes

    def _attributes(self, batch: Batch, hasref: np.ndarray, present: np.ndarray) -> np.ndarray:
        """A stream code per row for its RequestAttributes (stream_attributes.py)."""
        distinct: dict[str, list[Any]] = {name: codes.distinct for name, codes in self.columns.items()}
        distinct["group"] = self.groups.distinct
        return self.attrs.codes(distinct, batch.codes, hasref, present)

    def _ship(self, batch: Batch) -> None:
        """Put the values first seen in this batch (and the stream bookkeeping) into `batch`."""
        batch.stream, batch.retired, self.retired = self.stream, self.retired, 0
        vocabularies: dict[str, list[Any]] = {name: codes.distinct for name, codes in self.columns.items()}
        vocabularies["group"] = self.groups.distinct
        vocabularies["annotations"] = self.annotations.distinct
        vocabularies["attr"] = self.attrs.values  # plain tuples: they unpickle 10x faster
        for name in CODED_COLUMNS:
            sent = self.sent[name]
            batch.bases[name] = sent
            fresh = vocabularies[name][sent:]
            batch.values[name] = fresh
            self.sent[name] = len(vocabularies[name])


_USERNAME = attrgetter("username")
_GROUPS = attrgetter("groups")
_AUDITID = attrgetter("auditID")
_FIRST = itemgetter(0)


def _api_groups(events: list[EventFields], refs: list[ObjectRef]) -> list[str]:
    """objectRef.apiGroup, or for v1alpha1 events the group of objectRef.apiVersion (E10)."""
    groups = list(map(_API_GROUP, refs))
    if _V1ALPHA1 in map(_API_VERSION, events):
        for row, event in enumerate(events):
            ref = refs[row]
            if not groups[row] and event.apiVersion == _V1ALPHA1 and "/" in ref.apiVersion:
                groups[row] = ref.apiVersion.rsplit("/", 1)[0]
    return groups


_API_GROUP = attrgetter("apiGroup")
_API_VERSION = attrgetter("apiVersion")
_CODE = attrgetter("code")
_INT16_MAX = np.iinfo(np.int16).max


def _status_codes(events: list[EventFields], n: int) -> np.ndarray:
    """responseStatus.code as int16; 0 when absent or not a plausible code (outside 0..32767)."""
    statuses = list(map(_STATUS, events))
    if None in statuses:
        statuses = [_NO_STATUS if status is None else status for status in statuses]
    values = list(map(_CODE, statuses))
    try:
        wide = np.fromiter(values, np.int64, n)
    except OverflowError:
        wide = np.fromiter((v if -(2**63) <= v < 2**63 else -1 for v in values), np.int64, n)
    wide[(wide < 0) | (wide > _INT16_MAX)] = 0
    return wide.astype(np.int16)


TIME_CHUNK = 4096
"""Events whose timestamps and auditIDs are parsed in one vectorised pass. Parsed per flush (256
events), numpy's fixed cost per call made a stamp cost ~250 ns; per 4,096 events ~85 (measured,
`parse_times` alone); a whole batch at once falls out of the CPU cache again."""


def _parse_times_and_ids(batch: Batch, parts: list[dict[str, Any]]) -> None:
    """The time, latency and auditID columns of a batch, from the stamps and IDs its parts kept."""
    stamps = list(chain.from_iterable(part["stamps"] for part in parts))
    received = list(chain.from_iterable(part["received"] for part in parts))
    ids = list(chain.from_iterable(part["ids"] for part in parts))
    n = len(stamps)
    batch.time = np.empty(n, np.int64)
    batch.latency = np.empty(n, np.int64)
    batch.auditid = np.empty(n, auditid_keys.KEY_DTYPE)
    for start in range(0, n, TIME_CHUNK):
        stop = min(n, start + TIME_CHUNK)
        both = parse_times(stamps[start:stop] + received[start:stop])  # one pass for both: half the calls
        times = both[: stop - start]
        batch.time[start:stop] = times
        batch.latency[start:stop] = _latency(times, both[stop - start :])
        batch.auditid[start:stop], others = auditid_keys.pack(ids[start:stop])
        for row, audit_id in others.items():
            batch.other_auditids[start + row] = audit_id
    if any(part["staged"] is not None for part in parts):
        staged = np.concatenate(
            [np.ones(part["count"], bool) if part["staged"] is None else part["staged"] for part in parts]
        )
        batch.latency[~staged] = LATENCY_UNKNOWN


def _latency(times: np.ndarray, received: np.ndarray) -> np.ndarray:
    """stage time - received time in ns, LATENCY_UNKNOWN where either is missing or unreadable, or
    where the difference is negative or would overflow (times on both sides of 1970): not a
    latency. (Rows whose stage was not recorded are set unknown by `_parse_times_and_ids`.)"""
    latency: np.ndarray = times - received
    unknown = (times == 0) | (received == 0) | ((times ^ received) < 0) | (latency < 0)
    latency[unknown] = LATENCY_UNKNOWN
    return latency
