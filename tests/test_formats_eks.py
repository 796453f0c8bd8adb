"""EKS audit events inside CloudWatch Logs envelopes (formats/eks.py): the real aws-cli sample
documents, generated envelopes around real Event lines (every one must come back byte for byte),
the fast block path against the per-record path, and the damaged cases."""

from __future__ import annotations

import base64
import gzip
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.formats import BY_NAME, Damaged, Unwrapped, eks, eks_payloads
from tests.cloud_helpers import CLOUD, STYLES, encode, event_texts, real_event_lines

LINES = real_event_lines()
TEXTS = [line.decode() for line in LINES]


def events_of(results: list[Unwrapped | Damaged]) -> list[bytes]:
    assert all(isinstance(result, Unwrapped) for result in results), results
    return [result.event for result in results if isinstance(result, Unwrapped)]


def event_object(text: str, number: int = 0) -> dict[str, Any]:
    """One CloudWatch event as filter-log-events prints it."""
    return {
        "logStreamName": "kube-apiserver-audit-0a1b2c3d4e5f",
        "timestamp": 1712567843827 + number,
        "message": text,
        "ingestionTime": 1712567844822 + number,
        "eventId": f"{number:056d}",
    }


def data_message(texts: list[str]) -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/eks/demo/cluster",
        "logStream": "kube-apiserver-audit-0a1b2c3d4e5f",
        "subscriptionFilters": ["audit"],
        "logEvents": [{"id": str(n), "timestamp": 1712567843827, "message": text} for n, text in enumerate(texts)],
    }


def b64gzip(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data)).decode()


def test_every_format_name_is_in_the_table() -> None:
    assert all(name in BY_NAME and BY_NAME[name].provider == "EKS" for name in eks.FORMAT_NAMES)


# --- the real aws-cli samples -------------------------------------------------------------------


def test_real_get_log_events_page_is_cloudwatch_and_its_test_messages_are_damaged() -> None:
    """get-log-events names no stream: a message that is not an Event is a problem."""
    record = orjson.loads((CLOUD / "awscli-get-log-events.json").read_bytes())
    assert eks.format_of(record) == "cloudwatch"
    results, passed_over = eks.unwrap_counted(record, 7)
    assert results == [
        Damaged(7, f"events[{n}].message", f"not an audit Event (not JSON): Example Event {n // 2 + 1}")
        for n in range(3)
    ]
    assert passed_over == Counter()


def test_real_filter_log_events_messages_of_other_streams_are_counted_not_listed() -> None:
    """filter-log-events names each event's stream: klog-like text of a stream that is not
    kube-apiserver-audit-* is counted by stream (EKS log groups mix five components)."""
    record = orjson.loads((CLOUD / "awscli-filter-log-events.json").read_bytes())
    assert eks.format_of(record) == "cloudwatch"
    assert eks.unwrap(record, 7) == []
    assert eks.skipped(record) == Counter({"teststream": 1, "2024/05/09/[$LATEST]abc1024": 1})
    record["events"][0]["logStreamName"] = "kube-apiserver-audit-0a1b2c3d4e5f"
    [damaged] = eks.unwrap(record, 7)
    assert damaged == Damaged(7, "events[0].message", "not an audit Event (not JSON): Test MESSAGE1")


def test_real_insights_results_are_recognised_and_counted_by_their_stream() -> None:
    record = orjson.loads((CLOUD / "awscli-insights-get-query-results.json").read_bytes())
    assert eks.format_of(record) == "cloudwatch-insights"
    assert eks.unwrap_counted(record, 1) == ([], Counter({"TestStream": 3}))
    for row in record["results"]:
        row.remove(next(cell for cell in row if cell["field"] == "@logStream"))
    results = eks.unwrap(record, 1)
    assert [result.field for result in results] == [f"results[{n}].@message" for n in range(3)]
    assert all(isinstance(result, Damaged) and "Test BENCHMARK" in result.reason for result in results)


def test_an_event_is_kept_whatever_its_stream_and_stream_ids_are_cut_off() -> None:
    record = {"events": [event_object(TEXTS[0]) | {"logStreamName": "authenticator-0123456789abcdef"}]}
    assert events_of(eks.unwrap(record, 1)) == LINES[:1]
    klog = {"logStreamName": "authenticator-0123456789abcdef", "timestamp": 1, "message": "time=... msg=access granted"}
    assert eks.unwrap_counted(klog, 1) == ([], Counter({"authenticator": 1}))
    assert eks.fast_lines([encode(klog)]) is None  # the per-record path counts it


@pytest.mark.parametrize(
    "name", ["awscli-filter-log-events.json", "awscli-get-log-events.json", "awscli-insights-get-query-results.json"]
)
def test_real_cli_documents_carrying_real_events_give_them_back_byte_for_byte(name: str) -> None:
    """The documented envelope, every other key kept, with real Event lines as its messages."""
    record = orjson.loads((CLOUD / name).read_bytes())
    if "events" in record:
        items = record["events"]
        for item, text in zip(items, TEXTS):
            item["message"] = text
    else:
        items = record["results"]
        for row, text in zip(items, TEXTS):
            next(cell for cell in row if cell["field"] == "@message")["value"] = text
    data = encode(record, "ascii")  # the aws CLI escapes non-ASCII
    assert events_of(eks.unwrap(orjson.loads(data), 1)) == LINES[: len(items)]


# --- generated envelopes around real events -------------------------------------------------------


def test_one_event_object_per_line_gives_every_real_line_back() -> None:
    pieces = [encode(event_object(text, n)) for n, text in enumerate(TEXTS)]
    unwrapped = [event for piece in pieces for event in events_of(eks.unwrap(orjson.loads(piece), 1))]
    assert unwrapped == LINES
    assert eks.fast_lines(pieces) == LINES


def test_documents_insights_rows_and_subscription_payloads_give_every_real_line_back() -> None:
    half = len(TEXTS) // 2
    first, second = encode(data_message(TEXTS[:half])), encode(data_message(TEXTS[half:]))
    insights_rows = [
        [{"field": "@timestamp", "value": "2024-05-19 06:10:35.743"}, {"field": "@message", "value": t}] for t in TEXTS
    ]
    records: list[dict[str, Any]] = [
        {"events": [event_object(text, n) for n, text in enumerate(TEXTS)], "searchedLogStreams": []},
        {"events": [{"timestamp": 1, "message": t, "ingestionTime": 2} for t in TEXTS], "nextForwardToken": "f/1"},
        {"results": insights_rows, "status": "Complete"},
        data_message(TEXTS),
        {"awslogs": {"data": b64gzip(encode(data_message(TEXTS)))}},
        {"records": [{"recordId": "1", "data": b64gzip(first)}, {"recordId": "2", "data": b64gzip(second)}]},
        {"records": [{"recordId": "1", "data": b64gzip(first + second)}]},  # Firehose: no separator
    ]
    for record in records:
        assert events_of(eks.unwrap(orjson.loads(encode(record, "slashes")), 3)) == LINES
    formats = [eks.format_of(record) for record in records]
    assert formats == ["cloudwatch"] * 2 + ["cloudwatch-insights"] + ["cloudwatch-subscription"] * 4


def test_insights_export_rows_json_and_csv_give_the_real_line_back() -> None:
    json_row = {"@timestamp": "2024-05-19 06:10:35.743", "@message": TEXTS[0]}
    csv_row = {"@logStream": "kube-apiserver-audit-0a1b", "@timestamp": "2024-05-19 06:10:35.743", "@message": TEXTS[1]}
    console_row = {"@timestamp": "2024-05-19 06:10:35.743", "@message": orjson.loads(LINES[2])}
    assert [eks.format_of(row) for row in (json_row, csv_row, console_row)] == ["cloudwatch-insights"] * 3
    assert events_of(eks.unwrap(json_row, 1) + eks.unwrap(csv_row, 2)) == LINES[:2]
    assert events_of(eks.unwrap(console_row, 3)) == [orjson.dumps(orjson.loads(LINES[2]))]


def test_an_s3_export_message_is_the_event_itself() -> None:
    result = eks.unwrap_s3(TEXTS[5], 12)
    assert result == Unwrapped(LINES[5], "cloudwatch-s3", 12)


def test_a_control_message_gives_nothing_and_every_event_carries_its_record_line() -> None:
    assert eks.unwrap({"messageType": "CONTROL_MESSAGE", "logEvents": [{"message": "CWL CONTROL MESSAGE"}]}, 4) == []
    results = eks.unwrap(data_message(TEXTS[:3]), 40)
    assert [(result.line, result.format) for result in results] == [(40, "cloudwatch-subscription")] * 3


# --- damaged records --------------------------------------------------------------------------------

CUT = (
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",'
    '"auditID":"4f3c2b1a-0000-4000-8000-000000000001","stage":"ResponseComplete",'
    '"requestURI":"/api/v1/namespaces/kube-system/configmaps/aws-auth?fieldManager=kubectl\\u0026x=1",'
    '"verb":"patch","requestObject":{"data":{"mapRoles":"- rolearn: arn:aws:iam::1[Truncated...]'
)


def test_a_message_cut_by_cloudwatch_is_damaged_with_its_auditid_verb_and_uri() -> None:
    [result] = eks.unwrap({"events": [event_object(CUT)]}, 9)
    assert result == Damaged(
        9,
        "events[0].message",
        "cut by CloudWatch at its event size limit (ends in [Truncated...]); "
        "auditID 4f3c2b1a-0000-4000-8000-000000000001, verb patch, "
        "requestURI /api/v1/namespaces/kube-system/configmaps/aws-auth?fieldManager=kubectl&x=1",
    )


def test_a_cut_message_without_ids_says_only_that_it_was_cut() -> None:
    [result] = eks.unwrap(event_object('{"kind":"Ev[Truncated...]'), 1)
    assert (
        isinstance(result, Damaged)
        and result.reason == "cut by CloudWatch at its event size limit (ends in [Truncated...])"
    )


@pytest.mark.parametrize(
    ("message", "field", "reason"),
    [
        ('{"kind":"Event","level":"Metadata","verb":"get"}', "message", "JSON but not an audit Event: stage: missing"),
        ('{"stage":"ResponseComplete","verb":5}', "message", "JSON but not an audit Event: verb: Expected str"),
        ("[1, 2]", "message", "holds a JSON array, not an audit Event"),
        ("I1115 21:00:00.1 1 main.go:1] \x1b[31mstarting", "message", "not an audit Event (not JSON): I1115"),
        ("", "message", "empty: no Event"),
        (17, "message", "holds a JSON number, not an audit Event"),
        (None, "message", "missing: no Event in this record"),
    ],
)
def test_what_is_not_an_event_is_damaged_naming_the_field(message: object, field: str, reason: str) -> None:
    [result] = eks.unwrap({"timestamp": 1, "message": message}, 2)
    assert isinstance(result, Damaged) and result.field == field and result.reason.startswith(reason)
    assert "\x1b" not in result.reason  # control characters are made visible


def test_an_elastic_document_with_a_timestamp_is_not_an_insights_row() -> None:
    assert eks.format_of({"@timestamp": "2024-05-19T06:10:35.743Z", "kubernetes": {"audit": {}}}) is None
    assert eks.format_of({"results": [{"not": "rows of cells"}]}) is None


def test_an_insights_row_without_message_says_the_query_did_not_select_it() -> None:
    [result] = eks.unwrap({"@timestamp": "2024-05-19 06:10:35.743", "@logStream": "kube-apiserver-audit-1"}, 5)
    assert result == Damaged(5, "@message", eks.NO_MESSAGE)
    [cell] = eks.unwrap({"results": [[{"field": "@timestamp", "value": "2024-05-19 06:10:35.743"}]]}, 6)
    assert cell == Damaged(6, "results[0].@message", eks.NO_MESSAGE)


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"awslogs": {"data": "not base64!"}}, "awslogs.data", "not base64"),
        ({"awslogs": {"data": base64.b64encode(b"\x1f\x8bgarbage").decode()}}, "awslogs.data", "not valid gzip"),
        ({"awslogs": {"data": base64.b64encode(gzip.compress(b"{}")[:-9]).decode()}}, "awslogs.data", "gzip data cut"),
        ({"awslogs": {"data": b64gzip(b"{not json")}}, "awslogs.data", "decoded data is not JSON"),
        ({"awslogs": {"data": b64gzip(b'{"a": 1}')}}, "awslogs.data", "decoded, but not a CloudWatch Logs"),
        ({"records": [{"data": 5}]}, "records[0].data", "not a base64 string"),
    ],
)
def test_undecodable_subscription_payloads_are_damaged(record: dict[str, Any], field: str, reason: str) -> None:
    [result] = eks.unwrap(record, 1)
    assert isinstance(result, Damaged) and result.field == field and result.reason.startswith(reason)


def test_a_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eks_payloads, "MAX_DECODED_BYTES", 10_000)
    record = {"awslogs": {"data": b64gzip(encode(data_message(TEXTS[:50])))}}
    [result] = eks.unwrap(record, 1)
    assert isinstance(result, Damaged) and "more than" in result.reason


def test_a_damaged_event_does_not_hide_the_good_ones_around_it() -> None:
    record = data_message([TEXTS[0], CUT, TEXTS[1]])
    results = eks.unwrap(record, 1)
    assert [type(result) for result in results] == [Unwrapped, Damaged, Unwrapped]
    assert results[1].field == "logEvents[1].message"
    assert eks.fast_lines([encode(record)]) is None


# --- the fast block path against the per-record path --------------------------------------------


def per_record(pieces: list[bytes]) -> tuple[list[bytes], list[int]] | None:
    """What the caller gets going record by record (events, and how many per line); None where
    fast_lines must decline: a line that is not CloudWatch, a message of another stream (to be
    counted), or a damaged event."""
    events: list[bytes] = []
    counts: list[int] = []
    for piece in pieces:
        record = orjson.loads(piece)
        if not eks.recognise(record) or eks.skipped(record):
            return None
        results = eks.unwrap(record, 1)
        if any(isinstance(result, Damaged) for result in results):
            return None
        events.extend(result.event for result in results if isinstance(result, Unwrapped))
        counts.append(len(results))
    return events, counts


damaged_texts = st.sampled_from([CUT, "plain klog text", '{"stage":"Nope","verb":"get"}', "", '"a string"'])


@st.composite
def cloudwatch_lines(draw: st.DrawFn) -> bytes:
    """One JSONL line: mostly good CloudWatch shapes, sometimes damaged or foreign ones."""
    texts = draw(
        st.lists(st.one_of(event_texts(), damaged_texts) if draw(st.booleans()) else event_texts(), max_size=3)
    )
    text = texts[0] if texts else draw(event_texts())
    if draw(st.booleans()):
        text += "\n"
    shape = draw(
        st.sampled_from(
            ("object", "object", "data", "control", "events", "foreign", "awslogs", "bad-type", "row", "other-stream")
        )
    )
    record: Any = {
        "object": event_object(text),
        "data": data_message(texts),
        "control": {"messageType": "CONTROL_MESSAGE", "logEvents": [{"message": "CWL CONTROL MESSAGE"}]},
        "events": {"events": [event_object(t) for t in texts], "nextToken": "x"},
        "foreign": {"log": text, "stream": "stdout"},
        "awslogs": {"awslogs": {"data": b64gzip(encode(data_message(texts)))}},
        "bad-type": {"timestamp": 1, "message": 5},
        "row": {"timestamp": 1, "@message": text},
        "other-stream": event_object(text) | {"logStreamName": "kube-scheduler-0123456789abcdef"},
    }[shape]
    return encode(record, draw(STYLES))


@given(st.lists(cloudwatch_lines(), max_size=8))
def test_fast_lines_equals_the_per_record_path(pieces: list[bytes]) -> None:
    expected = per_record(pieces)
    assert eks.fast_events(pieces) == expected
    assert eks.fast_lines(pieces) == (None if expected is None else expected[0])


@given(st.lists(event_texts(), min_size=1, max_size=6), STYLES)
def test_fast_lines_takes_every_good_block_byte_for_byte(texts: list[str], style: str) -> None:
    pieces = [encode(event_object(text), style) for text in texts]
    assert eks.fast_lines(pieces) == [text.encode() for text in texts]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
shaped_keys = st.sampled_from(
    ["message", "timestamp", "events", "logEvents", "messageType", "results", "@message", "awslogs", "records", "data"]
)


@given(st.dictionaries(st.one_of(shaped_keys, st.text(max_size=5)), json_values, max_size=5), st.integers(1, 10**6))
def test_unwrap_never_raises_on_any_json_record(record: dict[str, Any], line: int) -> None:
    results = eks.unwrap(record, line)
    assert all(isinstance(result, Unwrapped | Damaged) and result.line == line for result in results)


def test_a_whole_pretty_printed_cli_page_is_one_piece_for_fast_lines() -> None:
    """The aws CLI prints each page indented over many lines; the reader may hand a page whole."""
    page = {"events": [event_object(text, n) for n, text in enumerate(TEXTS)], "nextToken": "abc"}
    piece = orjson.dumps(page, option=orjson.OPT_INDENT_2)
    assert piece.count(b"\n") > len(TEXTS)
    assert eks.fast_lines([piece, piece]) == LINES + LINES


def test_payloads_in_several_gzip_members_or_not_gzipped_at_all() -> None:
    first, second = encode(data_message(TEXTS[:3])), encode(data_message(TEXTS[3:5]))
    members = base64.b64encode(gzip.compress(first) + gzip.compress(second)).decode()
    plain = base64.b64encode(first + b"\n" + second).decode()
    for data in (members, plain):
        assert events_of(eks.unwrap({"records": [{"recordId": "1", "data": data}]}, 2)) == LINES[:5]
