"""What a policy costs in bytes over a log: exactly the size of what `apply` writes with it.

Why it is built on `apply.apply_line`: an event's bytes are the length of the line `apply` would
write for it and its newline (0 when the policy writes nothing), decided by the same function and
only not written out, so a log recorded under a policy costs, under that policy, its own size (the
lines apply copies byte for byte). Ingestion is billed per byte, so these are the figures the
`report` command and the workbench show.

`CostTally` is the accumulator of one reader (not shared between threads); `merge` joins the
tallies of ranges read in parallel, and `summary()` gives the immutable `CostSummary` value that is
handed on; `CostTally.of(summary)` turns a summary back into a tally, so summaries made from a
store (a report's shard) merge the same way. Lines that are not events are counted, never costed.
This is the plain per-line definition; over a loaded store, `store_cost.store_costs` gives the
same summaries from the store's columns without applying every line (property-tested against
`cost_of_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from k8saudit_tui.engine.logs.event import EventError, EventFields
from k8saudit_tui.engine.logs.timestamps import parse_times
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.workbench.apply import Applied, apply_line

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Share:
    """The events a policy writes for one group (a rule, a user, ...) and their bytes."""

    written: int
    bytes: int


@dataclass(frozen=True, slots=True)
class CostSummary:
    """The bytes of one policy over one log, whole and per group. Immutable: built once by
    `CostTally.summary`, then only read.

    - `events`: the audit events read (lines that are not events are in `unreadable`);
    - `written`, `bytes`: the events the policy writes and the bytes `apply` writes for them
      (each event's JSON and its newline);
    - `lower_bound_events`: written events the policy records above their recorded level (their
      bodies were never logged), and events of a lossy format whose level or writing under the
      policy a lost field leaves unknown (costed as no bytes); `lower_bound` is true when there is
      one: every byte figure is then a lower bound;
    - `first_ns`, `last_ns`: the earliest and latest stage time of the events read (nanoseconds
      since the epoch; 0 when no event has a readable one); `span_seconds` their distance;
    - `by_rule` (0-based rule index, None for "no rule matched", which never writes, and
      UNKNOWN_RULE (-2) for events whose rule a field their format lost decides),
      `by_user` (user.username, "" when none), `by_resource` (objectRef resource, with
      `/subresource` when there is one; "" for non-resource requests), `by_verb`,
      `by_namespace` ("" for cluster scope): the Share of every group that has a written event.
    """

    events: int
    written: int
    bytes: int
    unreadable: int
    lower_bound_events: int
    first_ns: int
    last_ns: int
    by_rule: Mapping[int | None, Share]
    by_user: Mapping[str, Share]
    by_resource: Mapping[str, Share]
    by_verb: Mapping[str, Share]
    by_namespace: Mapping[str, Share]

    @property
    def lower_bound(self) -> bool:
        return self.lower_bound_events > 0

    @property
    def span_seconds(self) -> float:
        return (self.last_ns - self.first_ns) / 1e9

    def per_day(self, value: int) -> float | None:
        """`value` (bytes or events over the log) scaled to one day of the log's time span; None
        when the log spans no time (one instant, or no readable stage times)."""
        span = self.span_seconds
        return value * SECONDS_PER_DAY / span if span > 0 else None

    @property
    def bytes_per_day(self) -> float | None:
        return self.per_day(self.bytes)


class CostTally:
    """Adds up the bytes of one policy over events as they are read."""

    def __init__(self) -> None:
        self.events = 0
        self.unreadable = 0
        self.lower_bound_events = 0
        self.first_ns = 0
        self.last_ns = 0
        self._groups: tuple[dict[object, list[int]], ...] = ({}, {}, {}, {}, {})

    @classmethod
    def of(cls, summary: CostSummary) -> CostTally:
        """The tally whose `summary()` is `summary`: a summary made another way (from a store's
        columns, `store_cost`) then adds up with others by `merge`, the one way costs combine."""
        tally = cls()
        tally.events, tally.unreadable = summary.events, summary.unreadable
        tally.lower_bound_events = summary.lower_bound_events
        tally.first_ns, tally.last_ns = summary.first_ns, summary.last_ns
        shares: tuple[Mapping[Any, Share], ...] = (
            summary.by_rule,
            summary.by_user,
            summary.by_resource,
            summary.by_verb,
            summary.by_namespace,
        )
        for groups, grouped in zip(tally._groups, shares, strict=True):
            for key, share in grouped.items():
                groups[key] = [share.written, share.bytes]
        return tally

    def add_line(self, evaluator: PolicyEvaluator, line: bytes) -> Applied | None:
        """Cost one non-blank log line; its Applied, or None for a line that is not an event."""
        try:
            applied = apply_line(evaluator, line)
        except EventError:
            self.unreadable += 1
            return None
        self.add(applied)
        return applied

    def add_lines(self, evaluator: PolicyEvaluator, lines: Iterable[bytes]) -> CostTally:
        """Cost every non-blank line; returns the tally."""
        for line in lines:
            if line and not line.isspace():
                self.add_line(evaluator, line)
        return self

    def add(self, applied: Applied) -> None:
        """Count one event as decided by `apply_event`."""
        self.events += 1
        self._see_time(applied.event.stage_time)
        if applied.line is None:
            return
        size = applied.size
        self.lower_bound_events += applied.lower_bound
        for groups, key in zip(self._groups, _keys(applied), strict=True):
            share = groups.get(key)
            if share is None:
                groups[key] = [1, size]
            else:
                share[0] += 1
                share[1] += size

    def merge(self, other: CostTally) -> CostTally:
        """Add `other` (the tally of another part of the same log) into this one; returns self."""
        self.events += other.events
        self.unreadable += other.unreadable
        self.lower_bound_events += other.lower_bound_events
        for stamp in (other.first_ns, other.last_ns):
            self._see_ns(stamp)
        for mine, theirs in zip(self._groups, other._groups, strict=True):
            for key, (written, size) in theirs.items():
                share = mine.setdefault(key, [0, 0])
                share[0] += written
                share[1] += size
        return self

    def summary(self) -> CostSummary:
        rule, user, resource, verb, namespace = (
            MappingProxyType({key: Share(written, size) for key, (written, size) in groups.items()})
            for groups in self._groups
        )
        by_rule = rule.values()
        return CostSummary(
            events=self.events,
            written=sum(share.written for share in by_rule),
            bytes=sum(share.bytes for share in by_rule),
            unreadable=self.unreadable,
            lower_bound_events=self.lower_bound_events,
            first_ns=self.first_ns,
            last_ns=self.last_ns,
            by_rule=rule,  # type: ignore[arg-type]  # keys are rule indexes by construction
            by_user=user,  # type: ignore[arg-type]
            by_resource=resource,  # type: ignore[arg-type]
            by_verb=verb,  # type: ignore[arg-type]
            by_namespace=namespace,  # type: ignore[arg-type]
        )

    def _see_time(self, stamp: str) -> None:
        """The store's reading of a stage time (`parse_times`: 0, not counted, when unreadable), so
        that this tally and `store_cost` agree on the log's span to the nanosecond."""
        if stamp:
            self._see_ns(int(parse_times([stamp])[0]))

    def _see_ns(self, nanos: int) -> None:
        if not nanos:
            return
        if not self.first_ns or nanos < self.first_ns:
            self.first_ns = nanos
        if nanos > self.last_ns:
            self.last_ns = nanos


def _keys(applied: Applied) -> tuple[object, ...]:
    """(rule, user, resource, verb, namespace) of an event, the groups of CostSummary."""
    event: EventFields = applied.event
    reference = event.objectRef
    resource = namespace = ""
    if reference is not None:
        resource = f"{reference.resource}/{reference.subresource}" if reference.subresource else reference.resource
        namespace = reference.namespace
    user = event.user.username if event.user is not None else ""
    return applied.verdict.rule, user, resource, event.verb, namespace


def cost_of_lines(evaluator: PolicyEvaluator, lines: Iterable[bytes]) -> CostSummary:
    """The cost summary of the evaluator's policy over log lines (one reader, in this process)."""
    return CostTally().add_lines(evaluator, lines).summary()
