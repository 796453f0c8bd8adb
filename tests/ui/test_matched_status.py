"""Pilot tests: the status line shows what a fuzzy term or a bare word matched, with counts."""

from __future__ import annotations

import json
from collections import Counter

from rich.text import Text

from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.query.matched import FieldMatch, MatchedValue, TermMatch
from k8saudit_tui.ui.app import ExplorerApp
from k8saudit_tui.ui.render.status import matched_text, status_text

from .conftest import EVENTS, make_app, settle


def users() -> Counter[str]:
    return Counter(json.loads(line)["user"].get("username", "") for line in EVENTS.read_text().splitlines() if line)


async def type_filter(app: ExplorerApp, pilot: object, text: str) -> None:
    await pilot.press("slash", *text)  # type: ignore[attr-defined]
    await pilot.pause(0.3)  # type: ignore[attr-defined]
    await settle(app, pilot)


async def test_a_fuzzy_term_shows_its_matched_values_and_counts() -> None:
    expected = users()["alice@example.com"]
    assert expected > 1
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await type_filter(app, pilot, "user:~alcie")  # a typo: one edit
        assert main.events_table.row_count == expected
        line = main.status_line.render_line(0).text
        assert f"user:~alcie → alice@example.com {expected}" in line
        assert len(line.rstrip()) <= 80
        # the count is what the exact value selects
        assert len(compile_filter("user:alice@example.com").apply(main.session.store)) == expected


async def test_a_bare_word_shows_each_field_it_matched() -> None:
    app = make_app()
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        main = app.main_screen
        await type_filter(app, pilot, "secret")
        store = main.session.store
        assert store is not None
        secrets = len(compile_filter("secret resource:secrets").apply(store))
        assert secrets > 0
        line = main.status_line.render_line(0).text
        assert line.lstrip().startswith(f"{main.events_table.row_count:,} of ")
        assert "secret → " in line and f" · resource: secrets {secrets:,} · " in line
        assert "filter:" not in line  # the matched values stand in its place
        await pilot.press("ctrl+u")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert "→" not in main.status_line.render_line(0).text  # no filter: nothing matched to show


def test_the_status_line_is_one_line_cut_with_an_ellipsis_and_values_are_safe() -> None:
    hostile = "[b]x[/b]\x1b[31m" + "y" * 100
    term = TermMatch(
        "kube",
        (
            FieldMatch("ns", (MatchedValue("kube-system", 1234), MatchedValue("kube-public", 9)), 2, 1250),
            FieldMatch("user", (MatchedValue(hostile, 5),), 0, 5),
        ),
    )
    text = matched_text(term)
    assert text.plain.startswith("kube → ns: kube-system 1,234 +3 more · user: [b]x[/b]\\x1b[31m")
    assert "\x1b" not in text.plain and "…" in text.plain  # escaped, and the long value cut
    fuzzy = matched_text(
        TermMatch("user:~al", (FieldMatch("user", (MatchedValue("al", 3), MatchedValue("", 1)), 0, 4),))
    )
    assert fuzzy.plain == 'user:~al → al 3 · "" 1'
    refused = matched_text(TermMatch("alcie", (), ("user", "name")))
    assert refused.plain == "alcie → nothing (no typos in user, name: memory limit)"
    line = status_text(
        10, 3000, collapsed=False, filter_text="kube", loading=False, loaded_share=None, problems=0,
        has_policy=True, matched=(term,),
    )  # fmt: skip
    assert line.no_wrap and line.overflow == "ellipsis"
    assert isinstance(line, Text) and "filter:" not in line.plain


def test_what_a_filter_matched_takes_the_place_of_the_no_policy_hint() -> None:
    """At 80 columns the hint (which the policy pane gives too) left no room for what the word
    matched: with matched values to show, the hint goes; without, it stays."""
    term = TermMatch("secrts", (FieldMatch("resource", (MatchedValue("secrets", 3957),), 0, 3957),))

    def line(matched: tuple[TermMatch, ...]) -> str:
        return status_text(
            3957, 100_000, collapsed=False, filter_text="secrts", loading=False, loaded_share=None,
            problems=1, has_policy=False, matched=matched,
        ).plain  # fmt: skip

    assert line((term,)) == "3,957 of 100,000 events  1 problem (press !)  secrts → resource: secrets 3,957"
    assert "no policy: press p to load one" in line(())
