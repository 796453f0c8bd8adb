"""Report what a policy (and a candidate replacing it) does over audit logs, for review and CI.

Counts events, hits per rule, the change classes of the candidate, bytes written per policy and
per rule (what `apply` writes), dead and shadowed rules, security classes lost and drift; as
Markdown tables for a pull request or as JSON. `--fail-if COND` (repeatable) makes it a CI gate:
exit 1 when any condition holds (each named on stderr), 0 otherwise.

Why it reads logs in shards: the logs are cut by the one splitter (`workbench.shards.plan`,
`split.cut`) and each shard gives a mergeable `ReportPart` (a store of its own for the per-event
columns, and the byte cost from those columns, `workbench.store_cost`: the line lengths of the
events `apply` copies, `apply`'s own rewrite for the few whose written form changes, so a
report's bytes are `apply`'s output sizes without a second pass that decodes every line), read in
the engine's worker pool; the parts are merged into the report. `k8saudit-tui fleet report` reads the
same shards inside Dask and merges the same way, so the two give the same report.

Exit 2 for bad input: a bad condition, an unusable policy, a condition that needs --candidate
without one, a policy given as a log; 1 for a missing log or a condition that holds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from k8saudit_tui.commands.common import error, load_policy_or_exit, log_problem
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.workbench.report import (
    ConditionError,
    Report,
    as_json,
    as_markdown,
    failed_conditions,
    needs_candidate,
    parse_condition,
)
from k8saudit_tui.engine.workbench.report_part import report_of
from k8saudit_tui.engine.workbench.shards import read_sources


def add_arguments(
    parser: argparse.ArgumentParser,
    logs_metavar: str = "LOG",
    logs_help: str = "audit log files or directories; - for stdin",
) -> None:
    """The report's options (`fleet report` takes the same, its logs named as globs)."""
    parser.add_argument("--policy", required=True, help="the current audit Policy (YAML or JSON, or @gke|@eks|@aks)")
    parser.add_argument("--candidate", help="a candidate Policy (or @gke|@eks|@aks) to compare with the current one")
    parser.add_argument("logs", nargs="+", metavar=logs_metavar, help=logs_help)
    parser.add_argument("--format", choices=("md", "json"), default="md", help="output format (default: md)")
    parser.add_argument(
        "--fail-if",
        action="append",
        default=[],
        metavar="COND",
        help="exit 1 when COND holds: bytes>+N%%, security-lost, dropped>0, dead-rules, shadowed-rules",
    )
    add_format_option(parser, output_format=True)


def load_policies(args: argparse.Namespace) -> tuple[PolicyEvaluator, PolicyEvaluator | None] | None:
    """--policy and --candidate loaded (their problems printed); None when one cannot be used."""
    current = load_policy_or_exit(args.policy)
    if current is None:
        return None
    if args.candidate is None:
        return current, None
    candidate = load_policy_or_exit(args.candidate)
    return None if candidate is None else (current, candidate)


def run(args: argparse.Namespace) -> int:
    conditions = checked_conditions(args)
    if conditions is None:
        return 2
    for log in args.logs:
        found = log_problem(log)
        if found is not None:
            error(found[0])
            return found[1]
    policies = load_policies(args)
    if policies is None:
        return 2
    current, candidate = policies
    sources = expand_sources(args.logs, format=args.log_format)
    evaluators = [current] if candidate is None else [current, candidate]
    try:
        part = read_sources(sources, evaluators)
    finally:
        for source in sources:
            if source.spooled and os.path.exists(source.path):
                os.unlink(source.path)
    report = report_of(part, current.policy, candidate.policy if candidate is not None else None)
    return emit(report, part.unread, args.format, conditions)


def checked_conditions(args: argparse.Namespace) -> list[str] | None:
    """The --fail-if conditions, None (after saying why) when one is not a condition or needs a
    --candidate that is not given."""
    try:
        conditions = [parse_condition(text) for text in args.fail_if]
    except ConditionError as problem:
        error(str(problem))
        return None
    if args.candidate is None:
        missing = [condition for condition in conditions if needs_candidate(condition)]
        if missing:
            error(f"--fail-if {missing[0]} needs --candidate")
            return None
    return conditions


def emit(report: Report, unread: Sequence[Problem], fmt: str, conditions: Sequence[str]) -> int:
    """Print the report (md or json) and the inputs that could not be read; the exit status: 1
    when one could not be read or a condition holds (each named on stderr), else 0."""
    for problem in unread:
        error(str(problem))
    if fmt == "json":
        sys.stdout.write(json.dumps(as_json(report), indent=2) + "\n")
    else:
        sys.stdout.write(as_markdown(report))
    held = failed_conditions(report, conditions)
    for why in held:
        error(f"fail-if {why}")
    return 1 if held or unread else 0
