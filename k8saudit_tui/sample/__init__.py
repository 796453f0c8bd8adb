"""Sample kube-apiserver audit logs: realistic, deterministic, optionally hostile.

The project needs audit traffic for its demo, its tests and its benchmarks, and it cannot ship real
cluster logs. This module simulates the audit stream of a busy cluster: kubelets renewing leases and
patching status, controllers and the scheduler reading and writing, kube-proxy and CoreDNS watches,
operators with CRDs, health probes and discovery, and a few humans running kubectl (some forbidden,
some impersonating, some with a bad token).

Every request follows the event shapes of the policy-semantics spec: RequestReceived then
ResponseComplete, plus ResponseStarted for long-running requests (S3), Panic instead of
ResponseComplete now and then (S4), a single ResponseStarted with an empty user and code 401 for
failed authentication (E2), impersonatedUser only after RequestReceived (E1), and create/update
objectRefs that gain the body's name only in the later stages (E8). Given an evaluator, each request's
level and omitted stages come from the policy (S1, S5), so the output is what a kube-apiserver running
that policy would have written. Output is a pure function of the arguments.

Speed matters (benchmarks generate millions of events), so actors, URIs, objectRefs and bodies are
serialised once and events are assembled from byte fragments.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import calendar
import gzip as gzip_module
import heapq
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import EventFields, ObjectRef, UserInfo
from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator

RR, RS, RC, PANIC = "RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"
K8S = "v1.31.4 (linux/amd64) kubernetes/a78aa47"
SAFE = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of generated Kubernetes name suffixes
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_POLICY = DATA_DIR / "demo-policy.yaml"
DEMO_LOG = DATA_DIR / "demo-audit.log"
DEMO_EVENTS = 3000
DEMO_SEED = 2026
DEMO_HOSTILE = 0.02
DEMO_RATE = 40.0

_dumps = orjson.dumps

# ------------------------------------------------------------------------------------------------
# hostile strings: every one must survive as JSON and be shown literally by the UI
# ------------------------------------------------------------------------------------------------

HOSTILE_TEXT: tuple[str, ...] = (
    "[b]root[/b]",
    "[/]",
    "[link=https://x]y[/link]",
    "[red]",
    "[bold red on white]PWNED[/bold red on white]",
    "\x1b[31mred\x1b[0m",
    "\x1b[2J\x1b[H",
    "\x1b]0;title\x07",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "nul\x00bel\x07bs\x08cr\rlf\nvt\x0bdel\x7f",
    "c1\x85\x9b31m\x9d0;t\x9c",
    "\u202egnp.exe",
    "ad\u200bmin\u200c\u200d\ufeff",
    "\u7ba1\u7406\u8005-\u65e5\u672c\u8a9e-\ud55c\uad6d\uc5b4",
    "\U0001f525\U0001f480\U0001f47e-\U0001f1fa\U0001f1e6",
    "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd",
    "a\u0301\u0302\u0303\u0304\u0305\u0306\u0307",
    "\\\"quoted\\\" 'single' `back`",
    "%2e%2e%2f%00",
)
"""Markup, ANSI CSI/OSC (incl. OSC 52 clipboard and OSC 8 links), C0/C1, bidi, zero-width, CJK,
emoji, RTL, combining marks, quotes. Never lone surrogates: those are not valid UTF-8 JSON."""

_PATH_UNSAFE = "/?#%"


def _path_safe(text: str) -> str:
    """A hostile string usable as one URL path segment, so the path still parses like the objectRef."""
    return "".join("_" if ch in _PATH_UNSAFE else ch for ch in text) or "_"


HOSTILE_SEGMENTS: tuple[str, ...] = tuple(_path_safe(text) for text in HOSTILE_TEXT)
LONG_USER_AGENT = ("Mozilla/5.0 (" + "A" * 5000)[:4990] + ") evil/1.0"
"""A 5,000-character user agent, for column-width and truncation code."""


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------


class _Clock:
    """RFC3339 timestamps with microseconds and Z; the date part is cached per second."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, micros: int) -> str:
        seconds, fraction = divmod(micros, 1_000_000)
        prefix = self._cache.get(seconds)
        if prefix is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            self._cache[seconds] = prefix
        return f"{prefix}.{fraction:06d}Z"


_UUID_CLEAR = ~((0xF << 76) | (0xC << 60))
_UUID_SET = (0x4 << 76) | (0x8 << 60)


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID from the seeded generator (uuid.uuid4 would not be reproducible)."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _suffix(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(SAFE) for _ in range(length))


def _escaped(text: str) -> bytes:
    """`text` as the inside of a JSON string, to splice into pre-serialised bodies."""
    return _dumps(text)[1:-1]


def _parse_start(start: str) -> int:
    """`2026-11-20T09:00:00Z` as microseconds since the epoch."""
    return calendar.timegm(time.strptime(start, "%Y-%m-%dT%H:%M:%SZ")) * 1_000_000


class _Picker:
    """Weighted choice with one random() call and a bisect: the hot path's only chooser."""

    def __init__(self, rng: random.Random, items: list[tuple[float, Any]]) -> None:
        total = 0.0
        self._cum: list[float] = []
        for weight, _ in items:
            total += weight
            self._cum.append(total)
        self._values = [value for _, value in items]
        self._total = total
        self._rng = rng

    def __call__(self) -> Any:
        return self._values[bisect.bisect_right(self._cum, self._rng.random() * self._total)]


# ------------------------------------------------------------------------------------------------
# actors: users with their source IPs, user agents and RBAC reasons, serialised once
# ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Actor:
    """Who sends requests. `info` is what request_attributes reads; the JSON fragments are spliced."""

    username: str
    info: UserInfo
    user_json: bytes
    ips_json: bytes
    ua_json: bytes
    allow_json: bytes
    """The annotations of an allowed request by this actor."""


FORBID_JSON = _dumps({"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""})


def make_actor(
    username: str,
    groups: list[str],
    ips: list[str],
    user_agent: str,
    reason: str = "",
    *,
    uid: str | None = None,
    extra: dict[str, list[str]] | None = None,
) -> Actor:
    """Build an Actor; `username` "" makes the empty user of a failed authentication (E2)."""
    user: dict[str, Any] = {}
    if username:
        user["username"] = username
        if uid:
            user["uid"] = uid
        user["groups"] = groups
        if extra:
            user["extra"] = extra
    allow = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": reason}
    return Actor(
        username,
        UserInfo(username=username, groups=list(groups) if username else None),
        _dumps(user),
        _dumps(ips),
        _dumps(user_agent),
        _dumps(allow),
    )


def _binding(kind: str, name: str, role: str, subject_kind: str, subject: str) -> str:
    """The reason string of the RBAC authorizer (a RoleBinding `name` is `namespace/name`)."""
    role_kind = "ClusterRole"
    return f'RBAC: allowed by {kind} "{name}" of {role_kind} "{role}" to {subject_kind} "{subject}"'


# ------------------------------------------------------------------------------------------------
# bodies: small realistic objects, pre-serialised with placeholders
# ------------------------------------------------------------------------------------------------

_NAME, _NS, _UID, _RV, _TS, _NODE = b"@NAME@", b"@NS@", b"@UID@", b"@RV@", b"@TS@", b"@NODE@"


def _meta(labels: bool = True, managed: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": "@NAME@",
        "namespace": "@NS@",
        "uid": "@UID@",
        "resourceVersion": "@RV@",
        "creationTimestamp": "@TS@",
    }
    if labels:
        meta["labels"] = {"app.kubernetes.io/name": "@NAME@", "app.kubernetes.io/managed-by": "Helm"}
    if managed:
        meta["managedFields"] = [
            {
                "manager": managed,
                "operation": "Update",
                "apiVersion": "v1",
                "time": "@TS@",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/name": {}}}},
            }
        ]
    return meta


def _pod(rng: random.Random) -> dict[str, Any]:
    image = f"registry.example.com/shop/app:{rng.randrange(1, 4)}.{rng.randrange(30)}.{rng.randrange(9)}"
    meta = _meta(managed="kube-controller-manager")
    meta["generateName"] = "@NAME@-"
    meta["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "@NAME@",
            "uid": _uuid(rng),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    container = {
        "name": "app",
        "image": image,
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": rng.choice(("info", "debug"))},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        ],
        "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "imagePullPolicy": "IfNotPresent",
    }
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta,
        "spec": {
            "containers": [container],
            "restartPolicy": "Always",
            "nodeName": "@NODE@",
            "serviceAccountName": "default",
            "schedulerName": "default-scheduler",
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.244.{rng.randrange(256)}.{rng.randrange(2, 255)}",
            "startTime": "@TS@",
            "qosClass": "Burstable",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "@TS@"}],
        },
    }


def _secret(rng: random.Random) -> dict[str, Any]:
    keys = ("username", "password", "tls.key")[: rng.randrange(1, 4)]
    data = {key: base64.b64encode(f"{key}-{rng.getrandbits(96):024x}".encode()).decode() for key in keys}
    return {"kind": "Secret", "apiVersion": "v1", "metadata": _meta(), "type": "Opaque", "data": data}


def _configmap(rng: random.Random) -> dict[str, Any]:
    data = {f"setting_{i}": f"value-{rng.randrange(10**6)}" for i in range(rng.randrange(1, 6))}
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": _meta(managed="kubectl-client-side-apply"),
        "data": data,
    }


def _lease(rng: random.Random) -> dict[str, Any]:
    meta = _meta(labels=False, managed="kubelet")
    return {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": meta,
        "spec": {"holderIdentity": "@NAME@", "leaseDurationSeconds": 40, "renewTime": "@TS@"},
    }


def _token_review(rng: random.Random, response: bool) -> dict[str, Any]:
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ik" + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(300)
    )
    body: dict[str, Any] = {
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"token": token, "audiences": ["https://kubernetes.default.svc.cluster.local"]},
        "status": {"user": {}},
    }
    if response:
        body["status"] = {
            "authenticated": True,
            "user": {
                "username": "system:serviceaccount:monitoring:prometheus",
                "uid": "@UID@",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:monitoring", "system:authenticated"],
            },
        }
    return body


def _token_request(rng: random.Random) -> dict[str, Any]:
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": "@NAME@", "namespace": "@NS@", "creationTimestamp": None},
        "spec": {
            "audiences": ["https://kubernetes.default.svc.cluster.local"],
            "expirationSeconds": 3607,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "@NAME@", "uid": "@UID@"},
        },
        "status": {"token": "eyJhbGciOiJSUzI1NiJ9." + f"{rng.getrandbits(512):0128x}", "expirationTimestamp": "@TS@"},
    }


def _status_patch(rng: random.Random, node: bool) -> dict[str, Any]:
    kinds = ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready") if node else ("Ready", "ContainersReady")
    return {
        "status": {
            "$setElementOrder/conditions": [{"type": kind} for kind in kinds],
            "conditions": [
                {"lastHeartbeatTime" if node else "lastTransitionTime": "@TS@", "type": kind} for kind in kinds
            ],
        }
    }


def _event(rng: random.Random) -> dict[str, Any]:
    reason, message = rng.choice(
        (
            ("Pulled", "Container image already present on machine"),
            ("Started", "Started container app"),
            ("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
        )
    )
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "@NAME@", "namespace": "@NS@", "uid": "@UID@", "resourceVersion": "@RV@"},
        "involvedObject": {"kind": "Pod", "namespace": "@NS@", "name": "@NAME@"},
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": "@NODE@"},
        "firstTimestamp": "@TS@",
        "lastTimestamp": "@TS@",
        "count": rng.randrange(1, 30),
        "type": "Normal",
    }


def _generic(rng: random.Random, kind: str, api_version: str, fields: int) -> dict[str, Any]:
    spec = {f"field{i}": f"value-{rng.randrange(10**6)}" for i in range(fields)}
    return {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": _meta(managed="manager"),
        "spec": spec,
        "status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "@TS@"}]},
    }


_BODY_MAKERS: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "pod": _pod,
    "secret": _secret,
    "configmap": _configmap,
    "lease": _lease,
    "tokenreview": lambda rng: _token_review(rng, False),
    "tokenreview_resp": lambda rng: _token_review(rng, True),
    "tokenrequest": _token_request,
    "nodestatus": lambda rng: _status_patch(rng, True),
    "podstatus": lambda rng: _status_patch(rng, False),
    "event": _event,
    "deleteoptions": lambda rng: {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": rng.choice(("Background", "Foreground")),
    },
    "status": lambda rng: {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": "@NAME@", "uid": "@UID@"},
    },
    "mergepatch": lambda rng: {
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "@TS@"}}}}
    },
    "namespace": lambda rng: {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": "@NAME@",
            "uid": "@UID@",
            "resourceVersion": "@RV@",
            "labels": {"kubernetes.io/metadata.name": "@NAME@"},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
    "node": lambda rng: _generic(rng, "Node", "v1", 12),
    "service": lambda rng: _generic(rng, "Service", "v1", 6),
    "deployment": lambda rng: _generic(rng, "Deployment", "apps/v1", 10),
    "rolebinding": lambda rng: {
        "kind": "RoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": _meta(),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "User", "name": "alice@example.com", "apiGroup": "rbac.authorization.k8s.io"}],
    },
    "application": lambda rng: _generic(rng, "Application", "argoproj.io/v1alpha1", 14),
    "certificate": lambda rng: _generic(rng, "Certificate", "cert-manager.io/v1", 6),
    "generic": lambda rng: _generic(rng, "Object", "v1", 5),
}


class Bodies:
    """Pre-serialised body variants per kind, with and without managedFields (M14)."""

    VARIANTS = 4

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed ^ 0xB0D1E5)
        self._rng = rng
        self._pool: dict[str, list[tuple[bytes, bytes]]] = {}
        for kind, maker in _BODY_MAKERS.items():
            variants = []
            for _ in range(self.VARIANTS):
                body = maker(rng)
                variants.append((_dumps(body), _dumps(_without_managed_fields(body))))
            self._pool[kind] = variants

    def get(self, kind: str, values: tuple[bytes, bytes, bytes, bytes, bytes, bytes], omit_mf: bool) -> bytes:
        """A body of `kind` with placeholders filled from (name, ns, uid, rv, ts, node), all escaped."""
        pool = self._pool[kind]
        text = pool[self._rng.randrange(len(pool))][1 if omit_mf else 0]
        name, ns, uid, rv, ts, node = values
        return (
            text.replace(_NAME, name)
            .replace(_NS, ns)
            .replace(_UID, uid)
            .replace(_RV, rv)
            .replace(_TS, ts)
            .replace(_NODE, node)
        )

    def list_of(
        self, kind: str, values: tuple[bytes, bytes, bytes, bytes, bytes, bytes], omit_mf: bool, list_kind: bytes
    ) -> bytes:
        """A small List of `kind` items (1-3), like a paged list response."""
        count = 1 + self._rng.randrange(3)
        name = values[0]
        items = b",".join(self.get(kind, (name + b"-%d" % i, *values[1:]), omit_mf) for i in range(count))
        return (
            b'{"kind":"'
            + list_kind
            + b'","apiVersion":"v1","metadata":{"resourceVersion":"'
            + values[3]
            + b'"},"items":['
            + items
            + b"]}"
        )


def _without_managed_fields(body: dict[str, Any]) -> dict[str, Any]:
    meta = body.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return body
    return {**body, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


_LIST_KINDS = {
    "podlist": ("pod", b"PodList"),
    "configmaplist": ("configmap", b"ConfigMapList"),
    "secretlist": ("secret", b"SecretList"),
    "genericlist": ("generic", b"List"),
}

# ------------------------------------------------------------------------------------------------
# requests
# ------------------------------------------------------------------------------------------------


class Req:
    """One API request; its events are serialised from these fields, stage by stage."""

    __slots__ = (
        "actor",
        "aid",
        "code",
        "duration",
        "extra_ann",
        "failed",
        "imp_json",
        "late_json",
        "level",
        "long",
        "name",
        "nonres",
        "ns",
        "omit_mf",
        "received",
        "ref",
        "ref_json",
        "reqbody",
        "respbody",
        "status_json",
        "t0",
        "uri",
        "uri_json",
        "verb",
    )

    aid: bytes
    actor: Actor
    verb: str
    uri: str
    uri_json: bytes
    received: bytes
    ref: ObjectRef | None
    ref_json: bytes
    late_json: bytes | None
    code: int
    status_json: bytes
    long: bool
    t0: int
    failed: bool
    reqbody: str | None
    respbody: str | None
    name: str
    ns: str
    imp_json: bytes | None
    level: str
    omit_mf: bool
    extra_ann: dict[str, str] | None
    duration: int
    nonres: bool


_REASONS = {
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    422: "Invalid",
    401: "Unauthorized",
    429: "TooManyRequests",
    500: "InternalError",
}


def _objref_json(
    resource: str, namespace: str, name: str, uid: str, group: str, version: str, rv: str, subresource: str
) -> bytes:
    """An objectRef in upstream field order, empty sub-fields omitted (P6)."""
    ref = {"resource": resource}
    for key, value in (
        ("namespace", namespace),
        ("name", name),
        ("uid", uid),
        ("apiGroup", group),
        ("apiVersion", version),
        ("resourceVersion", rv),
        ("subresource", subresource),
    ):
        if value:
            ref[key] = value
    return _dumps(ref)


def _status(code: int, req: Req) -> bytes:
    """responseStatus for `code`: `{metadata:{},code}` on success, a Failure Status otherwise."""
    if code < 300 or code == 101:
        return b'{"metadata":{},"code":%d}' % code
    ref = req.ref
    what = (ref.resource + ("." + ref.apiGroup if ref.apiGroup else "")) if ref is not None else ""
    if code == 403:
        who = req.actor.username
        if ref is None:
            message = f'forbidden: User "{who}" cannot {req.verb} path "{req.uri.split("?", 1)[0]}"'
        else:
            scope = f' in the namespace "{ref.namespace}"' if ref.namespace else " at the cluster scope"
            combined = ref.resource + ("/" + ref.subresource if ref.subresource else "")
            message = (
                f'{what}{f" {chr(34)}{ref.name}{chr(34)}" if ref.name else ""} is forbidden: User "{who}" '
                f'cannot {req.verb} resource "{combined}" in API group "{ref.apiGroup}"{scope}'
            )
    elif code == 404:
        message = f'{what} "{req.name}" not found'
    elif code == 409:
        message = (
            f'{what} "{req.name}" already exists'
            if req.verb == "create"
            else f'Operation cannot be fulfilled on {what} "{req.name}": the object has been modified; '
            "please apply your changes to the latest version and try again"
        )
    elif code == 401:
        message = "Unauthorized"
    else:
        message = "Internal error occurred: etcdserver: leader changed"
    reason = _REASONS.get(code, "InternalError")
    if code == 409 and req.verb == "create":
        reason = "AlreadyExists"
    return _dumps({"metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})


_ASCII = {
    text: text.encode()
    for text in (
        "None",
        "Metadata",
        "Request",
        "RequestResponse",
        RR,
        RS,
        RC,
        PANIC,
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "proxy",
    )
}
"""Level, stage and verb bytes, so serialisation does not encode them per event."""

PANIC_STATUS = _dumps(
    {
        "metadata": {},
        "status": "Failure",
        "message": "APIServer panic'd: net/http: abort Handler",
        "reason": "InternalError",
        "code": 500,
    }
)

_LATENCY_US = {  # (median microseconds, lognormal sigma)
    "fast": (1_500, 0.5),
    "get": (2_500, 0.6),
    "write": (8_000, 0.6),
    "list": (25_000, 1.0),
    "nonres": (600, 0.5),
    "log": (400_000, 1.2),
    "exec": (8_000_000, 1.0),
    "watch_short": (6_000_000, 0.8),
}

_CODES = {
    "ok": [(1, 200)],
    "get": [(98, 200), (2, 404)],
    "update": [(99, 200), (1, 409)],
    "create": [(98, 201), (2, 409)],
    "delete": [(96, 200), (4, 404)],
    "human_read": [(90, 200), (6, 403), (4, 404)],
    "human_write": [(88, 200), (7, 403), (5, 409)],
    "human_create": [(88, 201), (7, 403), (5, 409)],
    "upgrade": [(90, 101), (10, 403)],
    "legacy": [(1, 404)],
}


# ------------------------------------------------------------------------------------------------
# the cluster model
# ------------------------------------------------------------------------------------------------

APP_NAMESPACES = (
    "shop",
    "payments",
    "search",
    "web",
    "analytics",
    "batch",
    "auth",
    "media",
    "reports",
    "ledger",
    "notify",
    "api-gateway",
)
PLATFORM_NAMESPACES = ("monitoring", "ingress-nginx", "cert-manager", "argocd", "logging", "legacy-app")
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")
DEPLOYMENTS = ("api", "worker", "web", "cache", "consumer", "gateway", "indexer", "exporter")
CONTROLLERS = (
    "replicaset-controller",
    "deployment-controller",
    "endpointslice-controller",
    "namespace-controller",
    "generic-garbage-collector",
    "job-controller",
    "horizontal-pod-autoscaler",
    "node-controller",
    "root-ca-cert-publisher",
)
APISERVER_LEASES = (
    "apiserver-q7fk2vxz4mrj6lnp2dk5wbtcla",
    "apiserver-d8h2kz5qxw4n7rbv9cjm6tplfs",
    "apiserver-w5nb2xk9dqz7h4vrt6mlcfj8sp",
)
KUBE_SYSTEM_CONFIGMAPS = (
    "coredns",
    "kube-proxy",
    "extension-apiserver-authentication",
    "kubeadm-config",
    "kube-root-ca.crt",
    "cluster-autoscaler-status",
)


@dataclass(slots=True)
class Pod:
    namespace: str
    name: str
    node: int
    deployment: str


class Cluster:
    """Nodes, namespaces, deployments and pods of the simulated cluster."""

    def __init__(self, rng: random.Random, nodes: int = 24) -> None:
        self.nodes = [f"k8s-worker-{i:02d}" for i in range(nodes)]
        self.node_ips = [f"10.20.{i // 200}.{10 + i % 200}" for i in range(nodes)]
        self.namespaces = SYSTEM_NAMESPACES + PLATFORM_NAMESPACES + APP_NAMESPACES
        self.pods: list[Pod] = []
        self.deployments: list[tuple[str, str, str]] = []  # namespace, name, replicaset hash
        for namespace in APP_NAMESPACES + PLATFORM_NAMESPACES:
            for base in rng.sample(DEPLOYMENTS, rng.randrange(2, 5)):
                name = f"{namespace}-{base}"
                rs_hash = _suffix(rng, 10)
                self.deployments.append((namespace, name, rs_hash))
                for _ in range(rng.randrange(1, 5)):
                    self.pods.append(Pod(namespace, f"{name}-{rs_hash}-{_suffix(rng, 5)}", rng.randrange(nodes), name))
        self.pods_by_node: dict[int, list[Pod]] = {}
        for pod in self.pods:
            self.pods_by_node.setdefault(pod.node, []).append(pod)
        self.rv = 48_000_000 + rng.randrange(1_000_000)

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv


# ------------------------------------------------------------------------------------------------
# the generator
# ------------------------------------------------------------------------------------------------


@dataclass
class GenStats:
    """What a run produced; `rules` counts requests per matching rule index (None = no rule)."""

    events: int = 0
    requests: int = 0
    unlogged_requests: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    rules: dict[int | None, int] = field(default_factory=dict)
    hostile_requests: int = 0


class SampleGenerator:
    """Simulated traffic of one cluster; `events()` yields the audit log lines.

    Requests arrive as a Poisson process at `rate` per second; each request's stages are queued at
    their timestamps and written in stageTimestamp order, so requests interleave as in a real log.
    Long watches still open when `count` events have been written simply end without a
    ResponseComplete, as in a log cut at an arbitrary point.
    """

    MAX_SILENT_REQUESTS = 200_000
    """Stop when this many consecutive requests log nothing (a policy at level None for everything)."""

    def __init__(
        self,
        seed: int = 42,
        *,
        start: str = "2026-11-20T09:00:00Z",
        evaluator: PolicyEvaluator | None = None,
        hostile: float = 0.0,
        bodies: float = 0.05,
        rate: float = 600.0,
    ) -> None:
        if not 0.0 <= hostile <= 1.0 or not 0.0 <= bodies <= 1.0:
            raise ValueError("hostile and bodies are fractions between 0 and 1")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rng = rng = random.Random(seed)
        self.evaluator = evaluator
        self.hostile = hostile
        self.bodies_fraction = bodies
        self.mean_gap = 1_000_000.0 / rate
        self.t = _parse_start(start)
        self.clock = _Clock()
        self.cluster = Cluster(random.Random(seed ^ 0xC1057E2))
        self.bodies = Bodies(seed)
        self.stats = GenStats()
        self._codes = {key: _Picker(rng, value) for key, value in _CODES.items()}
        self._heap: list[tuple[int, int, Req, str]] = []
        self._verdicts: dict[tuple[int, str, str, bytes], Verdict] = {}
        self._refs: dict[tuple[str, ...], tuple[ObjectRef, bytes]] = {}
        """URL-derived objectRefs (struct and JSON) by their fields: names repeat a lot."""
        self._seq = 0
        self._actors(random.Random(seed ^ 0xAC7025))
        self._workload = _Picker(rng, self._templates())

    # -- actors ---------------------------------------------------------------------------------
    def _actors(self, rng: random.Random) -> None:
        c = self.cluster
        authd = "system:authenticated"
        self.kubelets = [
            make_actor(f"system:node:{node}", ["system:nodes", authd], [ip], f"kubelet/{K8S}")
            for node, ip in zip(c.nodes, c.node_ips)
        ]
        proxy_reason = _binding(
            "ClusterRoleBinding", "kubeadm:node-proxier", "system:node-proxier", "User", "system:kube-proxy"
        )
        self.proxies = [
            make_actor("system:kube-proxy", [authd], [ip], f"kube-proxy/{K8S}", proxy_reason) for ip in c.node_ips
        ]
        cp_ip = ["10.20.0.2"]
        self.kcm = make_actor(
            "system:kube-controller-manager",
            [authd],
            cp_ip,
            f"kube-controller-manager/{K8S}/leader-election",
            _binding(
                "ClusterRoleBinding",
                "system:kube-controller-manager",
                "system:kube-controller-manager",
                "User",
                "system:kube-controller-manager",
            ),
        )
        self.scheduler = make_actor(
            "system:kube-scheduler",
            [authd],
            cp_ip,
            f"kube-scheduler/{K8S}/scheduler",
            _binding(
                "ClusterRoleBinding", "system:kube-scheduler", "system:kube-scheduler", "User", "system:kube-scheduler"
            ),
        )
        self.apiserver = make_actor("system:apiserver", [authd, "system:masters"], ["::1"], f"kube-apiserver/{K8S}", "")
        self.controllers = {
            name: self._sa(
                rng,
                "kube-system",
                name,
                f"kube-controller-manager/{K8S}/system:serviceaccount:kube-system:{name}",
                cp_ip,
                f"system:controller:{name}",
            )
            for name in CONTROLLERS
        }
        self.coredns = self._sa(
            rng, "kube-system", "coredns", "coredns/v1.11.3 (linux/amd64) kubernetes/$Format", None, "system:coredns"
        )
        self.metrics_server = self._sa(
            rng,
            "kube-system",
            "metrics-server",
            "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format",
            None,
            "system:auth-delegator",
        )
        self.prometheus = self._sa(rng, "monitoring", "prometheus", "Prometheus/2.54.1", None, "prometheus")
        self.argocd = self._sa(
            rng,
            "argocd",
            "argocd-application-controller",
            "argocd-application-controller/v2.13.1+af54ef8 (linux/amd64)",
            None,
            "argocd-application-controller",
        )
        self.certmanager = self._sa(
            rng,
            "cert-manager",
            "cert-manager",
            "cert-manager-controller/v1.16.2 (linux/amd64) cert-manager/c0ac27f",
            None,
            "cert-manager-controller-certificates",
        )
        self.ingress = self._sa(
            rng,
            "ingress-nginx",
            "ingress-nginx",
            "nginx-ingress-controller/v1.12.0 (linux/amd64) ingress-nginx/4f3b5a8",
            None,
            "ingress-nginx",
        )
        self.legacy = self._sa(
            rng,
            "legacy-app",
            "legacy-operator",
            "legacy-operator/v0.3.1 (linux/amd64) kubernetes/$Format",
            None,
            "legacy-operator",
        )
        self.runner = self._sa(
            rng,
            "ci",
            "gitlab-runner",
            "gitlab-runner 17.5.2 (17-5-stable; go1.22.7; linux/amd64)",
            None,
            "gitlab-runner",
        )
        self.anonymous = make_actor(
            "system:anonymous",
            ["system:unauthenticated"],
            ["10.20.0.1"],
            "kube-probe/1.31",
            _binding(
                "ClusterRoleBinding",
                "system:public-info-viewer",
                "system:public-info-viewer",
                "Group",
                "system:unauthenticated",
            ),
        )
        self.bad_token = make_actor("", [], ["198.51.100.77"], "python-requests/2.32.3")
        office = ("203.0.113.10", "203.0.113.11", "203.0.113.24", "203.0.113.57")
        self.humans = [
            make_actor(
                "alice@example.com",
                ["oidc:developers", "oidc:team-shop", authd],
                [office[0]],
                "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46",
                _binding("RoleBinding", "shop/developers", "edit", "Group", "oidc:developers"),
            ),
            make_actor(
                "bob@example.com",
                ["oidc:sre", authd],
                [office[1]],
                "kubectl/v1.30.6 (linux/amd64) kubernetes/00f20d4",
                _binding("ClusterRoleBinding", "sre-admin", "cluster-admin", "Group", "oidc:sre"),
            ),
            make_actor(
                "carol@example.com",
                ["oidc:viewers", authd],
                [office[2]],
                "k9s/v0.32.7 (darwin/arm64) kubernetes/$Format",
                _binding("ClusterRoleBinding", "viewers", "view", "Group", "oidc:viewers"),
            ),
            make_actor(
                "kubernetes-admin",
                ["kubeadm:cluster-admins", authd],
                [office[3], "10.20.0.2"],
                "kubectl/v1.31.4 (linux/amd64) kubernetes/a78aa47",
                _binding(
                    "ClusterRoleBinding", "kubeadm:cluster-admins", "cluster-admin", "Group", "kubeadm:cluster-admins"
                ),
            ),
            make_actor(
                "jürgen.müller@example.com",
                ["oidc:developers", authd],
                ["198.51.100.23"],
                "Lens/2024.11.261604-latest",
                _binding("RoleBinding", "shop/developers", "edit", "Group", "oidc:developers"),
            ),
        ]
        self.human_pick = _Picker(
            self.rng,
            [
                (5, self.humans[0]),
                (3, self.humans[1]),
                (2, self.humans[2]),
                (1.5, self.humans[3]),
                (0.5, self.humans[4]),
            ],
        )
        self.impersonated = [
            _dumps({"username": "alice@example.com", "groups": ["oidc:developers", authd]}),
            _dumps(
                {
                    "username": "system:serviceaccount:shop:default",
                    "groups": ["system:serviceaccounts", "system:serviceaccounts:shop", authd],
                }
            ),
            _dumps({"username": "dave@example.com", "groups": ["oidc:contractors"]}),
        ]
        self.hostile_actors = [self._hostile_actor(rng, i) for i in range(len(HOSTILE_TEXT) + 1)]

    def _sa(
        self, rng: random.Random, namespace: str, name: str, user_agent: str, ips: list[str] | None, role: str
    ) -> Actor:
        """A service account user; pod-bound tokens carry the pod in `extra`, as since 1.30."""
        ip = ips or [f"10.244.{rng.randrange(256)}.{rng.randrange(2, 255)}"]
        extra = None
        if ips is None:
            node = self.cluster.nodes[rng.randrange(len(self.cluster.nodes))]
            extra = {
                "authentication.kubernetes.io/credential-id": [f"JTI={_uuid(rng)}"],
                "authentication.kubernetes.io/node-name": [node],
                "authentication.kubernetes.io/pod-name": [f"{name}-{_suffix(rng, 10)}-{_suffix(rng, 5)}"],
                "authentication.kubernetes.io/pod-uid": [_uuid(rng)],
            }
        reason = _binding("ClusterRoleBinding", role, role, "ServiceAccount", f"{name}/{namespace}")
        return make_actor(
            f"system:serviceaccount:{namespace}:{name}",
            ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
            ip,
            user_agent,
            reason,
            uid=_uuid(rng),
            extra=extra,
        )

    def _hostile_actor(self, rng: random.Random, index: int) -> Actor:
        """Users whose name, groups and user agent carry hostile strings (the last one: 5,000 chars)."""
        text = HOSTILE_TEXT[index % len(HOSTILE_TEXT)]
        other = HOSTILE_TEXT[(index * 7 + 3) % len(HOSTILE_TEXT)]
        user_agent = LONG_USER_AGENT if index == len(HOSTILE_TEXT) else f"kubectl/{other} {text}"
        return make_actor(
            f"{text}@evil.example",
            [other, "system:authenticated"],
            ["192.0.2.66"],
            user_agent,
            _binding("ClusterRoleBinding", text, "view", "User", f"{text}@evil.example"),
        )

    # -- request construction ------------------------------------------------------------------
    def mk(
        self,
        actor: Actor,
        verb: str,
        group: str,
        version: str,
        resource: str,
        ns: str = "",
        name: str = "",
        sub: str = "",
        query: str = "",
        codes: str = "ok",
        lat: str = "get",
        reqbody: str | None = None,
        respbody: str | None = None,
        long: bool = False,
        late_name: str = "",
        imp: bytes | None = None,
        list_name: str = "",
    ) -> Req:
        """A resource request. `name` goes in the URL; `list_name` is a list/watch fieldSelector name
        (M10); `late_name` is the name a create body carries, shown only after RequestReceived (E8)."""
        r = Req()
        r.actor, r.verb, r.imp_json, r.long, r.failed, r.nonres = actor, verb, imp, long, False, False
        r.reqbody, r.respbody, r.extra_ann = reqbody, respbody, None
        if resource == "namespaces" and name:
            ns = name  # E6: a Namespace object's namespace is its own name
        path = ["/api/v1" if not group else f"/apis/{group}/{version}"]
        if ns and resource != "namespaces":
            path.append(f"/namespaces/{ns}")
        path.append(f"/{resource}")
        if name:
            path.append(f"/{name}")
            if sub:
                path.append(f"/{sub}")
        r.uri = "".join(path) + query
        ref_name = name or list_name
        key = (resource, ns, ref_name, group, version, sub)
        cached = self._refs.get(key)
        if cached is None:
            if len(self._refs) >= 100_000:
                self._refs.clear()
            cached = self._refs[key] = (
                ObjectRef(
                    resource=resource, namespace=ns, name=ref_name, apiGroup=group, apiVersion=version, subresource=sub
                ),
                _objref_json(resource, ns, ref_name, "", group, version, "", sub),
            )
        r.ref, r.ref_json = cached
        r.late_json = None
        if late_name and verb == "create" and not name:
            r.late_json = _objref_json(resource, ns, late_name, _uuid(self.rng), group, version, "", sub)
        elif verb == "update" and name and not sub:
            rv = str(self.cluster.rv - self.rng.randrange(1, 5000))
            r.late_json = _objref_json(resource, ns, name, _uuid(self.rng), group, version, rv, sub)
        r.name, r.ns = name or late_name or list_name, ns
        r.code = self._codes[codes]()
        r.duration = self._latency("fast" if long and r.code >= 400 else lat, query)
        return r

    def nonres(self, actor: Actor, path: str, query: str = "", code: int = 200) -> Req:
        """A non-resource request (no objectRef, verb = lowercase HTTP method: get) (E3, E4)."""
        r = Req()
        r.actor, r.verb, r.imp_json, r.long, r.failed, r.nonres = actor, "get", None, False, False, True
        r.reqbody = r.respbody = None
        r.extra_ann = None
        r.uri = path + query
        r.ref, r.ref_json, r.late_json = None, b"", None
        r.name = r.ns = ""
        r.code = code
        r.duration = self._latency("nonres", "")
        return r

    def _latency(self, lat: str, query: str) -> int:
        rng = self.rng
        if lat == "watch":  # informers: until the server-side timeout they asked for
            seconds = (
                int(query.rsplit("timeoutSeconds=", 1)[1].split("&", 1)[0]) if "timeoutSeconds=" in query else 1800
            )
            return seconds * 1_000_000 + rng.randrange(1_000_000)
        median, sigma = _LATENCY_US[lat]
        return max(150, int(rng.lognormvariate(0.0, sigma) * median))

    def watch_query(self, selector: str = "", short: bool = False) -> str:
        """The query string client-go informers (or `kubectl get -w`) send, keys sorted as encoded."""
        rng = self.rng
        rv = self.cluster.rv - rng.randrange(0, 50_000)
        if short:
            return (
                f"?resourceVersion={rv}&watch=true"
                if not selector
                else f"?fieldSelector={selector}&resourceVersion={rv}&watch=true"
            )
        seconds = rng.randrange(300, 600)
        sel = f"&fieldSelector={selector}" if selector else ""
        return (
            f"?allowWatchBookmarks=true{sel}&resourceVersion={rv}&timeout={seconds // 60}m{seconds % 60}s"
            f"&timeoutSeconds={seconds}&watch=true"
        )

    # -- the workload: (weight, template); each template returns [(offset_us, Req), ...] ---------
    def _templates(self) -> list[tuple[float, Callable[[], list[tuple[int, Req]]]]]:
        return [
            (14, self.t_kubelet_lease),
            (5, self.t_kubelet_pod_status),
            (2.5, self.t_kubelet_node_status),
            (3, self.t_kubelet_watch),
            (2, self.t_kubelet_misc),
            (5, self.t_leader_election),
            (1.2, self.t_legacy_leader),
            (6, self.t_controller_write),
            (3, self.t_controller_informer),
            (2, self.t_pod_churn),
            (2, self.t_kube_proxy),
            (1.2, self.t_coredns),
            (1.5, self.t_kube_system_cm),
            (3, self.t_apiserver),
            (1.5, self.t_auth_reviews),
            (2.5, self.t_prometheus),
            (4, self.t_health),
            (2, self.t_argocd),
            (1.5, self.t_certmanager),
            (1, self.t_ingress),
            (1, self.t_ci_runner),
            (0.4, self.t_legacy_extensions),
            (1.2, self.t_discovery),
            (5, self.t_human),
            (0.3, self.t_failed_authn),
        ]

    def _node(self) -> int:
        return self.rng.randrange(len(self.cluster.nodes))

    def _pod(self, node: int | None = None) -> Pod:
        pods = self.cluster.pods_by_node.get(node, self.cluster.pods) if node is not None else self.cluster.pods
        return pods[self.rng.randrange(len(pods))]

    def t_kubelet_lease(self) -> list[tuple[int, Req]]:
        i = self._node()
        node = self.cluster.nodes[i]
        if self.rng.random() < 0.1:
            return [
                (
                    0,
                    self.mk(
                        self.kubelets[i],
                        "get",
                        "coordination.k8s.io",
                        "v1",
                        "leases",
                        "kube-node-lease",
                        node,
                        query="?timeout=10s",
                        lat="fast",
                        respbody="lease",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.kubelets[i],
                    "update",
                    "coordination.k8s.io",
                    "v1",
                    "leases",
                    "kube-node-lease",
                    node,
                    query="?timeout=10s",
                    codes="update",
                    lat="write",
                    reqbody="lease",
                    respbody="lease",
                ),
            )
        ]

    def t_kubelet_pod_status(self) -> list[tuple[int, Req]]:
        i = self._node()
        pod = self._pod(i)
        out = [
            (
                0,
                self.mk(
                    self.kubelets[i],
                    "patch",
                    "",
                    "v1",
                    "pods",
                    pod.namespace,
                    pod.name,
                    sub="status",
                    codes="update",
                    lat="write",
                    reqbody="podstatus",
                    respbody="pod",
                ),
            )
        ]
        if self.rng.random() < 0.3:
            out.append(
                (
                    self.rng.randrange(200, 3000),
                    self.mk(
                        self.kubelets[i],
                        "create",
                        "",
                        "v1",
                        "events",
                        pod.namespace,
                        codes="create",
                        lat="write",
                        reqbody="event",
                        respbody="event",
                        late_name=f"{pod.name}.{self.rng.getrandbits(52):013x}",
                    ),
                )
            )
        return out

    def t_kubelet_node_status(self) -> list[tuple[int, Req]]:
        i = self._node()
        node = self.cluster.nodes[i]
        if self.rng.random() < 0.4:
            return [
                (
                    0,
                    self.mk(
                        self.kubelets[i],
                        "get",
                        "",
                        "v1",
                        "nodes",
                        name=node,
                        query="?resourceVersion=0&timeout=10s",
                        lat="fast",
                        respbody="node",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.kubelets[i],
                    "patch",
                    "",
                    "v1",
                    "nodes",
                    name=node,
                    sub="status",
                    query="?timeout=10s",
                    codes="update",
                    lat="write",
                    reqbody="nodestatus",
                    respbody="node",
                ),
            )
        ]

    def t_kubelet_watch(self) -> list[tuple[int, Req]]:
        rng = self.rng
        i = self._node()
        node = self.cluster.nodes[i]
        x = rng.random()
        if x < 0.5:
            pod = self._pod(i)
            resource = "configmaps" if rng.random() < 0.6 else "secrets"
            name = "kube-root-ca.crt" if resource == "configmaps" else f"{pod.deployment}-secrets"
            return [
                (
                    0,
                    self.mk(
                        self.kubelets[i],
                        "watch",
                        "",
                        "v1",
                        resource,
                        pod.namespace,
                        list_name=name,
                        query=self.watch_query(f"metadata.name%3D{name}"),
                        lat="watch",
                        long=True,
                    ),
                )
            ]
        if x < 0.75:
            return [
                (
                    0,
                    self.mk(
                        self.kubelets[i],
                        "watch",
                        "",
                        "v1",
                        "nodes",
                        list_name=node,
                        query=self.watch_query(f"metadata.name%3D{node}"),
                        lat="watch",
                        long=True,
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.kubelets[i],
                    "watch",
                    "",
                    "v1",
                    "pods",
                    query=self.watch_query(f"spec.nodeName%3D{node}"),
                    lat="watch",
                    long=True,
                ),
            )
        ]

    def t_kubelet_misc(self) -> list[tuple[int, Req]]:
        rng = self.rng
        i = self._node()
        pod = self._pod(i)
        x = rng.random()
        if x < 0.4:
            return [
                (
                    0,
                    self.mk(
                        self.kubelets[i], "get", "", "v1", "pods", pod.namespace, pod.name, codes="get", respbody="pod"
                    ),
                )
            ]
        if x < 0.7:
            return [
                (
                    0,
                    self.mk(
                        self.kubelets[i],
                        "create",
                        "",
                        "v1",
                        "serviceaccounts",
                        pod.namespace,
                        "default",
                        sub="token",
                        codes="create",
                        lat="write",
                        reqbody="tokenrequest",
                        respbody="tokenrequest",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.kubelets[i],
                    "get",
                    "",
                    "v1",
                    "secrets",
                    pod.namespace,
                    f"{pod.deployment}-secrets",
                    codes="get",
                    respbody="secret",
                ),
            )
        ]

    def t_leader_election(self) -> list[tuple[int, Req]]:
        rng = self.rng
        holders = (
            (self.kcm, "kube-system", "kube-controller-manager"),
            (self.scheduler, "kube-system", "kube-scheduler"),
            (self.certmanager, "kube-system", "cert-manager-controller"),
            (self.ingress, "ingress-nginx", "ingress-nginx-leader"),
            (self.argocd, "argocd", "argocd-application-controller"),
        )
        actor, ns, name = holders[rng.randrange(len(holders))]
        out = [
            (
                0,
                self.mk(
                    actor,
                    "get",
                    "coordination.k8s.io",
                    "v1",
                    "leases",
                    ns,
                    name,
                    query="?timeout=5s",
                    lat="fast",
                    respbody="lease",
                ),
            )
        ]
        if rng.random() < 0.6:
            out.append(
                (
                    rng.randrange(1500, 4000),
                    self.mk(
                        actor,
                        "update",
                        "coordination.k8s.io",
                        "v1",
                        "leases",
                        ns,
                        name,
                        query="?timeout=5s",
                        codes="update",
                        lat="write",
                        reqbody="lease",
                        respbody="lease",
                    ),
                )
            )
        return out

    def t_legacy_leader(self) -> list[tuple[int, Req]]:
        """Leader election on a ConfigMap named controller-leader, as old operator SDKs did."""
        verb = "get" if self.rng.random() < 0.6 else "update"
        return [
            (
                0,
                self.mk(
                    self.legacy,
                    verb,
                    "",
                    "v1",
                    "configmaps",
                    "legacy-app",
                    "controller-leader",
                    codes="ok" if verb == "get" else "update",
                    lat="fast" if verb == "get" else "write",
                    reqbody="configmap" if verb == "update" else None,
                    respbody="configmap",
                ),
            )
        ]

    def t_controller_write(self) -> list[tuple[int, Req]]:
        rng = self.rng
        ns, dep, rs_hash = self.cluster.deployments[rng.randrange(len(self.cluster.deployments))]
        c = self.controllers
        x = rng.random()
        if x < 0.25:
            return [
                (
                    0,
                    self.mk(
                        c["deployment-controller"],
                        "update",
                        "apps",
                        "v1",
                        "deployments",
                        ns,
                        dep,
                        sub="status",
                        codes="update",
                        lat="write",
                        reqbody="deployment",
                        respbody="deployment",
                    ),
                )
            ]
        if x < 0.45:
            return [
                (
                    0,
                    self.mk(
                        c["replicaset-controller"],
                        "update",
                        "apps",
                        "v1",
                        "replicasets",
                        ns,
                        f"{dep}-{rs_hash}",
                        sub="status",
                        codes="update",
                        lat="write",
                        reqbody="generic",
                        respbody="generic",
                    ),
                )
            ]
        if x < 0.7:
            return [
                (
                    0,
                    self.mk(
                        c["endpointslice-controller"],
                        "update",
                        "discovery.k8s.io",
                        "v1",
                        "endpointslices",
                        ns,
                        f"{dep}-{_suffix(rng, 5)}",
                        codes="update",
                        lat="write",
                        reqbody="generic",
                        respbody="generic",
                    ),
                )
            ]
        if x < 0.8:
            return [
                (
                    0,
                    self.mk(
                        c["horizontal-pod-autoscaler"],
                        "get",
                        "apps",
                        "v1",
                        "deployments",
                        ns,
                        dep,
                        sub="scale",
                        respbody="generic",
                    ),
                )
            ]
        if x < 0.9:
            return [
                (
                    0,
                    self.mk(
                        c["node-controller"],
                        "patch",
                        "",
                        "v1",
                        "nodes",
                        name=self.cluster.nodes[self._node()],
                        codes="update",
                        lat="write",
                        reqbody="mergepatch",
                        respbody="node",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    c["generic-garbage-collector"],
                    "get",
                    "batch",
                    "v1",
                    "jobs",
                    ns,
                    f"{dep}-{rng.randrange(28_000_000, 29_000_000)}",
                    codes="get",
                    respbody="generic",
                ),
            )
        ]

    def t_controller_informer(self) -> list[tuple[int, Req]]:
        rng = self.rng
        resources = (
            ("", "v1", "pods"),
            ("apps", "v1", "replicasets"),
            ("apps", "v1", "deployments"),
            ("", "v1", "services"),
            ("discovery.k8s.io", "v1", "endpointslices"),
            ("batch", "v1", "jobs"),
            ("", "v1", "namespaces"),
            ("", "v1", "nodes"),
            ("policy", "v1", "poddisruptionbudgets"),
            ("rbac.authorization.k8s.io", "v1", "rolebindings"),
            ("", "v1", "persistentvolumeclaims"),
        )
        group, version, resource = resources[rng.randrange(len(resources))]
        names = list(self.controllers)
        actor = self.kcm if rng.random() < 0.2 else self.controllers[names[rng.randrange(len(names))]]
        if rng.random() < 0.8:
            return [
                (0, self.mk(actor, "watch", group, version, resource, query=self.watch_query(), lat="watch", long=True))
            ]
        return [
            (
                0,
                self.mk(
                    actor,
                    "list",
                    group,
                    version,
                    resource,
                    query="?limit=500&resourceVersion=0",
                    lat="list",
                    respbody="genericlist",
                ),
            )
        ]

    def t_pod_churn(self) -> list[tuple[int, Req]]:
        """A ReplicaSet creates a pod (generateName: no name in the URL, E8), the scheduler binds it."""
        rng = self.rng
        ns, dep, rs_hash = self.cluster.deployments[rng.randrange(len(self.cluster.deployments))]
        pod_name = f"{dep}-{rs_hash}-{_suffix(rng, 5)}"
        node = self._node()
        create = self.mk(
            self.controllers["replicaset-controller"],
            "create",
            "",
            "v1",
            "pods",
            ns,
            codes="create",
            lat="write",
            reqbody="pod",
            respbody="pod",
            late_name=pod_name,
        )
        create.extra_ann = {"pod-security.kubernetes.io/enforce-policy": "baseline:latest"}
        out = [
            (0, create),
            (
                rng.randrange(2_000, 30_000),
                self.mk(
                    self.scheduler,
                    "create",
                    "",
                    "v1",
                    "pods",
                    ns,
                    pod_name,
                    sub="binding",
                    codes="create",
                    lat="write",
                    reqbody="generic",
                    respbody="status",
                ),
            ),
            (
                rng.randrange(500_000, 3_000_000),
                self.mk(
                    self.kubelets[node],
                    "patch",
                    "",
                    "v1",
                    "pods",
                    ns,
                    pod_name,
                    sub="status",
                    codes="update",
                    lat="write",
                    reqbody="podstatus",
                    respbody="pod",
                ),
            ),
        ]
        if rng.random() < 0.7:
            victim = self._pod()
            out.append(
                (
                    rng.randrange(100_000, 900_000),
                    self.mk(
                        self.controllers["replicaset-controller"],
                        "delete",
                        "",
                        "v1",
                        "pods",
                        victim.namespace,
                        victim.name,
                        codes="delete",
                        lat="write",
                        reqbody="deleteoptions",
                        respbody="pod",
                    ),
                )
            )
        if rng.random() < 0.2:  # the ReplicaSet has no spare: the create of a named eviction
            victim = self._pod()
            out.append(
                (
                    rng.randrange(10_000, 90_000),
                    self.mk(
                        self.controllers["node-controller"],
                        "create",
                        "",
                        "v1",
                        "pods",
                        victim.namespace,
                        victim.name,
                        sub="eviction",
                        codes="create",
                        lat="write",
                        reqbody="deleteoptions",
                        respbody="status",
                    ),
                )
            )
        return out

    def t_kube_proxy(self) -> list[tuple[int, Req]]:
        rng = self.rng
        actor = self.proxies[self._node()]
        x = rng.random()
        if x < 0.45:
            return [
                (
                    0,
                    self.mk(
                        actor,
                        "watch",
                        "discovery.k8s.io",
                        "v1",
                        "endpointslices",
                        query=self.watch_query("%21service.kubernetes.io%2Fheadless"),
                        lat="watch",
                        long=True,
                    ),
                )
            ]
        if x < 0.8:
            return [
                (0, self.mk(actor, "watch", "", "v1", "services", query=self.watch_query(), lat="watch", long=True))
            ]
        if x < 0.9:  # old kube-proxy versions still watch Endpoints
            return [
                (0, self.mk(actor, "watch", "", "v1", "endpoints", query=self.watch_query(), lat="watch", long=True))
            ]
        return [
            (
                0,
                self.mk(
                    actor,
                    "list",
                    "",
                    "v1",
                    "services",
                    query="?labelSelector=%21service.kubernetes.io"
                    "%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name&limit=500&resourceVersion=0",
                    lat="list",
                    respbody="genericlist",
                ),
            )
        ]

    def t_coredns(self) -> list[tuple[int, Req]]:
        rng = self.rng
        resources = (("discovery.k8s.io", "endpointslices"), ("", "services"), ("", "namespaces"))
        group, resource = resources[rng.randrange(3)]
        if rng.random() < 0.7:
            return [
                (
                    0,
                    self.mk(
                        self.coredns, "watch", group, "v1", resource, query=self.watch_query(), lat="watch", long=True
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.coredns,
                    "list",
                    group,
                    "v1",
                    resource,
                    query="?limit=500&resourceVersion=0",
                    lat="list",
                    respbody="genericlist",
                ),
            )
        ]

    def t_kube_system_cm(self) -> list[tuple[int, Req]]:
        rng = self.rng
        name = KUBE_SYSTEM_CONFIGMAPS[rng.randrange(len(KUBE_SYSTEM_CONFIGMAPS))]
        x = rng.random()
        if x < 0.4:
            return [
                (
                    0,
                    self.mk(
                        self.apiserver,
                        "get",
                        "",
                        "v1",
                        "configmaps",
                        "kube-system",
                        name,
                        lat="fast",
                        respbody="configmap",
                    ),
                )
            ]
        if x < 0.7:
            ns = self.cluster.namespaces[rng.randrange(len(self.cluster.namespaces))]
            return [
                (
                    0,
                    self.mk(
                        self.controllers["root-ca-cert-publisher"],
                        "update",
                        "",
                        "v1",
                        "configmaps",
                        ns,
                        "kube-root-ca.crt",
                        codes="update",
                        lat="write",
                        reqbody="configmap",
                        respbody="configmap",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.kcm,
                    "watch",
                    "",
                    "v1",
                    "configmaps",
                    "kube-system",
                    list_name="extension-apiserver-authentication",
                    query=self.watch_query("metadata.name%3Dextension-apiserver-authentication"),
                    lat="watch",
                    long=True,
                ),
            )
        ]

    def t_apiserver(self) -> list[tuple[int, Req]]:
        rng = self.rng
        a = self.apiserver
        x = rng.random()
        if x < 0.3:
            return [
                (
                    0,
                    self.mk(
                        a,
                        "update",
                        "coordination.k8s.io",
                        "v1",
                        "leases",
                        "kube-system",
                        APISERVER_LEASES[rng.randrange(len(APISERVER_LEASES))],
                        codes="update",
                        lat="write",
                        reqbody="lease",
                        respbody="lease",
                    ),
                )
            ]
        if x < 0.5:
            return [
                (0, self.mk(a, "get", "", "v1", "services", "default", "kubernetes", lat="fast", respbody="service"))
            ]
        if x < 0.75:  # a Namespace object: its namespace is its own name (E6, M8)
            ns = SYSTEM_NAMESPACES[rng.randrange(len(SYSTEM_NAMESPACES))]
            return [(0, self.mk(a, "get", "", "v1", "namespaces", name=ns, lat="fast", respbody="namespace"))]
        return [
            (
                0,
                self.mk(
                    a,
                    "get",
                    "discovery.k8s.io",
                    "v1",
                    "endpointslices",
                    "default",
                    "kubernetes",
                    lat="fast",
                    respbody="generic",
                ),
            )
        ]

    def t_auth_reviews(self) -> list[tuple[int, Req]]:
        if self.rng.random() < 0.7:
            return [
                (
                    0,
                    self.mk(
                        self.metrics_server,
                        "create",
                        "authentication.k8s.io",
                        "v1",
                        "tokenreviews",
                        codes="create",
                        lat="fast",
                        reqbody="tokenreview",
                        respbody="tokenreview_resp",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.metrics_server,
                    "create",
                    "authorization.k8s.io",
                    "v1",
                    "subjectaccessreviews",
                    codes="create",
                    lat="fast",
                    reqbody="generic",
                    respbody="generic",
                ),
            )
        ]

    def t_prometheus(self) -> list[tuple[int, Req]]:
        rng = self.rng
        x = rng.random()
        if x < 0.4:
            return [(0, self.nonres(self.prometheus, "/metrics"))]
        ns = self.cluster.namespaces[rng.randrange(len(self.cluster.namespaces))]
        resource = ("pods", "services", "endpoints")[rng.randrange(3)]
        if x < 0.8:
            return [
                (
                    0,
                    self.mk(
                        self.prometheus,
                        "list",
                        "",
                        "v1",
                        resource,
                        ns,
                        query="?limit=500&resourceVersion=0",
                        lat="list",
                        respbody="podlist" if resource == "pods" else "genericlist",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.prometheus, "watch", "", "v1", resource, ns, query=self.watch_query(), lat="watch", long=True
                ),
            )
        ]

    def t_health(self) -> list[tuple[int, Req]]:
        rng = self.rng
        path = ("/healthz", "/livez", "/readyz", "/readyz", "/livez")[rng.randrange(5)]
        query = "?verbose" if rng.random() < 0.1 else ""
        return [(0, self.nonres(self.anonymous, path, query))]

    def t_discovery(self) -> list[tuple[int, Req]]:
        """client-go discovery and version checks: non-resource GETs (E3)."""
        rng = self.rng
        actors = (self.argocd, self.certmanager, self.kcm, self.prometheus, self.ingress)
        actor = actors[rng.randrange(len(actors))]
        path = (
            "/api",
            "/apis",
            "/version",
            "/openapi/v2",
            "/openapi/v3",
            "/apis/argoproj.io/v1alpha1",
            "/apis/apps/v1",
            "/api/v1",
        )[rng.randrange(8)]
        query = "?timeout=32s" if path.startswith("/api") else ""
        return [(0, self.nonres(actor, path, query))]

    def t_argocd(self) -> list[tuple[int, Req]]:
        rng = self.rng
        app = f"{APP_NAMESPACES[rng.randrange(len(APP_NAMESPACES))]}-app"
        x = rng.random()
        if x < 0.4:
            return [
                (
                    0,
                    self.mk(
                        self.argocd,
                        "patch",
                        "argoproj.io",
                        "v1alpha1",
                        "applications",
                        "argocd",
                        app,
                        query="?fieldManager=argocd-controller",
                        codes="update",
                        lat="write",
                        reqbody="mergepatch",
                        respbody="application",
                    ),
                )
            ]
        if x < 0.7:
            return [
                (
                    0,
                    self.mk(
                        self.argocd,
                        "get",
                        "argoproj.io",
                        "v1alpha1",
                        "applications",
                        "argocd",
                        app,
                        lat="fast",
                        respbody="application",
                    ),
                )
            ]
        ns, dep, _ = self.cluster.deployments[rng.randrange(len(self.cluster.deployments))]
        return [
            (
                0,
                self.mk(
                    self.argocd,
                    "patch",
                    "apps",
                    "v1",
                    "deployments",
                    ns,
                    dep,
                    query="?fieldManager=argocd-controller&force=true",
                    codes="update",
                    lat="write",
                    reqbody="mergepatch",
                    respbody="deployment",
                ),
            )
        ]

    def t_certmanager(self) -> list[tuple[int, Req]]:
        rng = self.rng
        ns = APP_NAMESPACES[rng.randrange(len(APP_NAMESPACES))]
        x = rng.random()
        if x < 0.4:
            return [
                (
                    0,
                    self.mk(
                        self.certmanager, "get", "", "v1", "secrets", ns, f"{ns}-tls", codes="get", respbody="secret"
                    ),
                )
            ]
        if x < 0.7:
            return [
                (
                    0,
                    self.mk(
                        self.certmanager,
                        "update",
                        "cert-manager.io",
                        "v1",
                        "certificates",
                        ns,
                        f"{ns}-tls",
                        sub="status",
                        codes="update",
                        lat="write",
                        reqbody="certificate",
                        respbody="certificate",
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.certmanager,
                    "create",
                    "cert-manager.io",
                    "v1",
                    "certificaterequests",
                    ns,
                    codes="create",
                    lat="write",
                    reqbody="certificate",
                    respbody="certificate",
                    late_name=f"{ns}-tls-{rng.randrange(1, 40)}",
                ),
            )
        ]

    def t_ingress(self) -> list[tuple[int, Req]]:
        rng = self.rng
        ns = APP_NAMESPACES[rng.randrange(len(APP_NAMESPACES))]
        if rng.random() < 0.5:
            return [
                (
                    0,
                    self.mk(
                        self.ingress,
                        "watch",
                        "networking.k8s.io",
                        "v1",
                        "ingresses",
                        query=self.watch_query(),
                        lat="watch",
                        long=True,
                    ),
                )
            ]
        return (
            [
                (
                    0,
                    self.mk(
                        self.ingress,
                        "get",
                        "",
                        "v1",
                        "configmaps",
                        "ingress-nginx",
                        "ingress-nginx-controller",
                        lat="fast",
                        respbody="configmap",
                    ),
                )
            ]
            if rng.random() < 0.5
            else [
                (
                    0,
                    self.mk(
                        self.ingress,
                        "list",
                        "",
                        "v1",
                        "secrets",
                        ns,
                        query="?limit=500&resourceVersion=0",
                        lat="list",
                        respbody="secretlist",
                    ),
                )
            ]
        )

    def t_ci_runner(self) -> list[tuple[int, Req]]:
        """A CI runner creates a build pod and a secret, attaches to it, deletes them."""
        rng = self.rng
        job = f"runner-{_suffix(rng, 8)}-project-{rng.randrange(100, 999)}-concurrent-0"
        pod = f"{job}-{_suffix(rng, 5)}"
        r = self.runner
        return [
            (
                0,
                self.mk(
                    r,
                    "create",
                    "",
                    "v1",
                    "secrets",
                    "ci",
                    codes="create",
                    lat="write",
                    reqbody="secret",
                    respbody="secret",
                    late_name=job,
                ),
            ),
            (
                rng.randrange(10_000, 50_000),
                self.mk(
                    r,
                    "create",
                    "",
                    "v1",
                    "pods",
                    "ci",
                    codes="create",
                    lat="write",
                    reqbody="pod",
                    respbody="pod",
                    late_name=pod,
                ),
            ),
            (
                rng.randrange(2_000_000, 5_000_000),
                self.mk(
                    r,
                    "create",
                    "",
                    "v1",
                    "pods",
                    "ci",
                    pod,
                    sub="attach",
                    query="?container=build&stdin=true&stdout=true",
                    codes="upgrade",
                    lat="exec",
                    long=True,
                ),
            ),
            (
                rng.randrange(6_000_000, 9_000_000),
                self.mk(
                    r,
                    "delete",
                    "",
                    "v1",
                    "pods",
                    "ci",
                    pod,
                    codes="delete",
                    lat="write",
                    reqbody="deleteoptions",
                    respbody="pod",
                ),
            ),
        ]

    def t_legacy_extensions(self) -> list[tuple[int, Req]]:
        """An old operator still asking for the extensions group, long gone (404)."""
        return [
            (
                0,
                self.mk(
                    self.legacy,
                    "list",
                    "extensions",
                    "v1beta1",
                    "ingresses",
                    "legacy-app",
                    query="?limit=500",
                    codes="legacy",
                    lat="fast",
                ),
            )
        ]

    def t_failed_authn(self) -> list[tuple[int, Req]]:
        """A client with an expired token: one ResponseStarted event, empty user, 401 (E2, S3)."""
        rng = self.rng
        if rng.random() < 0.5:
            r = self.nonres(self.bad_token, ("/api", "/apis", "/version", "/healthz")[rng.randrange(4)], code=401)
        else:
            ns = self.cluster.namespaces[rng.randrange(len(self.cluster.namespaces))]
            resource = ("pods", "secrets", "configmaps")[rng.randrange(3)]
            r = self.mk(self.bad_token, "list", "", "v1", resource, ns, query="?limit=500", lat="fast")
            r.code = 401
        r.failed = True
        r.duration = rng.randrange(100, 900)
        return [(0, r)]

    def t_human(self) -> list[tuple[int, Req]]:
        """One kubectl command; bob and kubernetes-admin sometimes impersonate (--as)."""
        rng = self.rng
        actor = self.human_pick()
        imp = None
        if actor.username in ("bob@example.com", "kubernetes-admin") and rng.random() < 0.15:
            imp = self.impersonated[rng.randrange(len(self.impersonated))]
        pod = self._pod()
        ns = pod.namespace
        x = rng.randrange(21)
        out: list[tuple[int, Req]] = []
        if rng.random() < 0.2:  # discovery cache refresh before the command
            out.append((0, self.nonres(actor, "/api", "?timeout=32s")))
            out.append((rng.randrange(1000, 5000), self.nonres(actor, "/apis", "?timeout=32s")))
        delay = rng.randrange(5000, 20000) if out else 0
        mk = self.mk
        if x == 0:
            r = mk(
                actor,
                "list",
                "",
                "v1",
                "pods",
                ns,
                query="?limit=500",
                codes="human_read",
                lat="list",
                respbody="podlist",
                imp=imp,
            )
        elif x == 1:
            r = mk(actor, "get", "", "v1", "pods", ns, pod.name, codes="human_read", respbody="pod", imp=imp)
        elif x == 2:
            r = mk(
                actor,
                "get",
                "",
                "v1",
                "pods",
                ns,
                pod.name,
                sub="log",
                query="?container=app&follow=true&tailLines=100",
                codes="human_read",
                lat="log",
                long=True,
                imp=imp,
            )
        elif x == 3:
            r = mk(
                actor,
                "create",
                "",
                "v1",
                "pods",
                ns,
                pod.name,
                sub="exec",
                query="?command=%2Fbin%2Fsh&container=app&stdin=true&stdout=true&tty=true",
                codes="upgrade",
                lat="exec",
                long=True,
                imp=imp,
            )
        elif x == 4:
            r = mk(
                actor,
                "create",
                "",
                "v1",
                "pods",
                ns,
                pod.name,
                sub="portforward",
                query="?ports=8080",
                codes="upgrade",
                lat="exec",
                long=True,
                imp=imp,
            )
        elif x == 5:
            r = mk(
                actor,
                "get",
                "",
                "v1",
                "secrets",
                ns,
                f"{pod.deployment}-secrets",
                codes="human_read",
                respbody="secret",
                imp=imp,
            )
        elif x == 6:
            r = mk(
                actor,
                "create",
                "",
                "v1",
                "secrets",
                ns,
                query="?fieldManager=kubectl-create&fieldValidation=Strict",
                codes="human_create",
                lat="write",
                reqbody="secret",
                respbody="secret",
                late_name=f"{pod.deployment}-creds-{_suffix(rng, 4)}",
                imp=imp,
            )
        elif x == 7:
            r = mk(
                actor,
                "list",
                "",
                "v1",
                "configmaps",
                ns,
                query="?limit=500",
                codes="human_read",
                lat="list",
                respbody="configmaplist",
                imp=imp,
            )
        elif x == 8:
            r = mk(
                actor,
                "patch",
                "",
                "v1",
                "configmaps",
                ns,
                f"{pod.deployment}-config",
                query="?fieldManager=kubectl-edit&fieldValidation=Strict",
                codes="human_write",
                lat="write",
                reqbody="mergepatch",
                respbody="configmap",
                imp=imp,
            )
        elif x == 9:
            r = mk(
                actor,
                "patch",
                "apps",
                "v1",
                "deployments",
                ns,
                pod.deployment,
                query="?fieldManager=kubectl-rollout&fieldValidation=Strict",
                codes="human_write",
                lat="write",
                reqbody="mergepatch",
                respbody="deployment",
                imp=imp,
            )
        elif x == 10:
            r = mk(
                actor,
                "delete",
                "",
                "v1",
                "pods",
                ns,
                pod.name,
                codes="human_write",
                lat="write",
                reqbody="deleteoptions",
                respbody="pod",
                imp=imp,
            )
        elif x == 11:
            r = mk(
                actor,
                "list",
                "rbac.authorization.k8s.io",
                "v1",
                "rolebindings",
                ns,
                query="?limit=500",
                codes="human_read",
                lat="list",
                respbody="genericlist",
                imp=imp,
            )
        elif x == 12:
            r = mk(
                actor,
                "create",
                "rbac.authorization.k8s.io",
                "v1",
                "rolebindings",
                ns,
                query="?fieldManager=kubectl-create&fieldValidation=Strict",
                codes="human_create",
                lat="write",
                reqbody="rolebinding",
                respbody="rolebinding",
                late_name=f"{ns}-debug-access",
                imp=imp,
            )
        elif x == 13:
            r = mk(actor, "get", "", "v1", "namespaces", name=ns, codes="human_read", respbody="namespace", imp=imp)
        elif x == 14:
            r = mk(
                actor,
                "create",
                "",
                "v1",
                "namespaces",
                query="?fieldManager=kubectl-create&fieldValidation=Strict",
                codes="human_create",
                lat="write",
                reqbody="namespace",
                respbody="namespace",
                late_name=f"preview-{_suffix(rng, 6)}",
                imp=imp,
            )
        elif x == 15:
            r = mk(
                actor,
                "watch",
                "",
                "v1",
                "pods",
                ns,
                query=self.watch_query(short=True),
                codes="human_read",
                lat="watch_short",
                long=True,
                imp=imp,
            )
        elif x == 16:
            r = mk(
                actor,
                "list",
                "",
                "v1",
                "nodes",
                query="?limit=500",
                codes="human_read",
                lat="list",
                respbody="genericlist",
                imp=imp,
            )
        elif x == 17:
            r = mk(
                actor,
                "create",
                "",
                "v1",
                "pods",
                ns,
                pod.name,
                sub="attach",
                query="?container=app&stdin=true&stdout=true&tty=true",
                codes="upgrade",
                lat="exec",
                long=True,
                imp=imp,
            )
        elif x == 18:
            r = mk(
                actor,
                "update",
                "",
                "v1",
                "configmaps",
                "kube-system",
                "coredns",
                query="?fieldManager=kubectl-replace",
                codes="human_write",
                lat="write",
                reqbody="configmap",
                respbody="configmap",
                imp=imp,
            )
        elif x == 19:
            r = mk(
                actor,
                "patch",
                "",
                "v1",
                "nodes",
                name=self.cluster.nodes[pod.node],
                query="?fieldManager=kubectl-cordon",
                codes="human_write",
                lat="write",
                reqbody="mergepatch",
                respbody="node",
                imp=imp,
            )
        else:
            r = mk(
                actor,
                "create",
                "authorization.k8s.io",
                "v1",
                "selfsubjectaccessreviews",
                codes="create",
                lat="fast",
                reqbody="generic",
                respbody="generic",
                imp=imp,
            )
        out.append((delay, r))
        return out

    def t_hostile(self) -> list[tuple[int, Req]]:
        """A request whose user, user agent, URI, name and namespace carry hostile strings."""
        rng = self.rng
        actor = self.hostile_actors[rng.randrange(len(self.hostile_actors))]
        segment = HOSTILE_SEGMENTS[rng.randrange(len(HOSTILE_SEGMENTS))]
        other = HOSTILE_SEGMENTS[rng.randrange(len(HOSTILE_SEGMENTS))]
        query = "?fieldManager=" + HOSTILE_TEXT[rng.randrange(len(HOSTILE_TEXT))]
        x = rng.randrange(6)
        if x == 0:
            r = self.mk(actor, "get", "", "v1", "pods", segment, other, query=query, codes="human_read", respbody="pod")
        elif x == 1:
            r = self.mk(
                actor,
                "create",
                "",
                "v1",
                "configmaps",
                segment,
                query=query,
                codes="human_create",
                lat="write",
                reqbody="configmap",
                respbody="configmap",
                late_name=other,
            )
        elif x == 2:
            r = self.mk(actor, "get", "", "v1", "secrets", "default", segment, codes="human_read", respbody="secret")
        elif x == 3:
            r = self.mk(actor, "get", "", "v1", "namespaces", name=segment, codes="human_read", respbody="namespace")
        elif x == 4:
            r = self.nonres(actor, "/healthz/" + segment, query)
        else:
            r = self.mk(
                self.humans[rng.randrange(len(self.humans))],
                "list",
                "",
                "v1",
                "pods",
                segment,
                query=query,
                codes="human_read",
                lat="list",
                respbody="podlist",
            )
        return [(0, r)]

    # -- scheduling and levels -----------------------------------------------------------------
    def _schedule(self, t0: int, r: Req) -> bool:
        """Decide the request's level and queue its stages; False when the policy logs nothing."""
        rng = self.rng
        stats = self.stats
        stats.requests += 1
        r.t0 = t0
        r.aid = _uuid(rng).encode()
        r.status_json = _status(r.code, r) if r.code != 200 else b'{"metadata":{},"code":200}'
        if self.evaluator is not None:
            verdict = self._verdict(r)
            stats.rules[verdict.rule] = stats.rules.get(verdict.rule, 0) + 1
            if verdict.level == "None":
                stats.unlogged_requests += 1
                return False
            r.level, r.omit_mf, omit = verdict.level, verdict.omit_managed_fields, verdict.omit_stages
        else:
            x = rng.random()
            fraction = self.bodies_fraction
            r.level = "Metadata" if x >= fraction else ("Request" if x < fraction / 2 else "RequestResponse")
            r.omit_mf, omit = False, frozenset()
        r.uri_json = _dumps(r.uri)
        r.received = self.clock(t0).encode()
        if r.failed:  # E2, S3: one ResponseStarted, nothing else
            stages = [(t0 + r.duration, RS)]
        else:
            end = PANIC if rng.random() < 0.0015 and not r.nonres else RC
            stages = [(t0, RR)]
            if r.long:
                stages.append((t0 + rng.randrange(300, 3000), RS))
            stages.append((t0 + r.duration + (3000 if r.long else 0), end))
        heap = self._heap
        for when, stage in stages:
            if stage not in omit:
                self._seq += 1
                heapq.heappush(heap, (when, self._seq, r, stage))
        return True

    def _verdict(self, r: Req) -> Verdict:
        """The policy's verdict for the request, via request_attributes so that the two always agree.

        Cached on what request_attributes reads (user, verb, URL path, URL-derived objectRef): the
        query string never changes the attributes (E9), and traffic repeats.
        """
        key = (id(r.actor), r.verb, r.uri.split("?", 1)[0], r.ref_json)
        verdict = self._verdicts.get(key)
        if verdict is None:
            assert self.evaluator is not None
            verdict = self.evaluator.evaluate(request_attributes(self.event_fields(r)))
            if len(self._verdicts) >= 200_000:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    @staticmethod
    def event_fields(r: Req) -> EventFields:
        """The request as request_attributes sees its RequestReceived-stage event (URL-derived objectRef)."""
        return EventFields(
            kind="Event",
            apiVersion="audit.k8s.io/v1",
            stage=RR,
            requestURI=r.uri,
            verb=r.verb,
            user=r.actor.info,
            objectRef=r.ref,
        )

    # -- serialisation ---------------------------------------------------------------------------
    def serialize(self, r: Req, stage: str, when: int) -> bytes:
        """One Event line, assembled from the request's pre-serialised fragments."""
        clock = self.clock
        parts = [
            b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"',
            _ASCII[r.level],
            b'","auditID":"',
            r.aid,
            b'","stage":"',
            _ASCII[stage],
            b'","requestURI":',
            r.uri_json,
            b',"verb":"',
            _ASCII[r.verb],
            b'","user":',
            r.actor.user_json,
        ]
        if r.imp_json is not None and stage != RR:  # E1: impersonation runs after RequestReceived
            parts += (b',"impersonatedUser":', r.imp_json)
        parts += (b',"sourceIPs":', r.actor.ips_json, b',"userAgent":', r.actor.ua_json)
        if r.ref is not None:
            late = r.late_json is not None and stage != RR and r.code < 400  # E8
            parts += (b',"objectRef":', r.late_json if late else r.ref_json)  # type: ignore[arg-type]
        if stage != RR:
            parts += (b',"responseStatus":', PANIC_STATUS if stage == PANIC else r.status_json)
        if stage == RC and r.level != "Metadata" and not r.nonres:
            parts += self._bodies(r, when)
        received = r.received
        parts += (
            b',"requestReceivedTimestamp":"',
            received,
            b'","stageTimestamp":"',
            received if stage == RR else clock(when).encode(),
            b'"',
        )
        if stage != RR and not r.failed:
            parts += (b',"annotations":', self._annotations(r, when))
        parts.append(b"}")
        return b"".join(parts)

    def _annotations(self, r: Req, when: int) -> bytes:
        base = FORBID_JSON if r.code == 403 else r.actor.allow_json
        extra = dict(r.extra_ann) if r.extra_ann else {}
        elapsed = when - r.t0
        if elapsed > 500_000 and not r.long:  # the apiserver adds latency annotations to slow requests
            extra["apiserver.latency.k8s.io/total"] = f"{elapsed / 1000:.6f}ms"
            extra["apiserver.latency.k8s.io/etcd"] = f"{elapsed / 1300:.6f}ms"
        if not extra:
            return base
        return base[:-1] + b"," + _dumps(extra)[1:]

    def _bodies(self, r: Req, when: int) -> list[bytes]:
        """requestObject at Request and above, responseObject at RequestResponse (S2)."""
        out: list[bytes] = []
        code = r.code
        values: tuple[bytes, bytes, bytes, bytes, bytes, bytes] | None = None
        if r.reqbody and code not in (401, 403):
            values = self._body_values(r, when)
            out += (b',"requestObject":', self.bodies.get(r.reqbody, values, r.omit_mf))
        if r.level == "RequestResponse":
            if code >= 400:
                out += (
                    b',"responseObject":',
                    r.status_json[:1] + b'"kind":"Status","apiVersion":"v1",' + r.status_json[1:],
                )
            elif r.respbody and r.verb != "watch":
                values = values or self._body_values(r, when)
                listed = _LIST_KINDS.get(r.respbody)
                body = (
                    self.bodies.list_of(listed[0], values, r.omit_mf, listed[1])
                    if listed
                    else self.bodies.get(r.respbody, values, r.omit_mf)
                )
                out += (b',"responseObject":', body)
        return out

    def _body_values(self, r: Req, when: int) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes]:
        rng = self.bodies._rng
        node = self.cluster.nodes[rng.randrange(len(self.cluster.nodes))]
        return (
            _escaped(r.name or f"obj-{_suffix(rng, 5)}"),
            _escaped(r.ns),
            _uuid(rng).encode(),
            str(self.cluster.next_rv()).encode(),
            self.clock(when).encode(),
            node.encode(),
        )

    # -- main loop -------------------------------------------------------------------------------
    def events(self, count: int) -> Iterator[bytes]:
        """Yield `count` event lines (fewer only if the policy logs nothing for a long stretch)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        rng = self.rng
        heap = self._heap
        stats = self.stats
        expovariate = rng.expovariate
        rate = 1.0 / self.mean_gap
        hostile = self.hostile
        workload = self._workload
        silent = 0
        emitted = 0
        t = self.t
        stages = stats.stages
        levels = stats.levels
        pop = heapq.heappop
        serialize = self.serialize
        while emitted < count:
            t += int(expovariate(rate)) + 1
            is_hostile = hostile > 0.0 and rng.random() < hostile
            logged = False
            for offset, req in self.t_hostile() if is_hostile else workload()():
                stats.hostile_requests += is_hostile
                logged = self._schedule(t + offset, req) or logged
            silent = 0 if logged else silent + 1
            if silent > self.MAX_SILENT_REQUESTS:
                break
            while heap and heap[0][0] <= t and emitted < count:
                when, _, req, stage = pop(heap)
                line = serialize(req, stage, when)
                stages[stage] = stages.get(stage, 0) + 1
                levels[req.level] = levels.get(req.level, 0) + 1
                emitted += 1
                stats.events += 1
                yield line
        self.t = t


def generate_events(
    count: int,
    seed: int = 42,
    *,
    start: str = "2026-11-20T09:00:00Z",
    evaluator: PolicyEvaluator | None = None,
    hostile: float = 0.0,
    bodies: float = 0.05,
    rate: float = 600.0,
) -> Iterator[bytes]:
    """Yield `count` audit.k8s.io/v1 Event lines (bytes, no newline), deterministic for the arguments.

    With `evaluator`, levels and omitted stages follow its policy and requests at level None are not
    written (S5); without, levels are drawn: `bodies` of the requests at Request/RequestResponse.
    `hostile` is the fraction of requests carrying hostile strings; `rate` is requests per second.
    """
    return SampleGenerator(seed, start=start, evaluator=evaluator, hostile=hostile, bodies=bodies, rate=rate).events(
        count
    )


def write_events(out: IO[bytes], lines: Iterator[bytes]) -> int:
    """Write lines with a newline each, in batches; return how many."""
    written = 0
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= 4096:
            batch.append(b"")
            out.write(b"\n".join(batch))
            written += len(batch) - 1
            batch = []
    if batch:
        batch.append(b"")
        out.write(b"\n".join(batch))
        written += len(batch) - 1
    return written


def write_log(
    path: str | Path,
    count: int,
    seed: int = 42,
    *,
    start: str = "2026-11-20T09:00:00Z",
    evaluator: PolicyEvaluator | None = None,
    hostile: float = 0.0,
    bodies: float = 0.05,
    rate: float = 600.0,
    gzip: bool = False,
) -> GenStats:
    """Write a log file ('-' = stdout); gzip output is byte-stable (mtime 0, no file name)."""
    generator = SampleGenerator(seed, start=start, evaluator=evaluator, hostile=hostile, bodies=bodies, rate=rate)
    lines = generator.events(count)
    if str(path) == "-":
        _write_to(sys.stdout.buffer, lines, gzip)
    else:
        with open(path, "wb") as raw:
            _write_to(raw, lines, gzip)
    return generator.stats


def _write_to(raw: IO[bytes], lines: Iterator[bytes], gzip: bool) -> None:
    if not gzip:
        write_events(raw, lines)
        raw.flush()
        return
    with gzip_module.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as compressed:
        write_events(compressed, lines)  # type: ignore[arg-type]


def load_evaluator(path: str | Path) -> PolicyEvaluator:
    """A PolicyEvaluator for a policy file; ValueError with the loader's problems if it does not load."""
    from k8saudit_tui.engine.policy.loader import load_policy_file

    loaded = load_policy_file(path)
    if loaded.policy is None:
        problems = "; ".join(str(problem) for problem in loaded.errors) or "policy did not load"
        raise ValueError(problems)
    return PolicyEvaluator(loaded.policy)


def make_demo(path: str | Path = DEMO_LOG, policy_path: str | Path = DEMO_POLICY) -> GenStats:
    """Regenerate the bundled demo log: the demo policy's view of ~3,000 events, ~2% hostile."""
    return write_log(
        path, DEMO_EVENTS, DEMO_SEED, evaluator=load_evaluator(policy_path), hostile=DEMO_HOSTILE, rate=DEMO_RATE
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m k8saudit_tui.sample --events N [--seed S] [--policy FILE] ... -o FILE`."""
    parser = argparse.ArgumentParser(
        prog="python -m k8saudit_tui.sample",
        description="Write a synthetic kube-apiserver audit log (JSON lines).",
    )
    parser.add_argument("--events", "-n", type=int, help="number of event lines to write")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42); same arguments, same bytes")
    parser.add_argument("--policy", help="audit Policy file: levels and omitted stages follow it")
    parser.add_argument("--hostile", type=float, default=0.0, help="fraction of requests with hostile strings")
    parser.add_argument(
        "--bodies",
        type=float,
        default=0.05,
        help="without --policy: fraction of requests at Request/RequestResponse (0.05)",
    )
    parser.add_argument("--rate", type=float, default=600.0, help="requests per second (600)")
    parser.add_argument("--start", default="2026-11-20T09:00:00Z", help="first timestamp (UTC, ...Z)")
    parser.add_argument("--gzip", action="store_true", help="gzip the output (byte-stable)")
    parser.add_argument("--stats", action="store_true", help="print counts and speed to stderr")
    parser.add_argument("--demo", action="store_true", help="regenerate the bundled demo log and exit")
    parser.add_argument("-o", "--output", help="output file ('-' = stdout)")
    args = parser.parse_args(argv)
    if args.demo:
        make_demo(args.output or DEMO_LOG)
        return 0
    if args.events is None or args.output is None:
        parser.error("--events and -o are required")
    if args.events < 0 or not 0 <= args.hostile <= 1 or not 0 <= args.bodies <= 1 or args.rate <= 0:
        parser.error("--events must be >= 0, --hostile/--bodies within [0, 1], --rate > 0")
    evaluator = None
    if args.policy:
        try:
            evaluator = load_evaluator(args.policy)
        except (OSError, ValueError) as error:
            print(f"samplegen: {args.policy}: {error}", file=sys.stderr)
            return 2
    began = time.perf_counter()
    try:
        stats = write_log(
            args.output,
            args.events,
            args.seed,
            start=args.start,
            evaluator=evaluator,
            hostile=args.hostile,
            bodies=args.bodies,
            rate=args.rate,
            gzip=args.gzip,
        )
    except BrokenPipeError:
        return 0
    if args.stats:
        seconds = time.perf_counter() - began
        summary = {
            "events": stats.events,
            "requests": stats.requests,
            "unlogged_requests": stats.unlogged_requests,
            "stages": stats.stages,
            "levels": stats.levels,
            "seconds": round(seconds, 3),
            "events_per_second": round(stats.events / max(seconds, 1e-9)),
        }
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode(), file=sys.stderr)
    return 0
