"""Event decoding: the deep-nesting fallback agrees with a real JSON parser."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.event import _top_level_members, decode_event, decode_event_line

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
