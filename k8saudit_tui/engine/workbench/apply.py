"""One recorded event as kube-apiserver running another policy would have written it.

Why one function: `apply` writes what `apply_event` decides and the byte cost of a policy
(`cost.py`) is the length of that same decision, so "what a policy costs" can never drift from
"what the policy writes". The rules (policy-semantics.md S1, S2, S5, M14):

- the event is written when the policy's level is not None and its stage is not in the effective
  omitStages (`Verdict.emits`); otherwise nothing;
- it is written at min(the policy's level, the recorded level), its `level` field set to that;
  `requestObject` is dropped below Request, `responseObject` below RequestResponse;
- with the effective omitManagedFields, `metadata.managedFields` is dropped from the bodies the way
  upstream `audit/request.go: copyWithoutManagedFields` does: from the object itself, from every
  item of a list (a body with an `items` array) and from the object of every row of a Table; not
  from a patch's `requestObject`, which upstream logs as the raw patch (`LogRequestPatch`);
- a policy that records the request above its recorded level cannot bring back bodies that were
  never logged: the event keeps its recorded level and content and is flagged `lower_bound`. A
  recorded level that is none of Metadata, Request, RequestResponse tells nothing about what was
  kept: the policy's level is written and the event is flagged too.

An event whose level and bodies do not change is the original line's JSON byte for byte (a
`host ` prefix, a BOM and the end of line left out). A changed one is re-serialised compactly by
orjson with its keys in their original order. orjson would read an integer beyond 64 bits as a
float and refuses escaped lone surrogates, so a line with a run of 20 digits or that orjson
refuses is rewritten by the standard library's json (compact too; ASCII-escaped only when it holds
a lone surrogate). The checks for bodies
and managedFields are substring scans of the line; only a line that may change is parsed whole.
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple

import orjson

from k8saudit_tui.engine.logs.event import EventError, EventFields, decode_event_line
from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator

LEVEL_RANK: dict[str, int] = {"None": 0, "Metadata": 1, "Request": 2, "RequestResponse": 3}
"""`ordLevel` of audit/helpers.go for the four levels."""
_REQUEST = LEVEL_RANK["Request"]
_REQUEST_RESPONSE = LEVEL_RANK["RequestResponse"]
_WRITTEN_LEVELS = ("Metadata", "Request", "RequestResponse")
_BODIES = ("requestObject", "responseObject")
_BIG_INTEGER = b"0" * 19
"""Digits enough for an integer orjson may not hold exactly: beyond 2**64 (20 digits), and below
-2**63 (19 digits after the sign), which orjson reads as a float. Searched for in the line with
every ASCII digit made `0` and every other byte a space (`_DIGITS`): a translate and a find are
ten times faster than the regular expression `\\d{19}` on a body-sized line."""
_DIGITS = bytes(ord("0") if ord("0") <= byte <= ord("9") else ord(" ") for byte in range(256))


class Applied(NamedTuple):
    """What the policy's server would have written for one recorded event (a NamedTuple: one is
    made per event, and a frozen dataclass costs three times as much to build)."""

    event: EventFields
    verdict: Verdict
    line: bytes | None
    """The line written: the JSON and a newline; None when the policy writes no event for this
    stage. An unchanged event's is the input line itself when that is already just that."""
    lower_bound: bool
    """Written, but the policy records it above its recorded level: the bodies a higher level
    would add were never logged, so this event's bytes are a lower bound."""

    @property
    def size(self) -> int:
        """Bytes `apply` writes for the event: its JSON and a newline; 0 when not written."""
        return 0 if self.line is None else len(self.line)

    @property
    def text(self) -> bytes | None:
        """The JSON written, without its newline; None when not written."""
        return None if self.line is None else self.line[:-1]


def apply_line(evaluator: PolicyEvaluator, line: bytes) -> Applied:
    """The event of one log line under the evaluator's policy; raises EventError for a line that
    is not an audit Event (or, rarely, one that cannot be re-serialised)."""
    return apply_event(evaluator, decode_event_line(line), written_line(line))


def written_line(line: bytes) -> bytes:
    """The line as `apply_event` takes it: the event's JSON and a newline."""
    if line[:1] == b"{" and line[-1:] == b"\n" and line[-2:-1] != b"\r":
        return line  # the usual line: written as it is, no copy
    return event_text(line) + b"\n"


def event_text(line: bytes) -> bytes:
    """The event's JSON in a log line: without the end of line and any prefix before its `{`
    (a shipper's host name, a BOM), as `decode_event_line` reads it."""
    text = line.rstrip(b"\r\n")
    if text[:1] != b"{":
        start = text.find(b"{")
        if start > 0:
            text = text[start:]
    return text


def apply_event(evaluator: PolicyEvaluator, event: EventFields, line: bytes) -> Applied:
    """Decide the written form of `event`, decoded from `line` (its JSON and a newline)."""
    verdict = evaluator.evaluate_event(event)
    how = writing(verdict, event.stage, event.level)
    if how is None:
        return Applied(event, verdict, None, False)
    return Applied(event, verdict, written_text(how, line, event.verb == "patch"), how.lower_bound)


class Writing(NamedTuple):
    """How a verdict writes the events of one stage and recorded level: everything `apply` decides
    before looking at a line, so its hot loop decides it once per (rule, stage, recorded level)."""

    level: str
    """The level written: min(the policy's, the recorded one) (`written_level`)."""
    rank: int
    lower_bound: bool
    keeps_level: bool
    """The level written is the recorded one: the line may be kept as it is."""
    omit_managed_fields: bool


@functools.lru_cache(maxsize=4096)
def writing(verdict: Verdict, stage: str, recorded: str) -> Writing | None:
    """How `verdict` writes an event of `stage` recorded at `recorded`; None when not at all."""
    if not verdict.emits(stage):
        return None
    level, lower_bound = written_level(verdict.level, recorded)
    return Writing(level, LEVEL_RANK[level], lower_bound, level == recorded, verdict.omit_managed_fields)


def written_text(how: Writing, line: bytes, patch: bool) -> bytes:
    """The line written for an event that `how` writes (`line` itself when nothing changes).

    The substring scans for bodies and managedFields are skipped when the line holds no `O` (no
    `requestObject` / `responseObject`) or no `F` (no `managedFields`): one memchr instead of a
    scan for a word."""
    rank = how.rank
    if (
        how.keeps_level
        and (rank >= _REQUEST_RESPONSE or b"O" not in line or not _holds_body(line, rank))
        and (not how.omit_managed_fields or b"F" not in line or b'"managedFields"' not in line)
    ):
        return line
    text = line[:-1]
    written = rewrite(text, how.level, how.omit_managed_fields, patch)
    return line if written is text else written + b"\n"


def _holds_body(line: bytes, rank: int) -> bool:
    """Whether `line` may hold a body that `rank` (below RequestResponse) drops: a substring scan,
    fooled only towards a rewrite (which then finds nothing to drop)."""
    return b'"responseObject"' in line or (rank < _REQUEST and b'"requestObject"' in line)


def written_level(policy_level: str, recorded_level: str) -> tuple[str, bool]:
    """(the level written, whether it is below the policy's: a lower bound) for a written event."""
    if recorded_level not in _WRITTEN_LEVELS:
        return policy_level, True
    if LEVEL_RANK[recorded_level] < LEVEL_RANK.get(policy_level, 0):
        return recorded_level, True
    return policy_level, False


def rewrite(text: bytes, level: str, omit_managed_fields: bool, patch: bool) -> bytes:
    """`text` at `level`: bodies below it dropped, managedFields too when asked; `text` itself
    when nothing changed (the substring scans can be fooled by a string value)."""
    exact = _BIG_INTEGER not in text.translate(_DIGITS)
    if exact:
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            exact = False
    if not exact:
        event = _stdlib_loads(text)
    if not isinstance(event, dict):
        raise EventError("not a JSON object: cannot rewrite")
    changed = event.get("level") != level
    event["level"] = level
    rank = LEVEL_RANK[level]
    if rank < _REQUEST and "requestObject" in event:
        del event["requestObject"]
        changed = True
    if rank < _REQUEST_RESPONSE and "responseObject" in event:
        del event["responseObject"]
        changed = True
    if omit_managed_fields:
        for key in _BODIES:
            if key in event and not (patch and key == "requestObject"):
                changed |= strip_managed_fields(event[key])
    if not changed:
        return text
    return orjson.dumps(event) if exact else _stdlib_dumps(event)


def strip_managed_fields(body: object) -> bool:
    """Drop `metadata.managedFields` in place as upstream's copyWithoutManagedFields does: from the
    object, each list item and each Table row's object. Returns whether anything was dropped."""
    if not isinstance(body, dict):
        return False
    changed = _drop_managed_fields(body)
    items = body.get("items")
    if isinstance(items, list):
        for item in items:
            changed |= _drop_managed_fields(item)
    rows = body.get("rows")
    if body.get("kind") == "Table" and isinstance(rows, list):
        for row in rows:
            if isinstance(row, dict):
                changed |= _drop_managed_fields(row.get("object"))
    return changed


def _drop_managed_fields(value: object) -> bool:
    metadata = value.get("metadata") if isinstance(value, dict) else None
    if isinstance(metadata, dict) and "managedFields" in metadata:
        del metadata["managedFields"]
        return True
    return False


def _stdlib_loads(text: bytes) -> Any:
    """What orjson refuses but the event decoder read: integers beyond 64 bits, escaped lone
    surrogates. Deep nesting beyond the recursion limit is reported, not written."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as problem:
        raise EventError(f"cannot rewrite this event: {type(problem).__name__}") from None


def _stdlib_dumps(event: dict[str, Any]) -> bytes:
    try:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escaped, as it was read
        return json.dumps(event, separators=(",", ":"), allow_nan=False).encode("ascii")
    except (ValueError, RecursionError) as problem:
        raise EventError(f"cannot rewrite this event: {type(problem).__name__}") from None
