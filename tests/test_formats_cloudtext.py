"""The Event text inside a cloud envelope (formats/cloudtext.py): `fast_texts` (C-level passes over
a block) against `unwrap_text` one text at a time, which is the plain implementation."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped
from k8saudit_tui.engine.logs.formats.cloudtext import fast_texts, recovered, unwrap_text, unwrap_value
from tests.cloud_helpers import event_texts, real_event_lines

LINES = real_event_lines()

odd_texts = st.sampled_from(
    [
        "",
        "\n",
        "plain klog text",
        '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","verb":"get","x":"[Truncated...]',
        '{"stage":"ResponseComplete","verb":"get"}',  # an Event without kind: parsed, accepted
        '{"stage":"Nope","verb":"get"}',
        "[1]",
        "\ud800 lone surrogate",
    ]
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    text = draw(st.one_of(event_texts(), event_texts(), odd_texts, st.sampled_from(LINES).map(bytes.decode)))
    return text + draw(st.sampled_from(("", "", "\n", "\n\n", " ")))


def plain(block: list[str]) -> list[bytes] | None:
    results = [unwrap_text(text, 1, "cloudwatch", "message") for text in block]
    if any(isinstance(result, Damaged) for result in results):
        return None
    return [result.event for result in results if isinstance(result, Unwrapped)]


@given(st.lists(texts(), max_size=6))
def test_fast_texts_equals_unwrap_text_one_by_one(block: list[str]) -> None:
    assert fast_texts(block) == plain(block)


@given(st.lists(event_texts(), min_size=1, max_size=6), st.booleans())
def test_fast_texts_keeps_every_event_byte_for_byte(block: list[str], newline: bool) -> None:
    assert fast_texts([text + "\n" * newline for text in block]) == [text.encode() for text in block]


def test_one_trailing_newline_is_removed_and_an_event_never_spans_lines() -> None:
    text = LINES[0].decode()
    assert unwrap_text(text + "\n", 3, "aks-diagnostic", "log") == Unwrapped(LINES[0], "aks-diagnostic", 3)
    compact = orjson.dumps(orjson.loads(LINES[0]))
    pretty = orjson.dumps(orjson.loads(LINES[0]), option=orjson.OPT_INDENT_2).decode()
    for spread in (text + "\n\n", pretty, pretty.replace('"kind"', '\n"kind"')):
        assert unwrap_text(spread, 3, "aks-diagnostic", "log") == Unwrapped(compact, "aks-diagnostic", 3)
        assert fast_texts([text, spread]) == [LINES[0], compact]


def test_a_lone_surrogate_is_damaged_not_a_crash() -> None:
    text = '{"kind":"Event","apiVersion":"audit.k8s.io/v1","x":"\ud800"}'
    where = text.index("\ud800")
    result = unwrap_value(text, 1, "cloudwatch", "message")
    assert result == Damaged(1, "message", f"not valid Unicode (lone surrogate at character {where})")


def test_recovered_ids_are_made_safe_to_print() -> None:
    text = '{"auditID":"a\x1b[31mb","verb":"get","requestURI":"/x\\u202ey'
    assert recovered(text) == "auditID a\\x1b[31mb, verb get"
    assert recovered(text + '"') == "auditID a\\x1b[31mb, verb get, requestURI /x\\u202ey"
