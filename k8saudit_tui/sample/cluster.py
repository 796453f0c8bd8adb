"""The simulated cluster: namespaces, nodes, deployments and pods, and its resourceVersion counter."""

from __future__ import annotations

import random
from dataclasses import dataclass

from k8saudit_tui.sample.helpers import name_suffix

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
                rs_hash = name_suffix(rng, 10)
                self.deployments.append((namespace, name, rs_hash))
                for _ in range(rng.randrange(1, 5)):
                    self.pods.append(
                        Pod(namespace, f"{name}-{rs_hash}-{name_suffix(rng, 5)}", rng.randrange(nodes), name)
                    )
        self.pods_by_node: dict[int, list[Pod]] = {}
        for pod in self.pods:
            self.pods_by_node.setdefault(pod.node, []).append(pod)
        self.rv = 48_000_000 + rng.randrange(1_000_000)

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv
