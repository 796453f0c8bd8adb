"""Cluster services and misbehaving clients: kube-system configmaps, apiserver, reviews, monitoring,
health, discovery, a long-gone API group, bad tokens and hostile strings.

Templates are methods of a mixin over `RequestFactory`, so that they read the generator's state
(`rng`, `cluster`, `cast`) as `self.`; `generator.SampleGenerator` combines the mixins and lists the
templates with their weights. A template must draw from `self.rng` in a fixed order: any change
to the draws changes every byte of the output after it, including the bundled demo log.
"""

from __future__ import annotations

from k8saudit_tui.sample.cluster import APISERVER_LEASES, KUBE_SYSTEM_CONFIGMAPS, SYSTEM_NAMESPACES
from k8saudit_tui.sample.factory import RequestFactory
from k8saudit_tui.sample.requests import Req
from k8saudit_tui.sample.vocabulary import HOSTILE_SEGMENTS, HOSTILE_TEXT


class PlatformTraffic(RequestFactory):
    """Request templates: each returns [(offset in microseconds, Req), ...] for one scenario."""

    def t_kube_system_cm(self) -> list[tuple[int, Req]]:
        rng = self.rng
        name = KUBE_SYSTEM_CONFIGMAPS[rng.randrange(len(KUBE_SYSTEM_CONFIGMAPS))]
        x = rng.random()
        if x < 0.4:
            return [
                (
                    0,
                    self.mk(
                        self.cast.apiserver,
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
                        self.cast.controllers["root-ca-cert-publisher"],
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
                    self.cast.kcm,
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
        a = self.cast.apiserver
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
                        self.cast.metrics_server,
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
                    self.cast.metrics_server,
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
            return [(0, self.nonres(self.cast.prometheus, "/metrics"))]
        ns = self.cluster.namespaces[rng.randrange(len(self.cluster.namespaces))]
        resource = ("pods", "services", "endpoints")[rng.randrange(3)]
        if x < 0.8:
            return [
                (
                    0,
                    self.mk(
                        self.cast.prometheus,
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
                    self.cast.prometheus,
                    "watch",
                    "",
                    "v1",
                    resource,
                    ns,
                    query=self.watch_query(),
                    lat="watch",
                    long=True,
                ),
            )
        ]

    def t_health(self) -> list[tuple[int, Req]]:
        rng = self.rng
        path = ("/healthz", "/livez", "/readyz", "/readyz", "/livez")[rng.randrange(5)]
        query = "?verbose" if rng.random() < 0.1 else ""
        return [(0, self.nonres(self.cast.anonymous, path, query))]

    def t_discovery(self) -> list[tuple[int, Req]]:
        """client-go discovery and version checks: non-resource GETs (E3)."""
        rng = self.rng
        actors = (self.cast.argocd, self.cast.certmanager, self.cast.kcm, self.cast.prometheus, self.cast.ingress)
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

    def t_legacy_extensions(self) -> list[tuple[int, Req]]:
        """An old operator still asking for the extensions group, long gone (404)."""
        return [
            (
                0,
                self.mk(
                    self.cast.legacy,
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
            r = self.nonres(self.cast.bad_token, ("/api", "/apis", "/version", "/healthz")[rng.randrange(4)], code=401)
        else:
            ns = self.cluster.namespaces[rng.randrange(len(self.cluster.namespaces))]
            resource = ("pods", "secrets", "configmaps")[rng.randrange(3)]
            r = self.mk(self.cast.bad_token, "list", "", "v1", resource, ns, query="?limit=500", lat="fast")
            r.code = 401
        r.failed = True
        r.duration = rng.randrange(100, 900)
        return [(0, r)]

    def t_hostile(self) -> list[tuple[int, Req]]:
        """A request whose user, user agent, URI, name and namespace carry hostile strings."""
        rng = self.rng
        actor = self.cast.hostile_actors[rng.randrange(len(self.cast.hostile_actors))]
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
                self.cast.humans[rng.randrange(len(self.cast.humans))],
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
