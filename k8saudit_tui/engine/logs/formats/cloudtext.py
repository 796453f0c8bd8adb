"""The Event text a cloud envelope carries (a CloudWatch `message`, an AKS `properties.log`, a
`log_s`): accepted byte for byte, or a `Damaged` saying why not. Shared by `eks` and `aks`.

Contract:
- `unwrap_value(value, line, format, field)` gives one `Unwrapped` or `Damaged`, never raises. A
  string is the Event's own text (one trailing newline removed) and is kept byte for byte (UTF-8);
  an object (console copies, Elastic's Event Hub record) is serialised with orjson, and so is an
  Event text spread over several lines (the reader's spool holds one Event per line).
- `fast_texts(texts)` is the same decision over a block of strings, with C-level passes for the
  common case; it gives the same bytes as `unwrap_value` per text, or None as soon as one text would
  be `Damaged` (the caller then goes record by record and gets the reasons).
- `record_by_record(pieces, unwrap_mine)` is the fast paths' fallback for a block their decoder
  cannot take whole: the events of every line and how many each gave (`Events`), or None when
  one is not the module's or is damaged.

Why two levels of checking: a one-line text that starts like the apiserver writes every Event
(`{"kind":"Event","apiVersion":"audit.k8s.io/`) and ends in `}` is accepted without parsing it
here, because the Event parser reads it next and reports any fault in it with its field; parsing
it twice would double the cost of a million-event envelope. Any other text (another key order,
v1beta1, klog text, a cut message) is parsed here with the Event parser (`decode_event`) so the
reason names the field, and a cut message gets its auditID, verb and URI recovered by regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import repeat

import orjson

from k8saudit_tui.engine.logs.event import EventError, decode_event
from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped
from k8saudit_tui.engine.textsafe import visible

EVENT_PREFIX = '{"kind":"Event","apiVersion":"audit.k8s.io/'
"""How kube-apiserver's JSON serialiser starts every Event: the fast path's sign of a whole Event."""

CLOUDWATCH_CUT = "[Truncated...]"
"""What CloudWatch Logs appends to a message it cut at its event size limit (invalid JSON then)."""

SNIPPET = 200
"""Characters of an unreadable text quoted in a reason (the reader's 'first 200 bytes' rule)."""

_AUDIT_ID = re.compile(r'"auditID"\s*:\s*"([^"\\]{1,200})"')
_VERB = re.compile(r'"verb"\s*:\s*"([^"\\]{1,50})"')
_URI = re.compile(r'"requestURI"\s*:\s*"((?:[^"\\]|\\.){1,400})"')


def strip_newline(text: str) -> str:
    """The Event text without the newline the log backend wrote after it (AKS keeps it)."""
    return text.removesuffix("\n")


def snippet(text: str) -> str:
    """The first characters of an unreadable text, safe to print (control characters escaped)."""
    cut = text[:SNIPPET]
    return visible(cut) + ("..." if len(text) > SNIPPET else "")


def recovered(text: str) -> str:
    """`auditID X, verb V, requestURI U` from a text that is not whole JSON, as far as found.

    The apiserver writes these three keys before the bodies, so a message cut in a body still
    has them; the first occurrence is the Event's own (bodies come later)."""
    found: list[str] = []
    for name, pattern in (("auditID", _AUDIT_ID), ("verb", _VERB), ("requestURI", _URI)):
        match = pattern.search(text)
        if match is None:
            continue
        value = match.group(1)
        if name == "requestURI":
            try:
                value = str(orjson.loads(f'"{value}"'))
            except orjson.JSONDecodeError:
                pass  # a malformed escape: show it as written
        found.append(f"{name} {visible(value)}")
    return ", ".join(found)


def text_problem(text: str) -> str | None:
    """Why `text` (newline already removed) is not an audit Event, or None when it is one.

    Texts that start like the apiserver's Events, end in `}` and are one line are taken unparsed
    (see the module docstring); every other text is parsed with the Event parser."""
    if is_apiserver_line(text):
        return None
    if text.endswith(CLOUDWATCH_CUT):
        return with_ids(f"cut by CloudWatch at its event size limit (ends in {CLOUDWATCH_CUT})", text)
    if not text.lstrip().startswith("{"):
        if not text.strip():
            return "empty: no Event"
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return f"not an audit Event (not JSON): {snippet(text)}"
        return f"holds a JSON {_json_type(value)}, not an audit Event: {snippet(text)}"
    try:
        decode_event(text)
    except EventError as error:
        if error.field:
            return f"JSON but not an audit Event: {error.field}: {error.message}"
        return with_ids(f"not an audit Event: {error.message}", text)
    except (RecursionError, ValueError) as error:  # the parser's own guards failing: still no raise
        return f"not an audit Event: {error}"
    return None


def with_ids(reason: str, text: str) -> str:
    """`reason`, followed by the auditID, verb and URI `recovered` from `text` when any is found."""
    ids = recovered(text)
    return f"{reason}; {ids}" if ids else reason


def is_apiserver_line(text: str) -> bool:
    """Does `text` look like one Event line as kube-apiserver writes it (the unparsed fast case)?"""
    return text.startswith(EVENT_PREFIX) and text.endswith("}") and "\n" not in text


def unwrap_text(text: str, line: int, format: str, field: str) -> Unwrapped | Damaged:
    """One Event text taken byte for byte, or why it is not one (`field` names where it was).

    An Event text with line breaks inside (pretty-printed JSON in a message) cannot be one line
    of the reader's spool: it is re-serialised on one line with orjson (key order kept)."""
    text = strip_newline(text)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        return Damaged(line, field, f"not valid Unicode (lone surrogate at character {error.start})")
    problem = text_problem(text)
    if problem is not None:
        return Damaged(line, field, problem)
    if b"\n" in data:
        try:
            data = orjson.dumps(orjson.loads(data))
        except (orjson.JSONDecodeError, orjson.JSONEncodeError) as error:
            return Damaged(line, field, f"an Event on several lines that cannot be put on one: {error}")
    return Unwrapped(data, format, line)


def unwrap_value(value: object, line: int, format: str, field: str) -> Unwrapped | Damaged:
    """A string is the Event's text (byte for byte); an object is the Event itself, serialised
    with orjson (its key order kept); anything else is `Damaged`."""
    if isinstance(value, str):
        return unwrap_text(value, line, format, field)
    if isinstance(value, dict):
        try:
            data = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError) as error:
            return Damaged(line, field, f"cannot be serialised as JSON: {error}")
        problem = text_problem(data.decode("utf-8"))
        return Damaged(line, field, problem) if problem is not None else Unwrapped(data, format, line)
    if value is None:
        return Damaged(line, field, "missing: no Event in this record")
    return Damaged(line, field, f"holds a JSON {_json_type(value)}, not an audit Event")


def _json_type(value: object) -> str:
    """JSON's name for the type of a decoded value (what a user sees in the file)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


_PREFIX_BYTES = EVENT_PREFIX.encode()


def apiserver_texts(texts: list[str]) -> bool:
    """Whether every text starts like an apiserver Event line and ends in `}` (C-level passes;
    line breaks inside a text are the caller's to check, `whole_range.whole_range`)."""
    return all(map(str.startswith, texts, repeat(EVENT_PREFIX))) and all(map(str.endswith, texts, repeat("}")))


def fast_texts(texts: list[str]) -> list[bytes] | None:
    """`[unwrap_text(t).event for t in texts]` when none is Damaged, else None (see module doc).

    The common case (every text one apiserver-shaped line, `is_apiserver_line`) is decided with
    C-level passes over the list, as few as possible: each pass costs about a tenth of the
    envelope's decoding (a leftover newline, trailing in a mixed block or inside a text, fails the
    check on the joined bytes). Any other block goes through `unwrap_text` text by text."""
    try:
        data = list(map(str.encode, texts))
    except UnicodeEncodeError:
        return None
    if texts and texts[0].endswith("\n"):
        data = list(map(bytes.removesuffix, data, repeat(b"\n")))
    if (
        all(map(bytes.startswith, data, repeat(_PREFIX_BYTES)))
        and all(map(bytes.endswith, data, repeat(b"}")))
        and b"\n" not in b"".join(data)
    ):
        return data
    events: list[bytes] = []
    for text in texts:
        result = unwrap_text(text, 0, "", "")
        if isinstance(result, Damaged):
            return None
        events.append(result.event)
    return events


Events = tuple[list[bytes], list[int]]
"""The events of a block of lines, and how many each line gave (an envelope line may carry none
or many: a CONTROL_MESSAGE, a DATA_MESSAGE, an Event Hub batch), so each keeps its line."""


def with_counts(events: list[bytes] | None, count: int) -> Events | None:
    """`events` of `count` lines that give one each (the common, one-event-per-line block)."""
    return None if events is None else (events, [1] * count)


def fast_texts_counted(texts: list[str], counts: list[int]) -> Events | None:
    """`fast_texts`, with the per-line counts the texts came in."""
    events = fast_texts(texts)
    return None if events is None else (events, counts)


def record_by_record(
    pieces: list[bytes], unwrap_mine: Callable[[Mapping[str, object]], list[Unwrapped | Damaged] | None]
) -> Events | None:
    """The events of JSONL `pieces` decoded one by one with orjson (what the caller's per-record
    path does); None when a line is not JSON, `unwrap_mine` declines it (None) or one is Damaged."""
    events: list[bytes] = []
    counts: list[int] = []
    for piece in pieces:
        try:
            record = orjson.loads(piece)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(record, dict):
            return None
        results = unwrap_mine(record)
        if results is None:
            return None
        for result in results:
            if isinstance(result, Damaged):
                return None
            events.append(result.event)
        counts.append(len(results))
    return events, counts
