"""Report what a policy (and a candidate replacing it) does over audit logs, for review and CI.

Counts events, hits per rule, the change classes of the candidate, bytes written per policy and
per rule (what `apply` writes), dead and shadowed rules, security classes lost and drift; as
Markdown tables for a pull request or as JSON. `--fail-if COND` (repeatable) makes it a CI gate:
exit 1 when any condition holds (each named on stderr), 0 otherwise.

Why it reads logs as `export` does: the store (one pass through the one splitter and worker pool,
with both policies) gives the per-event columns, and the byte cost comes from them
(`workbench.store_cost`: the line lengths of the events `apply` copies, `apply`'s own
`apply_line` for the few whose written form changes), so a report's bytes are `apply`'s output
sizes without a second pass that decodes every line. Exit 2 for bad input: a bad condition, an
unusable policy, a condition that needs --candidate without one, a policy given as a log; 1 for a
missing log or a condition that holds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import numpy as np

from k8saudit_tui.commands.common import error, load_policy_or_exit, log_problem
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.engine.logs.sources import LogSource, expand_sources
from k8saudit_tui.engine.store import EventStore, StoreLoader
from k8saudit_tui.engine.workbench.report import (
    ConditionError,
    as_json,
    as_markdown,
    build_report,
    failed_conditions,
    needs_candidate,
    parse_condition,
)
from k8saudit_tui.engine.workbench.store_cost import store_costs


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
        costs = store_costs(store, source_rows(store, readable), mapped=True)  # nothing follows the log
        assert costs is not None  # the store has the policy, and nothing cancels
        report = build_report(
            store,
            current.policy,
            costs[0],
            candidate.policy if candidate is not None else None,
            costs[1],
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


def source_rows(store: EventStore, sources: Sequence[LogSource]) -> np.ndarray | None:
    """The rows whose bytes are a line of one of the plain files of `sources` (None: every row);
    EventList items, re-serialised into a spool, are not lines `apply` would read."""
    paths = {source.path for source in sources}
    files = [index for index, entry in enumerate(store.files) if entry.path in paths]
    if len(files) == len(store.files):
        return None
    return np.flatnonzero(np.isin(store.column("file"), files))
