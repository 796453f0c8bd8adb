"""From a recorded Event to the attributes kube-apiserver's policy checker saw (spec section 5).

This is the one place that decides what the apiserver saw; evaluation, explain and filters all use
its result.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from k8saudit_tui.engine.logs.event import EventFields, UserInfo
from k8saudit_tui.engine.model import RequestAttributes

_LEGACY_V1ALPHA1 = "audit.k8s.io/v1alpha1"
URL_NAMED_VERBS = frozenset({"create", "update", "patch"})
"""Verbs whose logged objectRef may be filled from the body after the policy ran (E8)."""


def request_attributes(event: EventFields) -> RequestAttributes:
    """Build the checker's attributes for `event` (E1-E10)."""
    username, groups = user_identity(event.user)
    ref = event.objectRef
    if ref is None:  # E3: no objectRef means a non-resource request
        return RequestAttributes(username, groups, event.verb, False, request_path(event.requestURI))
    api_group = ref.apiGroup
    if not api_group and event.apiVersion == _LEGACY_V1ALPHA1 and "/" in ref.apiVersion:
        api_group = ref.apiVersion.rsplit("/", 1)[0]  # E10
    namespace, name = ref.namespace, ref.name
    if event.verb in URL_NAMED_VERBS:  # E8: the policy saw the URL's name and namespace
        parsed = parse_resource_path(request_path(event.requestURI))
        if parsed is not None:
            namespace, name = parsed.namespace, parsed.name
    return RequestAttributes(
        username,
        groups,
        event.verb,
        True,
        request_path(event.requestURI),
        api_group,
        ref.resource,
        ref.subresource,
        namespace,
        name,
    )


def attributes_key(event: EventFields) -> tuple[object, ...]:
    """The fields of `event` that decide its RequestAttributes: a cheap memo key for evaluators.

    Must name every field `request_attributes` reads (the URI only where it is used).
    """
    username, groups = user_identity(event.user)
    ref = event.objectRef
    if ref is None:
        return (username, groups, event.verb, event.requestURI)
    uri = event.requestURI if event.verb in URL_NAMED_VERBS else None
    return (
        username,
        groups,
        event.verb,
        event.apiVersion,
        ref.apiGroup,
        ref.apiVersion,
        ref.resource,
        ref.subresource,
        ref.namespace,
        ref.name,
        uri,
    )


def records_user(user: UserInfo | None) -> bool:
    """Whether `user` is a present user (E2): it records a username, uid, groups or extra.

    Upstream writes the user fields only when the request had a user, each omitted when empty;
    so an absent or empty user object is a request without one (failed authentication), and
    anything recorded, even without a name, is a user with an empty name.
    """
    return user is not None and bool(user.username or user.groups or user.uid or user.extra is not None)


def user_identity(user: UserInfo | None) -> tuple[str | None, tuple[str, ...]]:
    """(username, groups) as the checker saw them (E1, E2): (None, ()) when no user is present."""
    if user is None or not records_user(user):
        return None, ()
    return user.username, tuple(user.groups or ())


@lru_cache(maxsize=65536)
def request_path(request_uri: str) -> str:
    """The percent-decoded URL path without the query (E7); cached because real URIs repeat."""
    return unquote(request_uri.split("?", 1)[0])


@dataclass(frozen=True, slots=True)
class ResourcePath:
    """What `NewRequestInfo` reads from a resource path (E5), without the verb."""

    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str


def parse_resource_path(path: str) -> ResourcePath | None:
    """Parse a kube-apiserver resource path as `NewRequestInfo` does (E5); None if not one."""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "apis":
        if len(parts) < 4:
            return None  # /apis/GROUP/VERSION is discovery
        group, rest = parts[1], parts[3:]
    else:
        group, rest = "", parts[2:]
    if rest and rest[0] in ("watch", "proxy"):
        rest = rest[1:]
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    if not rest or not rest[0]:
        return None
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    return ResourcePath(group, resource, subresource, namespace, name)
