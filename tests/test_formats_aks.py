"""AKS audit events inside Azure Monitor records (formats/aks.py, aks_rows.py): the real DataDog
storage blob, generated diagnostic records, Event Hub batches, Log Analytics rows and
AzureDiagnostics rows around real Event lines, the fast block path against the per-record path,
and the damaged cases."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.formats import BY_NAME, Damaged, Unwrapped, aks
from k8saudit_tui.engine.logs.formats.aks_rows import COLUMNS
from tests.cloud_helpers import CLOUD, STYLES, encode, event_texts, real_event_lines

LINES = real_event_lines()
TEXTS = [line.decode() for line in LINES]
SAMPLE = [line for line in (CLOUD / "aks-diagnostic-storage-datadog.jsonl").read_bytes().split(b"\n") if line]
KLOG = "I1115 21:00:00.154217       1 controller.go:615] quota admission added evaluator for: leases\n"


def events_of(results: list[Unwrapped | Damaged]) -> list[bytes]:
    assert all(isinstance(result, Unwrapped) for result in results), results
    return [result.event for result in results if isinstance(result, Unwrapped)]


def diagnostic(log: object, category: str = "kube-audit") -> dict[str, Any]:
    """One diagnostic-setting record as a storage blob holds it."""
    return {
        "category": category,
        "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
        "properties": {
            "pod": "kube-apiserver-6797f4455b-jdgtt",
            "containerID": "c2120cb7",
            "log": log,
            "stream": "stdout",
        },
        "resourceId": "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C",
        "serviceBuild": "na",
        "time": "2024-11-15T21:00:00.154534959Z",
    }


def test_every_format_name_is_in_the_table() -> None:
    assert all(name in BY_NAME and BY_NAME[name].provider == "AKS" for name in aks.FORMAT_NAMES)


# --- the real storage blob ------------------------------------------------------------------------


def test_the_real_storage_blob_gives_each_log_string_back_byte_for_byte() -> None:
    expected = [orjson.loads(piece)["properties"]["log"].removesuffix("\n").encode() for piece in SAMPLE]
    results = [result for number, piece in enumerate(SAMPLE, 1) for result in aks.unwrap(orjson.loads(piece), number)]
    assert events_of(results) == expected
    assert [(result.line, result.format) for result in results] == [(n, "aks-diagnostic") for n in range(1, 22)]
    assert aks.fast_lines(SAMPLE) == expected


def test_the_real_records_wrapped_in_an_event_hub_batch_with_other_categories() -> None:
    records = [orjson.loads(piece) for piece in SAMPLE]
    batch = {"records": [records[0], diagnostic(KLOG, "kube-apiserver"), *records[1:], diagnostic(KLOG, "guard")]}
    assert aks.format_of(batch) == "aks-diagnostic"
    assert events_of(aks.unwrap(batch, 1)) == aks.fast_lines(SAMPLE)
    assert aks.skipped(batch) == Counter({"kube-apiserver": 1, "guard": 1})
    assert aks.unwrap_counted(batch, 1) == (aks.unwrap(batch, 1), aks.skipped(batch))
    assert aks.fast_lines([encode(batch)]) is None  # the per-record path counts the other categories


# --- generated records around real events ---------------------------------------------------------


@pytest.mark.parametrize("style", ["orjson", "ascii", "slashes"])
def test_diagnostic_records_give_every_real_line_back(style: str) -> None:
    pieces = [
        encode(diagnostic(text + "\n", category), style)
        for text, category in zip(TEXTS, ["kube-audit", "kube-audit-admin"] * len(TEXTS))
    ]
    assert [event for piece in pieces for event in events_of(aks.unwrap(orjson.loads(piece), 1))] == LINES
    assert aks.fast_lines(pieces) == LINES
    batch = encode({"records": [diagnostic(text) for text in TEXTS]}, style)
    assert events_of(aks.unwrap(orjson.loads(batch), 1)) == LINES
    assert aks.fast_lines([batch]) == LINES


def test_a_log_object_is_serialised_with_orjson() -> None:
    record = diagnostic(orjson.loads(LINES[0]))
    [result] = aks.unwrap(record, 3)
    assert result == Unwrapped(orjson.dumps(orjson.loads(LINES[0])), "aks-diagnostic", 3)


def test_a_record_of_another_category_gives_nothing_and_is_counted() -> None:
    record = diagnostic(KLOG, "kube-apiserver")
    assert aks.recognise(record)
    assert aks.unwrap(record, 1) == []
    assert aks.skipped(record) == Counter({"kube-apiserver": 1})
    assert aks.skipped(diagnostic(TEXTS[0])) == Counter()
    assert aks.fast_lines([encode(diagnostic(TEXTS[0])), encode(record)]) is None


def test_skipped_too_big_bodies_keep_the_event() -> None:
    event = orjson.loads(LINES[0]) | {"requestObject": "skipped-too-big-size-object"}
    text = orjson.dumps(event).decode()
    assert events_of(aks.unwrap(diagnostic(text + "\n"), 1)) == [text.encode()]


def log_analytics_row(line: bytes, dynamic_as_text: bool) -> dict[str, Any]:
    """The AKSAudit row Log Analytics makes of an Event (PascalCase columns, extra columns)."""
    event = orjson.loads(line)
    row: dict[str, Any] = {"TenantId": "t", "TimeGenerated": event.get("stageTimestamp"), "Type": "AKSAudit"}
    for column, key in COLUMNS:
        value = event.get(key)
        if isinstance(value, dict | list) and dynamic_as_text:
            value = orjson.dumps(value).decode()
        row[column] = value if value is not None else ""
    row["PodName"] = "kube-apiserver-1"
    return row


V1_LINES = [line for line in LINES if set(orjson.loads(line)) <= {"kind", "apiVersion"} | {key for _, key in COLUMNS}]


@pytest.mark.parametrize("dynamic_as_text", [False, True])
def test_log_analytics_rows_are_renamed_back_to_the_same_events(dynamic_as_text: bool) -> None:
    assert len(V1_LINES) > 50  # the v1 Events of the real logs (AKS writes v1 only)
    for line in V1_LINES:
        row = log_analytics_row(line, dynamic_as_text)
        assert aks.format_of(row) == "aks-loganalytics"
        [result] = aks.unwrap(row, 8)
        assert isinstance(result, Unwrapped) and result.format == "aks-loganalytics" and result.line == 8
        assert orjson.loads(result.event) == orjson.loads(line) | {"kind": "Event", "apiVersion": "audit.k8s.io/v1"}


def test_log_analytics_rows_that_cannot_be_events_name_the_column() -> None:
    row = log_analytics_row(V1_LINES[0], dynamic_as_text=True)
    assert aks.unwrap(row | {"Stage": ""}, 2) == [
        Damaged(2, "Stage", "not an audit Event once the columns are renamed back: stage: missing: not an audit Event")
    ]
    [broken] = aks.unwrap(row | {"ObjectRef": '{"resource": "pods"'}, 2)
    assert isinstance(broken, Damaged) and broken.field == "ObjectRef"
    [typed] = aks.unwrap(row | {"Verb": 7}, 2)
    assert isinstance(typed, Damaged) and typed.field == "Verb"


def test_azure_diagnostics_rows_read_log_s_and_skip_other_categories() -> None:
    row = {"Category": "kube-audit", "log_s": TEXTS[3] + "\n", "pod_s": "kube-apiserver-1", "TimeGenerated": "x"}
    assert aks.format_of(row) == "aks-azurediagnostics"
    assert aks.unwrap(row, 4) == [Unwrapped(LINES[3], "aks-azurediagnostics", 4)]
    other = {"Category": "kube-controller-manager", "log_s": KLOG}
    assert aks.unwrap(other, 5) == []
    assert aks.skipped(other) == Counter({"kube-controller-manager": 1})


def test_a_log_s_cut_at_32766_bytes_says_so_with_its_auditid() -> None:
    event = orjson.loads(LINES[0]) | {"requestObject": {"data": "x" * 40_000}}
    text = orjson.dumps(event).decode()
    cut = text.encode()[: aks.LOG_S_LIMIT].decode()
    [result] = aks.unwrap({"Category": "kube-audit", "log_s": cut}, 6)
    assert isinstance(result, Damaged) and result.field == "log_s"
    ids = f"auditID {event['auditID']}, verb {event['verb']}, requestURI {event['requestURI']}"
    assert result.reason == f"{aks.CUT_BY_LOG_ANALYTICS}; {ids}"
    [whole] = aks.unwrap({"Category": "kube-audit", "log_s": text}, 6)  # Event Hub has no such limit
    assert whole == Unwrapped(text.encode(), "aks-azurediagnostics", 6)


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        (diagnostic(KLOG), "properties.log", "not an audit Event (not JSON): I1115"),
        (diagnostic(None), "properties.log", "missing"),
        (diagnostic(["x"]), "properties.log", "holds a JSON array"),
        (
            diagnostic('{"kind":"Event","stage":"ResponseComplete"}'),
            "properties.log",
            "JSON but not an audit Event: requestURI",
        ),
        ({"category": "kube-audit", "properties": {"pod": "p"}}, "properties.log", "missing"),
        ({"records": [diagnostic(TEXTS[0]), 5]}, "records[1]", "not an AKS diagnostic record"),
        ({"AuditId": "a"}, "", "not an Azure Monitor record"),
    ],
)
def test_what_is_not_an_event_is_damaged_naming_the_field(record: dict[str, Any], field: str, reason: str) -> None:
    results = aks.unwrap(record, 1)
    damaged = [result for result in results if isinstance(result, Damaged)]
    assert len(damaged) == 1 and damaged[0].field == field and damaged[0].reason.startswith(reason)


# --- the fast block path against the per-record path --------------------------------------------


def per_record(pieces: list[bytes]) -> tuple[list[bytes], list[int]] | None:
    """What the caller gets record by record (events, and how many per line); None where
    fast_lines must decline: a line that is not AKS, holds a record of another category (to be
    counted), or a damaged log."""
    events: list[bytes] = []
    counts: list[int] = []
    for piece in pieces:
        record = orjson.loads(piece)
        if not aks.recognise(record) or aks.skipped(record):
            return None
        results = aks.unwrap(record, 1)
        if any(isinstance(result, Damaged) for result in results):
            return None
        events.extend(result.event for result in results if isinstance(result, Unwrapped))
        counts.append(len(results))
    return events, counts


@st.composite
def aks_lines(draw: st.DrawFn) -> bytes:
    """One JSONL line: mostly audit records or batches, sometimes other categories, log objects,
    damaged logs or rows of another table."""

    def log() -> object:
        kind = draw(st.sampled_from(("text", "text", "text", "newline", "klog", "object", "missing")))
        text = draw(event_texts())
        return {"text": text, "newline": text + "\n", "klog": KLOG, "object": orjson.loads(text), "missing": None}[kind]

    def record() -> dict[str, Any]:
        category = draw(st.sampled_from(("kube-audit", "kube-audit-admin", "kube-audit", "guard")))
        return diagnostic(log(), category)

    shape = draw(st.sampled_from(("record", "record", "batch", "empty-batch", "row", "azurediagnostics", "foreign")))
    value: Any = {
        "record": record(),
        "batch": {"records": [record() for _ in range(draw(st.integers(1, 3)))]},
        "empty-batch": {"records": []},
        "row": {"Type": "AKSAudit", "AuditId": "a", "Verb": "get", "Stage": "ResponseComplete", "RequestUri": "/"},
        "azurediagnostics": {"Category": "kube-audit", "log_s": draw(event_texts())},
        "foreign": {"log": draw(event_texts()), "stream": "stdout"},
    }[shape]
    return encode(value, draw(STYLES))


@given(st.lists(aks_lines(), max_size=8))
def test_fast_lines_equals_the_per_record_path(pieces: list[bytes]) -> None:
    expected = per_record(pieces)
    assert aks.fast_events(pieces) == expected
    assert aks.fast_lines(pieces) == (None if expected is None else expected[0])


@given(st.lists(event_texts(), min_size=1, max_size=6), STYLES, st.booleans())
def test_fast_lines_takes_every_good_block_byte_for_byte(texts: list[str], style: str, newline: bool) -> None:
    pieces = [encode(diagnostic(text + "\n" * newline), style) for text in texts]
    assert aks.fast_lines(pieces) == [text.encode() for text in texts]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
shaped_keys = st.sampled_from(
    [
        "records",
        "category",
        "properties",
        "log",
        "Type",
        "AuditId",
        "RequestUri",
        "Verb",
        "Stage",
        "User",
        "Category",
        "log_s",
    ]
)


@given(st.dictionaries(st.one_of(shaped_keys, st.text(max_size=5)), json_values, max_size=6), st.integers(1, 10**6))
def test_unwrap_and_skipped_never_raise_on_any_json_record(record: dict[str, Any], line: int) -> None:
    results = aks.unwrap(record, line)
    assert all(isinstance(result, Unwrapped | Damaged) and result.line == line for result in results)
    assert sum(aks.skipped(record).values()) >= 0
