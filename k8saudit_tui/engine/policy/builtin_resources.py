"""The resources a current kube-apiserver serves itself, by API group: the data behind policy lint.

Why a table: a policy entry `{group: "", resources: [deployments]}` is valid and loads, yet never
matches anything, because kube-apiserver serves deployments only in `apps`. Only a list of where
the built-in resources live can say so. Its contract is to be sure, not complete: `lint.py` warns
only about names found here, so a name missing from the table (a CRD, a resource newer than the
table) costs a missed warning, never a false one. So a name is listed under a group only when that
group really serves it, in one of its versions (stable, beta or alpha; alpha ones behind a
feature gate), and every group that serves it is listed.

Where it came from: the REST storage of kube-apiserver v1.31 to v1.33 (`pkg/registry/*/rest/
storage_*.go`, `staging/src/k8s.io/apiextensions-apiserver`, `staging/src/k8s.io/kube-aggregator`),
as `kubectl api-resources` and the discovery documents `/api/v1` and `/apis/GROUP/VERSION` list
them, with subresources (`pods/log`, `deployments/scale`). Written from the Kubernetes API
reference; resources removed before v1.25 (podsecuritypolicies, the `extensions` group) are
deliberately absent, see `REMOVED_GROUPS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CORE = ""
"""The core group ("" in a policy, `/api/v1` on the wire)."""

_TABLE: dict[str, tuple[str, ...]] = {
    CORE: (
        "bindings",
        "componentstatuses",
        "configmaps",
        "endpoints",
        "events",
        "limitranges",
        "namespaces",
        "namespaces/finalize",
        "namespaces/status",
        "nodes",
        "nodes/proxy",
        "nodes/status",
        "persistentvolumeclaims",
        "persistentvolumeclaims/status",
        "persistentvolumes",
        "persistentvolumes/status",
        "pods",
        "pods/attach",
        "pods/binding",
        "pods/ephemeralcontainers",
        "pods/eviction",
        "pods/exec",
        "pods/log",
        "pods/portforward",
        "pods/proxy",
        "pods/resize",
        "pods/status",
        "podtemplates",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "replicationcontrollers/status",
        "resourcequotas",
        "resourcequotas/status",
        "secrets",
        "serviceaccounts",
        "serviceaccounts/token",
        "services",
        "services/proxy",
        "services/status",
    ),
    "admissionregistration.k8s.io": (
        "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings",
        "mutatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicies/status",
        "validatingadmissionpolicybindings",
        "validatingwebhookconfigurations",
    ),
    "apiextensions.k8s.io": ("customresourcedefinitions", "customresourcedefinitions/status"),
    "apiregistration.k8s.io": ("apiservices", "apiservices/status"),
    "apps": (
        "controllerrevisions",
        "daemonsets",
        "daemonsets/status",
        "deployments",
        "deployments/scale",
        "deployments/status",
        "replicasets",
        "replicasets/scale",
        "replicasets/status",
        "statefulsets",
        "statefulsets/scale",
        "statefulsets/status",
    ),
    "authentication.k8s.io": ("selfsubjectreviews", "tokenreviews"),
    "authorization.k8s.io": (
        "localsubjectaccessreviews",
        "selfsubjectaccessreviews",
        "selfsubjectrulesreviews",
        "subjectaccessreviews",
    ),
    "autoscaling": ("horizontalpodautoscalers", "horizontalpodautoscalers/status"),
    "batch": ("cronjobs", "cronjobs/status", "jobs", "jobs/status"),
    "certificates.k8s.io": (
        "certificatesigningrequests",
        "certificatesigningrequests/approval",
        "certificatesigningrequests/status",
        "clustertrustbundles",
    ),
    "coordination.k8s.io": ("leasecandidates", "leases"),
    "discovery.k8s.io": ("endpointslices",),
    "events.k8s.io": ("events",),
    "flowcontrol.apiserver.k8s.io": (
        "flowschemas",
        "flowschemas/status",
        "prioritylevelconfigurations",
        "prioritylevelconfigurations/status",
    ),
    "internal.apiserver.k8s.io": ("storageversions", "storageversions/status"),
    "networking.k8s.io": (
        "ingressclasses",
        "ingresses",
        "ingresses/status",
        "ipaddresses",
        "networkpolicies",
        "servicecidrs",
        "servicecidrs/status",
    ),
    "node.k8s.io": ("runtimeclasses",),
    "policy": ("poddisruptionbudgets", "poddisruptionbudgets/status"),
    "rbac.authorization.k8s.io": ("clusterrolebindings", "clusterroles", "rolebindings", "roles"),
    "resource.k8s.io": (
        "deviceclasses",
        "podschedulingcontexts",
        "podschedulingcontexts/status",
        "resourceclaims",
        "resourceclaims/status",
        "resourceclaimtemplates",
        "resourceslices",
    ),
    "scheduling.k8s.io": ("priorityclasses",),
    "storage.k8s.io": (
        "csidrivers",
        "csinodes",
        "csistoragecapacities",
        "storageclasses",
        "volumeattachments",
        "volumeattachments/status",
        "volumeattributesclasses",
    ),
    "storagemigration.k8s.io": ("storageversionmigrations", "storageversionmigrations/status"),
}

BUILTIN_RESOURCES: Mapping[str, frozenset[str]] = MappingProxyType(
    {group: frozenset(names) for group, names in _TABLE.items()}
)
"""Built-in group -> the resources and `resource/subresource` pairs it serves."""

REMOVED_GROUPS: Mapping[str, str] = MappingProxyType({"extensions": "1.22"})
"""Built-in groups that a current kube-apiserver no longer serves at all -> the release that
removed their last resource (extensions/v1beta1: ingresses in 1.22; deployments, daemonsets,
replicasets, networkpolicies and podsecuritypolicies earlier, in 1.16)."""


def groups_serving(resource: str) -> tuple[str, ...]:
    """The built-in groups that serve `resource` (a name or `resource/subresource`), core first."""
    return tuple(group for group, names in BUILTIN_RESOURCES.items() if resource in names)
