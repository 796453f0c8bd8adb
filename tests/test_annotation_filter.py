"""`annotation:` and `impersonated:` select exactly what a plain reading of each event says.

`annotation:KEY` is present whatever its value, `annotation:KEY=VALUE` that pair, `~` and
`/regex/` search the `key=value` text; `impersonated:` is impersonatedUser.username ("" when none).
The plain side reads every event's JSON; the fast side decides distinct annotation sets once.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.annotations import ANNOTATION_VALUE_LIMIT, LONG_VALUE
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines

REAL_LOGS = sorted((Path(__file__).parent / "data" / "logs").glob("*.jsonl"))


def _load(paths: list[Path]) -> EventStore:
    return StoreLoader(expand_sources([str(p) for p in paths]), None, workers=1).load_all()


def _events(paths: list[Path]) -> list[dict[str, Any]]:
    return [orjson.loads(text) for p in paths for text in p.read_bytes().splitlines() if text.strip()]


def _pairs(doc: dict[str, Any]) -> list[str]:
    annotations = doc.get("annotations")
    if not isinstance(annotations, dict):
        return []
    # a value over the limit is kept as its key and a marker: the key stays filterable
    return [
        f"{k}={v if len(v) <= ANNOTATION_VALUE_LIMIT else LONG_VALUE}"
        for k, v in annotations.items()
        if isinstance(v, str)
    ]


def _plain(doc: dict[str, Any], kind: str, value: str) -> bool:
    pairs = _pairs(doc)
    if kind == "exact":
        keys = {p.split("=", 1)[0] for p in pairs}
        if "=" in value:
            return value in pairs
        return value in keys or value in pairs
    return any(re.search(value, p) for p in pairs)


def _rows(store: EventStore, text: str) -> list[int]:
    return sorted(compile_filter(text).apply(store).tolist())


def _order(store: EventStore) -> list[tuple[str, int]]:
    """(file name, line) of each store row, to line rows up with the plain reading."""
    return [(Path(str(store.value(r, "file"))).name, int(store.value(r, "line") or 0)) for r in range(len(store))]


@pytest.mark.parametrize(
    "term",
    [
        ("exact", "authorization.k8s.io/decision"),
        ("exact", "authorization.k8s.io/decision=allow"),
        ("exact", "authorization.k8s.io/decision=forbid"),
        ("exact", "pod-security.kubernetes.io/enforce-policy"),
        ("regex", "decision=allow"),
        ("regex", "^authorization.k8s.io/reason=RBAC"),
    ],
)
def test_annotation_on_real_logs(term: tuple[str, str]) -> None:
    kind, value = term
    store = _load(REAL_LOGS)
    docs = {(p.name, n): doc for p in REAL_LOGS for n, doc in _numbered(p)}
    expected = [row for row, key in enumerate(_order(store)) if _plain(docs[key], kind, value)]
    escaped = value.replace("/", "\\/")  # the language's regex ends at an unescaped /
    text = f"annotation:{value}" if kind == "exact" else f"annotation:/{escaped}/"
    assert _rows(store, text) == expected
    assert _rows(store, "!" + text) == sorted(set(range(len(store))) - set(expected))


def _numbered(path: Path) -> list[tuple[int, dict[str, Any]]]:
    return [(n, orjson.loads(t)) for n, t in enumerate(path.read_bytes().splitlines(), 1) if t.strip()]


KEYS = st.sampled_from(["authorization.k8s.io/decision", "authorization.k8s.io/reason", "a", "b/c"])
VALUES = st.sampled_from(["allow", "forbid", "", "x" * 300, "allow x"])
ANNOTATIONS = st.dictionaries(KEYS, VALUES, max_size=3)
USERS = st.sampled_from([None, "", "alice", "bob"])


@given(st.lists(st.tuples(ANNOTATIONS, USERS), min_size=1, max_size=12), KEYS, VALUES)
def test_annotation_and_impersonated_equal_the_plain_reading(
    rows: list[tuple[dict[str, str], str | None]], key: str, value: str
) -> None:
    docs = []
    for index, (pairs, impersonated) in enumerate(rows):
        extra: dict[str, Any] = {"annotations": pairs}
        if impersonated is not None:
            extra["impersonatedUser"] = {"username": impersonated}
        docs.append(event(index, **extra))
    with tempfile.TemporaryDirectory() as folder:
        log = write_lines(Path(folder) / "a.log", [line(doc) for doc in docs])
        store = _load([log])
        order = [int(store.value(r, "line") or 0) - 1 for r in range(len(store))]
        for text, want in (
            (f'annotation:"{key}"', lambda d: _plain(d, "exact", key)),
            (f'annotation:"{key}={value}"', lambda d: _plain(d, "exact", f"{key}={value}")),
            ("impersonated:alice", lambda d: (d.get("impersonatedUser") or {}).get("username") == "alice"),
            ('impersonated:""', lambda d: not (d.get("impersonatedUser") or {}).get("username")),
        ):
            expected = [row for row, index in enumerate(order) if want(docs[index])]
            assert _rows(store, text) == expected, text
