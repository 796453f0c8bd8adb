"""The store's compact representations (issue 15, "Memory") against the plain ones they replace:
attributes sharing the column dictionaries' strings, the request groups' narrow codes and the
auditID grouping's narrow ids."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.model import RequestAttributes
from k8saudit_tui.engine.query import auditids, indexes
from k8saudit_tui.engine.store import codes

WORDS = st.sampled_from(["", "a", "kube-system", "pod-1", "système", "x" * 40])


def _copy(text: str | None) -> str | None:
    """An equal string that is another object (as unpickling makes them)."""
    return None if text is None else "".join(["", *text]) if len(text) > 1 else (text + ".")[:-1] if text else text


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), WORDS), WORDS, WORDS, WORDS, WORDS), max_size=12), st.booleans())
def test_attributes_share_the_column_dictionaries_strings_and_stay_equal(
    rows: list[tuple[str | None, str, str, str, str]], known_first: bool
) -> None:
    shared, plain = codes.Codes(), codes.Codes()
    tuples = [
        (user, ("g",), verb, True, "/p/" + name, "", resource, "", namespace, name)
        for user, verb, resource, namespace, name in rows
    ]
    for source in (shared, plain):
        if known_first:  # the string columns are remapped before "attr" in a batch
            for user, verb, resource, namespace, name in rows:
                for column, value in (
                    ("user", user),
                    ("verb", verb),
                    ("resource", resource),
                    ("ns", namespace),
                    ("name", name),
                ):
                    if value is not None:
                        source.strings[column].code(value)
            source.groups.code(("g",))
    copies = [tuple(_copy(v) if isinstance(v, str) else v for v in t) for t in tuples]
    assert shared.attributes.remap(copies).tolist() == plain.attributes.remap(tuples).tolist()
    assert shared.attributes.values == [RequestAttributes(*t) for t in dict.fromkeys(tuples)]
    if known_first:
        held = {id(v) for d in shared.strings.values() for v in d.values} | {id(v) for v in shared.groups.values}
        for attributes in shared.attributes.values:
            fields = (attributes.namespace, attributes.name, attributes.groups)
            assert all(id(field) in held for field in fields)
            assert attributes.username is None or id(attributes.username) in held


class Columns:
    """What `indexes.requests` reads of a store; each column's dtype may widen between reads."""

    def __init__(self, columns: dict[str, list[int]]) -> None:
        self.columns = columns
        self.dtypes = {name: np.dtype(np.uint8) for name in columns}
        self.match_cache: dict[object, object] = {}

    def column(self, name: str, n: int | None = None) -> np.ndarray:
        values = self.columns[name][:n]
        return np.asarray(values, self.dtypes[name] if max(values, default=0) < 256 else np.uint16)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 300)), min_size=1, max_size=30),
    st.lists(st.integers(1, 30), max_size=4),
)
def test_request_groups_narrow_codes_equal_each_rows_codes(rows: list[tuple[int, int, int]], cuts: list[int]) -> None:
    attr = [a for a, _, _ in rows]
    # user follows the attributes (folded); uri is part of the key (folded); name too
    columns = {c: [a for a, _, _ in rows] for c in indexes.BARE_WORD_COLUMNS}
    columns["name"] = [b for _, b, _ in rows]
    columns["uri"] = [u for _, _, u in rows]
    store = Columns({"attr": attr, **columns})
    for n in [*sorted(c for c in cuts if c < len(rows)), len(rows)]:
        grouped = indexes.requests(store, n)  # type: ignore[arg-type]
    assert set(grouped.columns) == set(indexes.BARE_WORD_COLUMNS)
    for column, per_group in grouped.columns.items():
        assert per_group.dtype.itemsize <= store.column(column).dtype.itemsize
        assert per_group[grouped.row_group].tolist() == columns[column]


@given(st.lists(st.integers(-(2**40), 2**40), max_size=20))
def test_narrowed_ids_keep_their_values(values: list[int]) -> None:
    array = np.asarray(values, np.int64)
    narrow = auditids._narrow(array)
    assert narrow.tolist() == values
    fits = all(-(2**31) <= v < 2**31 for v in values)
    assert narrow.dtype == (np.int32 if fits else np.int64)
