"""What the EKS and AKS record tests share: the real Event lines of tests/data/logs, the ways a
JSON envelope can spell the same string (escaped `/`, ASCII-only escapes), and a strategy of Event
texts with hostile strings (unicode, quotes, backslashes, `\\/` inside the Event itself)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

LOGS = Path(__file__).parent / "data" / "logs"
CLOUD = Path(__file__).parent / "data" / "cloud"


def real_event_lines() -> list[bytes]:
    """Every Event line of the copied real logs (bytes, no newline), in file order."""
    lines: list[bytes] = []
    for path in sorted(LOGS.glob("*.jsonl")):
        lines.extend(line for line in path.read_bytes().split(b"\n") if line.strip())
    return lines


def encode(value: Any, style: str = "orjson") -> bytes:
    """`value` as JSON the way different producers write it: orjson (UTF-8, `/` plain), `ascii`
    (Python's json: every non-ASCII character as `\\uXXXX`), `slashes` (Azure: `/` as `\\/`)."""
    if style == "ascii":
        return json.dumps(value, separators=(",", ":")).encode()
    data = orjson.dumps(value)
    if style == "slashes":
        return data.replace(b"/", b"\\/")  # `/` never occurs inside an escape: always valid
    return data


STYLES = st.sampled_from(("orjson", "ascii", "slashes"))

_hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from('"\\/{}[]:,\n\t\u00e9\u2028\u202e\U0001f600 '),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=30,
)


@st.composite
def event_texts(draw: st.DrawFn) -> str:
    """One Event line as a producer could write it: apiserver-like (kind first) or other key
    orders, strings full of quotes, backslashes and non-ASCII, `/` written as `\\/` or not."""
    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": draw(st.sampled_from(("Metadata", "Request", "RequestResponse"))),
        "auditID": draw(st.uuids()).hex,
        "stage": draw(st.sampled_from(("ResponseComplete", "RequestReceived", "ResponseStarted"))),
        "requestURI": "/api/v1/namespaces/" + draw(_hostile_text),
        "verb": draw(st.sampled_from(("get", "list", "create"))),
        "user": {"username": draw(_hostile_text), "groups": draw(st.lists(_hostile_text, max_size=2))},
        "userAgent": draw(_hostile_text),
        "annotations": {"k8s.io/" + draw(_hostile_text): draw(_hostile_text)},
    }
    if draw(st.booleans()):
        event = dict(reversed(list(event.items())))  # not the apiserver's order: the parsed path
    return encode(event, draw(STYLES)).decode()
