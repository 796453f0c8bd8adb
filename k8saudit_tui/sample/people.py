"""Humans running kubectl: reads, writes, exec, some forbidden, some impersonating.

Templates are methods of a mixin over `RequestFactory`, so that they read the generator's state
(`rng`, `cluster`, `cast`) as `self.`; `generator.SampleGenerator` combines the mixins and lists the
templates with their weights. A template must draw from `self.rng` in a fixed order: any change
to the draws changes every byte of the output after it, including the bundled demo log.
"""

from __future__ import annotations

from k8saudit_tui.sample.factory import RequestFactory
from k8saudit_tui.sample.helpers import name_suffix
from k8saudit_tui.sample.requests import Req


class PeopleTraffic(RequestFactory):
    """Request templates: each returns [(offset in microseconds, Req), ...] for one scenario."""

    def t_human(self) -> list[tuple[int, Req]]:
        """One kubectl command; bob and kubernetes-admin sometimes impersonate (--as)."""
        rng = self.rng
        actor = self.cast.human_pick()
        imp = None
        if actor.username in ("bob@example.com", "kubernetes-admin") and rng.random() < 0.15:
            imp = self.cast.impersonated[rng.randrange(len(self.cast.impersonated))]
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
                late_name=f"{pod.deployment}-creds-{name_suffix(rng, 4)}",
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
                late_name=f"preview-{name_suffix(rng, 6)}",
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
