"""Drift: events whose recorded level is not the level the loaded policy gives them.

Why: a policy is judged against a log, and the judgement is only as good as the assumption that
the log was recorded under that policy (or under the current one, when the loaded policy is the
one in force). kube-apiserver writes each event at exactly its policy's level, so on a log recorded
under the loaded policy every comparable event agrees; disagreement means another policy (an older
version, another apiserver of the cluster) or a policy changed while the log was written.

Only events whose recorded `level` is a level are compared (a missing or unknown one says nothing).
The verdict says the log was not recorded under the policy when more than `DRIFT_THRESHOLD` of the
compared events disagree: a little disagreement is what a policy reloaded during the log's window
leaves, more means the figures built on this log (bytes, coverage) describe another policy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine.model import LEVELS
from k8saudit_tui.engine.query.filter import recorded_levels
from k8saudit_tui.engine.store import EventStore

DRIFT_THRESHOLD = 0.01
"""Share of compared events that may disagree before the log is said not to be recorded under the
policy (1%: a policy reloaded for a short part of the log's window stays under it)."""


@dataclass(frozen=True, slots=True)
class DriftGroup:
    """Events of one rule (None: no rule matched) recorded at one level and evaluated at another."""

    rule: int | None
    recorded: str
    evaluated: str
    events: int


@dataclass(frozen=True, slots=True)
class Drift:
    """The drift of a log against the loaded policy: groups by (rule, recorded, evaluated), most
    events first (then rule, recorded, evaluated), and the one-line verdict."""

    compared: int
    """Events whose recorded level is a level."""
    disagree: int
    groups: tuple[DriftGroup, ...]

    @property
    def share(self) -> float:
        """Share of the compared events that disagree (0 when none was compared)."""
        return self.disagree / self.compared if self.compared else 0.0

    @property
    def drifted(self) -> bool:
        """Whether the log was not recorded under this policy (more than DRIFT_THRESHOLD disagree)."""
        return self.share > DRIFT_THRESHOLD

    @property
    def verdict(self) -> str:
        if not self.compared:
            return "no event has a recorded level to compare with this policy"
        if self.drifted:
            return f"this log was not recorded under this policy: {_percent(self.share, up=True)} of events disagree"
        return f"the recorded levels agree with this policy for {_percent(1 - self.share, up=False)} of events"


def drift(store: EventStore) -> Drift:
    """The drift of every loaded event against the loaded policy; ValueError without one."""
    if store.evaluator is None:
        raise ValueError("drift needs a policy")
    n = len(store)
    recorded = recorded_levels(store, n)
    evaluated = store.column("level", n).astype(np.int64)
    rules = store.column("rule", n).astype(np.int64)
    known = (recorded >= 0) & (evaluated >= 0) & (rules >= -1)  # not unknown (policy.lossy): not compared
    differs = known & (recorded != evaluated)
    width = len(LEVELS)
    keys = ((rules[differs] + 1) * width + recorded[differs]) * width + evaluated[differs]
    values, counts = np.unique(keys, return_counts=True)
    groups = []
    for key, count in zip(values.tolist(), counts.tolist()):
        rule, rest = divmod(key, width * width)
        groups.append(DriftGroup(rule - 1 if rule else None, LEVELS[rest // width], LEVELS[rest % width], count))
    groups.sort(key=_order)
    return Drift(int(np.count_nonzero(known)), int(np.count_nonzero(differs)), tuple(groups))


def merge_drifts(drifts: Iterable[Drift]) -> Drift:
    """The drift of the union of the logs (or parts of one log) whose drifts these are: compared,
    disagreeing and group events add up, groups in `drift`'s order; `drift` over the union gives
    the same value (a shard's drift is computed alone, the fleet report merges them)."""
    compared = disagree = 0
    counts: Counter[tuple[int | None, str, str]] = Counter()
    for one in drifts:
        compared += one.compared
        disagree += one.disagree
        for group in one.groups:
            counts[group.rule, group.recorded, group.evaluated] += group.events
    groups = sorted((DriftGroup(*key, events) for key, events in counts.items()), key=_order)
    return Drift(compared, disagree, tuple(groups))


def _order(group: DriftGroup) -> tuple[int, int, str, str]:
    """Most events first, then rule (None first), recorded, evaluated."""
    return -group.events, -1 if group.rule is None else group.rule, group.recorded, group.evaluated


def _percent(share: float, *, up: bool) -> str:
    """A share as a percentage with at most one decimal, rounded away from the misleading side:
    a disagreement rounds up (never 0%), an agreement down (never 100% unless all agree)."""
    tenths = share * 1000
    tenths = np.ceil(tenths) if up else np.floor(tenths + 1e-9)
    text = f"{tenths / 10:.1f}".removesuffix(".0")
    return f"{text}%"
