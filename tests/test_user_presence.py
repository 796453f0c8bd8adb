"""E2, M5, M6: a user object that records anything is a present user, even without a username.

Upstream `LogRequestMetadata` writes the user only when the request had one (each field omitted
when empty), so `"user": {"groups": [...]}` is a user with an empty name whose groups match
`userGroups`, and only an absent or empty user object is "no user". The three paths that turn a
logged event into the checker's attributes (request_attributes, the batch/store columns and the
`evaluate` command) must agree on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from k8saudit_tui.cli import main
from k8saudit_tui.engine.logs.attributes import attributes_key, request_attributes
from k8saudit_tui.engine.logs.batch import parse_lines
from k8saudit_tui.engine.logs.event import convert_event, decode_event
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import PolicyRule, RequestAttributes
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator, users_match
from k8saudit_tui.engine.policy.loader import load_policy_text
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.auditlog_helpers import event, line, write_lines

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: RequestResponse
    userGroups: ["system:authenticated"]
  - level: Request
    users: [""]
  - level: Metadata
"""
"""Rule 0 matches by group, rule 1 the empty user name, rule 2 everything else (no user)."""

USERS: list[tuple[dict[str, Any] | None, RequestAttributes | None, int]] = [
    # (logged user, expected (username, groups) or None for no user, expected rule)
    ({"groups": ["system:authenticated"]}, RequestAttributes("", ("system:authenticated",), "", False), 0),
    (
        {"username": "", "groups": ["system:authenticated"]},
        RequestAttributes("", ("system:authenticated",), "", False),
        0,
    ),
    ({"groups": ["other"]}, RequestAttributes("", ("other",), "", False), 1),
    ({"uid": "1234"}, RequestAttributes("", (), "", False), 1),
    ({"extra": {"authentication.kubernetes.io/pod-name": ["p"]}}, RequestAttributes("", (), "", False), 1),
    ({}, None, 2),
    ({"username": ""}, None, 2),
    ({"groups": [], "uid": ""}, None, 2),
    (None, None, 2),
    (
        {"username": "alice", "groups": ["system:authenticated"]},
        RequestAttributes("alice", ("system:authenticated",), "", False),
        0,
    ),
]


def policy() -> PolicyEvaluator:
    load = load_policy_text(POLICY)
    assert load.policy is not None
    return PolicyEvaluator(load.policy)


def logged(n: int, user: dict[str, Any] | None) -> dict[str, Any]:
    value = event(n)
    if user is None:
        del value["user"]
    else:
        value["user"] = user
    return value


def who(attrs: RequestAttributes) -> tuple[str | None, tuple[str, ...]]:
    return attrs.username, attrs.groups


@pytest.mark.parametrize(("user", "expected", "rule"), USERS)
def test_request_attributes_see_a_user_when_it_records_anything(
    user: dict[str, Any] | None, expected: RequestAttributes | None, rule: int
) -> None:
    for decoded in (convert_event(logged(0, user)), decode_event(line(logged(0, user)))):
        attrs = request_attributes(decoded)
        assert who(attrs) == ((None, ()) if expected is None else who(expected))
        verdict = policy().evaluate(attrs)
        assert verdict.rule == rule


def test_users_with_an_empty_name_matches_only_a_present_user() -> None:
    """M5: `users: [""]` matches the empty name of a present user, never a request without one."""
    rule = PolicyRule("Metadata", users=("",))
    present = request_attributes(convert_event(logged(0, {"uid": "u"})))
    absent = request_attributes(convert_event(logged(0, {})))
    assert users_match(rule, present)
    assert not users_match(rule, absent)


def test_the_memo_key_tells_an_empty_user_from_a_present_one() -> None:
    """The evaluator memoises on attributes_key: `{}` and `{"uid": ...}` must not share a key."""
    keys = {json.dumps(user): attributes_key(convert_event(logged(0, user))) for user, _, _ in USERS}
    by_key: dict[tuple[object, ...], set[tuple[str | None, tuple[str, ...]]]] = {}
    for user, _, _ in USERS:
        decoded = convert_event(logged(0, user))
        by_key.setdefault(keys[json.dumps(user)], set()).add(who(request_attributes(decoded)))
    assert all(len(identities) == 1 for identities in by_key.values())
    assert attributes_key(convert_event(logged(0, {}))) != attributes_key(convert_event(logged(0, {"uid": "u"})))


@pytest.mark.parametrize("fast", [True, False])
def test_the_batch_and_store_columns_agree_with_request_attributes(fast: bool) -> None:
    """Both decoding paths of a chunk (block and line by line) give the store the same attributes."""
    values = [logged(n, user) for n, (user, _, _) in enumerate(USERS)]
    lines = [line(value) for value in values]
    if not fast:
        lines.insert(0, b"not json")  # sends the block down the line-by-line path
    batch = parse_lines(b"\n".join(lines) + b"\n", 0, 0, True)
    store = EventStore()
    store.add_file("x", "/nonexistent")
    store.append(batch, 0, 0)
    store.set_policy(policy())
    assert len(store) == len(USERS)
    for row, (value, (_, expected, rule)) in enumerate(zip(values, USERS, strict=True)):
        attrs = store.attributes(row)
        assert attrs == request_attributes(convert_event(value))
        assert who(attrs) == ((None, ()) if expected is None else who(expected))
        verdict = store.verdict(row)
        assert verdict is not None and verdict.rule == rule


def test_a_loaded_file_matches_user_groups_without_a_username(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "audit.log", [line(logged(n, user)) for n, (user, _, _) in enumerate(USERS)])
    store = StoreLoader(expand_sources([str(log)]), policy(), workers=1).load_all()
    assert [store.value(row, "rule") for row in range(len(store))] == [rule for _, _, rule in USERS]


def test_evaluate_command_matches_user_groups_without_a_username(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    log = write_lines(tmp_path / "audit.log", [line(logged(n, user)) for n, (user, _, _) in enumerate(USERS)])
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    status = main(["evaluate", "--policy", str(policy_file), str(log)])
    rows = [json.loads(text) for text in capsysbinary.readouterr().out.splitlines()]
    assert status == 0
    assert [row["rule"] for row in rows] == [rule for _, _, rule in USERS]
