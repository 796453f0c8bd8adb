"""`resource:~` and `resource:/re/` read `resource/subresource` as one text, and a bare word also
searches the subresource, as the filter language defines them; checked against a plain reading of
every event (the fuzzy definition's plain implementation is tests/test_textsearch.py's)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines
from tests.test_textsearch import plain_matches

RESOURCES = st.sampled_from(["pods", "deployments", "secrets", "leases", "nodes"])
SUBRESOURCES = st.sampled_from(["", "log", "status", "scale", "exec", "proxy"])
WORDS = st.sampled_from(["log", "lgo", "status", "sttaus", "pods/log", "pod/log", "scale", "deployments/scale", "exec"])


def _rows(store: EventStore, text: str) -> list[int]:
    return sorted(compile_filter(text).apply(store).tolist())


@settings(max_examples=60)
@given(st.lists(st.tuples(RESOURCES, SUBRESOURCES), min_size=1, max_size=10), WORDS)
def test_resource_terms_read_resource_and_subresource_as_one_text(pairs: list[tuple[str, str]], word: str) -> None:
    docs = [
        event(i, resource=resource, subresource=sub, user="u", namespace="ns", name="n")
        for i, (resource, sub) in enumerate(pairs)
    ]
    with tempfile.TemporaryDirectory() as folder:
        log = write_lines(Path(folder) / "a.log", [line(doc) for doc in docs])
        store = StoreLoader(expand_sources([str(log)]), None, workers=1).load_all()
        order = [int(store.value(r, "line") or 0) - 1 for r in range(len(store))]
        texts = [f"{r}/{s}" if s else r for r, s in (pairs[i] for i in order)]
        assert _rows(store, f"resource:~{word}") == [row for row, t in enumerate(texts) if plain_matches(word, t)]
        escaped = re.escape(word).replace("/", "\\/")
        expected = [row for row, t in enumerate(texts) if re.search(re.escape(word), t)]
        assert _rows(store, f"resource:/{escaped}/") == expected
        # a bare word: whatever else it matches, every row whose subresource path matches is in
        bare = set(_rows(store, word))
        subresource_hits = {row for row, t in enumerate(texts) if "/" in t and plain_matches(word, t)}
        assert subresource_hits <= bare


def test_a_typo_of_a_subresource_finds_it_as_a_bare_word(tmp_path: Path) -> None:
    """`sttaus` is one edit from `status`: only the subresource holds it (the URI has `status`)."""
    docs = [
        event(0, resource="deployments", subresource="status", uri="/apis/apps/v1/namespaces/a/deployments/x/status"),
        event(1, resource="deployments", uri="/apis/apps/v1/namespaces/a/deployments/x"),
    ]
    store = StoreLoader(
        expand_sources([str(write_lines(tmp_path / "a.log", [line(d) for d in docs]))]), None
    ).load_all()
    assert _rows(store, "sttaus") == [0]
    assert _rows(store, "resource:~deployments/sttaus") == [0]
    assert _rows(store, "resource:~deployments") == [0, 1]
