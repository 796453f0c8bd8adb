"""Event classes a security team cannot lose, and what a candidate policy does to each.

Why a fixed, built-in list: a policy change that saves bytes is reviewed for what it stops
recording, and the events an incident response needs are known in advance (CIS and cloud audit
guidance agree on them). Each class is a filter expression of our own language (engine/query), so
a user can type the same expression in the explorer and see the events; the list is data, not
code. Counts: an event is in a class when the expression selects it; it is written under a policy
when `written:` holds for it (level not None, stage not omitted). A class is flagged `lost` when a
class event written under the loaded policy is not written under the candidate (change `dropped`)
and `lowered` when both write it and the candidate's level is lower (change `down`): the store's
change column, the one definition of the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine.fields import CHANGES
from k8saudit_tui.engine.query import compile_filter
from k8saudit_tui.engine.store import EventStore

_WRITES = "verb:create,update,patch,delete,deletecollection"


@dataclass(frozen=True, slots=True)
class SecurityClass:
    """A named class of events and the filter expression that selects them."""

    name: str
    title: str
    expression: str
    why: str


SECURITY_CLASSES: tuple[SecurityClass, ...] = (
    SecurityClass(
        "exec",
        "exec, attach and port-forward",
        "resource:pods/exec,pods/attach,pods/portforward",
        "interactive access into running containers",
    ),
    SecurityClass(
        "secrets-read", "secrets reads", "resource:secrets verb:get,list,watch", "credential access and exfiltration"
    ),
    SecurityClass(
        "rbac-change",
        "RBAC changes",
        f"apigroup:rbac.authorization.k8s.io {_WRITES}",
        "privilege escalation and persistence",
    ),
    SecurityClass(
        "token-request",
        "service account token requests",
        "resource:serviceaccounts/token",
        "minting credentials for a service account",
    ),
    SecurityClass(
        "webhook-change",
        "admission webhook configuration changes",
        "apigroup:admissionregistration.k8s.io "
        f"resource:mutatingwebhookconfigurations,validatingwebhookconfigurations {_WRITES}",
        "intercepting or disabling admission control",
    ),
    SecurityClass(
        "csr-approval",
        "CSR approvals",
        "resource:certificatesigningrequests/approval",
        "issuing client certificates (a cluster identity)",
    ),
    SecurityClass("node-proxy", "node proxy", "resource:nodes/proxy", "direct kubelet API access"),
    SecurityClass(
        "anonymous",
        "anonymous requests",
        "user:system:anonymous | group:system:unauthenticated",
        "requests no credential vouches for",
    ),
    SecurityClass("denied", "denied requests (401/403)", "code:401,403", "probing and failed attacks"),
    SecurityClass("impersonation", "impersonation", '!impersonated:""', "acting as another user"),
)
"""The built-in classes, in the order the report and the TUI list them."""


@dataclass(frozen=True, slots=True)
class ClassCoverage:
    """One class over a log: events in it, written under each policy, lost and lowered by the
    candidate (`candidate`, `lost`, `lowered` are None without a candidate)."""

    security_class: SecurityClass
    events: int
    current: int
    candidate: int | None
    lost: int | None
    lowered: int | None

    @property
    def flagged(self) -> bool:
        """Whether the candidate drops or lowers any event of the class."""
        return bool(self.lost) or bool(self.lowered)


def security_coverage(
    store: EventStore, classes: Sequence[SecurityClass] = SECURITY_CLASSES
) -> tuple[ClassCoverage, ...]:
    """Each class's coverage over every loaded event; ValueError without a policy."""
    if store.evaluator is None:
        raise ValueError("security classes need a policy")
    n = len(store)
    written = store.column("omitted", n) == 0  # 1 omitted, 2 unknown (policy.lossy): not counted as written
    compared = store.candidate_evaluator is not None
    candidate_written = store.column("candidate_omitted", n) == 0 if compared else None
    change = store.column("change", n)
    result = []
    for security_class in classes:
        selected = compile_filter(security_class.expression).mask(store, n)
        result.append(
            ClassCoverage(
                security_class,
                int(np.count_nonzero(selected)),
                int(np.count_nonzero(selected & written)),
                None if candidate_written is None else int(np.count_nonzero(selected & candidate_written)),
                _count(selected, change, "dropped") if compared else None,
                _count(selected, change, "down") if compared else None,
            )
        )
    return tuple(result)


def _count(selected: np.ndarray, change: np.ndarray, name: str) -> int:
    return int(np.count_nonzero(selected & (change == CHANGES.index(name))))
