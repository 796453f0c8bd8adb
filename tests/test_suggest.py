"""The one suggester: it completes a term exactly as the filter language reads it, ranks values by
how many events hold them, quotes what must be quoted and offers nothing the parser would reject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8saudit_tui.engine.logs.batch import parse_lines
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import FIELDS, FilterError, compile_filter, complete, suggest
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.ui.widgets.filter_bar import FilterSuggester
from tests.auditlog_helpers import event, line, simple_policy, write_lines

USERS = ["sally", "sally", "sally", "sara", "sara", "sam", "jo sam", 'ev"il', "x\x1b[31my", "~tilde", "/slash/"]
"""sally 3, sara 2, sam 1; one each with a space, a double quote, an escape, a leading ~ and /."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    events = [
        event(
            n,
            user=user,
            verb=("get", "list", "list", "watch")[n % 4],
            resource="pods",
            subresource="log" if n % 3 == 0 else "",
            code=(200, 404, 0)[n % 3],
        )
        for n, user in enumerate(USERS)
    ]
    log = write_lines(tmp_path_factory.mktemp("s") / "audit.log", [line(e) for e in events])
    return StoreLoader(expand_sources([str(log)]), PolicyEvaluator(simple_policy()), workers=1).load_all()


def terms(text: str, store: EventStore | None) -> list[str]:
    return [s.term for s in suggest(text, store)]


def test_field_names_after_negation(store: EventStore) -> None:
    assert terms("!ve", store) == ["!verb:"]
    assert complete("!ve", store) == "!verb:"
    assert complete("code:4xx !ve", store) == "code:4xx !verb:"
    assert terms("r", None) == ["resource:", "recorded:", "rule:"]  # the field table's order, no store needed
    assert suggest("us", store)[0].note == FIELDS["user"]


def test_a_hyphen_is_not_negation(store: EventStore) -> None:
    assert suggest("-ve", store) == () and complete("-ve", store) is None
    assert suggest("-verb:g", store) == ()  # the language rejects -verb: as an unknown field
    with pytest.raises(FilterError):
        compile_filter("-verb:get")


def test_values_ranked_by_count_with_their_counts(store: EventStore) -> None:
    ranked = suggest("user:", store)
    assert [(s.term, s.count) for s in ranked[:2]] == [("user:sally", 3), ("user:sara", 2)]
    assert {(s.term, s.count) for s in ranked[2:]} >= {("user:sam", 1), ('user:"jo sam"', 1)}
    assert complete("user:", store) == "user:sally"
    assert complete("user:sa", store) == "user:sally"
    assert complete("user:sar", store) == "user:sara"


def test_exact_then_prefix_then_substring(store: EventStore) -> None:
    assert terms("user:sam", store) == ["user:sam", 'user:"jo sam"']
    assert terms("!user:SA", store)[:3] == ["!user:sally", "!user:sara", "!user:sam"]  # case-insensitive
    assert complete("user:sam", store) is None  # typed in full: nothing longer extends it


def test_values_are_quoted_as_the_parser_reads_them(store: EventStore) -> None:
    offered = terms("user:", store)
    assert 'user:"jo sam"' in offered and 'user:"~tilde"' in offered and 'user:"/slash/"' in offered
    assert not any("ev" in term or "\x1b" in term for term in offered)  # no exact term can hold them
    assert complete('user:"jo', store) == 'user:"jo sam"'
    assert complete("user:jo", store) is None  # "jo sam" needs a quote the text does not have


def test_every_suggested_value_parses_and_matches_its_count(store: EventStore) -> None:
    for name in FIELDS:
        for suggestion in suggest(f"{name}:", store, limit=1000):
            matched = compile_filter(suggestion.term).apply(store)
            assert len(matched) == suggestion.count, suggestion


def test_fixed_vocabularies_offer_only_what_parses(store: EventStore) -> None:
    assert "level:(no policy)" not in terms("level:", store)
    assert "code:" not in terms("code:", store)  # events without a response code have no value to type
    assert terms("resource:pods/", store) == ["resource:pods/log"]
    assert terms("auditid:", store) == []


def test_comma_lists_complete_their_last_value(store: EventStore) -> None:
    assert complete("verb:get,li", store) == "verb:get,list"
    assert complete('user:sally,"jo', store) == 'user:sally,"jo sam"'


def test_only_the_term_being_typed_completes(store: EventStore) -> None:
    assert complete("user:sa ", store) is None
    assert complete("", store) is None
    assert complete("User:Sally ve", store) == "User:Sally verb:"  # the terms before keep their case
    assert suggest("user:~sa", store) == ()  # fuzzy: any value, nothing to complete
    assert suggest("bogus:x", store) == ()


def test_counts_follow_rows_added_later(tmp_path: Path) -> None:
    store = StoreLoader(expand_sources([str(write_lines(tmp_path / "a.log", [line(event(0, user="amy"))]))]), workers=1)
    loaded = store.load_all()
    assert terms("user:a", loaded) == ["user:amy"]
    batch = parse_lines(line(event(1, user="abe")) + b"\n" + line(event(2, user="abe")) + b"\n", 0, 0, True)
    loaded.append(batch, 0, 1)
    assert [(s.term, s.count) for s in suggest("user:a", loaded)] == [("user:abe", 2), ("user:amy", 1)]


class Requester:
    """What Textual's Suggester posts its answer to."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def post_message(self, message: Any) -> bool:
        self.messages.append(message)
        return True


async def test_the_filter_bar_completes_through_the_engine_keeping_case(store: EventStore) -> None:
    asked: list[str] = []

    def engine(text: str) -> str | None:
        asked.append(text)
        return complete(text, store)

    requester = Requester()
    await FilterSuggester(engine)._get_suggestion(requester, "user:Sally !ve")  # type: ignore[arg-type]
    assert asked == ["user:Sally !ve"]  # not case-folded: accepting must not lower-case user:Sally
    assert [m.suggestion for m in requester.messages] == ["user:Sally !verb:"]


def test_counts_of_policy_fields_follow_a_new_policy(tmp_path: Path) -> None:
    lines = [line(event(n, user="system:kube-proxy" if n else "amy")) for n in range(3)]
    store = StoreLoader(expand_sources([str(write_lines(tmp_path / "a.log", lines))]), workers=1).load_all()
    assert terms("rule:", store) == [] and terms("level:", store) == []  # no policy: no verdicts to count
    assert terms("user:", store) == ["user:system:kube-proxy", "user:amy"]
    store.set_policy(PolicyEvaluator(simple_policy()))
    assert [(s.term, s.count) for s in suggest("rule:", store)] == [("rule:0", 2), ("rule:3", 1)]
    assert terms("level:", store) == ["level:None", "level:Metadata"]
