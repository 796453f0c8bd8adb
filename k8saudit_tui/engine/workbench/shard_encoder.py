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

from typing import Any

import numpy as np

from k8saudit_tui.engine.logs import encoder as full
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
        part = self.request_columns(events, _KEPT_FIELDS)
        stamps = list(map(full._STAGE_TIME, events))
        if "" in stamps:
            recorded = [stamp or event.recorded_stage_time for stamp, event in zip(stamps, events)]
            stamps = [stamp or event.received_time for stamp, event in zip(recorded, events)]
        part["time"] = parse_times(stamps)
        part["ua"] = np.full(n, columns["ua"][""], np.int32)
        part["ip"] = np.full(n, columns["ip"][""], np.int32)
        part["annotations"] = np.full(n, self.annotations[()], np.int32)
        part["latency"] = np.full(n, LATENCY_UNKNOWN, np.int64)
        part["auditid"], part["other_auditids"] = np.zeros(n, KEY_DTYPE), {}
        return part
