"""Node traffic: kubelets (leases, status, watches), kube-proxy and CoreDNS.

Templates are methods of a mixin over `RequestFactory`, so that they read the generator's state
(`rng`, `cluster`, `cast`) as `self.`; `generator.SampleGenerator` combines the mixins and lists the
templates with their weights. A template must draw from `self.rng` in a fixed order: any change
to the draws changes every byte of the output after it, including the bundled demo log.
"""

from __future__ import annotations

from k8saudit_tui.sample.factory import RequestFactory
from k8saudit_tui.sample.requests import Req


class NodeTraffic(RequestFactory):
    """Request templates: each returns [(offset in microseconds, Req), ...] for one scenario."""

    def t_kubelet_lease(self) -> list[tuple[int, Req]]:
        i = self._node()
        node = self.cluster.nodes[i]
        if self.rng.random() < 0.1:
            return [
                (
                    0,
                    self.mk(
                        self.cast.kubelets[i],
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
                    self.cast.kubelets[i],
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
                    self.cast.kubelets[i],
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
                        self.cast.kubelets[i],
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
                        self.cast.kubelets[i],
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
                    self.cast.kubelets[i],
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
                        self.cast.kubelets[i],
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
                        self.cast.kubelets[i],
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
                    self.cast.kubelets[i],
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
                        self.cast.kubelets[i],
                        "get",
                        "",
                        "v1",
                        "pods",
                        pod.namespace,
                        pod.name,
                        codes="get",
                        respbody="pod",
                    ),
                )
            ]
        if x < 0.7:
            return [
                (
                    0,
                    self.mk(
                        self.cast.kubelets[i],
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
                    self.cast.kubelets[i],
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

    def t_kube_proxy(self) -> list[tuple[int, Req]]:
        rng = self.rng
        actor = self.cast.proxies[self._node()]
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
                        self.cast.coredns,
                        "watch",
                        group,
                        "v1",
                        resource,
                        query=self.watch_query(),
                        lat="watch",
                        long=True,
                    ),
                )
            ]
        return [
            (
                0,
                self.mk(
                    self.cast.coredns,
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
