"""Small builders for audit log lines used by the store, query and export tests (no shared corpus)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from k8saudit_tui.engine.model import GroupResources, Policy, PolicyRule


def event(
    n: int = 0,
    *,
    user: str = "alice",
    groups: tuple[str, ...] = ("system:authenticated",),
    verb: str = "get",
    resource: str | None = "pods",
    subresource: str = "",
    namespace: str = "default",
    name: str = "",
    group: str = "",
    code: int = 200,
    stage: str = "ResponseComplete",
    level: str = "Metadata",
    time: str | None = None,
    uri: str | None = None,
    ip: str = "10.0.0.1",
    ua: str = "kubectl/v1.29",
    audit_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One audit.k8s.io/v1 Event as a dict; `n` makes the auditID and (default) time distinct."""
    stamp = time or f"2026-11-20T10:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000000:06d}Z"
    if uri is None:
        uri = f"/api/v1/namespaces/{namespace}/{resource}" if resource else "/healthz"
        if name:
            uri += f"/{name}"
        if subresource:
            uri += f"/{subresource}"
    data: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": audit_id or f"00000000-0000-0000-0000-{n:012d}",
        "stage": stage,
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user, "groups": list(groups)},
        "sourceIPs": [ip],
        "userAgent": ua,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": stamp,
        "stageTimestamp": stamp,
    }
    if resource is not None:
        ref = {"resource": resource, "namespace": namespace, "apiVersion": "v1"}
        if name:
            ref["name"] = name
        if subresource:
            ref["subresource"] = subresource
        if group:
            ref["apiGroup"] = group
        data["objectRef"] = ref
    data.update(extra)
    return data


def line(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value)


def write_lines(path: Path, lines: list[bytes], newline_at_end: bool = True) -> Path:
    path.write_bytes(b"\n".join(lines) + (b"\n" if newline_at_end else b""))
    return path


def simple_policy() -> Policy:
    """0: None for system:kube-proxy; 1: RequestResponse for secrets; 2: Request for pods/log;
    3: Metadata for everything else except RequestReceived."""
    return Policy(
        rules=(
            PolicyRule(level="None", users=("system:kube-proxy",)),
            PolicyRule(level="RequestResponse", resources=(GroupResources("", ("secrets",)),)),
            PolicyRule(level="Request", resources=(GroupResources("", ("pods/log",)),)),
            PolicyRule(level="Metadata", omit_stages=("RequestReceived",)),
        )
    )
