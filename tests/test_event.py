"""Event decoding: the deep-nesting fallback agrees with a real JSON parser; the block decoder's
stricter type (EventRow) reads what it reads as the line decoder does."""

from __future__ import annotations

from typing import get_args, get_type_hints

import msgspec
import orjson
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.event import (
    EventFields,
    EventRow,
    _top_level_members,
    decode_event,
    decode_event_line,
)
from k8saudit_tui.engine.model import API_VERSION_V1, LEGACY_API_VERSIONS, LEVELS, STAGES

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet='ab"\\,:{}[] \x01é', max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.text(alphabet='ab"\\,:{}', max_size=5), json_values, max_size=6))
def test_top_level_scanner_agrees_with_orjson(document: dict) -> None:
    members = _top_level_members(orjson.dumps(document))
    assert {orjson.loads(key): orjson.loads(value) for key, value in members} == document


def test_an_event_nested_deeper_than_the_decoder_recurses_still_decodes() -> None:
    body = b'{"a":' * 20_000 + b"1" + b"}" * 20_000
    line = b'{"kind":"Event","stage":"ResponseComplete","verb":"get","auditID":"x","requestObject":' + body + b"}"
    assert decode_event(line).auditID == "x"


def test_a_prefixed_line_decodes() -> None:
    line = b'master-1 {"kind":"Event","stage":"Panic","verb":"get","auditID":"p"}'
    assert decode_event_line(line).auditID == "p"
    assert decode_event_line(b'\xef\xbb\xbf{"stage":"Panic","verb":"get","auditID":"bom"}').auditID == "bom"


# ---------------------------------------------------------------- EventRow, the block decoder's type

_ROW_VALUES = {
    "kind": st.sampled_from(["Event", "EventList", "", None, 1]),
    "apiVersion": st.sampled_from(["audit.k8s.io/v1", "audit.k8s.io/v1beta1", "audit.k8s.io/v1alpha1", "v1", "", None]),
    "level": st.sampled_from([*LEVELS, "", "metadata", None]),
    "stage": st.sampled_from([*STAGES, "", "Bogus", None, 3]),
    "verb": st.sampled_from(["get", "", None]),
    "requestURI": st.sampled_from(["/x", ""]),
}


@st.composite
def event_texts(draw: st.DrawFn) -> bytes:
    """A JSON object of some Event keys, each maybe repeated with another value (a repeated key:
    each reader must read it the same way)."""
    members = []
    for key in draw(st.lists(st.sampled_from(sorted(_ROW_VALUES)), max_size=8)):
        members.append(orjson.dumps(key) + b":" + orjson.dumps(draw(_ROW_VALUES[key])))
    return b"{" + b",".join(members) + b"}"


@given(event_texts())
def test_what_the_block_decoder_reads_the_line_decoder_reads_alike(text: bytes) -> None:
    """EventRow may refuse more than EventFields (the line then goes to decode_event), never less,
    and what it reads it reads to the same values."""
    try:
        row = msgspec.json.decode(text, type=EventRow)
    except msgspec.ValidationError:
        return  # refused: the block is read line by line, by decode_event
    fields = msgspec.json.decode(text, type=EventFields)
    assert msgspec.structs.asdict(row) == msgspec.structs.asdict(fields)


def test_the_block_decoders_literals_are_the_models_values() -> None:
    hints = {
        name: get_args(get_args(hint)[0]) if get_args(hint)[-1] is type(None) else get_args(hint)
        for name, hint in get_type_hints(EventRow).items()
        if name in ("kind", "apiVersion", "level", "stage")
    }
    assert hints == {
        "kind": ("Event",),
        "apiVersion": (API_VERSION_V1, *LEGACY_API_VERSIONS),
        "level": LEVELS,
        "stage": STAGES,
    }
