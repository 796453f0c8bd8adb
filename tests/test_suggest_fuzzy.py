"""The suggester's fuzzy tier: after exact, prefix and substring, the values `field:~typed` finds
within a typo, fewest edits first then by events; what it offers is exactly what `~` matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import compile_filter, complete, suggest
from k8saudit_tui.engine.query.facets import facet
from k8saudit_tui.engine.query.filter import match_values
from k8saudit_tui.engine.query.language import parse_terms, quote
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines

DEMO = Path(__file__).parent.parent / "k8saudit_tui" / "data" / "demo-audit.log"

USERS = {"alice": 1, "alice-admin": 2, "malice": 5, "alcie": 10, "alicf": 3, "alixe": 7, "bob": 20}
"""For `alice`: exact 1, prefix 2, substring 5, then one edit each: alcie 10, alixe 7, alicf 3."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    users = [user for user, times in USERS.items() for _ in range(times)]
    events = [event(n, user=user, verb=("watch", "get")[n % 2]) for n, user in enumerate(users)]
    log = write_lines(tmp_path_factory.mktemp("s") / "audit.log", [line(e) for e in events])
    return StoreLoader(expand_sources([str(log)]), None, workers=1).load_all()


@pytest.fixture(scope="module")
def demo() -> EventStore:
    return StoreLoader(expand_sources([str(DEMO)]), None, workers=1).load_all()


def test_typos_come_after_exact_prefix_and_substring(store: EventStore) -> None:
    got = [(s.term, s.count) for s in suggest("user:alice", store)]
    assert got == [
        ("user:alice", 1),
        ("user:alice-admin", 2),
        ("user:malice", 5),
        ("user:alcie", 10),
        ("user:alixe", 7),
        ("user:alicf", 3),
    ]


def test_a_typo_alone_still_finds_the_value(store: EventStore) -> None:
    assert [s.term for s in suggest("verb:wacth", store)] == ["verb:watch"]
    assert [s.term for s in suggest("!user:bbo", store)] == ["!user:bob"]
    # a short word allows no edit (`fuzziness: AUTO`), as `~` does
    assert suggest("verb:gt", store) == ()


def test_fewer_edits_first_whatever_the_counts(store: EventStore) -> None:
    got = [s.term for s in suggest("user:alixie", store)]  # six letters: two edits allowed
    assert got[:2] == ["user:alixe", "user:alcie"]  # alixe 7 events, one edit; alcie 10, two


def test_a_subresource_being_typed_gets_no_typo_tier(store: EventStore) -> None:
    assert [s.term for s in suggest("resource:pods/", store)] == []  # `pods` is no subresource


def test_inline_completion_only_extends_what_was_typed(store: EventStore) -> None:
    assert complete("verb:wacth", store) is None
    assert complete("user:alice-", store) == "user:alice-admin"


FUZZY_CASES = [
    ("user", "alcie"),
    ("user", "system"),
    ("user", "kube-schedulr"),
    ("verb", "wacth"),
    ("verb", "udpate"),
    ("ns", "kube-sytem"),
    ("ns", "monitorin"),
    ("resource", "secrte"),
    ("resource", "deploymnets"),
    ("name", "ingres"),
    ("code", "404"),
    ("stage", "respnsecomplete"),
    ("ip", "10.0"),
]


@pytest.mark.parametrize(("field", "typed"), FUZZY_CASES)
def test_suggested_values_are_exactly_what_the_fuzzy_filter_matches(demo: EventStore, field: str, typed: str) -> None:
    """Against the plain matcher over every value: the suggestions (no limit) are the values
    `field:~typed` matches, and each count is the rows `field:value` selects."""
    spec = fields.by_filter_name[field]
    every = facet(demo, field, limit=10**6).values
    labels = {v.label for v in every if v.label and v.label != "0" and v.label.isprintable() and quote(v.label)}
    if spec.kind == "resource":
        labels = {label for label in labels if "/" not in label}
    (term,) = parse_terms(f"{field}:~{typed}")
    ordered = sorted(labels)
    hits = match_values([label.lower() for label in ordered], "fuzzy", term, field)
    expected = {label for label, hit in zip(ordered, hits.tolist()) if hit}
    assert expected, (field, typed)
    suggestions = suggest(f"{field}:{typed}", demo, limit=100_000)
    offered = {s.term.partition(":")[2].strip('"') for s in suggestions if "/" not in s.term.partition(":")[2]}
    assert offered == expected
    for suggestion in suggestions[:5]:
        assert suggestion.count == len(compile_filter(suggestion.term).apply(demo))
