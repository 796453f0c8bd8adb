"""Decoding one audit Event line into the few fields the engine needs.

msgspec decodes only the declared fields and skips the rest (bodies can be megabytes), which is what
makes evaluating a million events cost about as much as parsing them. Type errors in the declared
fields are reported with the JSON path of the field, so a bad line names what is wrong.
"""

from __future__ import annotations

from typing import Literal

import msgspec
import orjson

from k8saudit_tui.engine.model import STAGES

NO_ANNOTATIONS = msgspec.Raw(b"")
"""`EventFields.annotations` of an event without annotations (one shared object; the store's
reading of annotations is `annotations.py`, which needs numpy: `evaluate` does not)."""


class Recorded(msgspec.Struct, gc=False):
    """A JSON object decoded only for its presence: its members are skipped unread (free)."""


class UserInfo(msgspec.Struct, omit_defaults=True, gc=False):
    """`authentication/v1 UserInfo`: the fields the policy looks at, and whether uid and extra
    are recorded (they decide whether a user is present at all, E2, but are never matched, E9).

    `extra` is decoded only for its presence (decoding its values doubled the cost of a line);
    upstream omits an empty extra, so an `"extra": {}` in a log counts as recorded.
    """

    username: str = ""
    groups: list[str] | None = None
    uid: str = ""
    extra: Recorded | None = None


class ObjectRef(msgspec.Struct, omit_defaults=True, gc=False):
    """`audit/v1 ObjectReference`; every sub-field is omitted upstream when empty (P6)."""

    resource: str = ""
    namespace: str = ""
    name: str = ""
    apiGroup: str = ""
    apiVersion: str = ""
    subresource: str = ""


class ResponseStatus(msgspec.Struct, omit_defaults=True, gc=False):
    """`metav1.Status`, reduced to its HTTP code."""

    code: int = 0


class LegacyMetadata(msgspec.Struct, omit_defaults=True, gc=False):
    """v1beta1 Events carry their stage time as `metadata.creationTimestamp` (E10)."""

    creationTimestamp: str | None = None


class EventFields(msgspec.Struct, omit_defaults=True, gc=False):
    """The fields of an audit Event (any of v1, v1beta1, v1alpha1) that the engine uses."""

    kind: str | None = None
    apiVersion: str | None = None
    level: str = ""
    auditID: str = ""
    stage: str = ""
    requestURI: str = ""
    verb: str = ""
    user: UserInfo | None = None
    impersonatedUser: UserInfo | None = None
    sourceIPs: list[str] | None = None
    userAgent: str = ""
    objectRef: ObjectRef | None = None
    responseStatus: ResponseStatus | None = None
    requestReceivedTimestamp: str = ""
    stageTimestamp: str = ""
    timestamp: str = ""
    metadata: LegacyMetadata | None = None
    annotations: msgspec.Raw = NO_ANNOTATIONS
    """Kept raw (no per-event strings): each distinct one is decoded once (`annotations.py`)."""

    @property
    def received_time(self) -> str:
        """requestReceivedTimestamp, or v1beta1's `timestamp` (E10)."""
        return self.requestReceivedTimestamp or self.timestamp

    @property
    def recorded_stage_time(self) -> str:
        """stageTimestamp, or v1beta1's `metadata.creationTimestamp` (E10); "" when neither."""
        if self.stageTimestamp:
            return self.stageTimestamp
        if self.metadata is not None and self.metadata.creationTimestamp:
            return self.metadata.creationTimestamp
        return ""

    @property
    def stage_time(self) -> str:
        """The recorded stage time, or the received time for an event without one."""
        return self.recorded_stage_time or self.received_time


class EventRow(EventFields, omit_defaults=True, gc=False):
    """EventFields for the store's block decoder (batch.py): the same fields and defaults, with
    kind, apiVersion, level and stage typed as the values audit logs write (Literals).

    Contract: a line EventRow decodes, EventFields decodes to equal values (each type here is a
    subset of EventFields' type, the defaults are the same, so a repeated key must be valid in
    both); a line it refuses goes to `decode_event`, line by line, which reads or refuses it as
    ever. So the fast path may only be stricter, never laxer. Why: a Literal decodes to one
    shared string, so these four strings are not built, hashed and freed per event, and the
    decoder itself refuses an unknown kind or stage (~0.09 us an event; tests/test_event.py
    holds the Literals to LEVELS, STAGES and the API versions)."""

    kind: Literal["Event"] | None = None
    apiVersion: Literal["audit.k8s.io/v1", "audit.k8s.io/v1beta1", "audit.k8s.io/v1alpha1"] | None = None
    level: Literal["None", "Metadata", "Request", "RequestResponse"] = ""  # type: ignore[assignment]
    stage: Literal["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"] = ""  # type: ignore[assignment]


class EventError(ValueError):
    """A line that is not a readable audit Event; `field` names the offending field if known."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


_DECODER = msgspec.json.Decoder(EventFields)


def decode_event(line: bytes | str) -> EventFields:
    """Decode one JSON line into `EventFields`, or raise `EventError` saying what is wrong.

    A JSON object is an Event when its `kind` is `Event` or absent (some real logs omit
    `apiVersion` and `kind`) and it carries a known `stage` and a `verb` or `requestURI`.
    """
    try:
        event = _DECODER.decode(line)
    except msgspec.ValidationError as error:
        raise _validation_error(error) from None
    except msgspec.DecodeError as error:
        raise EventError(_decode_message(line, error)) from None
    except UnicodeDecodeError as error:
        raise EventError(f"invalid UTF-8 at byte {error.start}") from None
    except RecursionError:
        event = _decode_deeply_nested(line)
    check_event(event)
    return event


def decode_event_line(line: bytes) -> EventFields:
    """Like `decode_event`, but also reads a line with a text prefix (`host {...}`) or a BOM.

    Shippers prefix lines with a host name or a timestamp; the first `{` starts the Event then.
    The prefix is only tried when the plain decode fails, so normal lines pay nothing.
    """
    try:
        return decode_event(line)
    except EventError:
        start = line.find(b"{")
        if start <= 0 or not line.rstrip().endswith(b"}"):
            raise
        return decode_event(line[start:])


def convert_event(data: object) -> EventFields:
    """Build `EventFields` from an already parsed JSON value (an EventList item, a test dict)."""
    annotations: object = None
    if isinstance(data, dict) and "annotations" in data:  # `convert` cannot make a Raw: encode it
        data = dict(data)
        annotations = data.pop("annotations")
    try:
        event = msgspec.convert(data, EventFields)
    except msgspec.ValidationError as error:
        raise _validation_error(error) from None
    check_event(event)
    if annotations is not None:
        try:
            event.annotations = msgspec.Raw(msgspec.json.encode(annotations))
        except (msgspec.EncodeError, TypeError, OverflowError):
            pass  # not JSON-encodable: no annotations, like any unreadable annotations
    return event


def check_event(event: EventFields) -> None:
    """Refuse JSON objects that decode but are not audit Events (a Struct decoder accepts `{}`)."""
    if event.kind not in (None, "Event"):
        raise EventError(f"not an audit Event (kind {event.kind!r})", "kind")
    if not event.stage:
        raise EventError("missing: not an audit Event", "stage")
    if event.stage not in STAGES:
        raise EventError(f"unknown stage {event.stage!r}", "stage")
    if not event.verb and not event.requestURI:
        raise EventError("missing (and no verb): not an audit Event", "requestURI")


_WANTED_KEYS = frozenset(f'"{name}"'.encode() for name in EventFields.__struct_fields__)


def _decode_deeply_nested(line: bytes | str) -> EventFields:
    """Decode an Event whose body nests deeper than the decoders recurse (a valid, hostile event).

    Only the top-level values we need are decoded (they are shallow); the deep bodies are skipped
    by a scanner that counts brackets instead of recursing.
    """
    data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    fields: list[bytes] = []
    for key, value in _top_level_members(data):
        if key in _WANTED_KEYS:
            fields.append(key + b":" + value)
    try:
        return _DECODER.decode(b"{" + b",".join(fields) + b"}")
    except RecursionError:
        raise EventError("nested too deeply to read") from None
    except msgspec.ValidationError as error:
        raise _validation_error(error) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise EventError("invalid JSON in a deeply nested event") from None


def _top_level_members(data: bytes) -> list[tuple[bytes, bytes]]:
    """(key, raw value) of each member of the top-level JSON object, found without recursion."""
    members: list[tuple[bytes, bytes]] = []
    depth, index, key_start, value_start = 0, 0, -1, -1
    key = b""
    length = len(data)
    while index < length:
        char = data[index]
        if char == 0x22:  # a string: jump to its closing quote
            end = index + 1
            while True:
                end = data.find(b'"', end)
                if end < 0:
                    raise EventError("truncated JSON (line cut short)")
                backslashes = 0
                while data[end - 1 - backslashes] == 0x5C:
                    backslashes += 1
                if backslashes % 2 == 0:
                    break
                end += 1
            if depth == 1 and key_start < 0 and value_start < 0:
                key = data[index : end + 1]
                key_start = index
            index = end + 1
            continue
        if char in b"{[":
            depth += 1
        elif char in b"}]":
            depth -= 1
            if depth == 0 and value_start >= 0:
                members.append((key, data[value_start:index].strip()))
                value_start = -1
        elif depth == 1 and char == 0x3A:  # ':' after a key
            value_start = index + 1
        elif depth == 1 and char == 0x2C and value_start >= 0:  # ',' ends a member
            members.append((key, data[value_start:index].strip()))
            key_start, value_start = -1, -1
        index += 1
    if depth != 0:
        raise EventError("truncated JSON (line cut short)")
    return members


def _validation_error(error: msgspec.ValidationError) -> EventError:
    """Turn msgspec's `Expected `str`, got `int` - at `$.user.username`` into field + message."""
    text = str(error)
    message, _, path = text.partition(" - at `")
    field = path.rstrip("`").removeprefix("$").lstrip(".")
    if message.startswith("Expected `object`") and not field:
        return EventError("not a JSON object")
    return EventError(message.replace("`", ""), field)


def _decode_message(line: bytes | str, error: msgspec.DecodeError) -> str:
    """Say why a line is not JSON; orjson's messages carry a position, so ask it on this slow path."""
    data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    if "truncated" in str(error).lower() and not data.rstrip().endswith((b"}", b"]")):
        return "truncated JSON (line cut short)"
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as orjson_error:
        return f"invalid JSON: {orjson_error}"
    return f"invalid JSON: {error}"
