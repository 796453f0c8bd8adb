"""RequestAttributes as a NamedTuple: the store's interning of shipped field tuples
(`AttributesDictionary.remap`, looked up as they are, in C-level passes) against a plain one that
builds a RequestAttributes per value and interns it one at a time; the cached index gives them
back as RequestAttributes, and the filter indexes' file never turns one into a plain tuple."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import RequestAttributes
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import StoreLoader, cache_indexes, codes
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.store.cache_files import CacheDir
from k8saudit_tui.sample import write_log
from tests.auditlog_helpers import simple_policy

WORDS = st.sampled_from(["", "a", "kube-system", "pod-1", "système"])

Fields = tuple[str | None, tuple[str, ...], str, bool, str, str, str, str, str, str]

attribute_tuples = st.builds(
    lambda user, groups, verb, resource_request, name, resource, namespace: (
        user,
        groups,
        verb,
        resource_request,
        "/p/" + name,
        "",
        resource,
        "",
        namespace,
        name,
    ),
    st.one_of(st.none(), WORDS),
    st.sampled_from([(), ("g",), ("g", "system:authenticated")]),
    st.sampled_from(["get", "list"]),
    st.booleans(),
    WORDS,
    WORDS,
    WORDS,
)


def _copy(value: Any) -> Any:
    """An equal value made of other string objects (as unpickling a worker's batch makes them)."""
    if isinstance(value, str):
        return "".join(["", *value]) if len(value) > 1 else (value + ".")[:-1]
    if isinstance(value, tuple):
        return tuple(_copy(item) for item in value)
    return value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(attribute_tuples, max_size=8), max_size=6), st.booleans())
def test_remap_gives_the_codes_and_values_of_interning_one_at_a_time(
    batches: list[list[Fields]], strings_known: bool
) -> None:
    store = codes.Codes()
    if strings_known:  # the string columns are remapped before "attr" in a batch
        for value in (value for batch in batches for value in batch):
            for column, field in (("user", 0), ("uri", 4), ("ns", 8), ("name", 9)):
                if value[field] is not None:
                    store.strings[column].code(_copy(value[field]))
            store.groups.code(_copy(value[1]))
    plain: dict[RequestAttributes, int] = {}
    for batch in batches:
        shipped = [_copy(value) for value in batch]
        got = store.attributes.remap(shipped)
        expected = [plain.setdefault(RequestAttributes(*value), len(plain)) for value in batch]
        assert got.dtype == np.int32
        assert got.tolist() == expected
    values = store.attributes.values
    assert values == list(plain)
    assert all(type(value) is RequestAttributes for value in values)
    assert [store.attributes.code(value) for value in plain] == list(range(len(plain)))  # a RequestAttributes too
    assert len(store.attributes.values) == len(plain)
    if strings_known:
        held = {id(v) for d in store.strings.values() for v in d.values} | {id(v) for v in store.groups.values}
        for attributes in values:
            shared = (attributes.groups, attributes.path, attributes.namespace, attributes.name)
            assert all(id(field) in held for field in shared)
            assert attributes.username is None or id(attributes.username) in held


@given(attribute_tuples)
def test_attributes_hash_and_compare_as_the_tuple_of_their_fields(value: Fields) -> None:
    """What `AttributesDictionary.remap` relies on to look a shipped tuple up as it is."""
    attributes = RequestAttributes(*value)
    assert attributes == value and hash(attributes) == hash(value)
    assert {attributes: 1}.get(_copy(value)) == 1
    assert attributes._replace(verb="watch") != value


def test_a_reopened_index_gives_its_attributes_back_as_request_attributes(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write_log(log, 400, 3)
    cache = StoreCache(CacheDir(tmp_path / "cache"), min_bytes=0)

    def load() -> Any:
        return StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), cache=cache).load_all()

    loaded = load()
    assert "index saved" in cache.last, cache.last
    reopened = load()
    assert cache.last.startswith("reopened"), cache.last
    values = reopened._codes.attributes.values
    assert values == loaded._codes.attributes.values and len(values) > 10
    assert all(type(value) is RequestAttributes for value in values)
    assert [reopened.attributes(row) for row in range(len(reopened))] == [
        loaded.attributes(row) for row in range(len(loaded))
    ]


def test_the_filter_indexes_file_leaves_out_a_named_tuple_and_keeps_plain_tuples() -> None:
    attributes = RequestAttributes("alice", ("g",), "get", True, resource="pods")
    entries: dict[tuple[Any, ...], Any] = {
        ("joined", "attributes"): (attributes,),
        ("joined", "plain"): (("alice", ("g",)), 3),
    }
    decoded = cache_indexes.decode(cache_indexes.encode(entries))
    assert decoded == {("joined", "plain"): (("alice", ("g",)), 3)}
