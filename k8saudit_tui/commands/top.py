"""Top values of a field in audit logs, counted in events and in requests (distinct auditIDs).

A write shows up once per stage, so events overstate who does what; requests do not. Logs are
read as `export` reads them (files, directories, .gz, - for stdin); --filter uses the TUI's filter
language; rule and level need --policy. Text is an aligned table with every string from the log
made visible; json is one document. Exit 0; 1 when a log cannot be read; 2 for bad arguments,
filter or policy. Counting streams (engine.streaming.top): no store, per-range counts merged.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

import orjson

from k8saudit_tui.commands import cache_options
from k8saudit_tui.commands.common import error, load_policy_or_exit
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.engine import fields
from k8saudit_tui.engine.logs.sources import LogSource, resolve_sources
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.query import Filter, FilterError, compile_filter
from k8saudit_tui.engine.query.facets import DEFAULT_LIMIT, TOP_FIELDS, Facet, facet, term
from k8saudit_tui.engine.store import StoreCache, StoreLoader, unwrap_for_store
from k8saudit_tui.engine.streaming.top import stream_top
from k8saudit_tui.engine.textsafe import visible

_PROBLEMS_SHOWN = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="audit log file, directory, or - for stdin")
    parser.add_argument("--by", required=True, choices=TOP_FIELDS, help="the field to count")
    parser.add_argument("--filter", default="", help="filter text, as in the TUI filter bar")
    parser.add_argument("--policy", help="audit Policy (YAML or JSON, or @gke|@eks|@aks): needed for --by rule|level")
    parser.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT, help="values shown (default 10)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    add_format_option(parser, output_format=True)
    cache_options.add_arguments(parser)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    if fields.by_filter_name[args.by].needs_policy and not args.policy:
        error(f"--by {args.by} needs --policy: {args.by} is what the policy gives each event")
        return 2
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
    cache = cache_options.store_cache(args)
    sources = unwrap_for_store(resolve_sources(args.logs), args.log_format, cache)
    if any(source.unwrapped for source in sources):
        return _from_store(sources, selection, evaluator, args, cache)
    try:
        counted = stream_top(sources, args.by, selection, args.limit, evaluator=evaluator)
    finally:
        for source in sources:  # a spooled .gz or stdin holds a copy of the log: it goes now
            if source.spooled:
                with contextlib.suppress(OSError):
                    os.unlink(source.path)
    unreadable = _report_problems(counted.problems)
    result = counted.facet
    sys.stdout.write(_json(result) if args.format == "json" else _text(result))
    return 1 if unreadable else 0


def _from_store(
    sources: list[LogSource],
    selection: Filter,
    evaluator: PolicyEvaluator | None,
    args: argparse.Namespace,
    cache: StoreCache | None,
) -> int:
    """Logs unwrapped from a cloud or shipper format are counted over the store (and its index
    cache): its rows and problems are numbered by the original records, which streaming ranges do not map."""
    store = StoreLoader(sources, evaluator, cache=cache).load_all()
    try:
        unreadable = _report_problems(store.problems)
        result = facet(store, args.by, selection.apply(store), args.limit)
    finally:
        store.close()
    sys.stdout.write(_json(result) if args.format == "json" else _text(result))
    return 1 if unreadable else 0


def _report_problems(problems: Sequence[Problem]) -> bool:
    """Print the first problems; True when a whole log could not be read (a problem without a
    line: a bad line is data, counted in the skipped lines, not a failure)."""
    for problem in problems[:_PROBLEMS_SHOWN]:
        print(f"skipped: {visible(str(problem))}", file=sys.stderr)
    if len(problems) > _PROBLEMS_SHOWN:
        print(f"skipped {len(problems)} problems in all", file=sys.stderr)
    return any(problem.line is None and problem.severity == "error" for problem in problems)


def _json(result: Facet) -> str:
    document = {
        "field": result.field,
        "events": result.events,
        "requests": result.requests,
        "values": [
            {
                "value": value.label,
                "events": value.events,
                "requests": value.requests,
                "share": round(value.share, 6),
                "filter": term(result.field, value.label),
            }
            for value in result.values
        ],
        "more": result.more,
    }
    return orjson.dumps(document).decode() + "\n"


_EMPTY_LABELS = {"ns": "(cluster scope)", "code": "(none)"}


def _text(result: Facet) -> str:
    """An aligned table: value, events, share, requests; then totals and how many more values."""
    heading = (result.field, "events", "share", "requests")
    rows = [
        (
            _shown(result.field, value.label),
            f"{value.events:,}",
            f"{value.share * 100:.1f}%",
            f"{value.requests:,}",
        )
        for value in result.values
    ]
    widths = [max(len(row[column]) for row in [heading, *rows]) for column in range(4)]
    lines = [_line(row, widths) for row in [heading, *rows]]
    if result.more:
        lines.append(f"+{result.more:,} more")
    lines.append(f"total: {result.events:,} events, {result.requests:,} requests")
    return "\n".join(lines) + "\n"


def _shown(field: str, label: str) -> str:
    if field == "code" and label == "0":
        return _EMPTY_LABELS["code"]
    if not label:
        return _EMPTY_LABELS.get(field, "(none)")
    return visible(label)


def _line(row: tuple[str, ...], widths: list[int]) -> str:
    first = row[0].ljust(widths[0])
    rest = "  ".join(cell.rjust(width) for cell, width in zip(row[1:], widths[1:]))
    return f"{first}  {rest}".rstrip()
