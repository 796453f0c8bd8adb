"""A CloudWatch S3 export read in place (formats/inplace.py) against unwrapping it into a spool:
the same rows, bytes, lines, format codes, verdict columns and problems, for any mix of lines; and
in place exactly when every line is an apiserver Event behind its timestamp."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from k8saudit_tui.cli import main
from k8saudit_tui.engine.logs.formats import BY_NAME, inplace, reader
from k8saudit_tui.engine.logs.formats.cloudtext import EVENT_PREFIX
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.store import EventStore, StoreLoader
from tests.conftest import DATA

EVENTS = [
    line
    for name in ("audit2rbac-demo.jsonl", "falco-k8s-audit-traces.jsonl")
    for line in (DATA / "logs" / name).read_bytes().split(b"\n")
    if line.strip()
]
APISERVER = [event for event in EVENTS if event.startswith(EVENT_PREFIX.encode())]
OTHER_ORDER = [event for event in EVENTS if not event.startswith(EVENT_PREFIX.encode())]
assert APISERVER and OTHER_ORDER
POLICY = DATA / "policies" / "kubernetes-website-audit-policy.yaml"
EVALUATOR = PolicyEvaluator(load_policy_file(str(POLICY)).policy)  # type: ignore[arg-type]

IN_PLACE = ("good", "good", "good", "good-ms", "broken")
"""Kinds of line the in-place path takes (a broken apiserver-shaped Event too: the Event parser words
its fault the same either way); the others send the file down the unwrapping path."""


def line(kind: str, event: bytes) -> bytes:
    """One S3 export line of `kind` (no newline) around a real Event."""
    if kind == "good":
        return b"2019-08-09T18:00:00.000Z " + event
    if kind == "good-ms":
        return b"2019-08-09T18:00:00Z " + event
    if kind == "broken":  # apiserver-shaped, but the Event parser refuses it: the same problem either way
        return b"2019-08-09T18:00:00.000Z " + EVENT_PREFIX.encode() + b'v1","level":5}'
    if kind == "other-order":
        return b"2019-08-09T18:00:00.000Z " + OTHER_ORDER[len(event) % len(OTHER_ORDER)]
    if kind == "cut":
        return b"2019-08-09T18:00:00.000Z " + event[:60] + b"[Truncated...]"
    if kind == "klog":
        return b"2019-08-09T18:00:00.000Z I0809 18:00:00.000000 1 server.go:1] started"
    if kind == "blank":
        return b""
    if kind == "cr":
        return b"2019-08-09T18:00:00.000Z " + event + b"\r"
    if kind == "latin1":
        return b"2019-08-09T18:00:00.000Z " + event[:-1] + b',"x":"\xe9"}'
    return b"no timestamp " + event


KINDS = (*IN_PLACE, "broken", "other-order", "cut", "klog", "blank", "cr", "latin1", "plain")
envelopes = st.tuples(
    st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(APISERVER)), min_size=1, max_size=40),
    st.booleans(),
    st.booleans(),
)


def load(path: Path, allow_in_place: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[EventStore, bool]:
    with monkeypatch.context() as patch:
        if not allow_in_place:
            patch.setattr(reader, "s3_pooled", lambda *_: None)
        (source,) = expand_sources([str(path)], format="raw")
        source = reader.normalise(source, workers=1)
    in_place = source.path == str(path) and source.origin is not None
    return StoreLoader([source], EVALUATOR, workers=1).load_all(), in_place


def seen(store: EventStore) -> tuple[object, ...]:
    columns = tuple(store.column(name).tolist() for name in ("line", "format", "rule", "level", "auditid", "verb"))
    problems = [(p.file, p.line, p.field, p.message, p.severity) for p in store.problems]
    return [store.raw(row) for row in range(len(store))], columns, problems


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=envelopes)
@example(drawn=([("good", APISERVER[0]), ("blank", APISERVER[0])], False, False))  # ends in a newline after all
@example(drawn=([("good", APISERVER[0]), ("blank", APISERVER[0]), ("blank", APISERVER[0])], False, False))
def test_in_place_loads_what_unwrapping_loads(
    drawn: tuple[list[tuple[str, bytes]], bool, bool], tmp_path_factory: pytest.TempPathFactory
) -> None:
    records, final_newline, bom = drawn
    data = b"\n".join(line(kind, event) for kind, event in records) + (b"\n" if final_newline else b"")
    data = (b"\xef\xbb\xbf" if bom else b"") + data
    path = tmp_path_factory.mktemp("s3") / "000000"
    path.write_bytes(data)
    monkeypatch = pytest.MonkeyPatch()
    fast, in_place = load(path, True, monkeypatch)
    plain, spooled = load(path, False, monkeypatch)
    kinds = [kind for kind, _ in records]
    if kinds[-1] == "blank" and not final_newline:  # the file then ends in the line before's newline
        kinds.pop()
    expected = bool(kinds) and all(kind in IN_PLACE for kind in kinds) and data.endswith(b"\n") and not bom
    assert (in_place, spooled) == (expected, False)
    assert seen(fast) == seen(plain)


def test_a_clean_export_is_read_in_place_every_row_format_s3(tmp_path: Path) -> None:
    path = tmp_path / "000000"
    path.write_bytes(b"".join(b"2019-08-09T18:00:00.000Z " + event + b"\n" for event in APISERVER))
    (source,) = expand_sources([str(path)])
    assert source.path == str(path) and not source.spooled and source.origin is not None
    store = StoreLoader([source], EVALUATOR, workers=1).load_all()
    assert [store.raw(row) for row in range(len(store))] == APISERVER
    assert store.column("line").tolist() == list(range(1, len(APISERVER) + 1))
    assert set(store.column("format").tolist()) == {BY_NAME["cloudwatch-s3"].code}
    assert not store.problems


def test_blocks_are_checked_across_their_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block cut inside a line reads on to the next newline: lines longer than a block count."""
    monkeypatch.setattr(inplace, "BLOCK_BYTES", 100)
    path = tmp_path / "000000"
    lines = [b"2019-08-09T18:00:00.000Z " + event for event in APISERVER[:5]]
    path.write_bytes(b"\n".join(lines) + b"\n")
    (source,) = expand_sources([str(path)], format="raw")
    found = inplace.s3_in_place(source)
    assert found is not None and found.origin is not None
    assert found.origin.lines.tolist() == [1, 2, 3, 4, 5]
    path.write_bytes(b"\n".join([*lines, b"2019-08-09T18:00:00.000Z {}"]) + b"\n")
    assert inplace.s3_in_place(source) is None


@pytest.mark.parametrize(("which", "shown"), [("--line", "request: user"), ("--auditid", "000000:3 ")])
def test_explain_names_the_same_lines_in_place_as_unwrapped(
    which: str, shown: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "000000"
    path.write_bytes(b"".join(b"2019-08-09T18:00:00.000Z " + event + b"\n" for event in APISERVER))
    audit_id = orjson.loads(APISERVER[2])["auditID"]
    args = ["explain", "--policy", str(POLICY), str(path), which, "3" if which == "--line" else audit_id]
    outputs = []
    for allow in (True, False):
        with monkeypatch.context() as patch:
            if not allow:
                patch.setattr(reader, "s3_pooled", lambda *_: None)
            status = main(args)
        outputs.append((status, capsys.readouterr()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 0 and shown in outputs[0][1].out
