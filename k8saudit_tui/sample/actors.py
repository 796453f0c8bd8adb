"""Who sends requests: users with their source IPs, user agents and RBAC reasons, serialised once.

Every actor's JSON fragments are built here at start-up; the hot path only splices them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from k8saudit_tui.engine.logs.event import UserInfo
from k8saudit_tui.sample.cluster import CONTROLLERS, Cluster
from k8saudit_tui.sample.helpers import Picker, name_suffix, new_uuid
from k8saudit_tui.sample.vocabulary import HOSTILE_TEXT, K8S, LONG_USER_AGENT


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


FORBID_JSON = orjson.dumps({"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""})


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
        orjson.dumps(user),
        orjson.dumps(ips),
        orjson.dumps(user_agent),
        orjson.dumps(allow),
    )


def _binding(kind: str, name: str, role: str, subject_kind: str, subject: str) -> str:
    """The reason string of the RBAC authorizer (a RoleBinding `name` is `namespace/name`)."""
    role_kind = "ClusterRole"
    return f'RBAC: allowed by {kind} "{name}" of {role_kind} "{role}" to {subject_kind} "{subject}"'


class Cast:
    """The actors of one simulated cluster: built from `rng`; `human_pick` draws from `pick_rng`."""

    def __init__(self, rng: random.Random, pick_rng: random.Random, cluster: Cluster) -> None:
        c = self.cluster = cluster
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
        self.human_pick = Picker(
            pick_rng,
            [
                (5, self.humans[0]),
                (3, self.humans[1]),
                (2, self.humans[2]),
                (1.5, self.humans[3]),
                (0.5, self.humans[4]),
            ],
        )
        self.impersonated = [
            orjson.dumps({"username": "alice@example.com", "groups": ["oidc:developers", authd]}),
            orjson.dumps(
                {
                    "username": "system:serviceaccount:shop:default",
                    "groups": ["system:serviceaccounts", "system:serviceaccounts:shop", authd],
                }
            ),
            orjson.dumps({"username": "dave@example.com", "groups": ["oidc:contractors"]}),
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
                "authentication.kubernetes.io/credential-id": [f"JTI={new_uuid(rng)}"],
                "authentication.kubernetes.io/node-name": [node],
                "authentication.kubernetes.io/pod-name": [f"{name}-{name_suffix(rng, 10)}-{name_suffix(rng, 5)}"],
                "authentication.kubernetes.io/pod-uid": [new_uuid(rng)],
            }
        reason = _binding("ClusterRoleBinding", role, role, "ServiceAccount", f"{name}/{namespace}")
        return make_actor(
            f"system:serviceaccount:{namespace}:{name}",
            ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
            ip,
            user_agent,
            reason,
            uid=new_uuid(rng),
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
