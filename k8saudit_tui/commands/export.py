"""Export the events of audit logs that match a filter: JSON lines (original bytes), CSV or JSON.

Logs are files, directories of (rotated, .gz) logs, or - for stdin; several are merged by
stageTimestamp. --filter uses the TUI's filter language; --policy lets it use level: and rule:.
Files are written atomically with mode 0600, never over an existing file without --force.
Exit 0 on success, 1 when the output cannot be written, 2 for a bad filter or policy.
"""

from __future__ import annotations

import argparse
import sys

from k8saudit_tui.commands.common import error, load_policy_or_exit
from k8saudit_tui.engine.export import FORMATS, ExportError, export_rows
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import FilterError, compile_filter
from k8saudit_tui.engine.store import StoreLoader
from k8saudit_tui.engine.textsafe import visible

_PROBLEMS_SHOWN = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="audit log file, directory, or - for stdin")
    parser.add_argument("--policy", help="audit Policy (YAML or JSON) for level: and rule: filters and columns")
    parser.add_argument("--filter", default="", help="filter text, as in the TUI filter bar")
    parser.add_argument("--format", choices=FORMATS, help="output format (default: from -o's extension, else jsonl)")
    parser.add_argument("-o", "--output", required=True, help="output file, or - for stdout")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument(
        "--redact",
        action="store_true",
        help="mask Secret data, TokenRequest/TokenReview tokens and Authorization headers in bodies",
    )


def run(args: argparse.Namespace) -> int:
    try:
        selection = compile_filter(args.filter)
    except FilterError as problem:
        error(f"--filter: {problem.message}: {problem.term!r} at column {problem.position + 1}")
        return 2
    evaluator: PolicyEvaluator | None = None
    if args.policy:
        evaluator = load_policy_or_exit(args.policy)
        if evaluator is None:
            return 2
    store = StoreLoader(expand_sources(args.logs), evaluator).load_all()
    _report_problems(store.problems)
    rows = selection.apply(store)
    fmt = args.format or _format_from_name(args.output)
    try:
        result = export_rows(store, rows, fmt, args.output, force=args.force, redact=args.redact)
    except ExportError as problem:
        error(str(problem))
        return 1
    finally:
        store.close()
    if args.output != "-":
        print(f"exported {result.count} of {len(store)} events to {visible(result.path)}", file=sys.stderr)
    return 0


def _format_from_name(path: str) -> str:
    lowered = path.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".json"):
        return "json"
    return "jsonl"


def _report_problems(problems: list[object]) -> None:
    """Unreadable lines are data, not failures: say how many, and show the first few."""
    if not problems:
        return
    for problem in problems[:_PROBLEMS_SHOWN]:
        print(f"skipped: {visible(str(problem))}", file=sys.stderr)
    if len(problems) > _PROBLEMS_SHOWN:
        print(f"skipped {len(problems)} unreadable lines in all", file=sys.stderr)
