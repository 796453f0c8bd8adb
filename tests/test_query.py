"""The filter language: every field, negation, any-of, regex, fuzzy, code classes, bare words, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.fields import BARE_WORD_FIELDS
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import FIELDS, FilterError, compile_filter, prepare
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, simple_policy, write_lines

EVENTS = [
    event(0, user="alice@example.com", verb="get", resource="pods", name="web-1", namespace="shop"),
    event(
        1,
        user="system:kube-proxy",
        groups=("system:nodes", "system:authenticated"),
        verb="watch",
        resource="endpoints",
        namespace="kube-system",
        ip="10.0.0.9",
        ua="kube-proxy/v1.29",
    ),
    event(2, user="bob", verb="create", resource="secrets", namespace="kube-system", code=201),
    event(
        3,
        user="alice@example.com",
        verb="get",
        resource="pods",
        subresource="log",
        name="web-1",
        code=403,
        namespace="shop",
    ),
    event(4, user="", groups=(), verb="get", resource=None, uri="/healthz?verbose=1", code=401, namespace=""),
    event(5, user="bob", verb="update", resource="secrets", stage="RequestReceived", namespace="kube-system"),
    event(
        6,
        user="carol",
        verb="update",
        resource="leases",
        group="coordination.k8s.io",
        namespace="kube-system",
        name="kube-scheduler",
        level="Request",
        code=409,
    ),
    event(
        7,
        user="malice",
        verb="delete",
        resource="pods",
        namespace="shop",
        name="web-2",
        code=404,
        audit_id="11111111-2222-3333-4444-555555555555",
    ),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    log = write_lines(tmp_path_factory.mktemp("q") / "audit.log", [line(e) for e in EVENTS])
    return StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1).load_all()


def rows(store: EventStore, text: str) -> list[int]:
    return compile_filter(text).apply(store).tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stage:RequestReceived", [5]),
        ("stage:requestreceived", [5]),
        ("user:bob", [2, 5]),
        ("user:alice", []),  # exact: not a substring
        ('user:""', [4]),
        ("group:system:nodes", [1]),
        ("group:system:authenticated", [0, 1, 2, 3, 5, 6, 7]),
        ("verb:get", [0, 3, 4]),
        ("resource:pods", [0, 3, 7]),  # whatever the subresource
        ("resource:pods/log", [3]),
        ("apigroup:coordination.k8s.io", [6]),
        ('apigroup:""', [0, 1, 2, 3, 4, 5, 7]),
        ("ns:kube-system", [1, 2, 5, 6]),
        ("name:web-1", [0, 3]),
        ("code:403", [3]),
        ("code:4xx", [3, 4, 6, 7]),
        ("code:2xx", [0, 1, 2, 5]),
        ("level:RequestResponse", [2, 5]),
        ("level:None", [1]),
        ("recorded:Request", [6]),
        ("rule:0", [1]),
        ("rule:3", [0, 4, 6, 7]),
        ("rule:none", []),
        ("uri:/healthz?verbose=1", [4]),
        ("ip:10.0.0.9", [1]),
        ("ua:kube-proxy/v1.29", [1]),
        ("auditid:11111111-2222-3333-4444-555555555555", [7]),
        ("auditid:00000000-0000-0000-0000-000000000002", [2]),
    ],
)
def test_every_field_exact(store: EventStore, text: str, expected: list[int]) -> None:
    assert rows(store, text) == expected


def test_fields_table_is_complete() -> None:
    for name in (
        "stage",
        "user",
        "group",
        "verb",
        "resource",
        "apigroup",
        "ns",
        "name",
        "code",
        "level",
        "recorded",
        "rule",
        "uri",
        "ip",
        "ua",
        "auditid",
    ):
        assert FIELDS[name]


def test_any_of_and_conjunction(store: EventStore) -> None:
    assert rows(store, "verb:create,update") == [2, 5, 6]
    assert rows(store, "ns:kube-system verb:create,update") == [2, 5, 6]
    assert rows(store, "code:403,404") == [3, 7]
    assert rows(store, "code:4xx,201") == [2, 3, 4, 6, 7]


def test_negation(store: EventStore) -> None:
    assert rows(store, "!stage:RequestReceived code:4xx") == [3, 4, 6, 7]
    assert rows(store, "!ns:kube-system !ns:shop") == [4]


def test_regex(store: EventStore) -> None:
    assert rows(store, "user:/^a/") == [0, 3]
    assert rows(store, "uri:/healthz/") == [4]
    assert rows(store, "name:/web-[0-9]$/") == [0, 3, 7]
    assert rows(store, "ua:/kube proxy|kube-proxy/") == [1]  # a regex may hold a space
    assert rows(store, "code:/^40/") == [3, 4, 6, 7]


def test_fuzzy(store: EventStore) -> None:
    assert rows(store, "user:~alice") == [0, 3, 7]  # malice contains alice
    assert rows(store, "user:~kube-prxy") == [1]  # typo-tolerant: kube-proxy
    assert rows(store, "user:~kprox") == []  # not a word of any user, however alike
    assert rows(store, "verb:~delet") == [7]  # never get
    assert rows(store, "resource:~secret") == [2, 5]
    assert rows(store, "uri:~HEALTH") == [4]  # substring, case-insensitive
    assert rows(store, "group:~nodes") == [1]


def test_bare_words_search_six_columns(store: EventStore) -> None:
    assert rows(store, "leases") == [6]  # resource
    assert rows(store, "scheduler") == [6]  # name
    assert rows(store, "healthz") == [4]  # uri
    assert rows(store, "carol") == [6]  # user
    assert rows(store, "bob secrets") == [2, 5]
    assert rows(store, '"system:kube-proxy"') == [1]


def test_empty_filter_is_everything_in_view_order(store: EventStore) -> None:
    assert rows(store, "") == list(range(8)) == rows(store, "   ")


def test_apply_to_given_rows_keeps_their_order(store: EventStore) -> None:
    assert compile_filter("verb:get").apply(store, np.array([4, 0, 2, 3])).tolist() == [4, 0, 3]


@pytest.mark.parametrize(
    ("text", "term", "position", "words"),
    [
        ("verb:get usr:bob", "usr:bob", 9, "unknown field"),
        ("user:", "user:", 0, "missing value"),
        ("ns:a  uri:/(/", "uri:/(/", 6, "bad regex"),
        ("code:abc", "code:abc", 0, "code must be"),
        ("rule:x", "rule:x", 0, "rule must be"),
        ("level:loud", "level:loud", 0, "level must be"),
        ("stage:Done", "stage:Done", 0, "stage must be"),
        ("verb:a,,b", "verb:a,,b", 0, "empty value"),
        ('user:"bob', 'user:"bob', 0, "unterminated quote"),
        ("!", "!", 0, "nothing after"),
        ("user:~", "user:~", 0, "missing value"),
    ],
)
def test_errors_point_at_the_term(text: str, term: str, position: int, words: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(text)
    assert caught.value.term == term and caught.value.position == position
    assert words in caught.value.message


def test_filter_sees_rows_added_later(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "a.log", [line(event(0, user="alice"))])
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    fuzzy = compile_filter("user:~alic")
    assert fuzzy.apply(store).tolist() == [0]
    from k8saudit_tui.engine.logs.batch import parse_lines

    batch = parse_lines(line(event(1, user="alicia")) + b"\n" + line(event(2, user="zed")) + b"\n", 0, 0, True)
    store.append(batch, 0, 1)
    assert fuzzy.apply(store).tolist() == [0, 1]  # cache extended over the new value


FIELD_NAMES = sorted(FIELDS)
ALPHABET = st.sampled_from(list('abcxyz019 :,!~/"\\()[]*+?.^$-_\t'))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40) | st.lists(ALPHABET, max_size=30).map("".join))
def test_parser_raises_only_filter_error(text: str) -> None:
    try:
        compile_filter(text)
    except FilterError as error:
        assert 0 <= error.position <= len(text)


term_strategy = st.one_of(
    st.builds(
        lambda f, v: f"{f}:{v}",
        st.sampled_from(["user", "verb", "ns", "resource", "name", "uri"]),
        st.sampled_from(["bob", "get", "kube-system", "pods", "pods/log", "web-1", "~ali", "/e/", "x,bob"]),
    ),
    st.builds(lambda v: f"code:{v}", st.sampled_from(["4xx", "200", "201,403"])),
    st.builds(lambda v: f"level:{v}", st.sampled_from(["None", "Metadata", "RequestResponse"])),
    st.builds(lambda v: f"rule:{v}", st.sampled_from(["0", "1", "3", "none"])),
    st.sampled_from(["leases", "alice", "kube", "stage:RequestReceived", "group:system:nodes", "recorded:Request"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term_strategy)
def test_negation_selects_the_complement(store: EventStore, term: str) -> None:
    selected = set(rows(store, term))
    complement = set(rows(store, "!" + term))
    assert selected.isdisjoint(complement)
    assert selected | complement == set(range(len(store)))


# ------------------------------------------------------------------ fast paths equal the plain ones

from k8saudit_tui.engine.query import filter as filter_module  # noqa: E402
from k8saudit_tui.engine.query import indexes, resource_paths  # noqa: E402
from k8saudit_tui.engine.query.language import Term  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="abcxyz-ΣσİI\n", max_size=8), max_size=25),
    st.text(alphabet="abcxyz-σi", min_size=1, max_size=5),
    st.data(),
)
def test_fuzzy_codes_equal_scoring_every_value(values: list[str], query: str, data: st.DataObject) -> None:
    """The cached, incremental, vectorised path (and its short-query shortcut) against the plain
    one: lower-case, substring or a token run within the allowed edits, on every value."""
    from types import SimpleNamespace

    store = SimpleNamespace(match_cache={})
    seen = data.draw(st.integers(0, len(values)))  # a first search, then the values added later
    before = filter_module.fuzzy_codes(store, "name", values, 0, seen, query)  # type: ignore[arg-type]
    after = filter_module.fuzzy_codes(store, "name", values, seen, len(values), query)  # type: ignore[arg-type]
    term = Term(query, 0, "name", "fuzzy", (query,), False)
    expected = filter_module.match_values(values, "fuzzy", term, "name")
    assert np.concatenate([before, after]).tolist() == expected.tolist()


@pytest.mark.parametrize("hits", [0, 1, 3, 4, 5, 40])
def test_gather_with_few_or_many_codes_equals_indexing(hits: int) -> None:
    pick = np.random.default_rng(hits)
    table = np.zeros(60, bool)
    table[pick.choice(60, hits, replace=False)] = True
    codes = pick.integers(0, 70, 5000).astype(np.int32)  # codes >= 60: values added after the table
    expected = np.concatenate([table, np.zeros(10, bool)])[codes]
    assert np.array_equal(filter_module.gather(table, codes), expected)


@pytest.mark.parametrize("ordered", [True, False])
def test_filter_in_load_order_and_out_of_it(tmp_path: Path, ordered: bool) -> None:
    stamps = [f"2026-11-20T10:00:{s:02d}.000000Z" for s in ([1, 2, 3, 4, 5] if ordered else [5, 1, 4, 2, 3])]
    lines = [line(event(n, user="bob" if n % 2 else "alice", time=stamps[n])) for n in range(5)]
    store = StoreLoader(expand_sources([str(write_lines(tmp_path / "a.log", lines))]), workers=1).load_all()
    assert store.in_load_order() is ordered
    order = store.view_order()
    mask = compile_filter("user:alice").mask(store)
    assert compile_filter("user:alice").apply(store).tolist() == order[mask[order]].tolist()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.text(alphabet="/?&=\nabcW-", max_size=20), min_size=1, max_size=15),
    st.text(alphabet="/=abcw-", min_size=1, max_size=4),
    st.sampled_from([1, 3, indexes.URI_CHUNK]),
)
def test_uri_pieces_find_the_uris_that_contain_the_query(values: list[str], query: str, chunk: int) -> None:
    """Against a plain substring search, built in one or two steps, URI_CHUNK URIs at a time."""
    store = EventStore()
    half = len(values) // 2
    usual, indexes.URI_CHUNK = indexes.URI_CHUNK, chunk
    try:
        indexes.uri_tokens(store, values, half)  # built in two steps, as follow mode extends it
        hits = indexes.uri_hits(store, values, len(values), query)
    finally:
        indexes.URI_CHUNK = usual
    assert hits.tolist() == [query in value.lower() for value in values]


def test_uri_queries_with_separators_search_the_whole_uri(tmp_path: Path) -> None:
    lines = [
        line(event(n, uri=uri))
        for n, uri in enumerate(["/api/v1/pods?watch=1&limit=5", "/api/v1/pods?limit=5", "/x?a&watch"])
    ]
    store = StoreLoader(expand_sources([str(write_lines(tmp_path / "a.log", lines))]), workers=1).load_all()
    assert compile_filter("uri:~?watch").apply(store).tolist() == [0]
    assert compile_filter("uri:~&watch").apply(store).tolist() == [2]
    assert compile_filter("uri:~watch").apply(store).tolist() == [0, 2]
    assert compile_filter("uri:~pods?limit").apply(store).tolist() == [1]


BARE_WORDS = st.sampled_from(
    ["a", "e", "bob", "kube", "secret", "web", "lease", "healthz", "alice", "sytem", "x", "pods", "log", "s/lo", "zzqx"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BARE_WORDS)
def test_bare_word_folded_through_request_groups_equals_each_column(store: EventStore, word: str) -> None:
    term = compile_filter(word).terms[0]
    expected = np.zeros(len(store), bool)
    for name in BARE_WORD_FIELDS:
        expected |= filter_module.field_mask(store, name, "fuzzy", term, len(store))
    assert np.array_equal(filter_module.bare_word_mask(store, term, len(store)), expected)
    assert set(indexes.requests(store, len(store)).columns) == set(indexes.BARE_WORD_COLUMNS)


class ColumnsOnly:
    """Just what `indexes.requests` reads of a store: columns and the match cache."""

    def __init__(self, **columns: list[int]) -> None:
        self.arrays = {name: np.asarray(values, np.int32) for name, values in columns.items()}
        self.match_cache: dict[object, object] = {}

    def column(self, name: str, n: int) -> np.ndarray:
        return self.arrays[name][:n]


def test_a_column_that_parts_from_the_attributes_is_not_folded() -> None:
    fake = ColumnsOnly(
        attr=[0, 1, 0, 2, 1, 0],
        user=[5, 6, 5, 7, 6, 9],
        verb=[1, 1, 1, 1, 1, 1],
        resource=[3, 4, 3, 4, 4, 3],
        ns=[0, 0, 0, 0, 0, 0],
        name=[0, 0, 0, 1, 0, 0],
        uri=[2, 2, 2, 2, 2, 2],
    )
    first = indexes.requests(fake, 4)  # type: ignore[arg-type]
    assert set(first.columns) == set(indexes.BARE_WORD_COLUMNS)
    assert first.row_group.tolist() == [0, 1, 0, 2]
    assert first.columns["user"].tolist() == [5, 6, 7] and first.columns["name"].tolist() == [0, 0, 1]
    assert first.attributes.tolist() == [0, 1, 2]  # each group's attributes (bare words fold `pods/log` by them)
    later = indexes.requests(fake, 6)  # type: ignore[arg-type]  # row 5: attributes 0, user 9
    assert set(later.columns) == {"verb", "resource", "ns", "name", "uri"}
    assert later.rows == 6 and later.row_group.tolist() == [0, 1, 0, 2, 1, 0]
    assert later.attributes.tolist() == [0, 1, 2]
    split = ColumnsOnly(
        attr=[0, 0, 1], user=[1, 2, 3], verb=[0, 0, 0], resource=[0, 0, 0], ns=[0, 0, 0], name=[0, 0, 0], uri=[0, 0, 0]
    )
    assert "user" not in indexes.requests(split, 3).columns  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2**31 - 1)), max_size=40), st.data())
def test_interner_gives_each_key_one_dense_id_whatever_the_batches(
    keyed: list[tuple[int, int]], data: st.DataObject
) -> None:
    keys = np.array([(a << 32) | b for a, b in keyed], np.int64)
    cut = data.draw(st.integers(0, len(keys)))
    first, ids_first = indexes.NO_KEYS.intern(keys[:cut])
    second, ids_second = first.intern(keys[cut:])
    ids = np.concatenate([ids_first, ids_second]).tolist()
    assert sorted(set(ids)) == list(range(len(set(keyed))))  # dense
    by_key: dict[int, int] = {}
    for key, given_id in zip(keys.tolist(), ids):
        assert by_key.setdefault(key, given_id) == given_id  # one id per key, across batches
    assert len(first) <= len(second) == len(by_key)


def test_look_ahead_finds_a_one_letter_word_in_each_text_and_answers_stay_right(tmp_path: Path) -> None:
    lines = [
        line(event(n, user=user, uri=uri))
        for n, (user, uri) in enumerate(
            [("alice", "/api/v1/namespaces/default/pods?watch=1"), ("bob", "/healthz"), ("kube-admin", "/apis/apps/v1")]
        )
    ]
    store = StoreLoader(expand_sources([str(write_lines(tmp_path / "a.log", lines))]), workers=1).load_all()
    before = {word: rows(store, word) for word in ("a", "al", "ap", "apps", "pod", "ad")}
    store.match_cache.clear()
    prepare(store)
    assert store.match_cache[resource_paths.KEY].attributes == len(store.values("attr"))  # not on a first word
    indexes.look_ahead(store, "verb:get a")
    assert b"a" in store.match_cache[indexes.URI_TOKENS].pieces.recent
    assert b"a" in store.match_cache[("joined", "user")].recent
    assert {word: rows(store, word) for word in before} == before
    for not_a_word in ("a verb:get", "ab", "user:a", "!", 'x"'):  # last term not a one-letter word, or no filter
        indexes.look_ahead(store, not_a_word)
    assert b"x" not in store.match_cache[("joined", "user")].recent


class NumbersOnly:
    """A store of one number column, for `_number_mask` (code and rule)."""

    def __init__(self, name: str, values: list[int], dtype: type[np.integer]) -> None:
        self.name, self.array = name, np.asarray(values, dtype)

    def column(self, name: str, n: int) -> np.ndarray:
        assert name == self.name
        return self.array[:n]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["code", "rule"]),
    st.lists(st.integers(-2, 3) | st.integers(-(2**15), 2**15 - 1) | st.sampled_from([0, 200, 404, 503]), max_size=40),
    st.sampled_from([np.int16, np.int32]),
    st.sampled_from(["~4", "~0", "~none", "~unknown", "/^-/", "/^[0-9]{3}$/", "/4$/", "4xx", "none", "unknown", "0"])
    | st.integers(-(2**17), 2**17).map(str).filter(lambda text: not text.startswith("-")),
)
def test_number_terms_equal_reading_each_row(name: str, values: list[int], dtype: type[np.integer], text: str) -> None:
    """The int16 path (a count over the range, in the column's dtype) and the np.unique one,
    against each row's label matched alone; exact numbers beyond int16 match no row."""
    try:
        term = compile_filter(f"{name}:{text}").terms[0]
    except FilterError:
        return  # a code class or none/unknown that this field does not take
    store = NumbersOnly(name, values, dtype)
    got = filter_module._number_mask(store, name, term.kind, term, len(values))  # type: ignore[arg-type]
    if term.kind == "exact":
        special = {"none": -1, "unknown": -2}

        def plain(v: int, value: str) -> bool:
            if value in special:
                return v == special[value]
            if value.endswith("xx"):
                return int(value[0]) * 100 <= v < int(value[0]) * 100 + 100
            return v == int(value)

        expected = [any(plain(v, value) for value in term.values) for v in values]
    else:
        expected = [
            bool(filter_module.match_values([filter_module._number_label(name, v)], term.kind, term, name)[0])
            for v in values
        ]
    assert got.tolist() == expected
