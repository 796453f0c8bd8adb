"""The generator: a Poisson stream of requests, their levels, and their events in stageTimestamp order.

Given an evaluator, each request's level and omitted stages come from the policy through the
engine's own `request_attributes` and `PolicyEvaluator` (S1, S5), so the log is what a kube-apiserver
running that policy would have written. Every random draw comes from generators seeded by `seed`, in
a fixed order: the output is a pure function of the arguments (changing the order of draws changes
every byte that follows). Events are assembled from pre-serialised byte fragments: benchmarks
generate millions.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson

from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import EventFields, ObjectRef
from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.sample.actors import FORBID_JSON, Cast
from k8saudit_tui.sample.bodies import LIST_KINDS, Bodies
from k8saudit_tui.sample.cluster import Cluster
from k8saudit_tui.sample.control_plane import ControlPlaneTraffic
from k8saudit_tui.sample.factory import CODES
from k8saudit_tui.sample.helpers import Clock, Picker, json_escaped, name_suffix, new_uuid, parse_start
from k8saudit_tui.sample.nodes import NodeTraffic
from k8saudit_tui.sample.operators import OperatorTraffic
from k8saudit_tui.sample.people import PeopleTraffic
from k8saudit_tui.sample.platform import PlatformTraffic
from k8saudit_tui.sample.requests import ASCII, PANIC_STATUS, Req, response_status
from k8saudit_tui.sample.vocabulary import PANIC, RC, RR, RS


@dataclass
class GenStats:
    """What a run produced; `rules` counts requests per matching rule index (None = no rule)."""

    events: int = 0
    requests: int = 0
    unlogged_requests: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    rules: dict[int | None, int] = field(default_factory=dict)
    hostile_requests: int = 0


class SampleGenerator(NodeTraffic, ControlPlaneTraffic, PlatformTraffic, OperatorTraffic, PeopleTraffic):
    """Simulated traffic of one cluster; `events()` yields the audit log lines.

    Requests arrive as a Poisson process at `rate` per second; each request's stages are queued at
    their timestamps and written in stageTimestamp order, so requests interleave as in a real log.
    Long watches still open when `count` events have been written simply end without a
    ResponseComplete, as in a log cut at an arbitrary point. The request templates come from the
    traffic classes it derives from (nodes, control plane, platform, operators, people).
    """

    MAX_SILENT_REQUESTS = 200_000
    """Stop when this many consecutive requests log nothing (a policy at level None for everything)."""

    def __init__(
        self,
        seed: int = 42,
        *,
        start: str = "2026-11-20T09:00:00Z",
        evaluator: PolicyEvaluator | None = None,
        hostile: float = 0.0,
        bodies: float = 0.05,
        rate: float = 600.0,
    ) -> None:
        if not 0.0 <= hostile <= 1.0 or not 0.0 <= bodies <= 1.0:
            raise ValueError("hostile and bodies are fractions between 0 and 1")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rng = rng = random.Random(seed)
        self.evaluator = evaluator
        self.hostile = hostile
        self.bodies_fraction = bodies
        self.mean_gap = 1_000_000.0 / rate
        self.t = parse_start(start)
        self.clock = Clock()
        self.cluster = Cluster(random.Random(seed ^ 0xC1057E2))
        self.bodies = Bodies(seed)
        self.stats = GenStats()
        self._codes = {key: Picker(rng, value) for key, value in CODES.items()}
        self._heap: list[tuple[int, int, Req, str]] = []
        self._verdicts: dict[tuple[int, str, str, bytes], Verdict] = {}
        self._refs: dict[tuple[str, ...], tuple[ObjectRef, bytes]] = {}
        """URL-derived objectRefs (struct and JSON) by their fields: names repeat a lot."""
        self._seq = 0
        self.cast = Cast(random.Random(seed ^ 0xAC7025), rng, self.cluster)
        self._workload = Picker(rng, self._templates())

    # -- the workload: (weight, template); each template returns [(offset_us, Req), ...] ---------
    def _templates(self) -> list[tuple[float, Callable[[], list[tuple[int, Req]]]]]:
        return [
            (14, self.t_kubelet_lease),
            (5, self.t_kubelet_pod_status),
            (2.5, self.t_kubelet_node_status),
            (3, self.t_kubelet_watch),
            (2, self.t_kubelet_misc),
            (5, self.t_leader_election),
            (1.2, self.t_legacy_leader),
            (6, self.t_controller_write),
            (3, self.t_controller_informer),
            (2, self.t_pod_churn),
            (2, self.t_kube_proxy),
            (1.2, self.t_coredns),
            (1.5, self.t_kube_system_cm),
            (3, self.t_apiserver),
            (1.5, self.t_auth_reviews),
            (2.5, self.t_prometheus),
            (4, self.t_health),
            (2, self.t_argocd),
            (1.5, self.t_certmanager),
            (1, self.t_ingress),
            (1, self.t_ci_runner),
            (0.4, self.t_legacy_extensions),
            (1.2, self.t_discovery),
            (5, self.t_human),
            (0.3, self.t_failed_authn),
        ]

    # -- scheduling and levels -----------------------------------------------------------------
    def _schedule(self, t0: int, r: Req) -> bool:
        """Decide the request's level and queue its stages; False when the policy logs nothing."""
        rng = self.rng
        stats = self.stats
        stats.requests += 1
        r.t0 = t0
        r.aid = new_uuid(rng).encode()
        r.status_json = response_status(r.code, r) if r.code != 200 else b'{"metadata":{},"code":200}'
        if self.evaluator is not None:
            verdict = self._verdict(r)
            stats.rules[verdict.rule] = stats.rules.get(verdict.rule, 0) + 1
            if verdict.level == "None":
                stats.unlogged_requests += 1
                return False
            r.level, r.omit_mf, omit = verdict.level, verdict.omit_managed_fields, verdict.omit_stages
        else:
            x = rng.random()
            fraction = self.bodies_fraction
            r.level = "Metadata" if x >= fraction else ("Request" if x < fraction / 2 else "RequestResponse")
            r.omit_mf, omit = False, frozenset()
        r.uri_json = orjson.dumps(r.uri)
        r.received = self.clock(t0).encode()
        if r.failed:  # E2, S3: one ResponseStarted, nothing else
            stages = [(t0 + r.duration, RS)]
        else:
            end = PANIC if rng.random() < 0.0015 and not r.nonres else RC
            stages = [(t0, RR)]
            if r.long:
                stages.append((t0 + rng.randrange(300, 3000), RS))
            stages.append((t0 + r.duration + (3000 if r.long else 0), end))
        heap = self._heap
        for when, stage in stages:
            if stage not in omit:
                self._seq += 1
                heapq.heappush(heap, (when, self._seq, r, stage))
        return True

    def _verdict(self, r: Req) -> Verdict:
        """The policy's verdict for the request, via request_attributes so that the two always agree.

        Cached on what request_attributes reads (user, verb, URL path, URL-derived objectRef): the
        query string never changes the attributes (E9), and traffic repeats.
        """
        key = (id(r.actor), r.verb, r.uri.split("?", 1)[0], r.ref_json)
        verdict = self._verdicts.get(key)
        if verdict is None:
            assert self.evaluator is not None
            verdict = self.evaluator.evaluate(request_attributes(self.event_fields(r)))
            if len(self._verdicts) >= 200_000:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    @staticmethod
    def event_fields(r: Req) -> EventFields:
        """The request as request_attributes sees its RequestReceived-stage event (URL-derived objectRef)."""
        return EventFields(
            kind="Event",
            apiVersion="audit.k8s.io/v1",
            stage=RR,
            requestURI=r.uri,
            verb=r.verb,
            user=r.actor.info,
            objectRef=r.ref,
        )

    # -- serialisation ---------------------------------------------------------------------------
    def serialize(self, r: Req, stage: str, when: int) -> bytes:
        """One Event line, assembled from the request's pre-serialised fragments."""
        clock = self.clock
        parts = [
            b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"',
            ASCII[r.level],
            b'","auditID":"',
            r.aid,
            b'","stage":"',
            ASCII[stage],
            b'","requestURI":',
            r.uri_json,
            b',"verb":"',
            ASCII[r.verb],
            b'","user":',
            r.actor.user_json,
        ]
        if r.imp_json is not None and stage != RR:  # E1: impersonation runs after RequestReceived
            parts += (b',"impersonatedUser":', r.imp_json)
        parts += (b',"sourceIPs":', r.actor.ips_json, b',"userAgent":', r.actor.ua_json)
        if r.ref is not None:
            late = r.late_json is not None and stage != RR and r.code < 400  # E8
            parts += (b',"objectRef":', r.late_json if late else r.ref_json)  # type: ignore[arg-type]
        if stage != RR:
            parts += (b',"responseStatus":', PANIC_STATUS if stage == PANIC else r.status_json)
        if stage == RC and r.level != "Metadata" and not r.nonres:
            parts += self._bodies(r, when)
        received = r.received
        parts += (
            b',"requestReceivedTimestamp":"',
            received,
            b'","stageTimestamp":"',
            received if stage == RR else clock(when).encode(),
            b'"',
        )
        if stage != RR and not r.failed:
            parts += (b',"annotations":', self._annotations(r, when))
        parts.append(b"}")
        return b"".join(parts)

    def _annotations(self, r: Req, when: int) -> bytes:
        base = FORBID_JSON if r.code == 403 else r.actor.allow_json
        extra = dict(r.extra_ann) if r.extra_ann else {}
        elapsed = when - r.t0
        if elapsed > 500_000 and not r.long:  # the apiserver adds latency annotations to slow requests
            extra["apiserver.latency.k8s.io/total"] = f"{elapsed / 1000:.6f}ms"
            extra["apiserver.latency.k8s.io/etcd"] = f"{elapsed / 1300:.6f}ms"
        if not extra:
            return base
        return base[:-1] + b"," + orjson.dumps(extra)[1:]

    def _bodies(self, r: Req, when: int) -> list[bytes]:
        """requestObject at Request and above, responseObject at RequestResponse (S2)."""
        out: list[bytes] = []
        code = r.code
        values: tuple[bytes, bytes, bytes, bytes, bytes, bytes] | None = None
        if r.reqbody and code not in (401, 403):
            values = self._body_values(r, when)
            out += (b',"requestObject":', self.bodies.get(r.reqbody, values, r.omit_mf))
        if r.level == "RequestResponse":
            if code >= 400:
                out += (
                    b',"responseObject":',
                    r.status_json[:1] + b'"kind":"Status","apiVersion":"v1",' + r.status_json[1:],
                )
            elif r.respbody and r.verb != "watch":
                values = values or self._body_values(r, when)
                listed = LIST_KINDS.get(r.respbody)
                body = (
                    self.bodies.list_of(listed[0], values, r.omit_mf, listed[1])
                    if listed
                    else self.bodies.get(r.respbody, values, r.omit_mf)
                )
                out += (b',"responseObject":', body)
        return out

    def _body_values(self, r: Req, when: int) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes]:
        rng = self.bodies.rng
        node = self.cluster.nodes[rng.randrange(len(self.cluster.nodes))]
        return (
            json_escaped(r.name or f"obj-{name_suffix(rng, 5)}"),
            json_escaped(r.ns),
            new_uuid(rng).encode(),
            str(self.cluster.next_rv()).encode(),
            self.clock(when).encode(),
            node.encode(),
        )

    # -- main loop -------------------------------------------------------------------------------
    def events(self, count: int) -> Iterator[bytes]:
        """Yield `count` event lines (fewer only if the policy logs nothing for a long stretch)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        rng = self.rng
        heap = self._heap
        stats = self.stats
        expovariate = rng.expovariate
        rate = 1.0 / self.mean_gap
        hostile = self.hostile
        workload = self._workload
        silent = 0
        emitted = 0
        t = self.t
        stages = stats.stages
        levels = stats.levels
        pop = heapq.heappop
        serialize = self.serialize
        while emitted < count:
            t += int(expovariate(rate)) + 1
            is_hostile = hostile > 0.0 and rng.random() < hostile
            logged = False
            for offset, req in self.t_hostile() if is_hostile else workload()():
                stats.hostile_requests += is_hostile
                logged = self._schedule(t + offset, req) or logged
            silent = 0 if logged else silent + 1
            if silent > self.MAX_SILENT_REQUESTS:
                break
            while heap and heap[0][0] <= t and emitted < count:
                when, _, req, stage = pop(heap)
                line = serialize(req, stage, when)
                stages[stage] = stages.get(stage, 0) + 1
                levels[req.level] = levels.get(req.level, 0) + 1
                emitted += 1
                stats.events += 1
                yield line
        self.t = t
