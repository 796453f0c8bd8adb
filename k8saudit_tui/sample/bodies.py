"""Request and response bodies: small realistic objects, serialised once with placeholders.

Serialising a body per event would dominate generation time, so each kind has a few pre-serialised
variants (with and without managedFields, M14) whose placeholders are replaced by bytes.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any

import orjson

from k8saudit_tui.sample.helpers import new_uuid

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
            "uid": new_uuid(rng),
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
        self.rng = rng
        """Draws variants and placeholder values: a stream of its own, so that bodies (written only at
        Request levels) never shift the draws of the request stream."""
        self._pool: dict[str, list[tuple[bytes, bytes]]] = {}
        for kind, maker in _BODY_MAKERS.items():
            variants = []
            for _ in range(self.VARIANTS):
                body = maker(rng)
                variants.append((orjson.dumps(body), orjson.dumps(_without_managed_fields(body))))
            self._pool[kind] = variants

    def get(self, kind: str, values: tuple[bytes, bytes, bytes, bytes, bytes, bytes], omit_mf: bool) -> bytes:
        """A body of `kind` with placeholders filled from (name, ns, uid, rv, ts, node), all escaped."""
        pool = self._pool[kind]
        text = pool[self.rng.randrange(len(pool))][1 if omit_mf else 0]
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
        count = 1 + self.rng.randrange(3)
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


LIST_KINDS = {
    "podlist": ("pod", b"PodList"),
    "configmaplist": ("configmap", b"ConfigMapList"),
    "secretlist": ("secret", b"SecretList"),
    "genericlist": ("generic", b"List"),
}
