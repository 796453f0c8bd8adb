"""The request builder the traffic templates share: URLs, objectRefs, codes and latencies.

A request's URL is built first and its objectRef derived from the same parts, so that the policy
(which sees the URL-derived attributes, E8) and the log always agree. The state it reads is declared
here and set by `generator.SampleGenerator`, the one class that combines the traffic mixins.
"""

from __future__ import annotations

import random

from k8saudit_tui.engine.logs.event import ObjectRef
from k8saudit_tui.sample.actors import Actor, Cast
from k8saudit_tui.sample.cluster import Cluster, Pod
from k8saudit_tui.sample.helpers import Picker, new_uuid
from k8saudit_tui.sample.requests import Req, objref_json

LATENCY_US: dict[str, tuple[int, float]] = {  # (median microseconds, lognormal sigma)
    "fast": (1_500, 0.5),
    "get": (2_500, 0.6),
    "write": (8_000, 0.6),
    "list": (25_000, 1.0),
    "nonres": (600, 0.5),
    "log": (400_000, 1.2),
    "exec": (8_000_000, 1.0),
    "watch_short": (6_000_000, 0.8),
}

CODES: dict[str, list[tuple[float, int]]] = {
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


class RequestFactory:
    """Builds Reqs from the generator's state; the base of every traffic mixin."""

    rng: random.Random
    cluster: Cluster
    cast: Cast
    _codes: dict[str, Picker[int]]
    _refs: dict[tuple[str, ...], tuple[ObjectRef, bytes]]

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
                objref_json(resource, ns, ref_name, "", group, version, "", sub),
            )
        r.ref, r.ref_json = cached
        r.late_json = None
        if late_name and verb == "create" and not name:
            r.late_json = objref_json(resource, ns, late_name, new_uuid(self.rng), group, version, "", sub)
        elif verb == "update" and name and not sub:
            rv = str(self.cluster.rv - self.rng.randrange(1, 5000))
            r.late_json = objref_json(resource, ns, name, new_uuid(self.rng), group, version, rv, sub)
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
        median, sigma = LATENCY_US[lat]
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

    def _node(self) -> int:
        return self.rng.randrange(len(self.cluster.nodes))

    def _pod(self, node: int | None = None) -> Pod:
        pods = self.cluster.pods_by_node.get(node, self.cluster.pods) if node is not None else self.cluster.pods
        return pods[self.rng.randrange(len(pods))]
