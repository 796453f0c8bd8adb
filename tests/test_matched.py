"""What a fuzzy term or a bare word pulled in: the values per field and their events among the
filter's rows, against the filter itself (`filter + field:value`) and a plain per-row count."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.query.filter import match_values
from k8saudit_tui.engine.query.language import quote
from k8saudit_tui.engine.query.matched import FieldMatch, has_fuzzy, matched_values
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines

DEMO = Path(__file__).parent.parent / "k8saudit_tui" / "data" / "demo-audit.log"

FILTERS = (
    "user:~alice",
    "user:~alcie",
    "secret",
    "kube",
    "lease verb:get,list",
    "ns:~monitoring",
    "resource:~pods",
    "name:~ingress",
    "uri:~/apis/apps",
    "kube | secret",
    "user:~system verb:watch ns:~kube",
)


@pytest.fixture(scope="module")
def demo() -> EventStore:
    return StoreLoader(expand_sources([str(DEMO)]), None, workers=1).load_all()


@pytest.mark.parametrize("text", FILTERS)
def test_counts_are_what_the_exact_value_selects(demo: EventStore, text: str) -> None:
    """Every value listed, added as an exact term, selects exactly its counted events."""
    compiled = compile_filter(text)
    rows = compiled.apply(demo)
    matches = matched_values(demo, compiled, rows, limit=5)
    assert matches, text
    checked = 0
    for term in matches:
        for found in term.fields:
            assert found.values
            for value in found.values:
                exact = f"{found.field}:{quote(value.label)}"
                selected = compile_filter(f"{text} {exact}" if "|" not in text else exact).apply(demo, rows)
                assert len(selected) == value.events, (text, exact)
                checked += 1
    assert checked >= 1


def plain(store: EventStore, text: str, rows: np.ndarray) -> dict[tuple[str, str], Counter[str]]:
    """Per (term, field): the events of each matched value among `rows`, row by row."""
    result: dict[tuple[str, str], Counter[str]] = {}
    for term in compile_filter(text).terms:
        if term.negate:
            continue
        if term.field is None:
            names = fields.BARE_WORD_FIELDS
        elif term.kind == "fuzzy" and fields.by_filter_name[term.field].kind in ("string", "resource"):
            names = (term.field,)
        else:
            continue
        for name in names:
            column = fields.by_filter_name[name].column
            values = [str(store.value(int(row), column)) for row in rows]
            hit = match_values(values, "fuzzy", term, column)
            counted = Counter(value for value, matched in zip(values, hit.tolist()) if matched)
            if counted:
                result[(term.text, name)] = counted
    return result


@pytest.mark.parametrize("text", FILTERS)
def test_matches_a_plain_count_row_by_row(demo: EventStore, text: str) -> None:
    """The bincount over matched codes agrees with matching every result row's value on its own:
    same fields, same top values in the same order, same `more` and total events."""
    compiled = compile_filter(text)
    rows = compiled.apply(demo)
    expected = plain(demo, text, rows)
    got: dict[tuple[str, str], FieldMatch] = {
        (term.text, found.field): found for term in matched_values(demo, compiled, rows) for found in term.fields
    }
    assert set(got) == set(expected)
    for key, counted in expected.items():
        ranked = sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))
        assert [(v.label, v.events) for v in got[key].values] == ranked[:3]
        assert got[key].more == len(ranked) - len(got[key].values)
        assert got[key].events == sum(counted.values())


def test_fields_are_ordered_by_events_the_uri_last(demo: EventStore) -> None:
    compiled = compile_filter("kube")
    (term,) = matched_values(demo, compiled, compiled.apply(demo))
    assert term.fields[-1].field == "uri" and term.fields[-1].events >= term.fields[0].events
    totals = [found.events for found in term.fields[:-1]]
    assert len(totals) >= 2 and totals == sorted(totals, reverse=True)


def test_only_fuzzy_terms_and_bare_words_are_reported(tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "a.log",
        [line(event(n, user=user, namespace="team-a")) for n, user in enumerate(["alice", "alice", "alicea", "bob"])],
    )
    store = StoreLoader(expand_sources([str(log)]), None, workers=1).load_all()
    for text in ("user:alice", "!user:~alice", "user:/ali/", "code:~20", "group:~system", ""):
        compiled = compile_filter(text)
        assert not has_fuzzy(compiled), text
        assert matched_values(store, compiled, compiled.apply(store)) == (), text
    compiled = compile_filter("user:~alice !ns:~kube")
    assert has_fuzzy(compiled)
    (term,) = matched_values(store, compiled, compiled.apply(store))
    assert term.text == "user:~alice"
    (found,) = term.fields
    assert [(v.label, v.events) for v in found.values] == [("alice", 2), ("alicea", 1)]
    assert (found.more, found.events) == (0, 3)


def test_more_counts_the_values_left_out(tmp_path: Path) -> None:
    users = ["dev-1"] * 4 + ["dev-2"] * 3 + ["dev-3"] * 2 + ["dev-4", "dev-5"]
    log = write_lines(tmp_path / "a.log", [line(event(n, user=user)) for n, user in enumerate(users)])
    store = StoreLoader(expand_sources([str(log)]), None, workers=1).load_all()
    compiled = compile_filter("user:~dev")
    (term,) = matched_values(store, compiled, compiled.apply(store), limit=2)
    (found,) = term.fields
    assert [(v.label, v.events) for v in found.values] == [("dev-1", 4), ("dev-2", 3)]
    assert (found.more, found.events) == (3, 11)
    empty = matched_values(store, compiled, np.zeros(0, np.int64))
    assert empty[0].fields == ()


def test_a_bare_word_selects_among_given_rows_after_the_store_grew(demo: EventStore) -> None:
    """Defect: `apply(store, rows)` with a bare word, once the request groups covered more rows
    than the highest given row, ORed arrays of two lengths (ValueError)."""
    every = compile_filter("secret").apply(demo)  # the groups now cover every row
    some = np.arange(len(demo) // 2, dtype=np.int64)
    selected = compile_filter("secret").apply(demo, some)
    assert selected.tolist() == [row for row in every.tolist() if row < len(demo) // 2]
    assert len(selected)
