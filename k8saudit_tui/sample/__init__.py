"""Sample kube-apiserver audit logs: realistic, deterministic, optionally hostile.

The project needs audit traffic for its demo, its tests and its benchmarks, and it cannot ship real
cluster logs. This package simulates the audit stream of a busy cluster: kubelets renewing leases and
patching status, controllers and the scheduler reading and writing, kube-proxy and CoreDNS watches,
operators with CRDs, health probes and discovery, and a few humans running kubectl (some forbidden,
some impersonating, some with a bad token).

Every request follows the event shapes of the policy-semantics spec: RequestReceived then
ResponseComplete, plus ResponseStarted for long-running requests (S3), Panic instead of
ResponseComplete now and then (S4), a single ResponseStarted with an empty user and code 401 for
failed authentication (E2), impersonatedUser only after RequestReceived (E1), and create/update
objectRefs that gain the body's name only in the later stages (E8). Output is a pure function of
the arguments: the same arguments and seed give the same bytes, and the bundled demo log is
reproduced by `python -m k8saudit_tui.sample --demo`.

This module is the package's public face (tests and benchmarks import from here); the work is done in:
`generator` (the request stream, levels, event order and serialisation), the traffic templates
`nodes`, `control_plane`, `platform`, `operators`, `people` over the request builder `factory`,
`requests` (a request and its JSON fragments), `actors`, `bodies`, `cluster`, `vocabulary`, `helpers`,
`writer` (files, gzip, the demo) and `cli`.
"""

from k8saudit_tui.sample.cli import main
from k8saudit_tui.sample.generator import GenStats, SampleGenerator
from k8saudit_tui.sample.vocabulary import HOSTILE_TEXT, LONG_USER_AGENT
from k8saudit_tui.sample.writer import (
    DEMO_EVENTS,
    DEMO_HOSTILE,
    DEMO_LOG,
    DEMO_POLICY,
    DEMO_RATE,
    DEMO_SEED,
    generate_events,
    load_evaluator,
    make_demo,
    write_events,
    write_log,
)

__all__ = [
    "DEMO_EVENTS",
    "DEMO_HOSTILE",
    "DEMO_LOG",
    "DEMO_POLICY",
    "DEMO_RATE",
    "DEMO_SEED",
    "HOSTILE_TEXT",
    "LONG_USER_AGENT",
    "GenStats",
    "SampleGenerator",
    "generate_events",
    "load_evaluator",
    "main",
    "make_demo",
    "write_events",
    "write_log",
]
