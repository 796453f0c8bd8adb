"""The report in mergeable parts: what one shard of the logs contributes, and the merge into a Report.

Contract: `store_part(store, costs, pieces)` is everything `report` needs from the events of one
store (a file, or a byte range of one) in a form that adds up: events, hits per rule of each
policy, change classes, security classes, drift groups, each policy's `CostTally`, problems.
`combine` joins parts in any grouping and any order (associative and commutative: a Dask tree
reduction may group them as it likes), `report_of(part, current, candidate)` turns the combined
part into the `Report`, and `merge(parts, current, candidate)` is both. For any split of the logs
into shards, `merge` of the shards' parts equals the report of one store over all of them (same
JSON; tests/test_report_parts.py checks it on random splits).

Why parts, and why the report command uses them too: a fleet's logs (30 days x clusters) are read
by many processes on many machines (k8saudit_tui.fleet, inside Dask), and the single-process
`report` is the same path with one executor less, so the two can never disagree. Every figure is
the existing definition computed over the shard's store (`change_counts`, `security_coverage`,
`drift`, the verdict columns) and only summed here; the bytes go through `CostTally.merge`, so
however a shard's tally is made (from its store's columns, `shards.shard_costs`, or per line),
merging is the cost module's own. Problems are numbered from their shard's first line and
renumbered at the end from the line counts of the shards before them in the same file, so no
shard ever reads the part of the file before it to know its line numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from k8saudit_tui.engine.model import Policy, Problem
from k8saudit_tui.engine.store import EventStore
from k8saudit_tui.engine.workbench.changes import ChangeCounts, change_counts
from k8saudit_tui.engine.workbench.cost import CostSummary, CostTally
from k8saudit_tui.engine.workbench.drift import Drift, drift, merge_drifts
from k8saudit_tui.engine.workbench.report import Report, RuleRow
from k8saudit_tui.engine.workbench.security import SECURITY_CLASSES, ClassCoverage, security_coverage
from k8saudit_tui.engine.workbench.shadow import shadowed_by
from k8saudit_tui.engine.workbench.unknowns import UnknownCounts, unknown_counts


@dataclass(frozen=True, slots=True)
class Piece:
    """The lines of one shard of one file: where it starts (byte offset), how many lines it read,
    and its problems numbered from its own first line (1-based); start -1: problems that name
    their file's lines already (found before the lines were read), no line of their own."""

    name: str
    start: int
    lines: int
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class ReportPart:
    """What some shards of the logs contribute to the report (one shard's, or several merged).

    `hits[p][i]`: events rule i of policy p (0 current, 1 candidate) decided; `changes` is None
    without a candidate; `costs` holds one CostTally per policy (treat them as read-only: merging
    makes new ones); `pieces` the lines and problems of each shard; `unread` the problems of inputs
    that could not be read at all (no line, an error: `report` names them and exits 1)."""

    events: int
    hits: tuple[tuple[int, ...], ...]
    changes: ChangeCounts | None
    drift: Drift
    security: tuple[ClassCoverage, ...]
    costs: tuple[CostTally, ...]
    pieces: tuple[Piece, ...] = ()
    unread: tuple[Problem, ...] = ()
    unknowns: tuple[UnknownCounts | None, ...] = ()
    """Per policy, the events it leaves undecided (lossy formats; None where the shard has none)."""

    def problems(self) -> list[Problem]:
        """Every line problem, numbered in its file (shards of a file in byte order), files in name order."""
        by_file: defaultdict[str, list[Piece]] = defaultdict(list)
        for piece in self.pieces:
            by_file[piece.name].append(piece)
        result: list[Problem] = []
        for name in sorted(by_file):
            before = 0
            for piece in sorted(by_file[name], key=lambda p: p.start):
                result += [_shifted(problem, before) for problem in piece.problems]
                before += piece.lines
        return result


def _shifted(problem: Problem, lines: int) -> Problem:
    return problem if problem.line is None or not lines else replace(problem, line=problem.line + lines)


def empty_part(policies: Sequence[Policy], unread: Sequence[Problem] = ()) -> ReportPart:
    """The part of no events (of inputs that could not be read, say): the unit of `combine`."""
    compared = len(policies) > 1
    return ReportPart(
        0,
        tuple((0,) * len(policy.rules) for policy in policies),
        ChangeCounts(0, 0, 0, 0, 0) if compared else None,
        Drift(0, 0, ()),
        tuple(
            ClassCoverage(c, 0, 0, 0 if compared else None, 0 if compared else None, 0 if compared else None)
            for c in SECURITY_CLASSES
        ),
        tuple(CostTally() for _ in policies),
        (),
        tuple(unread),
    )


def store_part(
    store: EventStore, costs: Sequence[CostTally], pieces: Sequence[Piece] = (), unread: Sequence[Problem] = ()
) -> ReportPart:
    """The part of every event of `store` (loaded with the policy, and the candidate if any) with
    `costs`, the tally of each of its policies over the same lines, and the shard's `pieces` and
    `unread` inputs (the store's problems are the pieces': only the loader knows their shards)."""
    if store.evaluator is None:
        raise ValueError("a report part needs a policy")
    n = len(store)
    compared = store.candidate_evaluator is not None
    policies = [store.evaluator.policy]
    columns = ["rule"]
    if store.candidate_evaluator is not None:
        policies.append(store.candidate_evaluator.policy)
        columns.append("candidate_rule")
    hits = []
    for policy, name in zip(policies, columns, strict=True):
        column = store.column(name, n)
        counted = np.bincount(column[column >= 0].astype(np.int64), minlength=len(policy.rules))
        hits.append(tuple(int(value) for value in counted.tolist()))
    if len(costs) != len(policies):
        raise ValueError(f"{len(policies)} policies need {len(policies)} cost tallies, not {len(costs)}")
    return ReportPart(
        n,
        tuple(hits),
        change_counts(store) if compared else None,
        drift(store),
        security_coverage(store),
        tuple(costs),
        tuple(pieces),
        tuple(unread),
        tuple(unknown_counts(store, prefix, maybe=True) for prefix in ("", "candidate_")[: len(policies)]),
    )


def combine(parts: Iterable[ReportPart]) -> ReportPart:
    """One part for all of `parts` (at least one; all made with the same policies)."""
    parts = list(parts)
    if not parts:
        raise ValueError("combine needs at least one part (empty_part makes the part of nothing)")
    first = parts[0]
    shape = [len(hits) for hits in first.hits]
    if any([len(hits) for hits in part.hits] != shape for part in parts):
        raise ValueError("report parts of different policies cannot be merged")
    costs = tuple(CostTally() for _ in first.costs)
    for part in parts:
        for tally, other in zip(costs, part.costs, strict=True):
            tally.merge(other)
    return ReportPart(
        sum(part.events for part in parts),
        tuple(_sum_hits(column) for column in zip(*(part.hits for part in parts), strict=True)),
        _sum_changes([part.changes for part in parts]),
        merge_drifts(part.drift for part in parts),
        tuple(_sum_coverage(column) for column in zip(*(part.security for part in parts), strict=True)),
        costs,
        tuple(piece for part in parts for piece in part.pieces),
        tuple(problem for part in parts for problem in part.unread),
        tuple(_sum_unknowns(column) for column in zip(*(_unknowns(part, len(shape)) for part in parts), strict=True)),
    )


def _unknowns(part: ReportPart, policies: int) -> tuple[UnknownCounts | None, ...]:
    return part.unknowns or (None,) * policies  # an empty part has none


def _sum_unknowns(column: Sequence[UnknownCounts | None]) -> UnknownCounts | None:
    """The undecided events of several shards (None when no shard has lossy events)."""
    counted = [counts for counts in column if counts is not None]
    if not counted:
        return None

    def added(maps: Iterable[dict[int, int] | None]) -> dict[int, int]:
        total: defaultdict[int, int] = defaultdict(int)
        for counts in maps:
            for rule, count in (counts or {}).items():
                total[rule] += count
        return dict(total)

    return UnknownCounts(
        sum(c.lossy for c in counted),
        sum(c.events for c in counted),
        sum(c.rule for c in counted),
        sum(c.level for c in counted),
        sum(c.written for c in counted),
        added(c.by_rule for c in counted),
        None if any(c.maybe is None for c in counted) else added(c.maybe for c in counted),
    )


def _sum_hits(column: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    return tuple(sum(counts) for counts in zip(*column, strict=True))


def _sum_changes(counts: Sequence[ChangeCounts | None]) -> ChangeCounts | None:
    if any(count is None for count in counts):
        return None
    return ChangeCounts(*(sum(getattr(c, name) for c in counts) for name in ("same", "up", "down", "dropped", "added")))


def _sum_coverage(column: Sequence[ClassCoverage]) -> ClassCoverage:
    def total(name: str) -> int | None:
        values = [getattr(c, name) for c in column]
        return None if any(value is None for value in values) else sum(values)

    return ClassCoverage(
        column[0].security_class,
        sum(c.events for c in column),
        sum(c.current for c in column),
        total("candidate"),
        total("lost"),
        total("lowered"),
    )


def report_of(part: ReportPart, current: Policy, candidate: Policy | None = None) -> Report:
    """The Report of a (merged) part made with `current` (and `candidate`)."""
    summaries = [tally.summary() for tally in part.costs]
    unknowns = _unknowns(part, len(part.hits))
    rules = _rules(part.hits[0], "current", current, summaries[0], unknowns[0])
    candidate_cost = None
    if candidate is not None:
        candidate_cost = summaries[1]
        rules += _rules(part.hits[1], "candidate", candidate, candidate_cost, unknowns[1])
    return Report(
        part.events,
        summaries[0],
        candidate_cost,
        part.changes if candidate is not None else None,
        rules,
        part.drift,
        part.security,
        current.source,
        candidate.source if candidate is not None else None,
        unknowns[0],
        unknowns[1] if candidate is not None else None,
    )


def merge(parts: Iterable[ReportPart], current: Policy, candidate: Policy | None = None) -> Report:
    """The Report of all of `parts` (none: the report of no events)."""
    parts = list(parts)
    policies = [current] if candidate is None else [current, candidate]
    return report_of(combine(parts) if parts else empty_part(policies), current, candidate)


def _rules(
    hits: Sequence[int], name: str, policy: Policy, cost: CostSummary, unknown: UnknownCounts | None = None
) -> tuple[RuleRow, ...]:
    shadowed = shadowed_by(policy)
    rows = []
    for index, rule in enumerate(policy.rules):
        share = cost.by_rule.get(index)
        written, size = (share.written, share.bytes) if share is not None else (0, 0)
        rows.append(
            RuleRow(
                name,
                index,
                rule.line,
                rule.level,
                hits[index],
                written,
                size,
                size / cost.bytes if cost.bytes else 0.0,
                shadowed.get(index),
                None if unknown is None else unknown.by_rule.get(index, 0),
                0 if unknown is None or unknown.maybe is None else unknown.maybe.get(index, 0),
            )
        )
    return tuple(rows)
