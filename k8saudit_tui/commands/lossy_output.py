"""The `evaluate` output of an event whose format lost fields the policy reads (policy/lossy.py):
the keys of a raw event's line, null where undecided, and `unknown` naming them.

Why its own module: `evaluate.py`'s hot loop serialises one suffix per (rule, stage, level) for
raw events; a lossy event's suffix depends on every possible verdict, so it is built here, and the
raw path stays as it was.
"""

from __future__ import annotations

import orjson

from k8saudit_tui.engine.logs.event import EventFields
from k8saudit_tui.engine.policy.lossy import UNKNOWN, Outcome


def lossy_suffix(got: Outcome, event: EventFields) -> bytes:
    """Everything after auditID for `event` decided as `got`: rule, level, omitted and
    omitManagedFields null where `got` leaves them undecided, listed in `unknown` (absent when
    every one is known: then the line is a raw event's line)."""
    written = got.written(event.stage)
    managed = {verdict.omit_managed_fields for verdict in got.verdicts}
    fields: dict[str, object] = {
        "stage": event.stage,
        "rule": None if got.rule == UNKNOWN else got.rule,
        "level": None if got.level == UNKNOWN else got.level,
        "omitted": None if written is None else not written,
        "omitManagedFields": managed.pop() if len(managed) == 1 else None,
        "recordedLevel": event.level,
    }
    unknown = [
        name
        for name, undecided in (
            ("rule", got.rule == UNKNOWN),
            ("level", got.level == UNKNOWN),
            ("omitted", written is None),
            ("omitManagedFields", fields["omitManagedFields"] is None),
        )
        if undecided
    ]
    if unknown:
        fields["unknown"] = unknown
    return b"," + orjson.dumps(fields)[1:] + b"\n"
