"""GKE LogEntries rebuilt as audit Events (formats/gke.py, cloud-formats.md §2).

The expected Events of the two real KHI samples are written by hand from the design's field map;
the grammar of §2.3 is checked row by row; a property test builds the LogEntry GKE would write for
a generated Event (a plain function here, following §2.2/2.3) and checks what comes back, in
every container (LogEntry, Pub/Sub, BigQuery row, `message` re-export).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.attributes import request_attributes, request_path
from k8saudit_tui.engine.logs.event import decode_event
from k8saudit_tui.engine.logs.formats import BY_NAME, Damaged, Unwrapped, gke
from k8saudit_tui.engine.logs.formats.gke_bigquery import ANNOTATION_KEYS, ROUND_INDEX_PREFIXES, unmangle
from k8saudit_tui.engine.logs.formats.gke_names import BadName, Names, read_names
from k8saudit_tui.engine.logs.formats.yaml_records import load_documents
from k8saudit_tui.engine.logs.timestamps import format_time, parse_times

DATA = Path(__file__).parent / "data" / "cloud"
AUDITLOG = "type.googleapis.com/google.cloud.audit.AuditLog"


def _sample(name: str) -> tuple[int, dict[str, Any]]:
    [(line, document)] = load_documents((DATA / name).read_text(encoding="utf-8"))
    return line, document


def _one_event(record: dict[str, Any], line: int = 1) -> Unwrapped:
    [result] = gke.unwrap(record, line)
    assert isinstance(result, Unwrapped), result
    return result


def _one_damaged(record: object, line: int = 7) -> Damaged:
    [result] = gke.unwrap(record, line)  # type: ignore[arg-type]
    assert isinstance(result, Damaged), result
    assert result.line == line
    return result


# --- the real samples -------------------------------------------------------------------------


def test_khi_pod_create_gives_the_event_of_the_field_map() -> None:
    line, entry = _sample("gke-logentry-khi-pods-create.yaml")
    assert gke.recognise(entry)
    result = _one_event(entry, line)
    assert (result.format, result.line) == ("gke", 15)
    event = orjson.loads(result.event)
    request = {key: value for key, value in entry["protoPayload"]["request"].items() if key != "@type"}
    response = {key: value for key, value in entry["protoPayload"]["response"].items() if key != "@type"}
    assert request["kind"] == "Pod" and response["metadata"]["uid"] == "c0b4e00d-da76-4255-9a02-670d5b74aa3a"
    expected = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": "85371f7c-2383-4041-96e8-dad63d2d1990",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/1-2-deployment-update/pods",
        "verb": "create",
        "user": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
        "sourceIPs": ["172.16.0.3"],
        "userAgent": "kube-controller-manager/v1.28.14 (linux/amd64) kubernetes/a4ef1a6/"
        "system:serviceaccount:kube-system:replicaset-controller",
        "objectRef": {
            "resource": "pods",
            "namespace": "1-2-deployment-update",
            "name": "nginx-deployment-surge-8655b4b8c5-xf5f4",
            "apiVersion": "v1",
        },
        "responseStatus": {"metadata": {}, "code": 201},
        "requestObject": request,
        "responseObject": response,
        "requestReceivedTimestamp": "2024-01-01T01:00:00.000000Z",
        "stageTimestamp": "2024-01-01T01:00:00.000000Z",
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding"
            ' "system:controller:replicaset-controller" of ClusterRole'
            ' "system:controller:replicaset-controller" to ServiceAccount'
            ' "replicaset-controller/kube-system"',
            "mutation.webhook.admission.k8s.io/round_0_index_3": '{"configuration":"pod-ready.config.common-webhooks.'
            'networking.gke.io","webhook":"pod-ready.common-webhooks.networking.gke.io","mutated":false}',
            "mutation.webhook.admission.k8s.io/round_0_index_4": '{"configuration":"warden-mutating.config.common-'
            'webhooks.networking.gke.io","webhook":"warden-mutating.common-webhooks.networking.gke.io",'
            '"mutated":false}',
            "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
        },
    }
    for field, value in expected.items():
        assert event.get(field) == value, field
    assert list(event) == list(expected), "the apiserver's key order, nothing more"
    assert "@type" not in event["requestObject"] and "@type" not in event["responseObject"]

    fields = decode_event(result.event)
    attributes = request_attributes(fields)
    assert (attributes.resource, attributes.subresource, attributes.namespace) == ("pods", "", "1-2-deployment-update")
    assert attributes.name == "", "a create names no object in its URL (E8)"
    assert attributes.path == "/api/v1/namespaces/1-2-deployment-update/pods"
    assert attributes.username == "system:serviceaccount:kube-system:replicaset-controller"
    assert attributes.groups == ()


def test_khi_pod_status_patch_is_a_subresource_at_request_level() -> None:
    line, entry = _sample("gke-logentry-khi-pods-status-patch.yaml")
    assert gke.recognise(entry)
    event = orjson.loads(_one_event(entry, line).event)
    request = {key: value for key, value in entry["protoPayload"]["request"].items() if key != "@type"}
    assert request["metadata"] == {"uid": "c0b4e00d-da76-4255-9a02-670d5b74aa3a"}
    expected = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Request",
        "auditID": "c7842d26-11fe-446a-b985-b2b67ddbab09",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/1-2-deployment-update/pods/nginx-deployment-surge-8655b4b8c5-xf5f4/status",
        "verb": "patch",
        "user": {"username": "system:node:gke-sample-cluster-default-abcdefgh-abcd"},
        "sourceIPs": ["10.146.0.7"],
        "userAgent": "kubelet/v1.28.14 (linux/amd64) kubernetes/a4ef1a6",
        "objectRef": {
            "resource": "pods",
            "namespace": "1-2-deployment-update",
            "name": "nginx-deployment-surge-8655b4b8c5-xf5f4",
            "apiVersion": "v1",
            "subresource": "status",
        },
        "responseStatus": {"metadata": {}, "code": 200},
        "requestObject": request,
        "requestReceivedTimestamp": "2024-01-01T01:00:00.000000Z",
        "stageTimestamp": "2024-01-01T01:00:00.000000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    }
    for field, value in expected.items():
        assert event.get(field) == value, field
    assert list(event) == list(expected)

    attributes = request_attributes(decode_event(_one_event(entry).event))
    assert (attributes.resource, attributes.subresource) == ("pods", "status")
    assert (attributes.namespace, attributes.name) == (
        "1-2-deployment-update",
        "nginx-deployment-surge-8655b4b8c5-xf5f4",
    )
    assert attributes.path == expected["requestURI"]


def test_receive_timestamp_is_never_the_event_time() -> None:
    _, entry = _sample("gke-logentry-khi-pods-status-patch.yaml")
    entry = {**entry, "timestamp": "2024-05-14T09:00:00.123456789Z", "receiveTimestamp": "2024-05-14T09:00:21Z"}
    event = orjson.loads(_one_event(entry).event)
    assert event["requestReceivedTimestamp"] == event["stageTimestamp"] == "2024-05-14T09:00:00.123456Z"


def test_lost_reasons_cover_every_lost_field() -> None:
    assert set(gke.LOST_REASONS) == set(BY_NAME["gke"].lost)
    assert gke.LOST_REASONS["user.groups"] == "user groups are not present in GKE logs"
    assert all("GKE" in reason for reason in gke.LOST_REASONS.values())


# --- the grammar of §2.3, row by row ----------------------------------------------------------

NS, NAME = "team-a", "web-0"
GRAMMAR = [
    (
        "io.k8s.core.v1.pods.create",
        f"core/v1/namespaces/{NS}/pods/{NAME}",
        Names(
            "create",
            f"/api/v1/namespaces/{NS}/pods",
            {"resource": "pods", "namespace": NS, "name": NAME, "apiVersion": "v1"},
        ),
    ),
    (
        "io.k8s.core.v1.pods.status.patch",
        f"core/v1/namespaces/{NS}/pods/{NAME}/status",
        Names(
            "patch",
            f"/api/v1/namespaces/{NS}/pods/{NAME}/status",
            {"resource": "pods", "namespace": NS, "name": NAME, "apiVersion": "v1", "subresource": "status"},
        ),
    ),
    (
        "io.k8s.core.v1.pods.exec.create",
        f"core/v1/namespaces/{NS}/pods/{NAME}/exec",
        Names(
            "create",
            f"/api/v1/namespaces/{NS}/pods/{NAME}/exec",
            {"resource": "pods", "namespace": NS, "name": NAME, "apiVersion": "v1", "subresource": "exec"},
        ),
    ),
    (
        "io.k8s.core.v1.pods.list",
        "core/v1/namespaces/default/pods",
        Names(
            "list", "/api/v1/namespaces/default/pods", {"resource": "pods", "namespace": "default", "apiVersion": "v1"}
        ),
    ),
    (
        "io.k8s.core.v1.pods.list",
        "core/v1/pods",
        Names("list", "/api/v1/pods", {"resource": "pods", "apiVersion": "v1"}),
    ),
    (
        "io.k8s.authorization.rbac.v1.clusterrolebindings.create",
        "rbac.authorization.k8s.io/v1/clusterrolebindings/admins",
        Names(
            "create",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "resource": "clusterrolebindings",
                "name": "admins",
                "apiGroup": "rbac.authorization.k8s.io",
                "apiVersion": "v1",
            },
        ),
    ),
    (
        "io.k8s.authorization.rbac.v1.clusterrolebindings.delete",
        "rbac.authorization.k8s.io/v1/clusterrolebindings/admins",
        Names(
            "delete",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/admins",
            {
                "resource": "clusterrolebindings",
                "name": "admins",
                "apiGroup": "rbac.authorization.k8s.io",
                "apiVersion": "v1",
            },
        ),
    ),
    (
        "io.k8s.coordination.v1.leases.update",
        "coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
        Names(
            "update",
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
            {
                "resource": "leases",
                "namespace": "kube-system",
                "name": "kube-scheduler",
                "apiGroup": "coordination.k8s.io",
                "apiVersion": "v1",
            },
        ),
    ),
    (
        "io.gke.networking.v1.gcpinferencepoolimports.list",
        "networking.gke.io/v1/namespaces/default/gcpinferencepoolimports",
        Names(
            "list",
            "/apis/networking.gke.io/v1/namespaces/default/gcpinferencepoolimports",
            {
                "resource": "gcpinferencepoolimports",
                "namespace": "default",
                "apiGroup": "networking.gke.io",
                "apiVersion": "v1",
            },
        ),
    ),
    (
        "io.k8s.core.v1.namespaces.get",
        f"core/v1/namespaces/{NS}",
        Names(
            "get",
            f"/api/v1/namespaces/{NS}",
            {"resource": "namespaces", "namespace": NS, "name": NS, "apiVersion": "v1"},
        ),
    ),
    (
        "io.k8s.core.v1.namespaces.create",
        f"core/v1/namespaces/{NS}",
        Names("create", "/api/v1/namespaces", {"resource": "namespaces", "name": NS, "apiVersion": "v1"}),
    ),
    (
        "io.k8s.core.v1.namespaces.finalize.update",
        f"core/v1/namespaces/{NS}/finalize",
        Names(
            "update",
            f"/api/v1/namespaces/{NS}/finalize",
            {"resource": "namespaces", "namespace": NS, "name": NS, "apiVersion": "v1", "subresource": "finalize"},
        ),
    ),
    ("io.k8s.get", "readyz", Names("get", "/readyz", None)),
    ("io.k8s.get", "livez", Names("get", "/livez", None)),
    ("io.k8s.get", "metrics", Names("get", "/metrics", None)),
    ("io.k8s.get", "HNAP1", Names("get", "/HNAP1", None)),
    ("io.k8s.post", "apis/apps/v1", Names("post", "/apis/apps/v1", None)),
]


@pytest.mark.parametrize(("method", "resource", "expected"), GRAMMAR, ids=[f"{m} {r}" for m, r, _ in GRAMMAR])
def test_grammar_row(method: str, resource: str, expected: Names) -> None:
    assert read_names(method, resource) == expected


@pytest.mark.parametrize(
    ("method", "resource", "field"),
    [
        ("pods", "core/v1/pods", "methodName"),
        ("io.k8s", "core/v1/pods", "methodName"),
        ("io.k8s.core.v1.pods.", "core/v1/pods", "methodName"),
        ("io.k8s.core.v1.pods.get", "core/v1", "resourceName"),
        ("io.k8s.core.v1.pods.get", "core//pods", "resourceName"),
        ("io.k8s.core.v1.pods.get", "", "resourceName"),
    ],
)
def test_unreadable_names_say_which_field(method: str, resource: str, field: str) -> None:
    result = read_names(method, resource)
    assert isinstance(result, BadName) and result.field == field


@pytest.mark.parametrize(
    ("subresource", "verb", "stage", "code"),
    [
        ("exec", "create", "ResponseStarted", 101),
        ("attach", "get", "ResponseStarted", 101),
        ("portforward", "create", "ResponseStarted", 101),
        ("proxy", "get", "ResponseStarted", 200),
        ("log", "get", "ResponseComplete", 200),
        ("eviction", "create", "ResponseComplete", 201),
    ],
)
def test_streams_are_response_started(subresource: str, verb: str, stage: str, code: int) -> None:
    _, entry = _sample("gke-logentry-khi-pods-status-patch.yaml")
    payload = {
        **entry["protoPayload"],
        "methodName": f"io.k8s.core.v1.pods.{subresource}.{verb}",
        "resourceName": f"core/v1/namespaces/{NS}/pods/{NAME}/{subresource}",
    }
    event = orjson.loads(_one_event({**entry, "protoPayload": payload}).event)
    assert (event["stage"], event["responseStatus"]["code"]) == (stage, code)
    assert event["objectRef"]["subresource"] == subresource


# --- status codes and bad input ---------------------------------------------------------------


def _status_patch(**payload: Any) -> dict[str, Any]:
    _, entry = _sample("gke-logentry-khi-pods-status-patch.yaml")
    return {**entry, "protoPayload": {**entry["protoPayload"], **payload}}


@pytest.mark.parametrize(
    ("grpc", "http"), [(0, 200), ("0", 200), (3, 400), (5, 404), (6, 409), (7, 403), (8, 429), (13, 500), (16, 401)]
)
def test_grpc_status_gives_the_http_code(grpc: int | str, http: int) -> None:
    event = orjson.loads(_one_event(_status_patch(status={"code": grpc, "message": "m"})).event)
    assert event["responseStatus"] == {"metadata": {}, "message": "m", "code": http}


def test_a_status_response_gives_its_own_code_and_message() -> None:
    response = {"@type": "core.k8s.io/v1.Status", "kind": "Status", "status": "Failure", "message": "no", "code": 422}
    event = orjson.loads(_one_event(_status_patch(status={"code": 3}, response=response)).event)
    assert event["responseStatus"] == {"metadata": {}, "message": "no", "code": 422}
    assert event["level"] == "RequestResponse"
    assert event["responseObject"] == {"kind": "Status", "status": "Failure", "message": "no", "code": 422}


def test_no_bodies_is_metadata_level() -> None:
    entry = _status_patch()
    del entry["protoPayload"]["request"]
    event = orjson.loads(_one_event(entry).event)
    assert event["level"] == "Metadata"
    assert "requestObject" not in event and "responseObject" not in event


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"methodName": None}, "protoPayload.methodName"),
        ({"methodName": 7}, "protoPayload.methodName"),
        ({"resourceName": None}, "protoPayload.resourceName"),
        ({"resourceName": "core/v1"}, "protoPayload.resourceName"),
        ({"status": {"code": 99}}, "protoPayload.status.code"),
        ({"status": {"code": True}}, "protoPayload.status.code"),
        ({"request": "text"}, "protoPayload.request"),
        ({"authenticationInfo": []}, "protoPayload.authenticationInfo"),
        ({"requestMetadata": {"callerIp": 3}}, "protoPayload.requestMetadata.callerIp"),
    ],
)
def test_bad_payload_field_is_damaged_naming_it(change: dict[str, Any], field: str) -> None:
    entry = _status_patch(**change)
    entry["protoPayload"] = {key: value for key, value in entry["protoPayload"].items() if value is not None}
    damaged = _one_damaged(entry)
    assert damaged.field == field
    assert "c7842d26-11fe-446a-b985-b2b67ddbab09" in damaged.reason or field == "protoPayload.methodName"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"insertId": None}, "insertId"),
        ({"insertId": ""}, "insertId"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"labels": ["a"]}, "labels"),
        ({"labels": {"authorization.k8s.io/decision": True}}, "labels.authorization.k8s.io/decision"),
    ],
)
def test_bad_entry_field_is_damaged_naming_it(change: dict[str, Any], field: str) -> None:
    _, entry = _sample("gke-logentry-khi-pods-status-patch.yaml")
    entry = {key: value for key, value in {**entry, **change}.items() if value is not None}
    assert _one_damaged(entry).field == field


def test_other_services_and_shapes_are_not_gke() -> None:
    _, entry = _sample("gke-logentry-khi-pods-status-patch.yaml")
    cluster_operation = {**entry, "protoPayload": {**entry["protoPayload"], "serviceName": "container.googleapis.com"}}
    assert not gke.recognise(cluster_operation)
    assert _one_damaged(cluster_operation).field == "protoPayload"
    other_type = {**entry, "protoPayload": {**entry["protoPayload"], "@type": "type.googleapis.com/Other"}}
    assert not gke.recognise(other_type)
    no_service = {key: value for key, value in entry["protoPayload"].items() if key != "serviceName"}
    assert gke.recognise({**entry, "protoPayload": no_service})
    assert not gke.recognise({**entry, "protoPayload": no_service, "resource": {"type": "gke_cluster"}})
    assert not gke.recognise({"kind": "Event", "stage": "ResponseComplete"})
    assert not gke.recognise({"message": {"data": "bm90IGpzb24=", "messageId": "1"}})
    assert _one_damaged([1, 2]).field == ""


def test_bad_pubsub_data_is_damaged() -> None:
    damaged = _one_damaged({"message": {"data": "%%%", "messageId": "1"}})
    assert (damaged.field, damaged.reason.split(":")[0]) == ("message.data", "not base64")
    not_json = base64.b64encode(b"not json").decode()
    assert "not JSON" in _one_damaged({"message": {"data": not_json, "messageId": "1"}}).reason
    assert _one_damaged({"data": base64.b64encode(b"[1]").decode(), "attributes": {}}).field == "data"


def test_bad_bigquery_json_column_is_damaged() -> None:
    row: dict[str, Any] = {"insertId": "x", "protopayload_auditlog": {"serviceName": "k8s.io", "requestJson": "{not"}}
    assert gke.recognise(row)
    assert _one_damaged(row).field == "protopayload_auditlog.requestJson"
    row["protopayload_auditlog"]["requestJson"] = None
    assert _one_damaged(row).field == "protopayload_auditlog.methodName"


JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    JSON_SCALARS | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
)
KEYS = st.sampled_from(
    (
        *("protoPayload", "insertId", "timestamp", "labels", "resource", "message", "data", "messageId", "attributes"),
        *("protopayload_auditlog", "methodName", "resourceName", "status", "code", "request", "response"),
        *("serviceName", "@type", "requestJson", "responseJson", "authenticationInfo", "requestMetadata", "type"),
    )
)


@given(
    st.dictionaries(
        KEYS | st.text(max_size=4),
        JSON_VALUES | st.recursive(JSON_VALUES, lambda v: st.dictionaries(KEYS, v, max_size=4)),
        max_size=6,
    )
)
def test_any_record_is_an_event_or_damaged_never_an_exception(record: dict[str, Any]) -> None:
    gke.recognise(record)
    [result] = gke.unwrap(record, 3)
    assert isinstance(result, Unwrapped | Damaged) and result.line == 3
    if isinstance(result, Unwrapped):
        decode_event(result.event)


PATHS = [
    ("insertId",),
    ("timestamp",),
    ("labels",),
    ("resource",),
    ("protoPayload",),
    ("protoPayload", "@type"),
    ("protoPayload", "serviceName"),
    ("protoPayload", "methodName"),
    ("protoPayload", "resourceName"),
    ("protoPayload", "status"),
    ("protoPayload", "status", "code"),
    ("protoPayload", "status", "message"),
    ("protoPayload", "request"),
    ("protoPayload", "response"),
    ("protoPayload", "authenticationInfo"),
    ("protoPayload", "authenticationInfo", "principalEmail"),
    ("protoPayload", "requestMetadata"),
    ("protoPayload", "requestMetadata", "callerIp"),
]


@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES), min_size=1, max_size=3))
def test_a_damaged_real_entry_is_an_event_or_damaged_never_an_exception(
    changes: list[tuple[tuple[str, ...], Any]],
) -> None:
    _, entry = _sample("gke-logentry-khi-pods-create.yaml")
    for path, value in changes:
        holder = entry
        for key in path[:-1]:
            if not isinstance(holder.get(key), dict):
                holder[key] = {}
            holder = holder[key]
        holder[path[-1]] = value
    gke.recognise(entry)
    records = [entry]
    try:
        records.append({"message": {"data": base64.b64encode(orjson.dumps(entry)).decode(), "messageId": "1"}})
    except TypeError:
        pass  # an integer JSON cannot carry: only the YAML form can hold it
    for record in records:
        [result] = gke.unwrap(record, 2)
        assert isinstance(result, Unwrapped | Damaged) and result.line == 2
        if isinstance(result, Unwrapped):
            decode_event(result.event)


# --- unmangling BigQuery's label keys ---------------------------------------------------------


def _bigquery_key(key: str) -> str:
    """BigQuery's column-name rule, written here apart from the module's."""
    return "".join(char if char.isascii() and (char.isalnum() or char == "_") else "_" for char in key)


KNOWN_ANNOTATION_KEYS = st.sampled_from(ANNOTATION_KEYS) | st.builds(
    lambda prefix, r, i: f"{prefix}round_{r}_index_{i}",
    st.sampled_from(ROUND_INDEX_PREFIXES),
    st.integers(0, 30),
    st.integers(0, 30),
)


@given(KNOWN_ANNOTATION_KEYS, st.booleans())
def test_known_annotation_keys_come_back_from_bigquery(key: str, lower: bool) -> None:
    mangled = _bigquery_key(key)
    assert unmangle(mangled.lower() if lower else mangled) == key


def test_unknown_and_unmangled_keys_stay_as_written() -> None:
    assert unmangle("example_com_owner") == "example_com_owner"
    assert unmangle("example.com/owner") == "example.com/owner"
    assert unmangle("authorization.k8s.io/decision") == "authorization.k8s.io/decision"


# --- round trip: a generated Event, the LogEntry GKE would write, and back ---------------------

DNS_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)
OBJECT_NAME = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,14}[a-z0-9])?", fullmatch=True)
RESERVED = {"namespaces", "status", "finalize", "watch", "proxy"}
RESOURCE = st.from_regex(r"[a-z]{2,12}", fullmatch=True).filter(lambda name: name not in RESERVED)
GROUP = st.sampled_from(
    ["", "apps", "batch", "policy", "rbac.authorization.k8s.io", "networking.gke.io", "cert-manager.io"]
) | st.builds(lambda a, b: f"{a}.{b}.io", DNS_LABEL, DNS_LABEL)
VERSION = st.sampled_from(["v1", "v1beta1", "v2alpha1"]) | st.from_regex(
    r"v[1-9](alpha[1-9]|beta[1-9])?", fullmatch=True
)
SUBRESOURCES = ["status", "scale", "exec", "attach", "log", "portforward", "proxy", "eviction", "binding", "token"]
QUERY = st.sampled_from(["", "?timeout=32s", "?watch=true&resourceVersion=5", "?fieldManager=kubectl&dryRun=All"])
ERRORS = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 422: 3, 429: 8, 500: 13, 503: 14, 504: 4}
"""HTTP code -> the google.rpc.Code GKE writes for it (the inverse of code.proto's mapping)."""
BODY = st.dictionaries(
    st.text(min_size=1, max_size=6).filter(lambda key: not key.startswith("@")),
    JSON_SCALARS | st.lists(st.integers(-5, 5), max_size=3),
    max_size=4,
)


@st.composite
def generated_events(draw: st.DrawFn) -> dict[str, Any]:
    """An Event as kube-apiserver writes it: URI, verb and objectRef consistent (RequestInfo)."""
    shape = draw(st.sampled_from(["collection", "object", "subresource", "namespace", "nonresource"]))
    ref: dict[str, str] | None = None
    subresource = ""
    if shape == "nonresource":
        verb = draw(st.sampled_from(["get", "post", "put", "delete", "head"]))
        uri = "/" + "/".join(
            draw(st.lists(st.from_regex(r"[A-Za-z0-9_.-]{1,8}", fullmatch=True), min_size=1, max_size=3))
        )
    elif shape == "namespace":
        name = draw(DNS_LABEL)
        verb = draw(st.sampled_from(["get", "update", "patch", "delete", "create"]))
        subresource = draw(st.sampled_from(["", "finalize", "status"])) if verb != "create" else ""
        uri = "/api/v1/namespaces" if verb == "create" else f"/api/v1/namespaces/{name}"
        uri += f"/{subresource}" if subresource else ""
        ref = {
            "resource": "namespaces",
            "namespace": "" if verb == "create" else name,
            "name": name,
            "apiVersion": "v1",
        }
    else:
        group, version, resource = draw(GROUP), draw(VERSION), draw(RESOURCE)
        namespace = draw(st.just("") | DNS_LABEL)
        uri = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        uri += f"/namespaces/{namespace}/{resource}" if namespace else f"/{resource}"
        name = ""
        if shape == "collection":
            verb = draw(st.sampled_from(["list", "watch", "create", "deletecollection"]))
            if verb == "create":
                name = draw(st.just("") | OBJECT_NAME)  # filled from the body
        else:
            name = draw(OBJECT_NAME)
            uri += f"/{name}"
            verb = draw(st.sampled_from(["get", "update", "patch", "delete"]))
            if shape == "subresource":
                subresource = draw(st.sampled_from(SUBRESOURCES))
                uri += f"/{subresource}"
                verb = draw(st.sampled_from(["get", "create", "update", "patch"]))
        ref = {"resource": resource, "namespace": namespace, "name": name, "apiGroup": group, "apiVersion": version}
    if ref is not None:
        ref["subresource"] = subresource
        ref = {key: value for key, value in ref.items() if value}
    if draw(st.booleans()):
        code = ERRORS_LIST[draw(st.integers(0, len(ERRORS_LIST) - 1))]
    elif subresource in ("exec", "attach", "portforward"):
        code = 101
    else:
        code = 201 if verb == "create" else 200
    level = draw(st.sampled_from(["Metadata", "Request", "RequestResponse"]))
    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": str(draw(st.uuids())),
        "stage": draw(st.sampled_from(["ResponseComplete", "ResponseStarted"])),
        "requestURI": uri + draw(QUERY),
        "verb": verb,
    }
    if draw(st.booleans()):
        event["user"] = {
            "username": draw(st.text(min_size=1, max_size=20)),
            "uid": draw(st.text(max_size=5)),
            "groups": draw(st.lists(st.sampled_from(["system:authenticated", "devs", "system:nodes"]), max_size=3)),
        }
    event["sourceIPs"] = draw(st.lists(st.ip_addresses().map(str), min_size=1, max_size=3))
    if draw(st.booleans()):
        event["userAgent"] = draw(st.text(min_size=1, max_size=30))
    if ref is not None:
        event["objectRef"] = ref
    status: dict[str, Any] = {"metadata": {}, "code": code}
    if code >= 400:
        status = {"metadata": {}, "status": "Failure", "message": draw(st.text(min_size=1, max_size=20)), "code": code}
    event["responseStatus"] = status
    if level != "Metadata" and draw(st.booleans()):
        event["requestObject"] = draw(BODY)
    if level == "RequestResponse":
        event["responseObject"] = {"kind": "Status", "apiVersion": "v1", **status} if code >= 400 else draw(BODY)
    stamp = draw(st.datetimes(min_value=DATETIME_MIN, max_value=DATETIME_MAX)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event["requestReceivedTimestamp"] = stamp
    event["stageTimestamp"] = stamp
    annotations = draw(st.dictionaries(KNOWN_ANNOTATION_KEYS, st.text(max_size=10), max_size=3))
    if annotations:
        event["annotations"] = annotations
    return event


ERRORS_LIST = sorted(ERRORS)
DATETIME_MIN = __import__("datetime").datetime(2000, 1, 1)
DATETIME_MAX = __import__("datetime").datetime(2099, 12, 31)


def _protojson_time(stamp: str) -> str:
    """An RFC 3339 time as protojson writes a Timestamp: 0, 3, 6 or 9 fractional digits."""
    head, fraction = stamp.rstrip("Z").split(".")
    fraction = fraction.rstrip("0")
    if not fraction:
        return head + "Z"
    width = 3 if len(fraction) <= 3 else 6
    return f"{head}.{fraction.ljust(width, '0')}Z"


def gke_entry(event: dict[str, Any]) -> dict[str, Any]:
    """The LogEntry GKE writes for `event` (cloud-formats.md §2.2, §2.3), written out plainly."""
    ref = event.get("objectRef")
    if ref is None:
        method = f"io.k8s.{event['verb']}"
        resource_name = event["requestURI"].split("?")[0][1:]
    else:
        group = ref.get("apiGroup", "")
        if not group:
            method_group = "io.k8s.core"
        elif "." in group:
            method_group = ".".join(reversed(group.split(".")))
        else:
            method_group = f"io.k8s.{group}"
        method = ".".join(
            [method_group, ref["apiVersion"], ref["resource"], *filter(None, [ref.get("subresource")]), event["verb"]]
        )
        parts = [group or "core", ref["apiVersion"]]
        if ref["resource"] == "namespaces":
            parts += ["namespaces", ref["name"]]
        else:
            if ref.get("namespace"):
                parts += ["namespaces", ref["namespace"]]
            parts.append(ref["resource"])
            if ref.get("name"):
                parts.append(ref["name"])
        if ref.get("subresource"):
            parts.append(ref["subresource"])
        resource_name = "/".join(parts)
    status = event["responseStatus"]
    payload: dict[str, Any] = {"@type": AUDITLOG}
    if "user" in event:
        payload["authenticationInfo"] = {"principalEmail": event["user"]["username"]}
    payload["authorizationInfo"] = [{"granted": True, "permission": method, "resource": resource_name}]
    payload["methodName"] = method
    if "requestObject" in event:
        payload["request"] = {"@type": "k8s.io/Object", **event["requestObject"]}
    metadata = {"callerIp": event["sourceIPs"][0]}
    if "userAgent" in event:
        metadata["callerSuppliedUserAgent"] = event["userAgent"]
    payload["requestMetadata"] = metadata
    payload["resourceName"] = resource_name
    if "responseObject" in event:
        kind = "core.k8s.io/v1.Status" if status["code"] >= 400 else "k8s.io/Object"
        payload["response"] = {"@type": kind, **event["responseObject"]}
    payload["serviceName"] = "k8s.io"
    payload["status"] = {"code": ERRORS[status["code"]], "message": status["message"]} if status["code"] >= 400 else {}
    entry: dict[str, Any] = {"insertId": event["auditID"]}
    if "annotations" in event:
        entry["labels"] = event["annotations"]
    log = "activity" if event["verb"] not in ("get", "list", "watch") else "data_access"
    entry["logName"] = f"projects/p/logs/cloudaudit.googleapis.com%2F{log}"
    entry["operation"] = {"first": True, "id": event["auditID"], "last": True, "producer": "k8s.io"}
    entry["protoPayload"] = payload
    entry["receiveTimestamp"] = "2099-12-31T23:59:59.999999Z"
    entry["resource"] = {"labels": {"cluster_name": "c", "location": "l", "project_id": "p"}, "type": "k8s_cluster"}
    entry["timestamp"] = _protojson_time(event["stageTimestamp"])
    return entry


def bigquery_row(entry: dict[str, Any]) -> dict[str, Any]:
    """The row a BigQuery sink writes for `entry` (§2.1), as `bq` prints it in JSON."""
    payload = entry["protoPayload"]
    columns = {key: payload.get(key) for key in ("serviceName", "methodName", "resourceName", "authenticationInfo")}
    columns["requestMetadata"] = payload["requestMetadata"]
    columns["authorizationInfo"] = payload["authorizationInfo"]
    columns["status"] = {"code": str(payload["status"].get("code", 0)), "message": payload["status"].get("message")}
    for key, column in (("request", "requestJson"), ("response", "responseJson")):
        columns[column] = orjson.dumps(payload[key]).decode() if key in payload else None
    stamp = entry["timestamp"].replace("T", " ").replace("Z", " UTC")
    labels = {_bigquery_key(key): value for key, value in entry.get("labels", {}).items()}
    return {
        "logName": entry["logName"],
        "resource": entry["resource"],
        "protopayload_auditlog": columns,
        "textPayload": None,
        "timestamp": stamp,
        "receiveTimestamp": entry["receiveTimestamp"],
        "severity": "NOTICE",
        "insertId": entry["insertId"],
        "labels": labels or None,
        "operation": entry["operation"],
    }


def _expected_code(event: dict[str, Any]) -> int:
    """What the field map derives: a Status response's code, else the gRPC code's HTTP code."""
    code: int = event["responseStatus"]["code"]
    if code >= 400 and "responseObject" not in event:
        return gke.GRPC_TO_HTTP[ERRORS[code]]
    return code


@given(generated_events())
def test_round_trip_gives_back_what_gke_keeps(original: dict[str, Any]) -> None:
    entry = gke_entry(original)
    assert gke.recognise(entry)
    unwrapped = _one_event(entry, 5)
    assert (unwrapped.format, unwrapped.line) == ("gke", 5)
    event = orjson.loads(unwrapped.event)

    # kept
    for field in ("auditID", "verb", "objectRef", "userAgent", "annotations", "requestObject", "responseObject"):
        assert event.get(field) == original.get(field), field
    assert event["sourceIPs"] == original["sourceIPs"][:1]
    assert event.get("user") == ({"username": original["user"]["username"]} if "user" in original else None)
    assert event["stageTimestamp"] == original["stageTimestamp"]
    assert event["responseStatus"].get("message") == original["responseStatus"].get("message")
    assert event["responseStatus"]["code"] // 100 == original["responseStatus"]["code"] // 100
    # derived, as documented
    assert event["requestURI"] == original["requestURI"].split("?")[0]
    assert event["requestReceivedTimestamp"] == event["stageTimestamp"]
    assert event["responseStatus"]["code"] == _expected_code(original)
    streaming = original.get("objectRef", {}).get("subresource") in ("exec", "attach", "portforward", "proxy")
    assert event["stage"] == ("ResponseStarted" if streaming else "ResponseComplete")
    if "responseObject" in original:
        assert event["level"] == "RequestResponse"
    else:
        assert event["level"] == ("Request" if "requestObject" in original else "Metadata")

    # the engine reads it, and sees the request the apiserver's policy checker saw
    fields = decode_event(unwrapped.event)
    attributes = request_attributes(fields)
    assert attributes.path == request_path(original["requestURI"])
    ref = original.get("objectRef")
    assert attributes.resource_request == (ref is not None)
    if ref is not None:
        assert (attributes.api_group, attributes.resource) == (ref.get("apiGroup", ""), ref["resource"])
        assert (attributes.subresource, attributes.namespace) == (ref.get("subresource", ""), ref.get("namespace", ""))
    assert attributes.groups == ()

    # the same entry in every container gives the same Event
    data = base64.b64encode(orjson.dumps(entry)).decode()
    containers: list[dict[str, Any]] = [
        {"message": {"data": data, "messageId": "17", "attributes": {"logging.googleapis.com/timestamp": "x"}}},
        {"data": data, "attributes": {}, "messageId": "17", "publishTime": "2099-01-01T00:00:00Z"},
        {"ackId": "a", "message": {"data": base64.urlsafe_b64encode(orjson.dumps(entry)).decode(), "messageId": "1"}},
        {"message": entry, "sekoia": True},
        {"message": orjson.dumps(entry).decode()},
        bigquery_row(entry),
    ]
    for container in containers:
        assert gke.recognise(container), container
        assert _one_event(container, 5) == unwrapped


TIME_TEXT = st.builds(
    lambda year, month, day, hour, minute, second, fraction, zone: (
        f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"
    ),
    st.integers(900, 2300),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.just("") | st.from_regex(r"\.[0-9]{1,10}", fullmatch=True),
    st.sampled_from(["Z", "", "+02:00", "z"]),
)


@given(TIME_TEXT | st.text(max_size=30))
def test_event_time_fast_path_equals_the_engine_parser(text: str) -> None:
    assert gke.event_time(text) == format_time(int(parse_times([text])[0]))
