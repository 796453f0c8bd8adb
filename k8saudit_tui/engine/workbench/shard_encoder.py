"""The Encoder a report shard parses with: the store's columns that the report reads, the rest left blank.

Contract: `ShardEncoder` is an `Encoder` (logs/encoder.py) whose batches hold, for every column the
report reads (verb, stage, recorded level, user and groups, objectRef fields, API group, request
URI, impersonated user, status code, stage time, and the attributes code built from them), exactly
the codes and values the full Encoder gives (property-tested: tests/test_shard_encoder.py), and
blanks for the columns no part of the report reads: user agent and source IP (""), annotations
(the empty set), auditID (no ID) and latency (unknown). A store loaded through it must only be read
by the report (`shards.read_shard`): its explorer columns are empty.

Why: a report shard loads a store of its own only to count verdicts, groups and bytes, and these
columns (packing auditIDs, decoding annotations, parsing the second timestamp of the latency,
coding user agents and addresses) took 18% of a shard's parsing (200k events, alternated runs)
for nothing a report shows. The kept columns are pulled out by the same getters and the same
`_Codes` dictionaries as the full Encoder's, so what the report reads cannot differ.
"""

from __future__ import annotations

from itertools import repeat
from operator import is_not
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs import encoder as full
from k8saudit_tui.engine.logs.attributes import records_user
from k8saudit_tui.engine.logs.auditid_keys import KEY_DTYPE
from k8saudit_tui.engine.logs.columns import LATENCY_UNKNOWN
from k8saudit_tui.engine.logs.event import EventFields
from k8saudit_tui.engine.logs.timestamps import parse_times

BLANK_COLUMNS = ("ua", "ip", "annotations", "auditid", "latency")
"""Columns a ShardEncoder leaves blank: no part of the report reads them."""

_KEPT_FIELDS = {name: getter for name, getter in full._FIELDS.items() if name not in BLANK_COLUMNS}


class ShardEncoder(full.Encoder):
    """An Encoder for a report shard's store (module docstring): same codes for what the report
    reads, blanks for the rest."""

    def extract(self, events: list[EventFields]) -> dict[str, Any]:
        """`Encoder.extract` without the blank columns (their codes are those of "" / no value)."""
        n = len(events)
        columns = self.columns
        part: dict[str, Any] = {}
        for name, getter in _KEPT_FIELDS.items():
            part[name] = columns[name].encode(map(getter, events), n)
        users = list(map(full._USER, events))
        if None in users:
            users = [full._NO_USER if user is None else user for user in users]
        names = list(map(full._USERNAME, users))
        part["user"] = columns["user"].encode(names, n)
        if "" in names:  # E2: a user without a name is present when it records anything else
            part["present"] = np.fromiter(map(records_user, users), bool, n)
        else:
            part["present"] = np.ones(n, bool)
        groups = list(map(full._GROUPS, users))
        if None in groups:
            groups = [group or () for group in groups]
        part["group"] = self.groups.encode(map(tuple, groups), n)
        refs = list(map(full._REF, events))
        hasref = np.fromiter(map(is_not, refs, repeat(None)), bool, n)
        if not hasref.all():
            refs = [full._NO_REF if ref is None else ref for ref in refs]
        part["hasref"] = hasref
        for name, getter in full._REF_FIELDS.items():
            part[name] = columns[name].encode(map(getter, refs), n)
        part["apigroup"] = columns["apigroup"].encode(full._api_groups(events, refs), n)
        part["impersonated"] = self._impersonated(events, n)
        stamps = list(map(full._STAGE_TIME, events))
        if "" in stamps:
            recorded = [stamp or event.recorded_stage_time for stamp, event in zip(stamps, events)]
            stamps = [stamp or event.received_time for stamp, event in zip(recorded, events)]
        part["time"] = parse_times(stamps)
        part["code"] = full._status_codes(events, n)
        part["ua"] = np.full(n, columns["ua"][""], np.int32)
        part["ip"] = np.full(n, columns["ip"][""], np.int32)
        part["annotations"] = np.full(n, self.annotations[()], np.int32)
        part["latency"] = np.full(n, LATENCY_UNKNOWN, np.int64)
        part["auditid"], part["other_auditids"] = np.zeros(n, KEY_DTYPE), {}
        part["count"] = n
        return part
