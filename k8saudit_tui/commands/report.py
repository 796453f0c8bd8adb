"""Report what a policy (and a candidate replacing it) does over audit logs, for review and CI.

Counts events, hits per rule, the change classes of the candidate, bytes written per policy and
per rule (what `apply` writes), dead and shadowed rules, security classes lost and drift; as
Markdown tables for a pull request or as JSON. `--fail-if COND` (repeatable) makes it a CI gate:
exit 1 when any condition holds (each named on stderr), 0 otherwise.

Why it reads logs as `export` and `apply` do: the store (one pass, with both policies) gives the
per-event columns, and the byte cost comes from `apply`'s own decision over the same plain files
through the one splitter and worker pool (`split.cut`, `WorkerPool`), each line decoded once and
applied under both policies with `apply`'s own `apply_event`, so a report's bytes are `apply`'s
output sizes. Exit 2 for bad input: a bad condition, an unusable policy, a condition that needs
--candidate without one, a policy given as a log; 1 for a missing log or a condition that holds.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Iterable, Sequence

from k8saudit_tui.commands.common import bounded_lines, error, load_policy_or_exit, log_problem
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.engine.logs import split
from k8saudit_tui.engine.logs.event import EventError, decode_event_line
from k8saudit_tui.engine.logs.sources import LogSource, expand_sources
from k8saudit_tui.engine.logs.split import Task
from k8saudit_tui.engine.logs.worker import WorkerPool, default_workers
from k8saudit_tui.engine.model import Policy
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import StoreLoader
from k8saudit_tui.engine.workbench.apply import apply_event, written_line
from k8saudit_tui.engine.workbench.cost import CostSummary, CostTally
from k8saudit_tui.engine.workbench.report import (
    ConditionError,
    as_json,
    as_markdown,
    build_report,
    failed_conditions,
    needs_candidate,
    parse_condition,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="the current audit Policy (YAML or JSON, or @gke|@eks|@aks)")
    parser.add_argument("--candidate", help="a candidate Policy (or @gke|@eks|@aks) to compare with the current one")
    parser.add_argument("logs", nargs="+", metavar="LOG", help="audit log files or directories; - for stdin")
    parser.add_argument("--format", choices=("md", "json"), default="md", help="output format (default: md)")
    parser.add_argument(
        "--fail-if",
        action="append",
        default=[],
        metavar="COND",
        help="exit 1 when COND holds: bytes>+N%%, security-lost, dropped>0, dead-rules, shadowed-rules",
    )
    add_format_option(parser, output_format=True)


def run(args: argparse.Namespace) -> int:
    try:
        conditions = [parse_condition(text) for text in args.fail_if]
    except ConditionError as problem:
        error(str(problem))
        return 2
    if args.candidate is None:
        missing = [condition for condition in conditions if needs_candidate(condition)]
        if missing:
            error(f"--fail-if {missing[0]} needs --candidate")
            return 2
    for log in args.logs:
        found = log_problem(log)
        if found is not None:
            error(found[0])
            return found[1]
    current = load_policy_or_exit(args.policy)
    if current is None:
        return 2
    candidate = None
    if args.candidate is not None:
        candidate = load_policy_or_exit(args.candidate)
        if candidate is None:
            return 2
    sources = expand_sources(args.logs, format=args.log_format)
    store = StoreLoader(sources, current, candidate=candidate).load_all()
    try:
        readable = [source for source in sources if source.problem is None]
        costs = cost_of_sources([current] if candidate is None else [current, candidate], readable)
        report = build_report(
            store,
            current.policy,
            costs[0],
            candidate.policy if candidate is not None else None,
            costs[1] if candidate is not None else None,
        )
    finally:
        store.close()
        for source in sources:
            if source.spooled and os.path.exists(source.path):
                os.unlink(source.path)
    status = 0
    for source in sources:
        if source.problem is not None:
            error(str(source.problem))
            status = 1
    if args.format == "json":
        sys.stdout.write(json.dumps(as_json(report), indent=2) + "\n")
    else:
        sys.stdout.write(as_markdown(report))
    held = failed_conditions(report, conditions)
    for why in held:
        error(f"fail-if {why}")
    return 1 if held else status


def cost_of_sources(
    evaluators: Sequence[PolicyEvaluator], sources: Sequence[LogSource], workers: int | None = None
) -> list[CostSummary]:
    """The cost of each policy over the plain files of `sources`, in one read: each line is
    decoded once and applied under every policy; ranges read in parallel above IN_PROCESS_BYTES."""
    tallies = [CostTally() for _ in evaluators]
    workers = default_workers() if workers is None else workers
    policies = tuple(evaluator.policy for evaluator in evaluators)
    for source in sources:
        size = os.path.getsize(source.path)
        tasks = split.cut(0, source.path, 0, size)
        if workers > 1 and size > split.IN_PROCESS_BYTES and len(tasks) > 1:
            pool = WorkerPool(cost_range, workers, setup=functools.partial(_evaluators, policies))
            try:
                parts: Iterable[list[CostTally]] = pool.map(tasks)
                for part in parts:
                    for tally, other in zip(tallies, part, strict=True):
                        tally.merge(other)
            finally:
                pool.close()
        else:
            for task in tasks:
                for tally, other in zip(tallies, cost_range(evaluators, task), strict=True):
                    tally.merge(other)
    return [tally.summary() for tally in tallies]


def _evaluators(policies: tuple[Policy, ...]) -> tuple[PolicyEvaluator, ...]:
    return tuple(PolicyEvaluator(policy) for policy in policies)


def cost_range(evaluators: Sequence[PolicyEvaluator], task: Task) -> list[CostTally]:
    """The worker job: a CostTally per policy for the lines of one byte range (the same result as
    `CostTally.add_lines` per policy, each line decoded once)."""
    tallies = [CostTally() for _ in evaluators]
    with split.open_range(task) as stream:
        for raw in bounded_lines(stream):
            if not raw or raw.isspace():
                continue
            try:
                event = decode_event_line(raw)
            except EventError:
                for tally in tallies:
                    tally.unreadable += 1
                continue
            line = written_line(raw)
            for evaluator, tally in zip(evaluators, tallies, strict=True):
                try:
                    tally.add(apply_event(evaluator, event, line))
                except EventError:
                    tally.unreadable += 1
    return tallies
