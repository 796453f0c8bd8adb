"""From a recorded Event to the checker's attributes (E1-E10)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.attributes import attributes_key, parse_resource_path, request_attributes
from k8saudit_tui.engine.logs.event import EventError, convert_event, decode_event
from k8saudit_tui.engine.model import RequestAttributes


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "a",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods/busybox",
        "verb": "get",
        "user": {"username": "alice", "groups": ["devs", "system:authenticated"]},
        "objectRef": {"resource": "pods", "namespace": "default", "name": "busybox", "apiVersion": "v1"},
    }
    base.update(fields)
    return base


def attrs_of(data: dict[str, Any]) -> RequestAttributes:
    return request_attributes(convert_event(data))


def test_e1_the_authenticated_user_not_the_impersonated_one() -> None:
    data = event(
        user={"username": "system:admin", "groups": ["system:masters"]},
        impersonatedUser={"username": "bob", "groups": ["devs"]},
    )
    attrs = attrs_of(data)
    assert attrs.username == "system:admin"
    assert attrs.groups == ("system:masters",)


@pytest.mark.parametrize("user", [{}, {"username": ""}, {"groups": [], "uid": ""}, None])
def test_e2_no_user_after_failed_authentication(user: dict[str, Any] | None) -> None:
    data = event(stage="ResponseStarted", user=user)
    attrs = attrs_of(data)
    assert attrs.username is None
    assert attrs.groups == ()


def test_e3_no_object_ref_is_a_non_resource_request() -> None:
    data = event(requestURI="/healthz?verbose=1", verb="get")
    del data["objectRef"]
    attrs = attrs_of(data)
    assert not attrs.resource_request
    assert attrs.path == "/healthz"


def test_e3_object_ref_even_for_a_list_is_a_resource_request() -> None:
    data = event(requestURI="/api/v1/pods?limit=500", verb="list", objectRef={"resource": "pods"})
    attrs = attrs_of(data)
    assert attrs.resource_request
    assert (attrs.namespace, attrs.name) == ("", "")


def test_e7_the_path_is_percent_decoded_without_the_query() -> None:
    data = event(requestURI="/logs/a%20b%2Fc?x=%2F", verb="get")
    del data["objectRef"]
    assert attrs_of(data).path == "/logs/a b/c"


def test_e8_create_takes_name_and_namespace_from_the_url() -> None:
    """The logged objectRef.name of a create is filled from the body after the policy ran."""
    data = event(
        verb="create",
        requestURI="/api/v1/namespaces/default/pods",
        objectRef={"resource": "pods", "namespace": "default", "name": "web-1", "apiVersion": "v1"},
    )
    assert attrs_of(data).name == ""


def test_e8_create_on_a_cluster_scoped_collection_has_no_namespace() -> None:
    data = event(
        verb="create",
        requestURI="/apis/rbac.authorization.k8s.io/v1/clusterroles",
        objectRef={
            "resource": "clusterroles",
            "namespace": "ns-from-body",
            "name": "x",
            "apiGroup": "rbac.authorization.k8s.io",
            "apiVersion": "v1",
        },
    )
    attrs = attrs_of(data)
    assert (attrs.namespace, attrs.name, attrs.api_group) == ("", "", "rbac.authorization.k8s.io")


def test_e8_create_on_a_subresource_keeps_the_parent_name() -> None:
    data = event(
        verb="create",
        requestURI="/api/v1/namespaces/default/pods/web-1/eviction",
        objectRef={"resource": "pods", "namespace": "default", "name": "web-1", "subresource": "eviction"},
    )
    attrs = attrs_of(data)
    assert (attrs.name, attrs.subresource) == ("web-1", "eviction")


def test_e6_a_namespace_object_is_in_its_own_namespace() -> None:
    data = event(
        verb="update",
        requestURI="/api/v1/namespaces/foo/finalize",
        objectRef={"resource": "namespaces", "name": "foo", "subresource": "finalize"},
    )
    attrs = attrs_of(data)
    assert (attrs.namespace, attrs.name, attrs.resource) == ("foo", "foo", "namespaces")


def test_e10_v1alpha1_takes_the_group_from_object_ref_api_version() -> None:
    data = event(
        apiVersion="audit.k8s.io/v1alpha1",
        objectRef={"resource": "deployments", "namespace": "default", "apiVersion": "apps/v1"},
    )
    assert attrs_of(data).api_group == "apps"


def test_e10_v1beta1_timestamps() -> None:
    data = event(
        apiVersion="audit.k8s.io/v1beta1",
        timestamp="2018-01-01T00:00:00Z",
        metadata={"creationTimestamp": "2018-01-01T00:00:01Z"},
    )
    parsed = convert_event(data)
    assert parsed.received_time == "2018-01-01T00:00:00Z"
    assert parsed.stage_time == "2018-01-01T00:00:01Z"


def test_e10_events_without_api_version_or_kind_are_events() -> None:
    data = event()
    del data["apiVersion"], data["kind"]
    assert attrs_of(data).username == "alice"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/namespaces/default/pods/x/log", ("", "pods", "log", "default", "x")),
        ("/api/v1/namespaces/kube-system", ("", "namespaces", "", "kube-system", "kube-system")),
        ("/api/v1/namespaces", ("", "namespaces", "", "", "")),
        ("/api/v1/watch/namespaces/default/pods", ("", "pods", "", "default", "")),
        ("/apis/apps/v1/namespaces/d/deployments/w/scale", ("apps", "deployments", "scale", "d", "w")),
        ("/api/v1/nodes/n1/proxy/a/b", ("", "nodes", "proxy", "", "n1")),
        ("/apis/apps/v1", None),
        ("/healthz", None),
        ("/api/v1", None),
    ],
)
def test_e5_path_parsing(path: str, expected: tuple[str, ...] | None) -> None:
    parsed = parse_resource_path(path)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert (parsed.api_group, parsed.resource, parsed.subresource, parsed.namespace, parsed.name) == expected


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b"{}", "stage"),
        (b'{"stage": "Done", "verb": "get"}', "stage"),
        (b'{"kind": "Pod", "stage": "Panic", "verb": "get"}', "kind"),
        (b'{"stage": "Panic", "verb": "get", "user": "bob"}', "user"),
        (b'{"stage": "Panic", "verb": "get", "user": {"groups": {}}}', "user.groups"),
        (b'{"stage": "Panic", "verb": "get", "objectRef": []}', "objectRef"),
        (b'{"stage": "Panic", "verb": 7}', "verb"),
    ],
)
def test_a_bad_event_names_the_field(line: bytes, field: str) -> None:
    with pytest.raises(EventError) as caught:
        decode_event(line)
    assert caught.value.field == field


@pytest.mark.parametrize("line", [b'{"stage": "Pa', b"\xff\xfe\x00", b"[1, 2]", b"null", b'"x"', b'{"a": "\\ud800"}'])
def test_unreadable_lines_raise_event_error_only(line: bytes) -> None:
    with pytest.raises(EventError):
        decode_event(line)


@given(st.binary(max_size=200))
def test_decoding_arbitrary_bytes_raises_nothing_but_event_error(data: bytes) -> None:
    try:
        decode_event(data)
    except EventError:
        pass


_USERS = [None, {}, {"uid": "u"}, {"groups": ["g"]}, {"username": "alice", "groups": ["g"]}]


@given(
    st.sampled_from(["get", "list", "create", "update", "patch", "delete"]),
    st.sampled_from(["/api/v1/namespaces/a/pods/x", "/api/v1/namespaces/a/pods", "/api/v1/pods?limit=1"]),
    st.sampled_from(["", "x", "y"]),
    st.sampled_from(["", "a", "b"]),
    st.sampled_from(_USERS),
    st.sampled_from(_USERS),
)
def test_equal_memo_keys_mean_equal_attributes_apart_from_the_path(
    verb: str,
    uri: str,
    name: str,
    namespace: str,
    user: dict[str, Any] | None,
    other_user: dict[str, Any] | None,
) -> None:
    """The evaluator memoises on `attributes_key`: it must capture all that decides a verdict.

    The second event differs by its query string (which the key leaves out unless the verb takes
    its name from the URL, E8) and maybe by its user (which the key must tell apart, E2).
    """
    ref = {"resource": "pods", "name": name, "namespace": namespace}
    first = convert_event(event(verb=verb, requestURI=uri, objectRef=ref, user=user))
    second = convert_event(event(verb=verb, requestURI=uri + "&resourceVersion=5", objectRef=ref, user=other_user))
    a, b = request_attributes(first), request_attributes(second)
    same_key = attributes_key(first) == attributes_key(second)
    same_user = (a.username, a.groups) == (b.username, b.groups)
    assert same_key == (same_user and verb not in ("create", "update", "patch"))
    assert not same_key or a._replace(path="") == b._replace(path="")
