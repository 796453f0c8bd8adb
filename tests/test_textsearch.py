"""textsearch.SearchText: every fast path gives the plain answer (substring, rapidfuzz score)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from k8saudit_tui.engine.query import textsearch
from k8saudit_tui.engine.query.textsearch import EMPTY, FUZZY_CUTOFF, SearchText, fuzzy_hits


def built(values: list[str], split: int) -> SearchText:
    """A SearchText made in two steps, as the store's values grow."""
    return EMPTY.extended(values[:split]).extended(values[split:])


def plain_fuzzy(query: str, values: list[str]) -> list[bool]:
    """The definition: lower-cased value contains the query or scores partial_ratio >= cutoff."""
    lowered = [v.lower() for v in values]
    scores = process.cdist([query], lowered, scorer=fuzz.partial_ratio, dtype=np.uint8, workers=1)[0]
    return [query in v or bool(score >= FUZZY_CUTOFF) for v, score in zip(lowered, scores)]


VALUE_CHARS = "leasokubx-/\nÉé€İ"
QUERY_CHARS = "leasokubx-/é€"


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.text(alphabet=VALUE_CHARS, max_size=12), max_size=14),
    st.text(alphabet=QUERY_CHARS, min_size=1, max_size=4),
    st.data(),
)
def test_containing_is_substring_of_the_lowered_value(values: list[str], query: str, data: st.DataObject) -> None:
    search = built(values, data.draw(st.integers(0, len(values))))
    begin = data.draw(st.integers(0, len(values)))
    end = data.draw(st.integers(begin, len(values)))
    expected = [query in v.lower() and "\n" not in query for v in values[begin:end]]
    assert search.containing(query, begin, end).tolist() == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=VALUE_CHARS, max_size=12), max_size=14),
    st.lists(st.text(alphabet=QUERY_CHARS, min_size=1, max_size=5), min_size=1, max_size=4),
    st.data(),
)
def test_searches_one_after_another_reuse_places_and_stay_right(
    values: list[str], words: list[str], data: st.DataObject
) -> None:
    """As typed: each word letter by letter, then erased, on one SearchText whose `recent`
    places carry over from search to search (and whole-text searches mixed with ranges)."""
    search = built(values, data.draw(st.integers(0, len(values))))
    for word in words:
        for typed in [word[:i] for i in range(1, len(word) + 1)] + [word[:i] for i in range(len(word) - 1, 0, -1)]:
            begin = data.draw(st.sampled_from([0, 0, len(values) // 2]))
            expected = [typed in v.lower() and "\n" not in typed for v in values[begin:]]
            assert search.containing(typed, begin).tolist() == expected
    assert len(search.recent) <= textsearch._RECENT_NEEDLES


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.text(alphabet="abcdxyz-éİ", max_size=14), max_size=20),
    st.text(alphabet="abcdxyz-é", min_size=1, max_size=9),
    st.data(),
)
def test_fuzzy_scores_every_value_that_could_match(values: list[str], query: str, data: st.DataObject) -> None:
    """Candidates are picked by length and shared characters; the answer must be the full one."""
    search = built(values, data.draw(st.integers(0, len(values))))
    begin = data.draw(st.integers(0, len(values)))
    assert search.fuzzy(query, begin).tolist() == plain_fuzzy(query, values[begin:])


def near_misses(query: str) -> st.SearchStrategy[str]:
    """Values holding the query with one or two characters dropped, changed or swapped, at the
    start, the end or inside other text: where scores sit around the cutoff."""

    def damage(text: str, edits: list[tuple[int, int, str]]) -> str:
        chars = list(text)
        for kind, place, letter in edits:
            if not chars:
                break
            place %= len(chars)
            if kind == 0:
                del chars[place]
            elif kind == 1:
                chars[place] = letter
            elif place + 1 < len(chars):
                chars[place], chars[place + 1] = chars[place + 1], chars[place]
        return "".join(chars)

    edits = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 40), st.sampled_from("abcde")), max_size=2)
    filler = st.text(alphabet="abcde", max_size=30)
    return st.builds(lambda head, edits, tail: head + damage(query, edits) + tail, filler, edits, filler)


@settings(max_examples=600, deadline=None)
@given(
    st.text(alphabet="abcde", min_size=3, max_size=24).flatmap(
        lambda query: st.tuples(st.just(query), st.lists(near_misses(query), min_size=1, max_size=20))
    )
)
def test_fuzzy_windows_keep_every_value_that_could_match(case: tuple[str, list[str]]) -> None:
    """Long values over few letters: every value holds every letter, so only the window
    counts (full windows and the shorter ones at either end) decide what is scored."""
    query, values = case
    assert EMPTY.extended(values).fuzzy(query).tolist() == plain_fuzzy(query, values)


def test_fuzzy_keeps_near_misses_at_the_edge_of_a_value() -> None:
    """Scores right at the cutoff: a suffix window (abc vs ..ab = 80), a typo, a transposition."""
    values = ["xxab", "kube-proxi", "kbue-proxy", "proxy", "zzzzzzzz", "ab", "kube-proyx-long-name"]
    for query in ("abc", "kube-proxy", "prxy"):
        assert textsearch.EMPTY.extended(values).fuzzy(query).tolist() == plain_fuzzy(query, values)
    assert textsearch.EMPTY.extended(values).fuzzy("abc").tolist()[0]  # 80: kept


def test_index_in_many_chunks_equals_one(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [f"value-{i}-é{'x' * (i % 7)}" for i in range(300)]
    whole = EMPTY.extended(values)
    monkeypatch.setattr(textsearch, "_CHUNK_BYTES", 10)
    chunked = EMPTY.extended(values)
    assert np.array_equal(whole.ascii, chunked.ascii) and np.array_equal(whole.chars, chunked.chars)
    assert whole.chars.tolist() == [len(v) for v in values]


def test_byte_sets_hold_exactly_the_ascii_bytes() -> None:
    values = ["az", "AZ", "~!", "é", ""]
    search = EMPTY.extended(values)
    for byte in range(1, 128):
        if byte == 10:
            continue
        expected = [chr(byte) in v.lower() for v in values]
        assert search._holding(byte, 0, len(values)).tolist() == expected, chr(byte)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="abcdefghij#", max_size=50), max_size=30),
    st.text(alphabet="abcdefghij", min_size=1, max_size=45),
)
def test_fuzzy_hits_with_cutoff_equal_scoring_everything(values: list[str], query: str) -> None:
    full = process.cdist([query], values, scorer=fuzz.partial_ratio, dtype=np.uint8, workers=1)[0] if values else []
    expected = [bool(score >= FUZZY_CUTOFF) for score in full]
    assert fuzzy_hits(query, values).tolist() == expected


def test_fuzzy_hits_keep_a_score_that_rounds_up_to_the_cutoff() -> None:
    """Scores just under FUZZY_CUTOFF are where a cutoff could differ from the uint8 scores."""
    base = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    values, query = [], base[:44]
    for k in range(20):
        value = list(query)
        for i in range(k):
            value[(i * 7) % len(query)] = "#"
        values.append("".join(value))
    full = process.cdist([query], values, scorer=fuzz.partial_ratio, dtype=np.uint8, workers=1)[0]
    assert fuzzy_hits(query, values).tolist() == (full >= FUZZY_CUTOFF).tolist()
