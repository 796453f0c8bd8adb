"""GKE's `methodName` and `resourceName` back to the request the apiserver saw (cloud-formats.md §2.3).

Contract: `read_names(method_name, resource_name)` is pure and total. It returns `Names` (the verb,
the requestURI and the objectRef in the apiserver's key order, None for a non-resource request) or
a `BadName` naming the field and saying why; it never raises.

Why the verb is the only thing taken from `methodName`: GKE writes the API group reversed by dots
and subresources between the resource and the verb, so `io.k8s.authorization.v1...` and
`io.k8s.authorization.rbac.v1...` cannot be split without knowing where the version is.
`resourceName` (`GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE...]]`, `core` for the
core group) says all of it, so the path is rebuilt from it and read with the engine's own
`parse_resource_path`, the one reading of a resource path (E5): the namespace object, its
`status`/`finalize` subresources and lists come out as the apiserver's RequestInfo reads them.

A non-resource request (`/healthz`, `/metrics`) has a three-segment methodName `io.k8s.VERB` and
its path without the leading `/` as resourceName.

A create is POSTed to the collection, but GKE's resourceName carries the created object's name
(the apiserver fills objectRef.name from the body): the requestURI drops that name, as the policy
saw it (E8), and objectRef is what the apiserver logs, the collection's namespace plus the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from k8saudit_tui.engine.logs.attributes import ResourcePath, parse_resource_path

AUDITLOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"
KUBERNETES_SERVICE = "k8s.io"
KUBERNETES_RESOURCE_TYPE = "k8s_cluster"

_VERB = re.compile(r"[A-Za-z]+")
STREAMING_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
"""Requests the apiserver logs at ResponseStarted (the response is a stream that stays open)."""


@dataclass(frozen=True, slots=True)
class Names:
    """What `methodName` and `resourceName` say about the request."""

    verb: str
    request_uri: str
    object_ref: dict[str, str] | None
    """resource, namespace, name, apiGroup, apiVersion, subresource (empty ones omitted, as the
    apiserver does); None for a non-resource request."""


@dataclass(frozen=True, slots=True)
class BadName:
    """Why the names cannot be read: `field` is `methodName` or `resourceName`."""

    field: str
    reason: str


def is_kubernetes_audit(payload: object, resource: object) -> bool:
    """Whether an AuditLog payload is a Kubernetes audit entry (`serviceName: k8s.io`).

    An entry without a serviceName counts when its resource is a `k8s_cluster`; any other
    serviceName (`container.googleapis.com` cluster operations) is not Kubernetes audit.
    """
    if not isinstance(payload, dict):
        return False
    if payload.get("@type", AUDITLOG_TYPE) != AUDITLOG_TYPE:
        return False
    service: object = payload.get("serviceName")
    if service is not None:
        return service == KUBERNETES_SERVICE
    if not isinstance(resource, dict):
        return False
    kind: object = resource.get("type")
    return kind == KUBERNETES_RESOURCE_TYPE


def read_names(method_name: str, resource_name: str) -> Names | BadName:
    """The verb, requestURI and objectRef of one GKE entry (see the module docstring)."""
    segments = method_name.split(".")
    verb = segments[-1]
    if len(segments) < 3 or not _VERB.fullmatch(verb):
        return BadName("methodName", f"{method_name!r} does not end in a verb (like io.k8s.core.v1.pods.get)")
    if len(segments) == 3:
        return Names(verb, "/" + resource_name.removeprefix("/"), None)
    parts = resource_name.split("/")
    if len(parts) < 3 or not all(parts[:3]):
        return BadName("resourceName", f"{resource_name!r} is not GROUP/VERSION/RESOURCE[/NAME...] ({method_name})")
    path = "/api/" + "/".join(parts[1:]) if parts[0] == "core" else "/apis/" + resource_name
    full = parse_resource_path(path)
    if full is None:
        return BadName("resourceName", f"{resource_name!r} is not a resource path ({method_name})")
    if verb == "create" and full.name and not full.subresource:
        path = path.rsplit("/", 1)[0]
        collection = parse_resource_path(path)
        if collection is not None:
            full = ResourcePath(collection.api_group, collection.resource, "", collection.namespace, full.name)
    return Names(verb, path, _object_ref(full, parts[1]))


def _object_ref(path: ResourcePath, version: str) -> dict[str, str]:
    """objectRef in the apiserver's key order, empty members omitted (omitempty upstream)."""
    members = (
        ("resource", path.resource),
        ("namespace", path.namespace),
        ("name", path.name),
        ("apiGroup", path.api_group),
        ("apiVersion", version),
        ("subresource", path.subresource),
    )
    return {key: value for key, value in members if value}
