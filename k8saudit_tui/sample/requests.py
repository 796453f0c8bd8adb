"""One API request (`Req`) and the JSON fragments its events are assembled from.

objectRefs follow upstream field order with empty fields omitted (P6); failure Statuses carry the
messages and reasons kube-apiserver writes for each code.
"""

from __future__ import annotations

import orjson

from k8saudit_tui.engine.logs.event import ObjectRef
from k8saudit_tui.sample.actors import Actor
from k8saudit_tui.sample.vocabulary import PANIC, RC, RR, RS


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


def objref_json(
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
    return orjson.dumps(ref)


def response_status(code: int, req: Req) -> bytes:
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
    return orjson.dumps({"metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})


ASCII = {
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

PANIC_STATUS = orjson.dumps(
    {
        "metadata": {},
        "status": "Failure",
        "message": "APIServer panic'd: net/http: abort Handler",
        "reason": "InternalError",
        "code": 500,
    }
)
