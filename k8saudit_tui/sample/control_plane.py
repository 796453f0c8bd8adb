"""Control-plane traffic: leader election, controllers writing and watching, pod churn.

Templates are methods of a mixin over `RequestFactory`, so that they read the generator's state
(`rng`, `cluster`, `cast`) as `self.`; `generator.SampleGenerator` combines the mixins and lists the
templates with their weights. A template must draw from `self.rng` in a fixed order: any change
to the draws changes every byte of the output after it, including the bundled demo log.
"""

from __future__ import annotations

from k8saudit_tui.sample.factory import RequestFactory
from k8saudit_tui.sample.helpers import name_suffix
from k8saudit_tui.sample.requests import Req


class ControlPlaneTraffic(RequestFactory):
    """Request templates: each returns [(offset in microseconds, Req), ...] for one scenario."""

    def t_leader_election(self) -> list[tuple[int, Req]]:
        rng = self.rng
        holders = (
            (self.cast.kcm, "kube-system", "kube-controller-manager"),
            (self.cast.scheduler, "kube-system", "kube-scheduler"),
            (self.cast.certmanager, "kube-system", "cert-manager-controller"),
            (self.cast.ingress, "ingress-nginx", "ingress-nginx-leader"),
            (self.cast.argocd, "argocd", "argocd-application-controller"),
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
                    self.cast.legacy,
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
        c = self.cast.controllers
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
                        f"{dep}-{name_suffix(rng, 5)}",
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
        names = list(self.cast.controllers)
        actor = self.cast.kcm if rng.random() < 0.2 else self.cast.controllers[names[rng.randrange(len(names))]]
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
        pod_name = f"{dep}-{rs_hash}-{name_suffix(rng, 5)}"
        node = self._node()
        create = self.mk(
            self.cast.controllers["replicaset-controller"],
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
                    self.cast.scheduler,
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
                    self.cast.kubelets[node],
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
                        self.cast.controllers["replicaset-controller"],
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
                        self.cast.controllers["node-controller"],
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
