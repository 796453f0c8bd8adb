"""textsearch.SearchText: every fast path gives the plain answer (substring, fuzzy definition)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from k8saudit_tui.engine.query import distinct, textsearch
from k8saudit_tui.engine.query import tokens as tokens_module
from k8saudit_tui.engine.query.textsearch import EMPTY, SearchText, fuzzy_hits


def built(values: list[str], split: int) -> SearchText:
    """A SearchText made in two steps, as the store's values grow."""
    return EMPTY.extended(values[:split]).extended(values[split:])


def plain_matches(word: str, value: str) -> bool:
    """The definition, straight: the lower-cased word is in the lower-cased value, or some run of
    whole tokens (maximal runs of ASCII letters and digits, with what lies between them) is within
    AUTO fuzziness of it (0 edits up to 2 characters, 1 up to 5, else 2) in OSA distance."""
    word, value = word.lower(), value.lower()
    if word in value:
        return True
    allowed = 0 if len(word) <= 2 else 1 if len(word) <= 5 else 2
    tokens = [match.span() for match in re.finditer("[A-Za-z0-9]+", value)]
    return any(
        OSA.distance(value[tokens[first][0] : tokens[last][1]], word) <= allowed
        for first in range(len(tokens))
        for last in range(first, len(tokens))
    )


def plain_fuzzy(word: str, values: list[str]) -> list[bool]:
    return [plain_matches(word, value) for value in values]


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


ISSUE_VALUES = [
    "alice@example.com",
    "alice",
    "malice",
    "system:serviceaccount:kube-system:endpointslice-controller",
    "get",
    "delete",
    "deletecollection",
    "list",
    "clusterrolebindings",
    "clusterroles",
    "roles",
    "rolebindings",
    "kube-system",
    "kube-public",
    "secrets",
    "external-secrets",
    "/readyz",
    "/api/v1/namespaces/kube-system/secrets",
]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("alice", ["alice@example.com", "alice", "malice"]),
        ("alcie", ["alice@example.com", "alice"]),  # one swap; malice is one token, 2 edits away
        ("delet", ["delete", "deletecollection"]),
        ("clusterrolebinding", ["clusterrolebindings"]),
        (
            "kube-sytem",
            [
                "system:serviceaccount:kube-system:endpointslice-controller",
                "kube-system",
                "/api/v1/namespaces/kube-system/secrets",
            ],
        ),
        ("secret", ["secrets", "external-secrets", "/api/v1/namespaces/kube-system/secrets"]),
        ("get", ["get"]),
        ("ab", []),  # two letters: no edits, a substring or nothing
    ],
)
def test_fuzzy_finds_what_a_responder_means(word: str, expected: list[str]) -> None:
    """The issue's cases, which partial_ratio >= 80 got wrong: `secret` found `get` and
    `/readyz`, `delet` every `get`, `clusterrolebinding` roles and rolebindings, `alice` the
    `slice` of endpointslice-controller."""
    search = EMPTY.extended(ISSUE_VALUES)
    found = [value for value, hit in zip(ISSUE_VALUES, search.fuzzy(word).tolist()) if hit]
    assert found == expected
    assert found == [value for value in ISSUE_VALUES if plain_matches(word, value)]
    assert fuzzy_hits(word, ISSUE_VALUES).tolist() == search.fuzzy(word).tolist()


def damaged(word: str) -> st.SearchStrategy[str]:
    """The word with a character dropped, changed, added or two neighbours swapped, at either
    end or inside (or twice): what a typo makes of it."""

    def damage(text: str, edits: list[tuple[int, int, str]]) -> str:
        chars = list(text)
        for kind, where, letter in edits:
            place = (0, len(chars) - 1, where // 3)[where % 3] % len(chars) if chars else 0
            if kind == 0 and chars:
                del chars[place]
            elif kind == 1 and chars:
                chars[place] = letter
            elif kind == 2:
                chars.insert(place + where % 2, letter)
            elif place + 1 < len(chars):
                chars[place], chars[place + 1] = chars[place + 1], chars[place]
        return "".join(chars)

    edits = st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 40), st.sampled_from("aeksz9-É")), min_size=1, max_size=2
    )
    return st.builds(damage, st.just(word), edits)


TOKEN_CHARS = "aeksyzKZ19"
SEPARATORS = ["-", ":", "/", ".", "@", " ", "é", "€", "İ", "K", "--", "\n", ":/"]  # K: Kelvin, lowers to k


def values_around(word: str) -> st.SearchStrategy[list[str]]:
    """Values made of tokens and separators, some holding the word or a damaged copy of it."""
    token = st.one_of(
        damaged(word), damaged(word), st.just(word), st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=7)
    )
    value = st.builds(
        lambda parts, seps: "".join(p + s for p, s in zip(parts, seps)),
        st.lists(token, max_size=5),
        st.lists(st.sampled_from(SEPARATORS), min_size=5, max_size=5),
    )
    return st.lists(value | st.text(max_size=8), max_size=16)


WORD = (
    st.text(alphabet="aeksyz19", min_size=3, max_size=12)  # one token: typos inside it count
    | st.text(alphabet="aeksyzK19-é", min_size=1, max_size=12)
    | st.text(min_size=1, max_size=4)
)


@settings(max_examples=600, deadline=None)
@given(WORD.flatmap(lambda word: st.tuples(st.just(word), values_around(word))), st.data())
def test_fuzzy_equals_the_plain_definition(case: tuple[str, list[str]], data: st.DataObject) -> None:
    """SearchText.fuzzy, over values built in one or two steps (its token index built before
    the second step and carried, or built after), and over a range of them, and fuzzy_hits: the
    same answer as the definition, value by value."""
    word, values = case
    split = data.draw(st.integers(0, len(values)))
    search = EMPTY.extended(values[:split])
    if data.draw(st.booleans()):
        assert search.fuzzy(word).tolist() == plain_fuzzy(word, values[:split])
    search = search.extended(values[split:])
    begin = data.draw(st.integers(0, len(values)))
    end = data.draw(st.integers(begin, len(values)))
    assert search.fuzzy(word, begin, end).tolist() == plain_fuzzy(word, values[begin:end])
    assert search.fuzzy(word).tolist() == plain_fuzzy(word, values)
    assert fuzzy_hits(word.lower(), [value.lower() for value in values]).tolist() == plain_fuzzy(word, values)


def test_fuzzy_near_misses_at_the_edges_of_the_allowed_edits() -> None:
    """Each length band at its limit and one past it: kept at k edits, dropped at k + 1."""
    values = ["kube-system", "kubesystem", "kube-sstem", "kbue-sstm", "alice", "alic", "al", "bob"]
    search = EMPTY.extended(values)
    assert search.fuzzy("kube-sytem").tolist() == [True, True, True, False, False, False, False, False]
    assert search.fuzzy("alce").tolist() == [False] * 4 + [True, False, False, False]  # alice: 5 = 4 + 1
    assert search.fuzzy("alxce").tolist() == [False, False, False, False, True, False, False, False]
    assert search.fuzzy("alxe").tolist() == [False] * 8  # 4 letters: 1 edit, alice needs 2
    assert search.fuzzy("bb").tolist() == [False] * 8  # 2 letters: a substring only
    assert search.fuzzy("Bob").tolist() == [False] * 7 + [True]  # lower-cased
    assert EMPTY.extended(["kube-syxstem"]).fuzzy("kube-sytem").tolist() == [True]  # 12 = 10 + 2
    assert EMPTY.extended(["al-ice", "a-li-ce", "al ice"]).fuzzy("alice").tolist() == [True, False, True]  # separators
    for word in ("kube-sytem", "alxce", "alxe", "alce", "bb", "bob"):
        assert search.fuzzy(word).tolist() == plain_fuzzy(word, values)


def test_token_index_in_many_chunks_equals_one(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [f"value-{i}-é{'x' * (i % 7)} kube:{i % 5}" for i in range(300)]
    whole = EMPTY.extended(values)
    whole.fuzzy("valeu")
    monkeypatch.setattr(textsearch, "_CHUNK_BYTES", 10)
    chunked = EMPTY.extended(values)
    chunked.fuzzy("valeu")
    for name in (
        "first",
        "value",
        "start",
        "end",
        "text_mask",
        "gap_table",
        "gap_codes",
        "ids",
        "reps",
        "size",
        "space",
    ):
        assert np.array_equal(getattr(whole.indexed["tokens"], name), getattr(chunked.indexed["tokens"], name)), name
    assert chunked.fuzzy("kueb").tolist() == plain_fuzzy("kueb", values)


def test_token_index_is_built_on_first_fuzzy_search_and_carried() -> None:
    """Columns never searched fuzzily (URI pieces) pay nothing; a searched one keeps its index
    when extended; the shared EMPTY never keeps one (every column starts from it)."""
    search = EMPTY.extended(["kube-system", "alice"])
    assert "tokens" not in search.indexed
    search.fuzzy("alcie")
    assert "tokens" in search.indexed and "tokens" in search.extended(["bob"]).indexed
    EMPTY.fuzzy("alcie")
    assert not EMPTY.indexed


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


def test_index_tokens_builds_the_index_before_the_first_fuzzy_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """`prepare` indexes the tokens so the first typo search does not build them; same answers."""
    values = ["kube-system", "alice@example.com", "system:serviceaccount:kube-system:endpointslice-controller"]
    search = EMPTY.extended(values)
    search.index_tokens()
    assert "tokens" in search.indexed
    expected = EMPTY.extended(values).fuzzy("alcie").tolist()

    def refuse(*_: object) -> object:
        raise AssertionError("the token index was built again")

    monkeypatch.setattr(textsearch, "_token_index", refuse)
    assert search.fuzzy("alcie").tolist() == expected == [False, True, False]


@settings(max_examples=300, deadline=None)
@given(WORD.flatmap(lambda word: st.tuples(st.just(word), values_around(word))), st.sampled_from([0, 1, 10**9]))
def test_fuzzy_reading_the_tokens_of_viable_values_only_or_all_equals_the_definition(
    case: tuple[str, list[str]], sparse: int
) -> None:
    """The per-value prefilter (`_viable`) and both ways of picking tokens after it (those of
    the viable values only, or every token then the viable ones: `_SPARSE` 0 forces the first,
    a huge one the second) give the definition's answer."""
    word, values = case
    usual, textsearch._SPARSE = textsearch._SPARSE, sparse
    try:
        hits = EMPTY.extended(values).fuzzy(word).tolist()
    finally:
        textsearch._SPARSE = usual
    assert hits == plain_fuzzy(word, values)


@settings(max_examples=40, deadline=None)
@given(st.integers(250, 300), st.integers(0, 2), st.data())
def test_fuzzy_words_longer_than_a_byte_equal_the_definition(length: int, typos: int, data: st.DataObject) -> None:
    """Token sizes and spaces are kept in a byte (capped at 255): a query that long reads the
    exact ones, so a token or run of 250-300 characters within the edits is still found."""
    word = data.draw(st.text(alphabet="abc", min_size=length, max_size=length))
    near = list(word)
    for _ in range(typos):
        near[data.draw(st.integers(0, length - 1))] = "-"
    values = ["x " + "".join(near), word[:-3], "y" * 300, f"{word[:100]}-{word[100:]}"]
    values.append(f"{word[:80]}é{word[80:160]}é{word[160:]}")  # spaces in characters, not bytes
    values += [f"x{n}" for n in range(data.draw(st.sampled_from([0, 1000])))]  # many texts: the sparse path
    assert EMPTY.extended(values).fuzzy(word).tolist() == plain_fuzzy(word, values)


def test_a_run_never_joins_the_last_token_of_a_value_to_the_next_value() -> None:
    """`lea` ending one value and `ses` opening the next are one edit from `leases` if joined."""
    values = ["x lea", "ses y", "lea"]
    assert EMPTY.extended(values).fuzzy("leases").tolist() == plain_fuzzy("leases", values) == [False] * 3


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.lists(st.sampled_from(b"ab\0"), max_size=60).map(bytes), st.data())
def test_distinct_runs_keep_one_run_of_each_text_and_map_every_run_to_it(
    data_bytes: bytes, data: st.DataObject
) -> None:
    """Against bytes compared plainly: every run has its kept run's bytes; short kept runs (up to
    15 bytes, NUL bytes, texts under 8 bytes and runs ending at the text's end included) are all
    different; a longer one is kept as itself."""
    data_bytes = data.draw(st.sampled_from([data_bytes, data_bytes * 3, b"\0" + data_bytes + b"\0\0"]))
    bounds = st.tuples(st.integers(0, len(data_bytes)), st.integers(0, 20))
    pairs = data.draw(st.lists(bounds, max_size=40))
    places = data.draw(st.sampled_from([np.int32, np.int64]))  # the token index passes int32 places
    starts = np.array([start for start, _ in pairs], places)
    stops = np.array([min(len(data_bytes), start + size) for start, size in pairs], places)
    kept, same_as = distinct.distinct_runs(data_bytes, starts, stops)
    runs = [data_bytes[start:stop] for start, stop in zip(starts.tolist(), stops.tolist())]
    assert [runs[kept[place]] for place in same_as.tolist()] == runs
    assert kept.tolist() == sorted(set(kept.tolist()))
    short = [runs[i] for i in kept.tolist() if len(runs[i]) <= distinct.SHORT_RUN]
    assert len(short) == len(set(short)) == len({run for run in runs if len(run) <= distinct.SHORT_RUN})
    assert all(same_as[i] == kept.tolist().index(i) for i, run in enumerate(runs) if len(run) > distinct.SHORT_RUN)


def test_fuzzy_marks_every_value_holding_a_repeated_near_token() -> None:
    """Many values share the same near tokens (`cache` for `create`): each text is measured once,
    and every value holding one is a hit, not only the first."""
    values = [f"{token}-{i}x" for i in range(40) for token in ("cache", "crate", "runner", "creat")]
    values += ["x" * 17 + "-crate", "x" * 17 + "-cache"]
    hits = EMPTY.extended(values).fuzzy("create").tolist()
    assert hits == plain_fuzzy("create", values)
    assert sum(hits) == 40 * 2 + 1  # cache is 4 edits away


def test_distinct_runs_tell_apart_runs_that_differ_in_one_byte_or_their_length() -> None:
    """For every length up to 20 and every byte of it: the run of `a`s, and copies with that one
    byte changed (to `b` or NUL); the text ends with one, so the last read goes past its end."""
    runs = []
    for length in range(0, 21):
        runs.append(b"a" * length)
        runs += [
            b"a" * place + other + b"a" * (length - place - 1) for place in range(length) for other in (b"b", b"\0")
        ]
    text = b"\n".join(runs * 2)  # each twice: the copies are merged
    starts, place = [], 0
    for run in runs * 2:
        starts.append(place)
        place += len(run) + 1
    first = np.array(starts, np.int64)
    kept, same_as = distinct.distinct_runs(text, first, first + np.array([len(run) for run in runs * 2]))
    assert [(runs * 2)[kept[place]] for place in same_as.tolist()] == runs * 2
    assert len(kept) == len(runs) + sum(1 for run in runs if len(run) > distinct.SHORT_RUN)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet="ab-é1 Z:", max_size=12), min_size=1, max_size=12),
    st.lists(st.text("xy.2é", max_size=8), max_size=6),
)
def test_narrow_token_places_equal_the_plain_ones_built_at_once_or_appended(values: list[str], more: list[str]) -> None:
    """Token places, character counts and first tokens are int32 (tokens.positions); built over
    the whole text or appended to it (`Tokens.after`), they equal the plain int64 places of the
    maximal runs of ASCII letters and digits."""
    carried = EMPTY.extended(values)
    carried.index_tokens()
    tokens = carried.extended(more).indexed["tokens"]
    whole = EMPTY.extended(values + more)
    whole.index_tokens()
    text = whole.text.decode("utf-8")
    runs = [(m.start(), m.end()) for m in re.finditer("[a-z0-9]+", text)]
    data = whole.text
    plain_start = [len(text[:start].encode()) for start, _ in runs]
    for built in (tokens, whole.indexed["tokens"]):
        assert built.start.tolist() == plain_start
        assert built.end.tolist() == [start + end - begin for start, (begin, end) in zip(plain_start, runs)]
        places = [start for start, _ in runs]  # in characters
        assert tokens_module.characters(data, built.start).tolist() == places
        plain_space = [
            min(max(places[t + 1] - end, 1), 255) if t + 1 < len(runs) and built.value[t] == built.value[t + 1] else 0
            for t, (_, end) in enumerate(runs)
        ]
        assert built.space.tolist() == plain_space
        assert built.first.tolist() == [
            sum(1 for p in plain_start if p < int(whole.starts[i])) for i in range(len(whole) + 1)
        ]
        assert all(getattr(built, name).dtype == np.int32 for name in ("start", "end", "first"))
        ends, value = built.end.tolist(), built.value.tolist()
        plain_gap = [
            int(
                np.bitwise_or.reduce(
                    tokens_module.CLASS_BIT[np.frombuffer(data[ends[t] : plain_start[t + 1]], np.uint8)]
                )
            )
            if t + 1 < len(ends) and value[t] == value[t + 1]
            else 0
            for t in range(len(ends))
        ]
        assert built.gap(np.arange(len(ends))).tolist() == plain_gap and built.gap_codes.dtype == np.uint8
        assert carried.extended(more).starts.tolist() == whole.starts.tolist() and whole.starts.dtype == np.int32
        assert all(data[s:e].isalnum() for s, e in zip(built.start.tolist(), built.end.tolist()))
    text, offsets = textsearch.joined(values + more)  # the text as the plain per-value way makes it
    plain = [(value.lower() + "\n").encode("utf-8", "surrogatepass") for value in values + more]
    assert text == b"".join(plain) == whole.text and offsets.tolist() == [
        0,
        *np.cumsum([len(p) for p in plain]).tolist(),
    ]
    wide = tokens_module.positions(np.asarray(plain_start, np.int64), 2**31)
    assert wide.dtype == np.int64 and wide.tolist() == plain_start


def test_a_long_token_within_the_edits_is_found_among_many_texts() -> None:
    """A word of more than 255 characters and one token one edit from it, beside a thousand
    other texts (the sparse path, which reads capped token sizes): found as the definition says."""
    word = "a" * 300
    values = ["a" * 150 + "b" + "a" * 149, *(f"x{n}" for n in range(1000))]
    assert EMPTY.extended(values).fuzzy(word).tolist() == plain_fuzzy(word, values)
    assert EMPTY.extended(values).fuzzy(word).tolist()[0]


@given(st.text(alphabet="ab-_ é\n0", max_size=80), st.integers(1, 7))
def test_token_count_in_chunks_counts_the_token_index(text: str, chunk_bytes: int) -> None:
    """`token_count` (what `ahead.prepare` projects the token index's peak from) counts the maximal
    runs of token bytes, whichever chunk boundaries cut them: against a regular expression, and
    against the tokens the index holds for the same values."""
    lowered = textsearch.utf8(text.lower())
    assert tokens_module.token_count(lowered, chunk_bytes) == len(re.findall(rb"[a-z0-9]+", lowered))
    values = text.lower().split("\n")
    search = EMPTY.extended(values)
    search.index_tokens()
    assert tokens_module.token_count(search.text, chunk_bytes) == len(search.indexed["tokens"].value)


@pytest.mark.parametrize("places", [np.int32, np.int64])
def test_distinct_runs_merge_equal_runs_whatever_follows_them(places: type) -> None:
    """Each short length's key masks off the bytes after the run: equal runs of 1-15 bytes, each
    followed by other bytes (or by the text's end), are one text."""
    for length in range(1, distinct.SHORT_RUN + 1):
        run = bytes(range(65, 65 + length))
        text = run + b"X" * 9 + run + b"Y" * 9 + run
        starts = np.array([0, length + 9, 2 * length + 18], places)
        kept, same_as = distinct.distinct_runs(text, starts, starts + length)
        assert kept.tolist() == [0] and same_as.tolist() == [0, 0, 0], length
