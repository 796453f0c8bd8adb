"""The store's "attr" column, built per combination of column codes (logs/stream_attributes.py), is
exactly `request_attributes` of each event: users present or not (E2), objectRefs or none (E3),
URL-named verbs (E8), v1alpha1 API groups (E10), percent-encoded paths (E7), across two batches of
one persistent encoder (the second meets combinations the first coded). The request columns of rows
that lack a value (no user, no objectRef, no status, no address, a user without a name) equal a
plain reading of each event too."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import decode_event
from tests.auditlog_helpers import event, line
from tests.test_event_columns import two_batches

NAMES = ("", "web-1", "kube-system", "a%2Fb")
NAMESPACES = ("", "default", "kube-system")
URIS = (
    "/api/v1/namespaces/default/pods/web-1",
    "/api/v1/namespaces/kube-system/pods/other?watch=true",
    "/apis/apps/v1/namespaces/default/deployments/web-1/scale",
    "/apis/apps/v1/deployments",
    "/api/v1/namespaces/default/pods/a%2Fb",
    "/apis/apps/v1",
    "/healthz?verbose",
    "/api/v1/namespaces/x",
    "",
)
users = st.one_of(
    st.none(),
    st.just({}),
    st.builds(
        lambda name, groups, uid, extra: {
            key: value
            for key, value in (("username", name), ("groups", groups), ("uid", uid), ("extra", extra))
            if value is not None
        },
        st.sampled_from(["", "alice", "system:node:n1"]),
        st.one_of(st.none(), st.lists(st.sampled_from(["g1", "system:authenticated"]), max_size=2)),
        st.sampled_from([None, "", "u-1"]),
        st.sampled_from([None, {}, {"k": ["v"]}]),
    ),
)
refs = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "resource": st.sampled_from(["pods", "deployments", ""]),
            "namespace": st.sampled_from(NAMESPACES),
            "name": st.sampled_from(NAMES),
            "apiGroup": st.sampled_from(["", "apps"]),
            "apiVersion": st.sampled_from(["v1", "apps/v1", "batch/v1beta1", ""]),
            "subresource": st.sampled_from(["", "scale", "status"]),
        },
    ),
)


@st.composite
def drawn_event(draw: st.DrawFn, n: int) -> dict[str, Any]:
    value = event(n)
    value["apiVersion"] = draw(st.sampled_from(["audit.k8s.io/v1", "audit.k8s.io/v1alpha1", "audit.k8s.io/v1beta1"]))
    value["verb"] = draw(st.sampled_from(["get", "list", "create", "update", "patch", "delete", ""]))
    value["requestURI"] = draw(st.sampled_from(URIS))
    if not value["verb"] and not value["requestURI"]:
        value["requestURI"] = "/healthz"
    user = draw(users)
    if user is None:
        del value["user"]
    else:
        value["user"] = user
    ref = draw(refs)
    if ref is None:
        value.pop("objectRef", None)
    else:
        value["objectRef"] = ref
    for key, choices in (("responseStatus", STATUSES), ("sourceIPs", ADDRESSES)):
        chosen = draw(st.sampled_from(choices))
        if chosen is None:
            del value[key]
        else:
            value[key] = chosen
    return value


STATUSES = (None, {}, {"code": 200}, {"metadata": {}, "code": 404}, {"code": 70000}, {"code": -1})
ADDRESSES = (None, [], ["10.0.0.1"], ["10.0.0.2", "10.0.0.3"])


def plain_code(value: dict[str, Any]) -> int | None:
    code = (value.get("responseStatus") or {}).get("code", 0)
    return code if 0 < code <= 32767 else None


def plain_user(value: dict[str, Any]) -> tuple[str, str]:
    user = value.get("user") or {}
    return user.get("username", ""), ", ".join(user.get("groups") or ())


def plain_ref(value: dict[str, Any]) -> tuple[str, str, str, str]:
    ref = value.get("objectRef") or {}
    return ref.get("resource", ""), ref.get("namespace", ""), ref.get("name", ""), ref.get("subresource", "")


events = st.integers(1, 30).flatmap(lambda count: st.tuples(*(drawn_event(n) for n in range(count))))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.integers(0, 30))
def test_attributes_of_every_row_are_request_attributes_of_its_event(
    values: tuple[dict[str, Any], ...], cut: int
) -> None:
    lines = [line(value) for value in values]
    store = two_batches(lines, cut)
    assert len(store) == len(values)
    for row, piece in enumerate(lines):
        assert store.attributes(row) == request_attributes(decode_event(piece))
        value = values[row]
        assert store.value(row, "code") == plain_code(value)
        assert store.value(row, "ip") == (value.get("sourceIPs") or [""])[0]
        assert (store.value(row, "user"), store.value(row, "group")) == plain_user(value)
        assert tuple(store.value(row, name) for name in ("resource", "ns", "name", "subresource")) == plain_ref(value)
