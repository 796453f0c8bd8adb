"""Operators with CRDs and CI: Argo CD, cert-manager, ingress-nginx, a CI runner.

Templates are methods of a mixin over `RequestFactory`, so that they read the generator's state
(`rng`, `cluster`, `cast`) as `self.`; `generator.SampleGenerator` combines the mixins and lists the
templates with their weights. A template must draw from `self.rng` in a fixed order: any change
to the draws changes every byte of the output after it, including the bundled demo log.
"""

from __future__ import annotations

from k8saudit_tui.sample.cluster import APP_NAMESPACES
from k8saudit_tui.sample.factory import RequestFactory
from k8saudit_tui.sample.helpers import name_suffix
from k8saudit_tui.sample.requests import Req


class OperatorTraffic(RequestFactory):
    """Request templates: each returns [(offset in microseconds, Req), ...] for one scenario."""

    def t_argocd(self) -> list[tuple[int, Req]]:
        rng = self.rng
        app = f"{APP_NAMESPACES[rng.randrange(len(APP_NAMESPACES))]}-app"
        x = rng.random()
        if x < 0.4:
            return [
                (
                    0,
                    self.mk(
                        self.cast.argocd,
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
                        self.cast.argocd,
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
                    self.cast.argocd,
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
                        self.cast.certmanager,
                        "get",
                        "",
                        "v1",
                        "secrets",
                        ns,
                        f"{ns}-tls",
                        codes="get",
                        respbody="secret",
                    ),
                )
            ]
        if x < 0.7:
            return [
                (
                    0,
                    self.mk(
                        self.cast.certmanager,
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
                    self.cast.certmanager,
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
                        self.cast.ingress,
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
                        self.cast.ingress,
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
                        self.cast.ingress,
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
        job = f"runner-{name_suffix(rng, 8)}-project-{rng.randrange(100, 999)}-concurrent-0"
        pod = f"{job}-{name_suffix(rng, 5)}"
        r = self.cast.runner
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
